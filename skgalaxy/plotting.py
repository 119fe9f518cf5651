"""Figures: image grids per class (matplotlib is an optional dependency)."""

import numpy as np

__all__ = [
    "plot_class_grid",
    "plot_confusion_matrix",
    "plot_hunt_curves",
    "plot_image_rows",
]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skgalaxy.plotting needs matplotlib: pip install 'skgalaxy[plot]'"
        ) from exc
    return plt


def _one_stretch(rows):
    """Every row's images on one linear scale, so brightness compares across
    rows: uint8 as it is, floats divided by the brightest row's 99.5th
    percentile (at least 1) and clipped to [0, 1]."""
    arrays = {title: np.asarray(images) for title, images in rows.items()}
    floats = [a for a in arrays.values() if a.dtype != np.uint8 and a.size]
    top = max([1.0, *(float(np.percentile(a, 99.5)) for a in floats)])
    return {
        title: a if a.dtype == np.uint8 else np.clip(a / top, 0, 1)
        for title, a in arrays.items()
    }


def plot_class_grid(images, target, target_names, n_per_class=8, title=None):
    """Draw a grid of example images, one row per class.

    Parameters
    ----------
    images : ndarray of shape (n, H, W, 3)
        The images: uint8 as they are, floats all on one linear scale (see
        :func:`plot_image_rows`).
    target : ndarray of shape (n,)
        Indices into ``target_names``.
    target_names : sequence of str
        Class names, shown as row titles.
    n_per_class : int, default=8
        Images per row.
    title : str, default=None
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from skgalaxy.datasets import make_galaxies
    >>> from skgalaxy.plotting import plot_class_grid
    >>> data = make_galaxies(30, image_size=32, classes=[0, 2], random_state=0)
    >>> fig = plot_class_grid(data.images, data.target, data.target_names, 4)
    >>> len(fig.axes)
    8
    """
    plt = _pyplot()
    rows = len(target_names)
    fig, axes = plt.subplots(
        rows, n_per_class, squeeze=False, figsize=(1.1 * n_per_class, 1.25 * rows)
    )
    target = np.asarray(target)
    shown = _one_stretch(
        {row: images[np.flatnonzero(target == row)[:n_per_class]]
         for row in range(len(target_names))}
    )  # fmt: skip
    for row, name in enumerate(target_names):
        for col, ax in enumerate(axes[row]):
            ax.axis("off")
            if col < len(shown[row]):
                ax.imshow(shown[row][col])
        axes[row, 0].set_title(str(name), fontsize=8, loc="left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, labels, display_labels=None):
    """Draw a row-normalised confusion matrix (scikit-learn's display).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes.
    y_pred : array-like of shape (n_samples,)
        Predicted classes.
    labels : sequence
        The classes, in display order.
    display_labels : sequence of str, default=None
        Names shown for ``labels``; None shows the labels themselves.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from skgalaxy.plotting import plot_confusion_matrix
    >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], labels=[0, 1])
    >>> fig.axes[0].get_xlabel()
    'Predicted label'
    """
    plt = _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    size = 2.5 + 0.55 * len(labels)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        display_labels=display_labels,
        normalize="true",
        values_format=".2f",
        ax=ax,
        colorbar=False,
        xticks_rotation="vertical",
    )
    fig.tight_layout()
    return fig


def plot_image_rows(rows, n_images=8, titles=None):
    """Draw rows of images under a title each, e.g. inputs over reconstructions.

    Parameters
    ----------
    rows : dict of str -> ndarray of shape (n, H, W, 3)
        Row title to images: uint8, shown as they are, or floats, all rows on
        one linear scale (to the brightest row's 99.5th percentile, at least
        1), so brightness compares across rows.
    n_images : int, default=8
        Images per row.
    titles : dict of str -> sequence of str, default=None
        Row title to a caption per image (what each image is, its score).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.plotting import plot_image_rows
    >>> images = np.zeros((4, 8, 8, 3))
    >>> fig = plot_image_rows({"input": images, "output": images}, n_images=4)
    >>> len(fig.axes)
    8
    """
    titles = {} if titles is None else titles
    unknown = set(titles) - set(rows)
    if unknown:
        raise ValueError(f"titles name rows that do not exist: {sorted(unknown)}.")
    plt = _pyplot()
    fig, axes = plt.subplots(
        len(rows), n_images, squeeze=False, figsize=(1.1 * n_images, 1.3 * len(rows))
    )
    for ax_row, (title, images) in zip(axes, _one_stretch(rows).items()):
        for col, ax in enumerate(ax_row):
            ax.axis("off")
            if col < len(images):
                ax.imshow(images[col])
            captions = titles.get(title, ())
            if col < len(captions):
                ax.text(
                    0.5,
                    -0.08,
                    str(captions[col]),
                    fontsize=7,
                    ha="center",
                    va="top",
                    transform=ax.transAxes,
                )
        ax_row[0].set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    return fig


HUNT_METRICS = {
    "rws": "rank-weighted score",
    "recall": "recall at k",
    "precision": "precision at k",
    "mcc": "MCC at k",
    "query_rate": "anomalies among the queries",
}


def _metric_label(metric, k):
    label = HUNT_METRICS.get(metric, metric)
    return label if k is None else label.replace("at k", f"at k={k}")


def plot_hunt_curves(results, metrics=("rws", "recall", "query_rate"), k=None):
    """Per-round curves of a simulated hunt, one line per method.

    With several runs (e.g. a ``seed`` column) the line is the mean per round
    and the band spans the lowest to the highest run.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`skgalaxy.active.simulate_hunt` (runs may be concatenated).
    metrics : sequence of str, default=("rws", "recall", "query_rate")
        Columns to draw, one panel each.
    k : int, default=None
        The ``k`` the results were computed at (``simulate_hunt``'s), written
        into the axis labels of the metrics taken at ``k``.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> import pandas as pd
    >>> from skgalaxy.plotting import plot_hunt_curves
    >>> results = pd.DataFrame({"round": [0, 1, 0, 1], "method": ["a", "a", "b", "b"],
    ...                         "rws": [0.1, 0.5, 0.2, 0.3]})
    >>> fig = plot_hunt_curves(results, metrics=["rws"])
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['a', 'b']
    """
    missing = [m for m in metrics if m not in results.columns]
    if missing:
        raise ValueError(
            f"results has no column {missing}; it has {list(results.columns)}."
        )
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(metrics), squeeze=False, figsize=(4.2 * len(metrics), 3.4)
    )
    for ax, metric in zip(axes[0], metrics):
        for method, part in results.groupby("method", sort=False):
            stats = part.groupby("round")[metric].agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], marker=".", label=method)
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15)
        ax.set_xlabel("round (night)")
        ax.set_ylabel(_metric_label(metric, k))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].legend(title="method", fontsize="small")
    fig.tight_layout()
    return fig
