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


def test_the_machine_line_names_the_cpu_and_its_measured_matmul_rate(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(sys, "argv", ["demo.py"])
    monkeypatch.setattr(_report, "RESULTS", tmp_path / "RESULTS.md")
    monkeypatch.setattr(_report, "cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setattr(_report, "matmul_peak", lambda: 1.5e11)
    _report.record("demo", "A demo", "body")
    header = (tmp_path / "RESULTS.md").read_text()
    assert "(Test CPU 9000, dense matmul 150 GFLOP/s)" in header


def test_the_matmul_rate_is_a_measured_positive_rate():
    assert _report.matmul_peak(size=64, repeats=2) > 0
    assert _report.cpu_model().strip()
