"""The scikit-learn types a model file may hold beyond skops' defaults, checked.

skops rebuilds the trees of a forest and the neighbour searches of
``TRUSTED_TYPES`` from their arrays, which their compiled code then follows
without bounds checks: :func:`check_trusted_parts` refuses any whose indices
point out of range before the model is used.
"""

import numpy as np

#: Types skops does not trust by default that scikit-learn parts need (the
#: trees of an IsolationForest, the neighbour search of KNeighborsDetector).
#: Anything else untrusted is refused.
TRUSTED_TYPES = [
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance32",
]


def check_trusted_parts(value):
    """Refuse the trusted compiled objects of a skops part that index out of range.

    skops rebuilds the trees of a forest and the neighbour searches of
    ``TRUSTED_TYPES`` from their arrays, which their compiled code then
    follows without bounds checks: a crafted child index would crash the
    process. Every such object found in ``value`` (an estimator, lists and
    dicts of them) is checked.
    """
    from sklearn.base import BaseEstimator
    from sklearn.neighbors import BallTree, KDTree
    from sklearn.tree._tree import Tree

    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Tree):
            _check_tree(item)
        elif isinstance(item, (KDTree, BallTree)):
            _check_binary_tree(item)
        elif isinstance(item, BaseEstimator):
            pending.extend(vars(item).values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, np.ndarray) and item.dtype == object:
            pending.extend(item.ravel().tolist())


def _check_tree(tree):
    n = tree.node_count
    left, right = tree.children_left, tree.children_right
    leaf = left == -1
    nodes = np.arange(n)
    internal = ~leaf
    valid = (
        len(left) == len(right) == len(tree.feature) == len(tree.threshold) == n
        and n >= 1
        and np.array_equal(leaf, right == -1)
        and np.all((left[internal] > nodes[internal]) & (left[internal] < n))
        and np.all((right[internal] > nodes[internal]) & (right[internal] < n))
        and np.all(tree.feature[internal] >= 0)
        and np.all(tree.feature[internal] < tree.n_features)
        and np.isfinite(tree.threshold[internal]).all()
        and tree.value.shape[0] == n
    )
    if not valid:
        raise ValueError("it holds a decision tree whose nodes point out of range")


def _check_binary_tree(tree):
    data, index, nodes, bounds = (np.asarray(a) for a in tree.get_arrays())
    n_levels, n_nodes = tree.__getstate__()[5:7]
    n = len(data)
    inner = np.flatnonzero(nodes["is_leaf"] == 0) if len(nodes) else np.array([])
    valid = (
        np.array_equal(np.sort(index), np.arange(n))
        and n_nodes == len(nodes) == 2**n_levels - 1
        and bounds.ndim == 3
        and bounds.shape[1:] == (n_nodes, data.shape[1])
        and np.all((0 <= nodes["idx_start"]) & (nodes["idx_start"] <= nodes["idx_end"]))
        and np.all(nodes["idx_end"] <= n)
        and np.all(2 * inner + 2 < n_nodes)
    )
    if not valid:
        raise ValueError("it holds a neighbour search whose nodes point out of range")
