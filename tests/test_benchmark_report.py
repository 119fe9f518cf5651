import shlex
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _report  # noqa: E402


def test_a_recorded_command_reruns_as_it_was_given(tmp_path, monkeypatch):
    argv = ["ahunt_hunt.py", "--set", "filters=(2, 4, 8)", "--section", "demo"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(_report, "RESULTS", tmp_path / "RESULTS.md")
    _report.record("demo", "A demo", "body")
    _report.record("demo", "A demo", "new body")  # replaces, does not append
    text = (tmp_path / "RESULTS.md").read_text()
    assert text.count("<!-- demo:start -->") == 1 and "new body" in text
    command = text.split("command: `")[1].split("`")[0]
    assert shlex.split(command) == [
        "python",
        "benchmarks/ahunt_hunt.py",
        "--set",
        "filters=(2, 4, 8)",
        "--section",
        "demo",
    ]
