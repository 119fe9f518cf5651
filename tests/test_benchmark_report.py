import argparse
import shlex
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _report  # noqa: E402


def test_a_recorded_command_reruns_as_it_was_given(tmp_path, monkeypatch):
    argv = ["ahunt_hunt.py", "--seeds", "0 1", "--section", "demo"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(_report, "SECTIONS", tmp_path)
    _report.record("demo", "A demo", "body")
    _report.record("demo", "A demo", "new body")  # replaces, does not append
    text = (tmp_path / "demo.md").read_text()
    assert text.count("<!-- demo:start -->") == 1 and "new body" in text
    command = text.split("command: `")[1].split("`")[0]
    assert shlex.split(command) == [
        "python",
        "benchmarks/ahunt_hunt.py",
        "--seeds",
        "0 1",
        "--section",
        "demo",
    ]


def test_a_set_run_is_printed_not_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["demo.py", "--set", "filters=(2, 4)"])
    monkeypatch.setattr(_report, "SECTIONS", tmp_path)
    _report.record("demo", "A demo", "body")
    assert not list(tmp_path.iterdir())
    assert "not recorded" in capsys.readouterr().out


@pytest.mark.parametrize("smoke", [True, False])
def test_a_section_is_printed_and_recorded_unless_smoke(
    tmp_path, monkeypatch, capsys, smoke
):
    monkeypatch.setattr(sys, "argv", ["demo.py"])
    monkeypatch.setattr(_report, "SECTIONS", tmp_path)
    monkeypatch.setattr(_report, "machine", lambda: "a test machine")
    _report.publish("demo", "A demo", "the body", smoke=smoke)
    assert "the body" in capsys.readouterr().out
    recorded = tmp_path / "demo.md"
    assert recorded.exists() is not smoke
    if not smoke:
        assert "## A demo" in recorded.read_text()


def test_the_machine_line_names_the_cpu_and_its_measured_matmul_rate(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(sys, "argv", ["demo.py"])
    monkeypatch.setattr(_report, "SECTIONS", tmp_path)
    monkeypatch.setattr(_report, "cpu_model", lambda: "Test CPU 9000")
    monkeypatch.setattr(_report, "matmul_peak", lambda: 1.5e11)
    _report.record("demo", "A demo", "body")
    header = (tmp_path / "demo.md").read_text()
    assert "(Test CPU 9000, dense matmul 150 GFLOP/s)" in header


def test_the_matmul_rate_is_the_work_done_over_the_time_taken(monkeypatch):
    clock = iter([10.0, 10.5])  # 0.5 s for the timed products
    monkeypatch.setattr(_report.time, "perf_counter", lambda: next(clock))
    # 2 n^3 floating-point operations per product of two n x n matrices.
    assert _report.matmul_peak(size=64, repeats=2) == 2 * 64**3 * 2 / 0.5


def test_the_cpu_model_comes_from_cpuinfo(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\n")
    real_path = _report.Path
    monkeypatch.setattr(
        _report,
        "Path",
        lambda p: cpuinfo if str(p) == "/proc/cpuinfo" else real_path(p),
    )
    assert _report.cpu_model() == "Test CPU 9000"


def parser_with_parameter_options():
    parser = argparse.ArgumentParser()
    _report.add_set_option(parser, "AnEstimator")
    return parser


def test_set_reads_python_literals_by_name():
    args = parser_with_parameter_options().parse_args(
        ["--set", "asymmetry=True", "filters=(2, 4)", "pooling='mean'"]
    )
    assert _report.parameters(args) == {
        "asymmetry": True,
        "filters": (2, 4),
        "pooling": "mean",
    }


@pytest.mark.parametrize("item", ["pooling=mean", "asymmetry", "=True", "2x=1"])
def test_set_refuses_what_is_not_name_equals_literal(item, capsys):
    with pytest.raises(SystemExit):
        parser_with_parameter_options().parse_args(["--set", item])
    assert "is not NAME=VALUE" in capsys.readouterr().err


def test_each_part_is_recorded_in_its_own_section(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["demo.py"])
    monkeypatch.setattr(_report, "SECTIONS", tmp_path)
    monkeypatch.setattr(_report, "matmul_peak", lambda: 1e11)
    runners = {
        "probe": (lambda images, y, seed, args: (seed, None), lambda *_: "", "Probe")
    }
    args = parser_with_parameter_options().parse_args([])
    args.part, args.seeds, args.smoke = ["probe"], 1, False
    _report.run_parts("demo", runners, None, None, args)
    assert "<!-- demo_probe:start -->" in (tmp_path / "demo_probe.md").read_text()
