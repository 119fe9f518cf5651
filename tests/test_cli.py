import subprocess
import sys

import h5py
import numpy as np
import pytest

from skgalaxy import ArcsinhScaler, __version__
from skgalaxy.cli import build_parser, main
from skgalaxy.datasets import load_images


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


def test_demo_on_a_npz_file(tmp_path, capsys, cutouts):
    path = cutouts
    assert (
        main(["demo", "--data", str(path), "--out", str(tmp_path / "r"), "--quick"])
        == 0
    )
    out = capsys.readouterr().out
    assert "30 images" in out and "ArcsinhScaler" in out
    assert "test accuracy" in out and "confusion matrix" in out
    assert (tmp_path / "r" / "examples.png").is_file()
    assert (tmp_path / "r" / "confusion_matrix.png").is_file()
    assert "held-out ELBO" in out
    assert (tmp_path / "r" / "vae_reconstructions.png").is_file()
    assert (tmp_path / "r" / "vae_samples.png").is_file()
    assert "CAEAnomalyDetector" in out and "ROC AUC" in out
    assert "CAE codes + morphology, Gaussian mixture" in out
    assert "morphology alone, Gaussian mixture" in out
    assert "final rank-weighted score" in out and "summary" in out
    report = (tmp_path / "r" / "report.md").read_text()
    for figure in (
        "examples.png",
        "confusion_matrix.png",
        "vae_reconstructions.png",
        "vae_samples.png",
        "anomaly_gallery.png",
        "hunt_curves.png",
    ):
        assert f"({figure})" in report and (tmp_path / "r" / figure).is_file()
    # Every figure comes with a sentence on how to read it, and the summary
    # with what its figures mean.
    for section in report.split("### ")[1:]:
        caption, how_to_read, image = section.strip().split("\n\n")
        assert image.startswith("![") and how_to_read.endswith(".")
    assert "rank-weighted score (RWS)" in report and "nats" in report


def test_demo_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path / "nope.npz")]) == 1
    assert "No image file" in capsys.readouterr().err


def test_demo_wrong_format(tmp_path, capsys):
    path = tmp_path / "data.txt"
    path.write_text("1,2\n")
    assert main(["demo", "--data", str(path)]) == 1
    assert "Unknown image file format" in capsys.readouterr().err


@pytest.fixture
def cutouts(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cutouts.npz"
    np.savez(
        path,
        images=rng.integers(0, 255, (30, 16, 16, 3), dtype=np.uint8),
        labels=np.repeat([0, 1], 15),
        class_names=np.array(["round", "edge_on"]),
    )
    return path


@pytest.mark.parametrize(
    "model, columns",
    [
        ("classifier", ["index", "prediction", "proba_edge_on", "proba_round"]),
        ("cae", ["index", "score_samples", "anomaly_score", "outlier"]),
        ("ahunt", ["index", "score_samples", "anomaly_score", "outlier"]),
        ("vae", ["index", *[f"flowvaetransformer{i}" for i in range(16)]]),
        ("contrastive", ["index", *[f"contrastivetransformer{i}" for i in range(256)]]),
        (
            "morphology",
            [
                "index",
                "asymmetry",
                "outer_asymmetry",
                "shape_asymmetry",
                "concentration",
                "smoothness",
                "gini",
                "m20",
                "gini_m20_merger",
                "gini_m20_bulge",
                "multimode",
                "intensity",
                "deviation",
                "ellipticity",
                "log_half_light_radius",
                "second_peak",
                "colour_0_1",
                "colour_1_2",
            ],
        ),
    ],
)
def test_train_then_predict(cutouts, tmp_path, capsys, model, columns):
    import pandas as pd

    from skgalaxy.io import load_model

    saved = tmp_path / "model.skgalaxy"
    args = ["train", model, "--data", str(cutouts), "--out", str(saved)]
    assert main([*args, "--epochs", "2"]) == 0
    assert saved.is_file()
    if model != "morphology":  # it trains nothing
        assert "training" in capsys.readouterr().err  # the progress bar, by default
    csv = tmp_path / "predictions.csv"
    assert main(["predict", str(saved), "--data", str(cutouts), "--out", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert list(table.columns) == columns and len(table) == 30
    fitted = load_model(saved)
    images = load_images(cutouts).images  # as the command reads them
    if model == "classifier":
        np.testing.assert_array_equal(table["prediction"], fitted.predict(images))
    elif model in ("cae", "ahunt"):
        np.testing.assert_allclose(table["score_samples"], fitted.score_samples(images))
        np.testing.assert_array_equal(table["outlier"], fitted.predict(images))
    else:
        np.testing.assert_allclose(table.iloc[:, 1:], fitted.transform(images))
    if model in ("ahunt", "morphology"):  # on the images as observed
        assert type(fitted[0]).__name__ == "MorphologyTransformer"
        assert fitted[0].n_jobs == -1  # --jobs: every core by default
    capsys.readouterr()
    assert main(["predict", str(saved), "--data", str(cutouts)]) == 0
    assert capsys.readouterr().out.startswith(",".join(columns))


def test_train_quiet_and_joblib_on_request(cutouts, tmp_path, capsys):
    import joblib

    saved = tmp_path / "model.joblib"
    args = ["train", "cae", "--data", str(cutouts), "--out", str(saved), "--quiet"]
    assert main([*args, "--epochs", "1"]) == 0
    assert capsys.readouterr().err == ""
    assert joblib.load(saved).steps[-1][1].n_iter_ == 1


def test_score_a_survey_file_and_resume(cutouts, tmp_path, capsys):
    import pandas as pd

    images = load_images(cutouts).images
    survey = tmp_path / "survey.h5"
    with h5py.File(survey, "w") as f:
        f["images"] = np.concatenate([images] * 3)  # 90 images
    model = tmp_path / "cae.skgalaxy"
    train = ["train", "cae", "--data", str(cutouts), "--out", str(model), "-q"]
    assert main([*train, "--epochs", "1"]) == 0
    out = tmp_path / "scores.parquet"
    command = ["score", str(model), "--data", str(survey), "--out", str(out)]
    assert main([*command, "--batch-size", "40", "-q"]) == 0
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    assert parts == [f"part-00000{i}.parquet" for i in range(3)]
    assert (out / "_SUCCESS").is_file()
    table = pd.read_parquet(out)
    assert list(table["index"]) == list(range(90))
    np.testing.assert_allclose(
        table["score_samples"][:30], table["score_samples"][60:], rtol=1e-6
    )
    with pytest.raises(ValueError, match="another run"):
        from skgalaxy.scoring import score_survey

        score_survey(str(model), survey, out, chunk_size=30, progress=False)
    on_workers = tmp_path / "workers.parquet"
    command[-1] = str(on_workers)
    assert main([*command, "--batch-size", "40", "--workers", "2", "-q"]) == 0
    # Each worker computes with its share of the cores: float32 sums in another
    # thread count differ in the last digits (up to ~2e-5 relative seen).
    np.testing.assert_allclose(
        pd.read_parquet(on_workers)["score_samples"], table["score_samples"], rtol=1e-4
    )
    assert main([*command, "--batch-size", "0"]) == 1
    assert main(["score", str(model), "--data", str(cutouts), "--out", "x"]) == 1
    assert "HDF5" in capsys.readouterr().err


def test_train_and_predict_errors(cutouts, tmp_path, capsys):
    missing = tmp_path / "absent.npz"
    assert main(["train", "cae", "--data", str(missing), "--out", "m.joblib"]) == 1
    assert "No image file" in capsys.readouterr().err
    not_a_model = tmp_path / "model.joblib"
    not_a_model.write_text("hello")
    assert main(["predict", str(not_a_model), "--data", str(cutouts)]) == 1
    assert "not a joblib model" in capsys.readouterr().err
    not_safe = tmp_path / "model.skgalaxy"
    not_safe.write_text("hello")
    assert main(["predict", str(not_safe), "--data", str(cutouts)]) == 1
    assert "not a skgalaxy model file" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "no.joblib"), "--data", str(cutouts)]) == 1
    assert "No model file" in capsys.readouterr().err
    unlabelled = tmp_path / "unlabelled.npz"
    np.savez(unlabelled, images=np.zeros((4, 8, 8, 3), dtype=np.uint8))
    assert main(["train", "classifier", "--data", str(unlabelled), "--out", "m"]) == 1
    assert "no labels" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "resnet", "--data", str(cutouts), "--out", "m"])
    assert exc.value.code == 2


