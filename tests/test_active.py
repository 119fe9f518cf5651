import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from skgalaxy import AHUNTDetector
from skgalaxy.active import (
    ActiveHunter,
    RandomLabelHunter,
    UnsupervisedHunter,
    make_nights,
    simulate_hunt,
)
from skgalaxy.plotting import plot_hunt_curves

DETECTOR = AHUNTDetector(
    hidden=(32,),
    max_epochs=30,
    epochs_per_round=5,
    lr=1e-2,
    n_queries=5,
    device="cpu",
    random_state=0,
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
    with pytest.raises(ValueError, match="n_nights"):
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
    asked = hunters["ahunt"].detector_.n_labelled_ - 150
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
