"""Survey-size scoring: a fitted model over images larger than memory.

:func:`score_survey` applies a model to an image source chunk by chunk — an
HDF5 file read lazily, a dask array, or an in-memory array — optionally in
parallel on ``dask.distributed`` workers, and writes each chunk's results as
one Parquet part the moment it is done, under a temporary name renamed into
place. Each part records what produced it — the model's digest, its row
range and a digest of the rows it scored — in its Parquet metadata. An
interrupted run, started again, checks every part it finds against the model
and images it is given and computes only the parts that are missing or not of
this run (truncated, swapped, or made from images that changed since);
``_SUCCESS`` marks a complete output. Memory is bounded by a chunk, whatever
the size of the survey.
"""

import hashlib
import json
import os
import pickle
import warnings
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path

import numpy as np

from ._utils import sha256_file, write_atomically

__all__ = ["local_client", "prediction_table", "score_survey"]

_META = "_meta.json"
_SUCCESS = "_SUCCESS"


def _final_step(model):
    steps = getattr(model, "steps", None)
    return model if steps is None else steps[-1][1]


def prediction_table(model, images, start=0):
    """A table of what a fitted model says about each image.

    Outlier detectors give ``score_samples``, ``anomaly_score`` and
    ``outlier`` (+1/-1); classifiers the ``prediction`` and one
    ``proba_<class>`` column per class; transformers one column per output
    feature, named by ``get_feature_names_out`` (``z<i>`` where the model has
    no names).

    .. versionchanged:: 0.2
       Transformer columns carry the model's feature names instead of ``z<i>``.

    Parameters
    ----------
    model : estimator or Pipeline
        Fitted.
    images : array-like
        Images in the layout the model was fitted on.
    start : int, default=0
        Index of the first image, for the ``index`` column.

    Returns
    -------
    table : pandas.DataFrame
        One row per image.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skgalaxy.scoring import prediction_table
    >>> X = np.random.default_rng(0).normal(size=(5, 2))
    >>> list(prediction_table(IsolationForest(random_state=0).fit(X), X).columns)
    ['index', 'score_samples', 'anomaly_score', 'outlier']
    """
    import pandas as pd

    table = pd.DataFrame({"index": np.arange(start, start + len(images))})
    final = _final_step(model)
    if hasattr(model, "score_samples") and hasattr(final, "offset_"):
        scores = model.score_samples(images)
        table["score_samples"] = scores
        table["anomaly_score"] = -scores
        decision = scores - final.offset_
        table["outlier"] = np.where(np.isnan(decision) | (decision < 0), -1, 1)
    elif hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        proba = model.predict_proba(images)
        table["prediction"] = model.classes_[proba.argmax(axis=1)]
        for i, name in enumerate(model.classes_):
            table[f"proba_{name}"] = proba[:, i]
    elif hasattr(model, "transform"):
        codes = np.asarray(model.transform(images))
        columns = _feature_names(model, codes.shape[1])
        table = pd.concat([table, pd.DataFrame(codes, columns=columns)], axis=1)
    else:
        table["prediction"] = model.predict(images)
    return table


def _feature_names(model, n_columns):
    """The model's output feature names, or ``z0, z1, ...`` where it has none."""
    try:
        names = [str(name) for name in model.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        names = []
    return names if len(names) == n_columns else [f"z{i}" for i in range(n_columns)]


def _part_name(number):
    return f"part-{number:06d}.parquet"


_MODELS = {}


def _load_cached(model_path, digest):
    """Each worker process loads a model file once, refusing one that changed."""
    from .io import load_model

    key = (str(model_path), digest)
    if key not in _MODELS:
        if sha256_file(model_path) != digest:
            raise ValueError(
                f"{model_path} changed while the survey was being scored; start "
                "again with a new output folder."
            )
        _MODELS[key] = load_model(model_path)
    return _MODELS[key]


def _model_digest(model):
    """SHA-256 of a model file, or of a model in memory as pickled."""
    if isinstance(model, (str, Path)):
        return sha256_file(model)
    return hashlib.sha256(pickle.dumps(model, protocol=4)).hexdigest()


def _rows_digest(images):
    """A hash of a chunk of images: their shape, dtype and every value."""
    images = np.ascontiguousarray(images)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps([list(images.shape), images.dtype.str]).encode())
    digest.update(images)
    return digest.hexdigest()


