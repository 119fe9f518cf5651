"""Astronomers' own cutouts: FITS cubes, one file per band, PNG with a catalogue."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import small_galaxies

from skgalaxy.cli import main
from skgalaxy.datasets import load_cutouts, load_images, read_cutout

fits = pytest.importorskip("astropy.io.fits")
Image = pytest.importorskip("PIL.Image")


def _flux(n=6, side=16, bands=3, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    galaxy = np.exp(-np.hypot(yy - side / 2, xx - side / 2) / 2.5)
    cubes = galaxy[None, None] * rng.uniform(0.5, 2, (n, bands, 1, 1)) * 1e-9
    return (cubes + rng.normal(0, 1e-11, cubes.shape)).astype(np.float32)


def _write_fits(folder, cubes, header=None):
    paths = []
    for i, cube in enumerate(cubes):
        hdu = fits.PrimaryHDU(cube)
        for key, value in (header or {}).items():
            hdu.header[key] = value
        hdu.header["RA"] = 150.0 + i
        paths.append(folder / f"obj{i}.fits")
        hdu.writeto(paths[-1])
    return paths


def test_a_folder_of_fits_band_cubes_is_float_flux_in_nhwc(tmp_path):
    cubes = _flux()
    _write_fits(tmp_path, cubes)
    data = load_cutouts(tmp_path)
    assert data.images.shape == (6, 16, 16, 3) and data.images.dtype == np.float32
    np.testing.assert_array_equal(data.images[2], np.moveaxis(cubes[2], 0, -1))
    assert data.ids.tolist() == [f"obj{i}" for i in range(6)]
    assert data.catalogue["RA"].tolist() == [150.0 + i for i in range(6)]
    assert data.masks is None and data.target is None


def test_one_file_per_band_from_a_catalogue(tmp_path):
    cubes = _flux(n=4, bands=2)
    rows = []
    for i, cube in enumerate(cubes):
        row = {"id_str": f"J{i:03d}", "label": ["merger", "spiral"][i % 2]}
        for band, plane in zip("gr", cube):
            name = f"{i}_{band}.fits"
            fits.PrimaryHDU(plane).writeto(tmp_path / name)
            row[f"file_{band}"] = name  # relative to the catalogue's folder
        rows.append(row)
    pd.DataFrame(rows).to_csv(tmp_path / "catalogue.csv", index=False)
    data = load_cutouts(
        tmp_path / "catalogue.csv",
        file_column=["file_g", "file_r"],
        label_column="label",
    )
    np.testing.assert_array_equal(data.images[1], np.moveaxis(cubes[1], 0, -1))
    assert data.ids.tolist() == ["J000", "J001", "J002", "J003"]
    assert data.target_names[data.target].tolist() == ["merger", "spiral"] * 2


def test_pngs_beside_a_zoobot_style_catalogue(tmp_path):
    images, labels = small_galaxies(5, size=16)
    rows = []
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"g{i}.png")
        rows.append({"file_loc": str(tmp_path / f"g{i}.png"), "id_str": f"dr8_{i}"})
    catalogue = pd.DataFrame(rows).assign(klass=labels)
    data = load_cutouts(catalogue, label_column="klass")
    np.testing.assert_array_equal(data.images, images)  # uint8 stays uint8
    assert data.ids.tolist() == [f"dr8_{i}" for i in range(5)]
    assert data.target_names[data.target].tolist() == labels.tolist()


def test_nan_pixels_are_refused_by_name_or_filled_from_the_background(tmp_path):
    cubes = _flux()
    cubes[3, 1, 0, :4] = np.nan  # an edge of one band
    _write_fits(tmp_path, cubes)
    with pytest.raises(ValueError, match=r"obj3\.fits: 4 of them.*missing='fill'"):
        load_cutouts(tmp_path)
    data = load_cutouts(tmp_path, missing="fill")
    assert np.isfinite(data.images).all()
    assert data.masks.shape == (6, 16, 16) and data.masks.sum() == 4
    assert data.masks[3, 0, :4].all()
    border = np.concatenate([cubes[3, 1, 0, 4:], cubes[3, 1, -2:].ravel()])
    filled = data.images[3, 0, :4, 1]
    assert (filled > border.min()).all() and (filled < border.max()).all()


def test_cutouts_of_different_sizes_are_cropped_and_resized_on_request(tmp_path):
    for i, side in enumerate((16, 20, 24)):
        np.save(tmp_path / f"c{i}.npy", np.ones((side, side + 4, 1), np.float32))
    with pytest.raises(ValueError, match="give size="):
        load_cutouts(tmp_path)
    assert load_cutouts(tmp_path, size=12).images.shape == (3, 12, 12, 1)


@pytest.mark.parametrize(
    "write, match",
    [
        (lambda p: np.save(p / "a.npy", np.zeros((3, 16, 16))), "looks like"),
        (lambda p: (p / "a.fits").write_bytes(b"not a fits file"), "Cannot read"),
        (lambda p: (p / "a.png").write_bytes(b"not a png"), "Cannot read"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, write, match):
    write(tmp_path)
    with pytest.raises(ValueError, match=match):
        load_cutouts(tmp_path)


def test_catalogue_errors_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="no file column"):
        load_cutouts(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="no label column"):
        load_cutouts(pd.DataFrame({"file": ["a.npy"]}), label_column="klass")
    with pytest.raises(FileNotFoundError, match="a.npy"):
        load_cutouts(pd.DataFrame({"file": [str(tmp_path / "a.npy")]}))
    with pytest.raises(ValueError, match="missing must be"):
        load_cutouts(tmp_path, missing="zero")


def test_read_cutout_takes_another_hdu(tmp_path):
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((8, 8)), name="SCI")])
    hdus.writeto(tmp_path / "x.fits")
    image, _ = read_cutout(tmp_path / "x.fits", hdu="SCI")
    assert image.shape == (8, 8, 1)
    with pytest.raises(ValueError, match="holds no image"):
        read_cutout(tmp_path / "x.fits", hdu=0)


def test_the_commands_take_a_folder_of_fits_and_keep_the_ids(tmp_path, capsys):
    folder = tmp_path / "cutouts"
    folder.mkdir()
    _write_fits(folder, _flux(n=12))
    model = tmp_path / "m.skgalaxy"
    args = ["train", "morphology", "--data", str(folder), "--out", str(model)]
    assert main(args) == 0
    csv = tmp_path / "out.csv"
    assert main(["predict", str(model), "--data", str(folder), "--out", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert table["id"].tolist() == [f"obj{i}" for i in range(12)]
    assert load_images(folder, image_size=None).images.shape == (12, 16, 16, 3)


def test_train_takes_an_automatic_softening_for_flux(tmp_path):
    folder = tmp_path / "cutouts"
    folder.mkdir()
    _write_fits(folder, _flux(n=8))
    model = tmp_path / "vae.skgalaxy"
    args = ["train", "vae", "--data", str(folder), "--out", str(model)]
    assert main([*args, "--softening", "auto", "--epochs", "1", "-q"]) == 0
    from skgalaxy.io import load_model

    scaler = load_model(model)[0]
    assert scaler.softening == "auto" and (scaler.softening_ < 1e-9).all()
    with pytest.raises(SystemExit):
        main([*args, "--softening", "-3"])


def test_cutout_files_read_only_what_is_indexed(tmp_path, monkeypatch):
    from skgalaxy.datasets import CutoutFiles, _cutouts

    cubes = _flux(n=10)
    _write_fits(tmp_path, cubes)
    data = load_cutouts(tmp_path, lazy=True)
    images = data.images
    assert isinstance(images, CutoutFiles) and images.shape == (10, 16, 16, 3)
    read = []
    original = _cutouts.read_cutout
    monkeypatch.setattr(
        _cutouts, "read_cutout", lambda p, h=0: read.append(p) or original(p, h)
    )
    batch = images[[7, 2]]
    np.testing.assert_array_equal(batch[0], np.moveaxis(cubes[7], 0, -1))
    assert sorted(str(p).rsplit("/", 1)[-1] for p in read) == ["obj2.fits", "obj7.fits"]
    assert images[3:5].shape == (2, 16, 16, 3) and images[-1].shape == (16, 16, 3)
    with pytest.raises(IndexError):
        images[[10]]


def test_cutout_files_train_lazily_and_score_a_survey(tmp_path):
    pytest.importorskip("pyarrow")
    from conftest import TINY

    from skgalaxy.scoring import score_survey

    images, _ = small_galaxies(24, size=16)
    folder = tmp_path / "survey"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"g{i}.png")
    lazy = load_cutouts(folder, lazy=True).images
    cae = TINY["cae"]().fit(lazy)
    np.testing.assert_allclose(cae.score_samples(lazy), cae.score_samples(images))
    out = score_survey(
        cae, lazy, tmp_path / "scores.parquet", chunk_size=10, progress=False
    )
    import pandas as pd

    scores = pd.read_parquet(out).sort_values("index")
    np.testing.assert_allclose(scores["score_samples"], cae.score_samples(images))


def test_a_cutout_that_differs_from_the_first_is_named(tmp_path):
    from skgalaxy.datasets import CutoutFiles

    np.save(tmp_path / "a.npy", np.zeros((8, 8, 1), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((9, 8, 1), np.float32))
    files = CutoutFiles([tmp_path / "a.npy", tmp_path / "b.npy"])
    with pytest.raises(ValueError, match=r"b\.npy: shape"):
        files[[1]]


def _three_good_and_bad(folder):
    for i in range(3):
        np.save(folder / f"good{i}.npy", np.full((8, 8, 1), i, np.float32))
    (folder / "corrupt.png").write_bytes(b"not a png")
    np.save(folder / "odd.npy", np.zeros((9, 9, 1), np.float32))
    fits.HDUList([fits.PrimaryHDU()]).writeto(folder / "empty.fits")


def test_on_error_skip_leaves_out_unreadable_files_and_reports_them(tmp_path):
    _three_good_and_bad(tmp_path)
    with pytest.raises(ValueError, match="corrupt.png"):
        load_cutouts(tmp_path)
    with pytest.warns(UserWarning, match="Skipped 3 of 6"):
        data = load_cutouts(tmp_path, on_error="skip")
    assert data.ids.tolist() == ["good0", "good1", "good2"]
    np.testing.assert_array_equal(data.images[:, 0, 0, 0], [0, 1, 2])
    names = [Path(f).name for f in data.skipped["file"]]
    reasons = dict(zip(names, data.skipped["reason"]))
    assert sorted(reasons) == ["corrupt.png", "empty.fits", "odd.npy"]
    assert "Cannot read" in reasons["corrupt.png"]
    assert "holds no image" in reasons["empty.fits"]
    assert "(9, 9, 1)" in reasons["odd.npy"]
    assert len(data.catalogue) == 3


def test_on_error_skip_drops_catalogue_rows_of_missing_files(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((8, 8, 1), np.float32))
    catalogue = pd.DataFrame(
        {"file": ["a.npy", "gone.npy"], "id_str": ["A", "B"], "label": ["x", "y"]}
    )
    catalogue.to_csv(tmp_path / "cat.csv", index=False)
    for lazy in (False, True):
        with pytest.warns(UserWarning, match="Skipped 1 of 2"):
            data = load_cutouts(
                tmp_path / "cat.csv", label_column="label", on_error="skip", lazy=lazy
            )
        assert data.ids.tolist() == ["A"] and data.target_names.tolist() == ["x"]
        assert data.skipped["reason"].str.contains("gone.npy").all()
        assert np.asarray(data.images[[0]]).shape == (1, 8, 8, 1)


def test_on_error_is_checked_and_all_skipped_is_an_error(tmp_path):
    (tmp_path / "corrupt.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="on_error must be"):
        load_cutouts(tmp_path, on_error="ignore")
    with pytest.raises(ValueError, match="None of the 1 cutouts"):
        load_cutouts(tmp_path, on_error="skip")


def test_the_commands_skip_unreadable_files_on_request(tmp_path, capsys):
    folder = tmp_path / "cutouts"
    folder.mkdir()
    _three_good_and_bad(folder)
    model = tmp_path / "m.skgalaxy"
    args = ["train", "morphology", "--data", str(folder), "--size", "8"]
    assert main([*args, "--out", str(model)]) == 1
    assert "corrupt.png" in capsys.readouterr().err and not model.exists()
    with pytest.warns(UserWarning, match="Skipped 2 of 6"):  # --size resizes odd.npy
        assert main([*args, "--on-error", "skip", "--out", str(model)]) == 0
    assert model.exists()


def test_real_galaxies_as_png_and_fits_score_as_the_npz_does(gz1_path, tmp_path):
    from skgalaxy import CAEAnomalyDetector
    from skgalaxy.datasets import load_npz_images

    data = load_npz_images(gz1_path)
    images, names = data.images[:48], data.target_names[data.target[:48]]
    rows = []
    (tmp_path / "png").mkdir()
    (tmp_path / "fits").mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "png" / f"gz{i}.png")
        cube = np.moveaxis(image, -1, 0).astype(np.float32) / 255
        fits.PrimaryHDU(cube).writeto(tmp_path / "fits" / f"gz{i}.fits")
        rows.append(
            {"file_loc": f"png/gz{i}.png", "id_str": f"GZ{i}", "class": names[i]}
        )
    pd.DataFrame(rows).to_csv(tmp_path / "catalogue.csv", index=False)
    pngs = load_cutouts(tmp_path / "catalogue.csv", label_column="class")
    cubes = load_cutouts(tmp_path / "fits")
    np.testing.assert_array_equal(pngs.images, images)
    assert pngs.target_names[pngs.target].tolist() == names.tolist()
    assert pngs.ids[0] == "GZ0" and cubes.ids.tolist()[:2] == ["gz0", "gz1"]

    def scores(X):
        cae = CAEAnomalyDetector(filters=(8, 16), max_epochs=2, random_state=0)
        return cae.fit(X).score_samples(X)

    expected = scores(images)
    np.testing.assert_array_equal(scores(pngs.images), expected)
    # x / 255 in float32 is the same number whether numpy or torch divides.
    np.testing.assert_allclose(scores(cubes.images), expected, rtol=1e-5, atol=1e-6)
