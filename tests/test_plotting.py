import numpy as np
import pytest

from skgalaxy.plotting import plot_hunt_curves, plot_image_rows

pytest.importorskip("matplotlib")


def test_image_rows_draw_a_caption_under_each_image():
    images = np.zeros((3, 8, 8, 3), np.uint8)
    fig = plot_image_rows(
        {"input": images, "output": images},
        n_images=3,
        titles={"input": ["merger", "spiral", "lens"]},
    )
    captions = [t.get_text() for ax in fig.axes[:3] for t in ax.texts]
    assert captions == ["merger", "spiral", "lens"]
    assert not [t for ax in fig.axes[3:] for t in ax.texts]  # none asked for
    assert [ax.get_title(loc="left") for ax in fig.axes[::3]] == ["input", "output"]


def test_captions_for_a_row_that_does_not_exist_are_refused():
    images = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="outputs"):
        plot_image_rows({"input": images}, titles={"outputs": ["a", "b"]})


def test_float_rows_share_one_stretch():
    # A reconstruction half as bright as its input must look half as bright.
    bright = np.full((1, 4, 4, 3), 2.0)
    faint = np.full((1, 4, 4, 3), 1.0)
    fig = plot_image_rows({"input": bright, "reconstruction": faint}, n_images=1)
    shown = [ax.images[0].get_array().max() for ax in fig.axes]
    assert shown == pytest.approx([1.0, 0.5])


def test_uint8_rows_are_shown_as_they_are():
    images = np.full((1, 4, 4, 3), 100, np.uint8)
    fig = plot_image_rows({"input": images}, n_images=1)
    assert fig.axes[0].images[0].get_array().max() == 100


def test_hunt_curves_name_k_in_the_axis_labels():
    import pandas as pd

    results = pd.DataFrame(
        {"round": [0, 1], "method": ["a", "a"], "rws": [0.1, 0.4],
         "recall": [0.2, 0.5]}
    )  # fmt: skip
    fig = plot_hunt_curves(results, metrics=["rws", "recall"], k=20)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "rank-weighted score",
        "recall at k=20",
    ]
    assert fig.axes[0].get_legend().get_title().get_text() == "method"
