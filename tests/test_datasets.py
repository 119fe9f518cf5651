import hashlib
import http.server
import socket
import threading
import time

import h5py
import numpy as np
import pytest

from skgalaxy.cli import main
from skgalaxy.datasets import (
    ANOMALY_TYPES,
    GALAXY10_CLASSES,
    fetch_galaxy10,
    get_data_home,
    load_galaxy10,
    load_images,
    load_npz_images,
    locate_gz1,
    make_galaxies,
    resize_images,
)


def _moments(images):
    """Light-weighted ellipticity, concentration and red/blue ratio per image."""
    flux = images.astype(float)
    light = flux.sum(axis=-1)
    light = np.clip(light - np.median(light, axis=(1, 2), keepdims=True), 0, None)
    size = light.shape[1]
    y, x = np.mgrid[:size, :size]
    total = light.sum(axis=(1, 2))
    cx = (light * x).sum(axis=(1, 2)) / total
    cy = (light * y).sum(axis=(1, 2)) / total
    dx, dy = x - cx[:, None, None], y - cy[:, None, None]
    mxx = (light * dx**2).sum(axis=(1, 2)) / total
    myy = (light * dy**2).sum(axis=(1, 2)) / total
    mxy = (light * dx * dy).sum(axis=(1, 2)) / total
    root = np.sqrt((mxx - myy) ** 2 + 4 * mxy**2)
    ellipticity = root / (mxx + myy)
    r2 = dx**2 + dy**2
    concentration = (light * (r2 < 9)).sum(axis=(1, 2)) / total
    colour = flux[..., 0].sum(axis=(1, 2)) / flux[..., 2].sum(axis=(1, 2))
    return ellipticity, concentration, colour


def test_all_classes_shapes_dtypes_and_balance():
    data = make_galaxies(103, image_size=32, random_state=0)
    assert data.images.shape == (103, 32, 32, 3)
    assert data.images.dtype == np.uint8
    assert list(data.target_names) == list(GALAXY10_CLASSES)
    counts = np.bincount(data.target, minlength=10)
    assert counts.min() == 10 and counts.max() == 11
    assert not data.is_anomaly.any()
    assert data.images.std() > 5  # not blank
    X, y = make_galaxies(10, image_size=32, random_state=0, return_X_y=True)
    assert X.shape == (10, 32, 32, 3) and y.dtype == np.int64


def test_deterministic_for_a_seed():
    a = make_galaxies(30, image_size=32, random_state=5)
    b = make_galaxies(30, image_size=32, random_state=5)
    c = make_galaxies(30, image_size=32, random_state=6)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.target, b.target)
    assert not np.array_equal(a.images, c.images)


def test_float_output_and_noise_control():
    noisy = make_galaxies(20, image_size=32, random_state=0, as_float=True)
    clean = make_galaxies(20, image_size=32, random_state=0, as_float=True, noise=0)
    assert noisy.images.dtype == np.float32
    assert 0 <= noisy.images.min() and noisy.images.max() <= 1
    # Same seed, same galaxies: the two differ by the pixel noise alone.
    assert np.abs(noisy.images - clean.images).mean() > 0.01
    roughness = [np.abs(np.diff(x.images, axis=2)).mean() for x in (noisy, clean)]
    assert roughness[0] > 2 * roughness[1]


def test_classes_differ_in_measurable_ways():
    names = [
        "round_smooth",
        "cigar_shaped_smooth",
        "unbarred_loose_spiral",
        "edge_on_without_bulge",
    ]
    data = make_galaxies(160, classes=names, noise=0, random_state=1)
    ellipticity, concentration, colour = _moments(data.images)

    def mean(values, name):
        return values[data.target == names.index(name)].mean()

    assert (
        mean(ellipticity, "cigar_shaped_smooth")
        > mean(ellipticity, "round_smooth") + 0.3
    )
    assert mean(ellipticity, "edge_on_without_bulge") > 0.6
    assert mean(concentration, "round_smooth") > mean(
        concentration, "unbarred_loose_spiral"
    )
    assert mean(colour, "round_smooth") > mean(colour, "unbarred_loose_spiral") + 0.1


