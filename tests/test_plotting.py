import numpy as np
import pytest

from skgalaxy.plotting import plot_image_rows

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
