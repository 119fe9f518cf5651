import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.ensemble import IsolationForest

from skgalaxy.active import (
    NOT_INTERESTING,
    ActiveHunter,
    HuntSession,
    RandomLabelHunter,
    UnsupervisedHunter,
    make_nights,
    simulate_hunt,
)
from skgalaxy.metrics import rank_weighted_score
from skgalaxy.plotting import plot_hunt_curves

#: The shared tiny AHUNT on feature vectors, trained to convergence on blobs.
DETECTOR = TINY["ahunt"](
    hidden=(32,), max_epochs=30, epochs_per_round=5, lr=1e-2, batch_size=64, n_queries=5
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = np.concatenate(
        [
            rng.normal([0, 0, 0], 0.7, (300, 3)),
            rng.normal([3, 0, 0], 0.7, (300, 3)),
            rng.normal([1.5, 3.5, 0], 0.5, (24, 3)),
        ]
    ).astype(np.float32)
    y = np.repeat(["disc", "bulge", "merger"], [300, 300, 24])
    return X, y


def test_make_nights_partitions_the_samples(data):
    _, y = data
    initial, nights = make_nights(
        y, 4, anomaly_labels=["merger"], n_initial=100, random_state=0
    )
    everything = np.concatenate([initial, *nights])
    assert len(everything) == len(np.unique(everything)) == len(y)
    assert not np.isin(y[initial], ["merger"]).any()
    assert [np.sum(y[n] == "merger") for n in nights] == [6, 6, 6, 6]
    assert [len(n) for n in nights] == [131] * 4
    again, nights_again = make_nights(
        y, 4, anomaly_labels=["merger"], n_initial=100, random_state=0
    )
    np.testing.assert_array_equal(initial, again)
    _, rare = make_nights(
        y,
        2,
        anomaly_labels=["merger"],
        n_initial=100,
        anomaly_fraction=0.1,
        random_state=0,
    )
    arrivals = np.concatenate(rare)
    assert np.mean(y[arrivals] == "merger") == pytest.approx(0.1, abs=0.005)


def test_make_nights_refuses_bad_arguments(data):
    _, y = data
    with pytest.raises(ValueError, match="n_nights"):  # scikit-learn's validation
        make_nights(y, 0, anomaly_labels=["merger"], n_initial=10)
    with pytest.raises(ValueError, match="n_initial"):
        make_nights(y, 2, anomaly_labels=["merger"], n_initial=600)


def test_simulated_hunt_side_by_side(data):
    X, y = data
    initial, nights = make_nights(
        y, 3, anomaly_labels=["merger"], n_initial=150, random_state=0
    )
    hunters = {
        "ahunt": ActiveHunter(DETECTOR, X),
        "forest": UnsupervisedHunter(IsolationForest(random_state=0), X),
        "random labels": RandomLabelHunter(DETECTOR, X, n_queries=5, random_state=0),
    }
    results = simulate_hunt(
        hunters, y, initial, nights, interest_labels=["merger"], k=20
    )
    assert list(results.columns) == [
        "round",
        "method",
        "rws",
        "recall",
        "precision",
        "mcc",
        "query_rate",
        "n_pool",
        "n_anomalies",
    ]
    assert results.groupby("method").size().to_dict() == {
        "ahunt": 4,
        "forest": 4,
        "random labels": 4,
    }
    final = results[results["round"] == 3].set_index("method")
    assert final.loc["ahunt", "n_anomalies"] == 24
    assert final.loc["ahunt", "n_pool"] == len(y)
    # The active learner asked about mergers; the others asked nothing.
    ahunt = results[results["method"] == "ahunt"]
    assert ahunt["query_rate"].iloc[1:].mean() > 0.5
    assert results[results["method"] != "ahunt"]["query_rate"].isna().all()
    assert final.loc["ahunt", "rws"] > 0.8
    asked = hunters["ahunt"].session_.hunter_.n_labelled_ - 150
    assert asked == 15
    for column in ("rws", "recall", "precision"):
        assert results[column].between(0, 1).all()


def test_plot_hunt_curves(data):
    import pandas as pd

    results = pd.DataFrame(
        {
            "round": [0, 1, 0, 1] * 2,
            "method": ["a", "a", "b", "b"] * 2,
            "seed": [0] * 4 + [1] * 4,
            "rws": [0.1, 0.5, 0.2, 0.3, 0.3, 0.7, 0.2, 0.3],
            "recall": [0.0, 0.4, 0.1, 0.2, 0.2, 0.6, 0.1, 0.2],
        }
    )
    fig = plot_hunt_curves(results, metrics=["rws", "recall"])
    assert len(fig.axes) == 2
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [0.2, 0.6])  # mean over seeds
    with pytest.raises(ValueError, match="no column"):
        plot_hunt_curves(results, metrics=["mcc"])


