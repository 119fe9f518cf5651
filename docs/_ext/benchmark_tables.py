"""``.. benchmark-table:: SECTION``: a table of ``benchmarks/results/SECTION.md``.

The guide shows what the benchmarks measured without retyping a figure: the
directive reads the section's Markdown table (``:table:``, 1-based, default
1), keeps the rows whose first cell is listed in ``:rows:`` (separated by
``;``, default all) and the columns listed in ``:columns:`` (0-based indices,
default all), and adds a line naming the section, its date and its machine.
"""

import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList


def _tables(text):
    """Every Markdown table of ``text`` as a list of rows of cells."""
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _rst_cell(text):
    return text.replace("`", "``").replace("````", "``") or " "


class BenchmarkTable(Directive):
    required_arguments = 1
    option_spec = {
        "table": directives.positive_int,
        "rows": directives.unchanged,
        "columns": directives.unchanged,
    }

    def run(self):
        env = self.state.document.settings.env
        section = self.arguments[0]
        path = Path(env.srcdir).parent / "benchmarks" / "results" / f"{section}.md"
        env.note_dependency(str(path))
        text = path.read_text()
        tables = _tables(text)
        number = self.options.get("table", 1)
        if number > len(tables):
            raise self.error(f"{path.name} has {len(tables)} tables, not {number}.")
        header, *rows = tables[number - 1]
        if "rows" in self.options:
            wanted = [r.strip() for r in self.options["rows"].split(";") if r.strip()]
            by_name = {row[0]: row for row in rows}
            missing = [name for name in wanted if name not in by_name]
            if missing:
                raise self.error(f"{path.name} has no rows {missing}.")
            rows = [by_name[name] for name in wanted]
        if "columns" in self.options:
            keep = [int(c) for c in self.options["columns"].split(",")]
            header = [header[c] for c in keep]
            rows = [[row[c] for c in keep] for row in rows]
        date = re.search(r"^Date: ([^·]+)·.*machine: ([^·]+)·", text, re.M)
        measured = f", {date.group(1).strip()}, {date.group(2).strip()}" if date else ""
        lines = [".. list-table::", "   :header-rows: 1", ""]
        for row in [header, *rows]:
            lines.append("   * - " + _rst_cell(row[0]))
            lines.extend("     - " + _rst_cell(cell) for cell in row[1:])
        lines += ["", f"*Measured by* ``benchmarks/results/{section}.md``{measured}."]
        container = nodes.container(classes=["benchmark-table"])
        self.state.nested_parse(StringList(lines, source=str(path)), 0, container)
        return [container]


def setup(app):
    app.add_directive("benchmark-table", BenchmarkTable)
    return {"parallel_read_safe": True, "version": "1"}
