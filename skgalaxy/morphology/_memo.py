"""The statistics of images measured before, looked up by their pixels."""

import hashlib
import threading

import numpy as np

from ._measure import measure_morphology

#: Images remembered at most (about 250 bytes each); beyond, it starts again.
MAX_REMEMBERED = 200_000


class MeasuredStatistics:
    """:func:`measure_morphology` that measures each distinct image once.

    A hunt scores the same pool after every round; measuring it is most of
    the time a round takes. Images are known by a hash of their pixels, so
    a subset, a reordering or a pool with new arrivals measures only the
    images not seen before. The memory is not pickled.

    Parameters
    ----------
    max_remembered : int, default=MAX_REMEMBERED
        Images remembered at most; when more would be, it forgets them all.
    """

    def __init__(self, max_remembered=MAX_REMEMBERED):
        self.max_remembered = max_remembered
        self._rows = {}
        self._lock = threading.Lock()

    def __call__(self, images, n_jobs=None):
        """The statistics of validated NHWC ``images``, one row each."""
        keys = [
            hashlib.blake2b(
                np.ascontiguousarray(image).tobytes(), digest_size=16
            ).digest()
            for image in images
        ]
        with self._lock:
            rows = dict(zip(keys, (self._rows.get(k) for k in keys)))
        new = [i for i, k in enumerate(keys) if rows[k] is None]
        first = {keys[i]: i for i in reversed(new)}  # a repeated image once
        if first:
            index = sorted(first.values())
            measured = measure_morphology(images[index], n_jobs=n_jobs)
            rows.update(zip((keys[i] for i in index), measured))
            with self._lock:
                if len(self._rows) + len(index) > self.max_remembered:
                    self._rows.clear()
                if len(index) <= self.max_remembered:
                    self._rows.update((keys[i], rows[keys[i]]) for i in index)
        if not keys:
            return measure_morphology(images)
        return np.stack([rows[k] for k in keys])

    def __getstate__(self):
        return {"max_remembered": self.max_remembered}

    def __setstate__(self, state):
        self.__init__(**state)
