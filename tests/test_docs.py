"""The documentation's benchmark tables come from benchmarks/results/."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("docutils")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
from benchmark_tables import _tables  # noqa: E402

SECTION = """\
## A section

Date: 2026-01-01 · machine: 2 CPU cores · command: `x`

| method | score |
|---|---|
| a | 0.1 |
| b | 0.2 |

Text between.

| other | n |
|:--|--:|
| c | 3 |
"""


def test_every_markdown_table_is_read_without_its_rule():
    first, second = _tables(SECTION)
    assert first == [["method", "score"], ["a", "0.1"], ["b", "0.2"]]
    assert second == [["other", "n"], ["c", "3"]]


def test_every_table_the_guide_shows_exists():
    root = Path(__file__).resolve().parents[1]
    guide = (root / "docs" / "user_guide").glob("*.rst")
    sections = {
        line.split("::", 1)[1].strip()
        for page in guide
        for line in page.read_text().splitlines()
        if line.startswith(".. benchmark-table::")
    }
    assert sections
    for section in sections:
        assert _tables((root / "benchmarks" / "results" / f"{section}.md").read_text())