def _provenance(model_digest, start, stop, images):
    """What a part records of what produced it."""
    return {
        "model": model_digest,
        "rows": [start, stop],
        "source": _rows_digest(images),
    }


def _score_part(model, model_digest, source, out, number, start, stop):
    """Score images ``[start, stop)`` and write their part atomically.

    The part's Parquet metadata (key ``skgalaxy``) records its provenance:
    the model's digest, the row range and a digest of the rows scored.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(model, (str, Path)):
        model = _load_cached(model, model_digest)
    if isinstance(source, (str, Path)):
        from .datasets import H5Images

        source = H5Images(source)
    images = np.asarray(source[start:stop])
    table = pa.Table.from_pandas(
        prediction_table(model, images, start=start), preserve_index=False
    )
    record = json.dumps(_provenance(model_digest, start, stop, images))
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"skgalaxy": record.encode()}
    )
    write_atomically(
        Path(out) / _part_name(number), lambda tmp: pq.write_table(table, tmp)
    )
    return stop - start


def _part_is_valid(path, model_digest, source, start, stop):
    """Whether the part at ``path`` holds rows ``[start, stop)`` of this run."""
    import pyarrow.parquet as pq

    try:
        info = pq.ParquetFile(path).metadata
        record = json.loads(info.metadata[b"skgalaxy"])
    except (OSError, KeyError, TypeError, ValueError):  # truncated, foreign, old
        return False
    if info.num_rows != stop - start or record.get("rows") != [start, stop]:
        return False
    images = np.asarray(source[start:stop])
    return record == _provenance(model_digest, start, stop, images)


@contextmanager
def _environ_kept():
    """Undo whatever the block changes in ``os.environ``."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        os.environ.update(before)


@contextmanager
def local_client(n_workers):
    """A dask client on this machine's cores, shared among worker processes.

    dask starts each worker with ``OMP_NUM_THREADS=1`` and ``MKL_NUM_THREADS=1``,
    which leave torch one core per worker; here each of the ``n_workers``
    processes gets its share of the cores instead (at least one) and runs one
    task at a time, without the malloc trimming and the statistical profiler
    that dask's workers have by default (both slow torch down); the cluster
    listens on 127.0.0.1 only, without a dashboard.

    Parameters
    ----------
    n_workers : int
        Worker processes, at least 1.

    Yields
    ------
    client : dask.distributed.Client
        Closed, with its cluster, when the ``with`` block ends.

    Examples
    --------
    >>> from skgalaxy.scoring import local_client, score_survey
    >>> with local_client(2) as client:  # doctest: +SKIP
    ...     score_survey("cae.skgalaxy", "survey.h5", "s.parquet", client=client)
    """
    if not isinstance(n_workers, Integral) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}.")
    import dask
    from dask.distributed import Client, LocalCluster

    # dask's workers default to one thread for OpenMP and MKL (torch reads both).
    threads = str(max(1, (os.cpu_count() or 1) // n_workers))
    variables = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    # The nanny's MALLOC_TRIM_THRESHOLD_ (every large torch buffer a fresh mmap)
    # and the worker's 10 ms stack sampling slow torch down.
    lean = {
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        "distributed.worker.profile.enabled": False,
    }
    # dask's nanny writes its workers' variables into this process's environment
    with _environ_kept(), dask.config.set(lean):
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)  # left by an earlier nanny
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env=dict.fromkeys(variables, threads),
        )
    with cluster, Client(cluster) as client:
        yield client


