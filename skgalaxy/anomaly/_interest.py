"""The arithmetic of interest weights: scores and query budgets (pure numpy)."""

import itertools

import numpy as np

__all__ = ["interest_columns", "interest_scores", "split_budget", "split_query"]


def interest_columns(interest, classes, reserve_label):
    """Probability columns and normalised weights of the classes of interest.

    Weights are scaled so that the largest is 1: a sample's score is then its
    probability of being of interest, equal weights giving the total
    probability of all classes of interest. A class not among ``classes``
    yet is looked for through the reserve column.

    Parameters
    ----------
    interest : dict
        ``{class: weight}``, weights non-negative, at least one positive.
    classes : sequence
        Output classes, in column order; ``reserve_label`` among them.
    reserve_label : object

    Returns
    -------
    columns : ndarray of int
    weights : ndarray of float
    """
    index = {c: i for i, c in enumerate(classes)}
    reserve = index[reserve_label]
    columns = np.array([index.get(c, reserve) for c in interest], dtype=np.int64)
    weights = np.array([float(w) for w in interest.values()])
    return columns, weights / weights.max()


def interest_scores(proba, columns, weights):
    """Weighted probability of the classes of interest, per row of ``proba``."""
    return proba[:, columns] @ weights


def split_budget(n, weights):
    """Split ``n`` queries in proportion to ``weights`` (largest remainders)."""
    shares = n * weights / weights.sum()
    counts = np.floor(shares).astype(int)
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def split_query(proba, columns, weights, n, fill=None):
    """Rows to query: each class of interest gets its weight's share of ``n``.

    Within a class's share the rows most probably of that class come first;
    what is left is filled by ``fill`` (default: the combined interest score).
    """
    chosen = {}  # an ordered set

    def take(ranking, count):
        fresh = (i for i in np.argsort(-ranking, kind="stable") if i not in chosen)
        chosen.update(dict.fromkeys(itertools.islice(fresh, count)))

    for column, count in zip(columns, split_budget(n, weights)):
        take(proba[:, column], count)
    if fill is None:
        fill = interest_scores(proba, columns, weights)
    take(fill, n - len(chosen))
    return np.fromiter(chosen, dtype=np.int64, count=len(chosen))
