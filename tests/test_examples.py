"""Every script in examples/ runs in its fast mode (SKGALAXY_FAST=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parents[1] / "examples").glob("*.py")
    if not p.name.startswith("_")
)


def test_there_is_an_example_per_idea():
    names = {p.stem for p in EXAMPLES}
    assert names >= {
        "classify_galaxies",
        "generate_galaxies",
        "detect_anomalies",
        "personalised_hunt",
        "grid_search_and_persistence",
        "pretrain_and_fine_tune",
    }


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_fast_mode(script, tmp_path):
    env = {**os.environ, "SKGALAXY_FAST": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip()