def test_look_alike_classes_overlap():
    """Round vs in-between smooth galaxies share axis ratios: not separable by shape."""
    data = make_galaxies(
        200,
        classes=["round_smooth", "in_between_round_smooth"],
        noise=0,
        random_state=2,
    )
    ellipticity, _, _ = _moments(data.images)
    round_e, between_e = ellipticity[data.target == 0], ellipticity[data.target == 1]
    assert between_e.mean() > round_e.mean()
    assert (between_e < round_e.max()).mean() > 0.1


def test_anomalies_are_mixed_in_with_labels():
    data = make_galaxies(200, image_size=32, anomaly_fraction=0.15, random_state=0)
    assert list(data.target_names) == list(GALAXY10_CLASSES) + list(ANOMALY_TYPES)
    assert data.is_anomaly.sum() == 30
    counts = np.bincount(data.target[data.is_anomaly] - 10, minlength=3)
    np.testing.assert_array_equal(counts, [10, 10, 10])
    one = make_galaxies(
        50,
        image_size=32,
        classes=[2],
        anomalies=["lens"],
        anomaly_fraction=0.2,
        random_state=0,
    )
    assert list(one.target_names) == ["round_smooth", "lens"]
    assert np.bincount(one.target).tolist() == [40, 10]


@pytest.mark.parametrize("kind", ANOMALY_TYPES)
def test_anomaly_strength_scales_the_anomaly_alone(kind):
    def render(strength):
        return make_galaxies(
            8,
            image_size=32,
            anomalies=[kind],
            anomaly_fraction=1.0,
            anomaly_strength=strength,
            noise=0.0,
            as_float=True,
            random_state=0,
        ).images

    without, weak, strong = render(0.0), render(1.0), render(3.0)
    # The same galaxies at every strength: the anomaly only adds light.
    assert np.all(weak >= without - 1e-6) and np.all(strong >= weak - 1e-6)
    assert (strong - without).sum() > (weak - without).sum() > 0
    np.testing.assert_array_equal(
        weak,
        make_galaxies(
            8,
            image_size=32,
            anomalies=[kind],
            anomaly_fraction=1.0,
            noise=0.0,
            as_float=True,
            random_state=0,
        ).images,
    )


def test_negative_anomaly_strength_is_refused():
    with pytest.raises(ValueError, match="anomaly_strength"):
        make_galaxies(10, anomaly_fraction=0.5, anomaly_strength=-1.0)


def test_saturated_stars_are_brighter_than_normal_galaxies():
    data = make_galaxies(
        60,
        image_size=32,
        classes=["round_smooth"],
        anomalies=["saturated_star"],
        anomaly_fraction=0.5,
        random_state=0,
    )
    saturated = (data.images == 255).all(axis=-1).sum(axis=(1, 2))
    assert (
        saturated[data.is_anomaly].mean() > 5 * saturated[~data.is_anomaly].mean() + 1
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"classes": ["spiral_galaxy"]}, "Unknown class"),
        ({"classes": [12]}, "out of range"),
        ({"classes": []}, "At least one"),
        ({"anomaly_fraction": 0.1, "anomalies": ["ufo"]}, "Unknown anomaly"),
        ({"anomalies": ["lens"]}, "anomaly_fraction is 0"),
        ({"n_samples": -3}, "n_samples"),
        ({"anomaly_fraction": 1.5}, "anomaly_fraction"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"n_samples": 10, "image_size": 16, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_galaxies(**kwargs)


def test_resize_by_area_averaging():
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, :2, :2] = 4.0
    out = resize_images(image, 2)
    np.testing.assert_allclose(out[0, :, :, 0], [[4, 0], [0, 0]])
    odd = resize_images(np.full((2, 69, 69, 3), 200, np.uint8), 64)
    assert odd.dtype == np.uint8 and (odd == 200).all()


@pytest.mark.parametrize("size, variant", [(69, "sdss"), (160, "decals")])
def test_load_galaxy10_reads_in_chunks_and_resizes(
    tmp_path, size, variant, galaxy10_writer
):
    path = tmp_path / "g10.h5"
    images, labels = galaxy10_writer(path, size=size)
    data = load_galaxy10(path, image_size=32, chunk_size=5)
    assert data.images.shape == (24, 32, 32, 3) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.target, labels)
    assert data.variant == variant and len(data.target_names) == 10
    np.testing.assert_array_equal(data.images, resize_images(images, 32))