def test_fetch_galaxy10_from_a_local_server(
    http_folder, tmp_path, capsys, galaxy10_writer
):
    import hashlib

    folder, base = http_folder
    galaxy10_writer(folder / "Galaxy10.h5")
    digest = hashlib.sha256((folder / "Galaxy10.h5").read_bytes()).hexdigest()
    args = ["fetch", "galaxy10", "--variant", "sdss", "--data-home", str(tmp_path)]
    url = ["--url", f"{base}/Galaxy10.h5", "--sha256", digest]
    assert main([*args, *url]) == 0
    assert "24 images" in capsys.readouterr().out
    assert (tmp_path / "Galaxy10.h5").is_file()
    bad = ["--url", f"{base}/absent.h5"]
    assert main(["fetch", "galaxy10", "--data-home", str(tmp_path / "x"), *bad]) == 1
    assert "Could not download" in capsys.readouterr().err


def test_bad_files_and_ports_are_errors_not_tracebacks(tmp_path, capsys):

    survey = tmp_path / "no_images.h5"
    with h5py.File(survey, "w") as f:
        f["pixels"] = np.zeros((2, 4, 4, 1))
    from skgalaxy.io import save_model

    model = save_model(ArcsinhScaler().fit(np.ones((2, 4, 4, 1))), tmp_path / "m.sk")
    command = ["score", str(model), "--data", str(survey), "--out", str(tmp_path / "o")]
    assert main(command) == 1
    assert "has no dataset 'images'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["hunt", "--data", "x.npz", "--session", "s", "--port", "99999"])
    assert exc.value.code == 2
    assert "not a port" in capsys.readouterr().err


def test_the_predict_command_warns_that_a_joblib_file_is_a_program():
    parser = build_parser()
    predict = parser._subparsers._group_actions[0].choices["predict"]
    assert "trust" in predict.format_help()


def test_hunt_starts_on_the_morphology_route_by_default(
    cutouts, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("fastapi")
    import skgalaxy.app

    served = []
    monkeypatch.setattr(
        skgalaxy.app, "serve", lambda session, **kw: served.append(session)
    )
    folder = tmp_path / "hunt"
    assert main(["hunt", "--data", str(cutouts), "--session", str(folder)]) == 0
    steps = [type(step).__name__ for step in served[0].detector_]
    assert steps == ["MorphologyTransformer", "AHUNTDetector"]
    assert served[0].detector_[0].n_jobs == -1  # every core measures
    served[0].close()
    again = ["hunt", "--data", str(cutouts), "--session", str(tmp_path / "one")]
    assert main([*again, "--jobs", "1"]) == 0
    assert served[1].detector_[0].n_jobs == 1
    served[1].close()
    for bad in ("0", "-2", "many"):
        with pytest.raises(SystemExit) as exc:
            main([*again, "--jobs", bad])
        assert exc.value.code == 2
        assert "not a number of processes" in capsys.readouterr().err