def test_random_label_baseline_beats_chance_on_separable_data(data):
    """The same-budget non-active baseline hunts the same interest class."""
    X, y = data
    initial, nights = make_nights(
        y, 2, anomaly_labels=["merger"], n_initial=150, random_state=0
    )
    detector = clone(DETECTOR).set_params(interest={"merger": 1.0})
    hunter = RandomLabelHunter(detector, X, n_queries=40, random_state=0)
    results = simulate_hunt(
        {"random": hunter}, y, initial, nights, interest_labels=["merger"]
    )
    # 80 random labels of 474 arrivals hold about 4 mergers: enough to learn.
    assert results["rws"].iloc[-1] > 0.8


@pytest.fixture
def pool(data):
    """The blobs with the first 100 normal samples labelled."""
    X, truth = data
    y = np.full(len(X), None, dtype=object)
    y[:100] = truth[:100]
    return X, y, truth.astype(object)


def _session(pool, **params):
    X, y, _ = pool
    return HuntSession(X, DETECTOR, y=y, **params)


def test_a_hunt_finds_the_anomalies_and_never_shows_a_sample_twice(pool):
    X, y, truth = pool
    session = _session(pool)
    history = session.hunt(oracle=lambda idx: truth[idx], n_rounds=4)
    assert list(history["round"]) == [1, 2, 3, 4]
    assert list(history["n_shown"]) == [5] * 4
    labels = session.labels()
    asked = labels[labels["round"] > 0]["index"].to_numpy()
    assert len(asked) == len(np.unique(asked)) == 20
    assert not np.isin(asked, np.arange(100)).any()  # never a known sample
    assert history["n_interest"].sum() >= 10  # random: about 20 * 24 / 624 = 0.8
    assert history["new_classes"].iloc[0] == ["merger"]
    assert rank_weighted_score(truth == "merger", session.anomaly_scores()) > 0.7
    assert session.hunter_.n_labelled_ == 120


def test_a_session_hunts_with_the_detectors_own_interest(pool):
    X, y, truth = pool
    detector = clone(DETECTOR).set_params(interest={"merger": 1.0, "bulge": 0.0})
    session = HuntSession(X, detector, y=y)
    assert session.effective_interest() == {"merger": 1.0, "bulge": 0.0}
    session.hunt(oracle=lambda idx: truth[idx], n_rounds=1)
    assert session.hunter_.interest == {"merger": 1.0, "bulge": 0.0}
    # The session's own interest wins over the detector's.
    other = HuntSession(X, detector, y=y, interest={"bulge": 1.0})
    assert other.effective_interest() == {"bulge": 1.0}


def test_a_round_shows_the_same_queries_until_it_is_taught(pool):
    session = _session(pool)
    first = session.query()
    np.testing.assert_array_equal(session.query(), first)
    np.testing.assert_array_equal(session.pending(), first)
    session.label(first[0], "disc")
    session.teach()
    assert len(session.pending()) == 0
    assert not set(session.query()) & set(first)  # shown before: never again