def _parts_to_score(out, chunks, digest, source, path_source):
    """The chunks whose part is missing or not of this run (removed, warned of).

    A part that is truncated, holds other rows, or was made by another model
    or from other images than ``source`` now holds is scored again.
    """
    if path_source:
        from .datasets import H5Images

        source = H5Images(source)
    todo, stale = [], []
    for number, start, stop in chunks:
        path = out / _part_name(number)
        if path.is_file() and not _part_is_valid(path, digest, source, start, stop):
            stale.append(path.name)
            path.unlink()
        if not path.is_file():
            todo.append((number, start, stop))
    if stale:
        warnings.warn(
            f"{out}: {len(stale)} part(s) were not of this run's model and images "
            f"(damaged, swapped or the images changed) and are scored again: "
            f"{stale[:5]}",
            UserWarning,
            stacklevel=3,
        )
    return todo


def score_survey(model, source, out, *, chunk_size=4096, client=None, progress=True):
    """Score a survey chunk by chunk into a resumable Parquet folder.

    Parameters
    ----------
    model : str, path-like or estimator
        A model file (:func:`skgalaxy.io.save_model`) or a fitted model.
        With a ``client``, give the file: each worker loads it once.
    source : str, path-like or array-like
        An HDF5 file of ``images`` (read lazily, :class:`~skgalaxy.datasets.H5Images`),
        or any array-like of images indexable by slices (numpy, dask,
        H5Images).
    out : str or path-like
        The output folder (e.g. ``scores.parquet``): one part per chunk,
        ``_meta.json`` and, once every part is written, ``_SUCCESS``.
        ``pandas.read_parquet(out)`` reads the parts as one table.
    chunk_size : int, default=4096
        Images per part; memory is bounded by one chunk per worker.
    client : dask.distributed.Client or None, default=None
        Score the chunks on its workers; None scores them here, in order.
    progress : bool, default=True
        Show a progress bar over the images.

    Returns
    -------
    out : pathlib.Path
        The output folder, complete.

    Examples
    --------
    >>> from skgalaxy.scoring import score_survey
    >>> score_survey("cae.skgalaxy", "survey.h5", "scores.parquet")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    if not isinstance(chunk_size, Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    path_source = isinstance(source, (str, Path))
    if path_source:
        from .datasets import H5Images

        n_images = len(H5Images(source))
    else:
        n_images = len(source)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model_is_file = isinstance(model, (str, Path))
    digest = _model_digest(model)
    meta = {"n_images": int(n_images), "chunk_size": int(chunk_size), "model": digest}
    meta_path = out / _META
    if meta_path.is_file():
        if json.loads(meta_path.read_text()) != meta:
            raise ValueError(
                f"{out} holds the scores of another run (model, data or chunk size "
                "differ); choose a new output folder."
            )
    else:
        meta_path.write_text(json.dumps(meta))
    (out / _SUCCESS).unlink(missing_ok=True)
    chunks = [
        (number, start, min(start + chunk_size, n_images))
        for number, start in enumerate(range(0, n_images, chunk_size))
    ]
    todo = _parts_to_score(out, chunks, digest, source, path_source)
    done = n_images - sum(stop - start for _, start, stop in todo)
    with tqdm(total=n_images, initial=done, unit="img", disable=not progress) as bar:
        if client is None:
            loaded = _load_cached(model, digest) if model_is_file else model
            for number, start, stop in todo:
                bar.update(
                    _score_part(loaded, digest, source, out, number, start, stop)
                )
        else:
            from dask.distributed import as_completed

            futures = [
                client.submit(
                    _score_part,
                    model,
                    digest,
                    str(source) if path_source else source,
                    str(out),
                    number,
                    start,
                    stop,
                    pure=False,
                )
                for number, start, stop in todo
            ]
            for future in as_completed(futures):
                bar.update(future.result())
    (out / _SUCCESS).write_text("")
    return out