def test_load_galaxy10_rejects_other_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_galaxy10(tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match="HDF5"):
        load_galaxy10(junk)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="'images' and 'ans'"):
        load_galaxy10(other)


def test_fetch_downloads_verifies_and_caches(http_folder, tmp_path, galaxy10_writer):
    folder, base = http_folder
    _, labels = galaxy10_writer(folder / "Galaxy10.h5")
    digest = hashlib.sha256((folder / "Galaxy10.h5").read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    data = fetch_galaxy10(
        "sdss", data_home=cache, url=f"{base}/Galaxy10.h5", sha256=digest, verbose=False
    )
    np.testing.assert_array_equal(data.target, labels)
    assert [p.name for p in cache.iterdir()] == ["Galaxy10.h5"]
    (folder / "Galaxy10.h5").unlink()  # the cached copy is used from now on
    again = fetch_galaxy10(
        "sdss", data_home=cache, url=f"{base}/Galaxy10.h5", sha256=digest, verbose=False
    )
    np.testing.assert_array_equal(again.images, data.images)


def test_fetch_with_a_wrong_checksum_leaves_nothing(
    http_folder, tmp_path, galaxy10_writer
):
    folder, base = http_folder
    galaxy10_writer(folder / "Galaxy10.h5")
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="Checksum mismatch"):
        fetch_galaxy10(
            "sdss",
            data_home=cache,
            url=f"{base}/Galaxy10.h5",
            sha256="0" * 64,
            verbose=False,
        )
    assert list(cache.iterdir()) == []


def test_fetch_offline_and_not_cached(http_folder, tmp_path):
    _, base = http_folder
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="Could not download"):
        fetch_galaxy10("sdss", data_home=cache, url=f"{base}/absent.h5", verbose=False)
    with socket.socket() as unused:  # a port nobody listens on: as if offline
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(OSError, match="offline"):
        fetch_galaxy10(
            "sdss", data_home=cache, url=f"http://127.0.0.1:{port}/g.h5", verbose=False
        )
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_galaxy10("decals", data_home=cache, download_if_missing=False)
    with pytest.raises(ValueError, match="variant"):
        fetch_galaxy10("hubble", data_home=cache)
    assert list(cache.iterdir()) == []


def test_data_home_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKGALAXY_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == tmp_path / "from_env"
    assert (tmp_path / "from_env").is_dir()


def test_npz_loader_and_dispatch(tmp_path):
    path = tmp_path / "cut.npz"
    rng = np.random.default_rng(0)
    np.savez(
        path,
        images=rng.integers(0, 255, (6, 16, 16, 3), dtype=np.uint8),
        labels=np.array([0, 1, 0, 1, 0, 1]),
        class_names=np.array(["a", "b"]),
        objid=np.arange(6),
    )
    data = load_npz_images(path)
    assert data.images.shape == (6, 16, 16, 3)
    assert list(data.target_names) == ["a", "b"]
    np.testing.assert_array_equal(data.objid, np.arange(6))
    assert load_images(path, image_size=8).images.shape == (6, 8, 8, 3)
    bad = tmp_path / "bad.npz"
    np.savez(bad, pixels=np.zeros(3))
    with pytest.raises(ValueError, match="'images'"):
        load_npz_images(bad)
    with pytest.raises(ValueError, match="Unknown image file format"):
        load_images(tmp_path / "x.tar")


def test_locate_gz1_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKGALAXY_GZ1", str(tmp_path / "absent.npz"))
    assert locate_gz1() is None
    target = tmp_path / "gz1.npz"
    target.write_bytes(b"")
    monkeypatch.setenv("SKGALAXY_GZ1", str(target))
    assert locate_gz1() == target


def test_real_gz1_file(gz1_path):
    data = load_npz_images(gz1_path)
    assert data.images.shape == (5286, 64, 64, 3)
    assert np.bincount(data.target).tolist() == [3716, 331, 349, 798, 92]


def test_demo_reads_galaxy10_h5(tmp_path, capsys, galaxy10_writer):
    path = tmp_path / "g10.h5"
    galaxy10_writer(path, n=60)
    assert (
        main(["demo", "--data", str(path), "--out", str(tmp_path / "r"), "--quick"])
        == 0
    )
    assert "60 images of shape (64, 64, 3)" in capsys.readouterr().out