def test_labels_are_validated_and_the_latest_counts(pool):
    session = _session(pool)
    shown = session.query()
    with pytest.raises(ValueError, match="characters"):
        session.label(shown[0], "x" * 65)
    with pytest.raises(ValueError, match="printable"):
        session.label(shown[0], "a\tb")
    with pytest.raises(TypeError, match="string or an integer"):
        session.label(shown[0], 1.5)
    with pytest.raises(ValueError, match="indices"):
        session.label(len(pool[0]), "disc")
    with pytest.raises(ValueError, match="2 labels"):
        session.label(shown[:3], ["a", "b"])
    assert len(session.labels()) == 100  # nothing was written
    session.label(shown[0], "merger")
    session.label(shown[0], " <script>alert(1)</script> ")
    session.label(shown[1], "merger")
    session.label(shown[1], None)  # withdrawn: skipped
    table = session.labels().set_index("index")
    assert table.loc[shown[0], "label"] == "<script>alert(1)</script>"
    assert shown[1] not in table.index


def test_interest_default_skips_not_interesting_and_can_be_set(pool, tmp_path):
    X, y, truth = pool
    session = _session(pool, directory=tmp_path / "hunt")
    shown = session.query()
    session.label(shown, ["merger", NOT_INTERESTING, "disc", "trail", "disc"])
    assert session.effective_interest() == {"merger": 1.0, "trail": 1.0}
    session.set_interest({"trail": 2.0, "merger": 1.0})
    with pytest.raises(ValueError, match="weights"):
        session.set_interest({"trail": -1})
    session.close()
    resumed = HuntSession(X, directory=tmp_path / "hunt")
    assert resumed.interest == {"trail": 2.0, "merger": 1.0}
    resumed.set_interest(None)
    assert resumed.effective_interest() == {"merger": 1.0, "trail": 1.0}


def test_a_saved_hunt_resumes_with_labels_queries_model_and_history(pool, tmp_path):
    X, y, truth = pool
    folder = tmp_path / "hunt"
    session = _session(pool, directory=folder)
    session.run_round(lambda idx: truth[idx])
    pending = session.query()
    session.label(pending[:2], truth[pending[:2]])
    scores = session.anomaly_scores()
    session.close()
    resumed = HuntSession(X, directory=folder)
    assert resumed.round_ == 1 and len(resumed.history()) == 1
    np.testing.assert_array_equal(resumed.pending(), pending)
    np.testing.assert_array_equal(resumed.anomaly_scores(), scores)
    assert len(resumed.labels()) == 100 + 5 + 2
    out = tmp_path / "labels.csv"
    resumed.export_labels(out)
    resumed.close()
    with pytest.raises(ValueError, match="already holds a hunt"):
        HuntSession(X, DETECTOR, directory=folder)
    with pytest.raises(ValueError, match="differs"):
        HuntSession(X[::-1], directory=folder)
    with pytest.raises(ValueError, match="needs a detector"):
        HuntSession(X, directory=tmp_path / "empty")
    exported = pd.read_csv(out)
    assert list(exported.columns) == ["index", "label", "round", "time"]
    assert len(exported) == 107


_KILLED_HUNT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from skgalaxy import AHUNTDetector
    from skgalaxy.active import HuntSession

    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 0.7, (300, 3)),
                        rng.normal([1.5, 3.5, 0], 0.5, (24, 3))]).astype(np.float32)
    truth = np.repeat(["disc", "merger"], [300, 24]).astype(object)
    y = np.where(np.arange(len(X)) < 100, truth, None)
    detector = AHUNTDetector(hidden=(16,), max_epochs=5, epochs_per_round=200,
                             n_queries=6, device="cpu", random_state=0)
    folder = sys.argv[1]
    try:
        session = HuntSession(X, detector, y=y, directory=folder)
    except ValueError:
        session = HuntSession(X, directory=folder)
    shown = session.query()
    print("shown", *shown, flush=True)
    for i in shown:
        session.label(i, truth[i])
        print("labelled", i, flush=True)
        time.sleep(0.2)
    print("teaching", flush=True)
    session.teach()
    print("taught", session.round_, flush=True)
    """
)


def _run_until(script, folder, marker):
    """Start the hunt script; SIGKILL it as soon as it prints ``marker``."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    for line in process.stdout:
        lines.append(line.split())
        if line.startswith(marker):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    return lines


