"""Survey scoring: chunked, resumable, on dask workers, bounded in memory."""

import copy
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import TINY, small_galaxies

from skgalaxy.io import save_model


@pytest.fixture(scope="module")
def data():
    return small_galaxies(48)


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    return {name: TINY[name]().fit(X) for name in ("cae", "vae")}


_KILLED_SCORE = textwrap.dedent(
    """
    import sys, time
    import skgalaxy.scoring as scoring
    original = scoring._score_part
    def slow(*args):
        done = original(*args)
        print("part", args[4], flush=True)
        time.sleep(0.5)
        return done
    scoring._score_part = slow
    scoring.score_survey(sys.argv[1], sys.argv[2], sys.argv[3], chunk_size=20,
                         progress=False)
    """
)


def test_an_interrupted_survey_resumes_without_recomputing(fitted, data, tmp_path):
    import h5py
    import pandas as pd

    from skgalaxy.scoring import score_survey

    X, _ = data
    survey = tmp_path / "survey.h5"
    with h5py.File(survey, "w") as f:
        f["images"] = np.concatenate([X] * 5)  # 240 images, 12 parts
    model = save_model(fitted["cae"], tmp_path / "cae.skgalaxy")
    out = tmp_path / "scores.parquet"
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SCORE, str(model), str(survey), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("part 3"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    written = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert 4 <= len(written) < 12 and not (out / "_SUCCESS").exists()
    score_survey(model, survey, out, chunk_size=20, progress=False)
    for name, mtime in written.items():
        assert (out / name).stat().st_mtime_ns == mtime  # not recomputed
    assert (out / "_SUCCESS").is_file()
    assert not list(out.glob(".*.tmp"))
    table = pd.read_parquet(out)
    np.testing.assert_array_equal(table["index"], np.arange(240))
    expected = fitted["cae"].score_samples(np.concatenate([X] * 5))
    np.testing.assert_allclose(table["score_samples"], expected, rtol=1e-6)


def test_survey_scoring_on_dask_workers_matches(fitted, data, tmp_path):
    distributed = pytest.importorskip("distributed")
    import h5py
    import pandas as pd

    from skgalaxy.scoring import score_survey

    X, _ = data
    survey = tmp_path / "survey.h5"
    with h5py.File(survey, "w") as f:
        f["images"] = X
    model = save_model(fitted["cae"], tmp_path / "cae.skgalaxy")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = score_survey(model, survey, tmp_path / "s", chunk_size=16, client=client)
    table = pd.read_parquet(out).sort_values("index")
    np.testing.assert_allclose(
        table["score_samples"], fitted["cae"].score_samples(X), rtol=1e-6
    )


def test_peak_memory_of_survey_scoring_is_bounded_by_the_chunk(fitted, data, tmp_path):
    import tracemalloc

    import h5py

    from skgalaxy.scoring import score_survey

    X, _ = data

    def peak(n_copies):
        survey = tmp_path / f"survey{n_copies}.h5"
        with h5py.File(survey, "w") as f:
            f["images"] = np.concatenate([X] * n_copies)
        tracemalloc.start()
        score_survey(
            fitted["cae"],
            survey,
            tmp_path / f"s{n_copies}",
            chunk_size=48,
            progress=False,
        )
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    small, large = peak(2), peak(20)
    # 18 more chunks of 48 images: an all-in-memory run would hold 864 more
    # 16x16x3 images (663 KB as uint8, 2.6 MB as float32).
    assert large - small < 300_000, large - small


def test_a_resumed_survey_refuses_or_rescores_what_is_not_of_this_run(
    fitted, data, tmp_path
):
    import h5py
    import pandas as pd

    from skgalaxy.scoring import score_survey

    X, _ = data
    survey = tmp_path / "survey.h5"
    images = np.concatenate([X, X[::-1]])  # 96 images, 4 parts of 24
    with h5py.File(survey, "w") as f:
        f["images"] = images
    model = save_model(fitted["cae"], tmp_path / "cae.skgalaxy")
    out = tmp_path / "scores.parquet"
    score_survey(model, survey, out, chunk_size=24, progress=False)
    expected = fitted["cae"].score_samples(images)
    parts = sorted(out.glob("part-*.parquet"))
    # A truncated part and two swapped ones, as a copy gone wrong leaves them.
    parts[0].write_bytes(parts[0].read_bytes()[:100])
    first, second = parts[1].read_bytes(), parts[2].read_bytes()
    parts[1].write_bytes(second)
    parts[2].write_bytes(first)
    with pytest.warns(UserWarning, match="3 part"):
        score_survey(model, survey, out, chunk_size=24, progress=False)
    table = pd.read_parquet(out)
    np.testing.assert_array_equal(table["index"], np.arange(96))
    np.testing.assert_allclose(table["score_samples"], expected, rtol=1e-6)
    # The images changed in place, same length: the parts over them rescored.
    with h5py.File(survey, "r+") as f:
        f["images"][30] = 255 - f["images"][30]
    with pytest.warns(UserWarning, match="1 part"):
        score_survey(model, survey, out, chunk_size=24, progress=False)
    # Another model at the same path, or another model in memory: refused.
    save_model(copy.deepcopy(fitted["cae"]).set_params(smoothing=2.0), model)
    with pytest.raises(ValueError, match="another run"):
        score_survey(model, survey, out, chunk_size=24, progress=False)
    in_memory = tmp_path / "in_memory.parquet"
    score_survey(fitted["cae"], survey, in_memory, chunk_size=24, progress=False)
    other = TINY["cae"](random_state=1).fit(X)
    with pytest.raises(ValueError, match="another run"):
        score_survey(other, survey, in_memory, chunk_size=24, progress=False)


def test_a_model_file_replaced_at_the_same_path_is_not_served_from_cache(
    fitted, data, tmp_path
):
    from skgalaxy.scoring import _load_cached, _model_digest

    path = save_model(fitted["cae"], tmp_path / "cae.skgalaxy")
    first = _load_cached(path, _model_digest(path))
    save_model(fitted["vae"], path)
    assert type(_load_cached(path, _model_digest(path))) is not type(first)
