import subprocess
import sys

import numpy as np
import pytest

from skgalaxy import __version__
from skgalaxy.cli import main


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_python_dash_m_runs():
    result = subprocess.run(
        [sys.executable, "-m", "skgalaxy", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "usage: skgalaxy" in result.stdout


def test_unknown_option_exits_non_zero():
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--no-such-option"])
    assert exc.value.code == 2


def test_demo_on_a_npz_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    path = tmp_path / "cutouts.npz"
    np.savez(
        path,
        images=rng.integers(0, 255, (40, 16, 16, 3), dtype=np.uint8),
        labels=np.repeat([0, 1], 20),
        class_names=np.array(["a", "b"]),
    )
    assert (
        main(["demo", "--data", str(path), "--out", str(tmp_path / "r"), "--quick"])
        == 0
    )
    out = capsys.readouterr().out
    assert "40 images" in out and "ArcsinhScaler" in out
    assert "test accuracy" in out and "confusion matrix" in out
    assert (tmp_path / "r" / "examples.png").is_file()
    assert (tmp_path / "r" / "confusion_matrix.png").is_file()
    assert "held-out ELBO" in out
    assert (tmp_path / "r" / "vae_reconstructions.png").is_file()
    assert (tmp_path / "r" / "vae_samples.png").is_file()


def test_demo_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path / "nope.npz")]) == 1
    assert "No image file" in capsys.readouterr().err


def test_demo_wrong_format(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("1,2\n")
    assert main(["demo", "--data", str(path)]) == 1
    assert "Unknown image file format" in capsys.readouterr().err