def test_a_hunt_killed_mid_round_resumes_with_every_committed_label(tmp_path):
    folder = tmp_path / "hunt"
    lines = _run_until(_KILLED_HUNT, folder, "labelled")  # killed after 1 label
    shown = [int(v) for v in lines[0][1:]]
    committed = [int(words[1]) for words in lines if words[0] == "labelled"]
    # Killed again while training on the round (epochs_per_round=200).
    lines = _run_until(_KILLED_HUNT, folder, "teaching")
    assert [int(v) for v in lines[0][1:]] == shown  # the same round resumed
    rng = np.random.default_rng(1)  # the script's pool
    X = np.concatenate(
        [rng.normal(0, 0.7, (300, 3)), rng.normal([1.5, 3.5, 0], 0.5, (24, 3))]
    ).astype(np.float32)
    resumed = HuntSession(X, directory=folder)
    assert resumed.round_ == 0  # the round's training never finished
    labelled = set(resumed.labels()["index"])
    assert set(committed) <= labelled and set(shown) <= labelled
    np.testing.assert_array_equal(resumed.pending(), shown)
    resumed.hunter_.set_params(epochs_per_round=2)
    assert resumed.teach().round_ == 1


# -- a hunt folder is data, not a program -------------------------------------


def _planted_pickle(path, marker):
    """A pickle that, once loaded, writes ``marker``: what a hostile folder holds."""
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path.write_bytes(pickle.dumps({"detector": Payload(), "round": 0, "history": []}))


def test_a_hunt_folder_never_runs_a_pickle_unless_asked(pool, tmp_path):
    X, _, truth = pool
    folder = tmp_path / "hunt"
    _session(pool, directory=folder).close()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["checkpoint-0.skgalaxy", "session.lock", "session.sqlite"]
    # A folder handed over by someone else: the checkpoint swapped for a pickle.
    import sqlite3

    (folder / "checkpoint-0.skgalaxy").unlink()
    with sqlite3.connect(folder / "session.sqlite") as store:
        store.execute("DELETE FROM meta WHERE key = 'checkpoint'")
    marker = tmp_path / "ran"
    _planted_pickle(folder / "model.joblib", marker)
    with pytest.raises(ValueError, match="pickled model.*allow_pickle=True"):
        HuntSession(X, directory=folder)
    assert not marker.exists()
    with contextlib.suppress(Exception):  # asked for: the pickle runs
        HuntSession(X, directory=folder, allow_pickle=True).close()
    assert marker.exists()