def _npz(path, **arrays):
    images = np.zeros((4, 8, 8, 3), np.uint8)
    np.savez(path, **{"images": images, **arrays})
    return path


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"labels": np.array([0, 1, 0])}, "one per image"),
        ({"labels": np.array([0.0, np.nan, 1.0, 0.0])}, "integers"),
        ({"labels": np.array([0, -1, 1, 0])}, ">= 0"),
        (
            {"labels": np.array([0, 1, 2, 0]), "class_names": np.array(["a", "b"])},
            "no class name",
        ),
        ({"labels": np.array([0, 10**9, 1, 0])}, "class_names"),
    ],
)
def test_npz_labels_are_checked(tmp_path, arrays, match):
    path = _npz(tmp_path / "cutouts.npz", **arrays)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        load_npz_images(path)
    assert time.perf_counter() - start < 2  # no class list of 10**9 names


def test_truncated_and_renamed_files_are_clear_errors(tmp_path, capsys):
    path = _npz(tmp_path / "good.npz", labels=np.array([0, 1, 0, 1]))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    renamed = tmp_path / "renamed.npz"
    np.save(tmp_path / "plain.npy", np.zeros(3))
    (tmp_path / "plain.npy").rename(renamed)
    for bad in (truncated, renamed):
        with pytest.raises(ValueError, match="Cannot read"):
            load_npz_images(bad)
        out = tmp_path / "m.joblib"
        assert main(["train", "cae", "--data", str(bad), "--out", str(out)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Cannot read" in err[0]


def _h5(path, images, ans):
    with h5py.File(path, "w") as f:
        f["images"] = images
        f["ans"] = ans
    return path


@pytest.mark.parametrize(
    "images, ans, match",
    [
        (np.random.default_rng(0).random((4, 69, 69, 3)), np.arange(4), "uint8"),
        (np.full((4, 69, 69, 3), 300, np.uint16), np.arange(4), "uint8"),
        (np.zeros((4, 69, 69, 3), np.uint8), np.arange(4) + 0.5, "integer label"),
        (np.zeros((4, 69, 69, 3), np.uint8), np.zeros((4, 2), int), "integer label"),
    ],
)
def test_galaxy10_contents_are_checked(tmp_path, images, ans, match):
    with pytest.raises(ValueError, match=match):
        load_galaxy10(_h5(tmp_path / "g.h5", images, ans))


def test_galaxy10_images_as_a_group_is_a_clear_error(tmp_path):
    path = tmp_path / "group.h5"
    with h5py.File(path, "w") as f:
        f.create_group("images")
        f["ans"] = np.arange(3)
    with pytest.raises(ValueError, match="not a Galaxy10 file"):
        load_galaxy10(path)


class _ShortBody(http.server.BaseHTTPRequestHandler):
    """Announces more bytes than it sends, then closes the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x89HDF\r\n\x1a\n" + b"x" * 1000)

    def log_message(self, *args):
        pass


def test_a_truncated_download_is_discarded_and_retried(tmp_path, galaxy10_writer):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ShortBody)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/Galaxy10.h5?token=abc"
        with pytest.raises(OSError, match="incomplete"):
            fetch_galaxy10("sdss", data_home=tmp_path, url=url, verbose=False)
        assert list(tmp_path.iterdir()) == []  # nothing that looks complete
    finally:
        server.shutdown()
        server.server_close()


def test_query_strings_stay_out_of_the_cache_name(
    http_folder, tmp_path, galaxy10_writer
):
    folder, base = http_folder
    galaxy10_writer(folder / "Galaxy10.h5")
    cache = tmp_path / "cache"
    fetch_galaxy10(
        "sdss", data_home=cache, url=f"{base}/Galaxy10.h5?x=1", verbose=False
    )
    assert [p.name for p in cache.iterdir()] == ["Galaxy10.h5"]


def test_no_download_creates_nothing(tmp_path):
    home = tmp_path / "never"
    with pytest.raises(OSError, match="download_if_missing"):
        fetch_galaxy10("sdss", data_home=home, download_if_missing=False)
    assert not home.exists()