class Doubler(TransformerMixin, BaseEstimator):
    """A user's own step: the safe model format cannot hold it."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return 2 * np.asarray(X)


def test_a_detector_the_safe_format_cannot_hold_needs_allow_pickle(pool, tmp_path):
    from sklearn.pipeline import make_pipeline

    X, y, truth = pool
    custom = make_pipeline(Doubler(), clone(DETECTOR))
    with pytest.raises(TypeError, match="allow_pickle=True"):
        HuntSession(X, custom, y=y, directory=tmp_path / "a")
    session = HuntSession(X, custom, y=y, directory=tmp_path / "b", allow_pickle=True)
    session.close()
    with pytest.raises(ValueError, match="pickled model"):
        HuntSession(X, directory=tmp_path / "b")
    with HuntSession(X, directory=tmp_path / "b", allow_pickle=True) as resumed:
        assert resumed.round_ == 0


def test_one_session_per_folder_and_a_missing_model_is_refused(pool, tmp_path):
    X, _, truth = pool
    folder = tmp_path / "hunt"
    session = _session(pool, directory=folder)
    with pytest.raises(ValueError, match="open elsewhere"):
        HuntSession(X, directory=folder)
    session.run_round(lambda i: truth[i])
    session.close()
    with HuntSession(X, directory=folder) as again:
        assert again.round_ == 1
    assert HuntSession.saved_in(folder) and not HuntSession.saved_in(tmp_path / "x")
    started = tmp_path / "interrupted"  # killed while fitting its first model
    started.mkdir()
    import sqlite3

    with contextlib.closing(sqlite3.connect(started / "session.sqlite")) as store:
        store.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    assert not HuntSession.saved_in(started)
    (folder / "checkpoint-1.skgalaxy").unlink()
    with pytest.raises(ValueError, match="not its model.*checkpoint-1.skgalaxy"):
        HuntSession(X, directory=folder)


def test_a_changed_pool_checkpoint_or_store_is_a_clear_error(pool, tmp_path):
    X, _, _ = pool
    folder = tmp_path / "hunt"
    _session(pool, directory=folder).close()
    changed = X.copy()
    changed[len(X) // 2] += 1.0  # same length, same first and last rows
    with pytest.raises(ValueError, match="pool differs"):
        HuntSession(changed, directory=folder)
    with open(folder / "checkpoint-0.skgalaxy", "ab") as f:
        f.write(b"x")
    with pytest.raises(ValueError, match="changed since the hunt wrote it"):
        HuntSession(X, directory=folder)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "session.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match="not a hunt's label store"):
        HuntSession(X, directory=garbage)


_READ_ONLY = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from skgalaxy.active import HuntSession
    if os.getuid() == 0:
        os.setgid(65534)
        os.setuid(65534)  # root writes everywhere: try it as nobody
    try:
        HuntSession(np.zeros((5, 2)), directory=sys.argv[1])
    except ValueError as exc:
        print(exc)
    """
)


def test_a_read_only_folder_is_refused_at_start(pool, tmp_path):
    folder = tmp_path / "hunt"
    _session(pool, directory=folder).close()
    for path in (tmp_path, folder, *folder.iterdir()):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _READ_ONLY, str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for path in (tmp_path, folder, *folder.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert "cannot be written to" in result.stdout, result.stderr


def test_integer_hunts_keep_integer_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.full(60, None, dtype=object)
    y[:30] = np.arange(30) % 2
    with HuntSession(X, clone(DETECTOR), y=y, directory=tmp_path / "h") as session:
        shown = session.query()
        assert session.label(shown[:2], ["1", " 0"]) == 1
        session.label(shown[2], "merger")
        latest = session.labels().set_index("index")["label"]
        assert latest[shown[0]] == 1 and latest[shown[1]] == 0
        assert latest[shown[2]] == "merger"
        session.set_interest({"1": 2.0})
        assert session.interest == {1: 2.0}


@pytest.mark.parametrize(
    "interest, match",
    [
        ({"": 1.0}, "1 to 64 characters"),
        (dict.fromkeys(map(str, range(100_000)), 1.0), "1 to 1000 class"),
        ({"merger": float("nan")}, "finite"),
        ({"nan": 1.0}, "reads back as a missing value"),
    ],
)
def test_bad_interest_is_refused(pool, interest, match):
    session = _session(pool)
    with pytest.raises(ValueError, match=match):
        session.set_interest(interest)
    assert session.interest is None


def test_labels_that_spreadsheets_misread_are_refused_or_escaped(pool, tmp_path):
    X, _, _ = pool
    session = _session(pool)
    shown = session.query()
    for text in ("None", "nan", "null", "NA"):
        with pytest.raises(ValueError, match="reads back as a missing value"):
            session.label(shown[0], text)
    with pytest.raises(ValueError) as error:
        session.label(shown[0], "x" * 10_000_000)
    assert len(str(error.value)) < 200  # the label is not echoed whole
    session.label(shown[:2], ['=HYPERLINK("http://x")', "@SUM(1)"])
    exported = pd.read_csv(io.StringIO(session.export_labels())).set_index("index")
    assert sorted(exported["label"][shown[:2]]) == [
        '\'=HYPERLINK("http://x")',
        "'@SUM(1)",
    ]
