"""Batch loaders: whole batches per dataset call, optional class balancing."""

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    WeightedRandomSampler,
)

from .nn import rng

__all__ = ["OversampledIndices", "batch_loader"]


class OversampledIndices(Sampler):
    """Each epoch, every row once plus random copies of the rows of the rarer
    classes, so that every class counts as many rows as the largest; shuffled.

    Parameters
    ----------
    classes : ndarray of int of shape (n_rows,)
        Class index of each row.
    generator : torch.Generator
        Draws the copies and the order.
    """

    def __init__(self, classes, generator):
        self.rows = [
            torch.from_numpy(np.flatnonzero(classes == c)) for c in np.unique(classes)
        ]
        self.largest = max((len(r) for r in self.rows), default=0)
        self.generator = generator

    def __len__(self):
        return self.largest * len(self.rows)

    def __iter__(self):
        copies = [
            rows[
                torch.randint(
                    len(rows), (self.largest - len(rows),), generator=self.generator
                )
            ]
            for rows in self.rows
        ]
        index = torch.cat([*self.rows, *copies])
        yield from index[torch.randperm(len(index), generator=self.generator)].tolist()


def batch_loader(dataset, batch_size=64, shuffle=False, drop_last=False, balance=False):
    """skorch's ``DataLoader`` fetching whole batches (through a ``BatchSampler``).

    Each batch is one ``dataset[indices]`` call, so tensors and
    :class:`~skgalaxy._images.ImageBatches` are sliced once per batch rather
    than once per image. Shuffling draws from the calling thread's seeded
    generator (:func:`skgalaxy.nn.rng.generator`). ``balance`` evens out the
    classes of the dataset's ``y``, in shuffled epochs: ``"draw"`` draws
    ``len(dataset)`` samples with replacement, every class with the same
    probability; ``"oversample"`` takes every sample once and copies of the
    rarer classes' samples up to the size of the largest
    (:class:`OversampledIndices`); False keeps the data as it is.
    """
    if balance not in (False, "draw", "oversample"):
        raise ValueError(
            f"balance must be False, 'draw' or 'oversample', got {balance!r}."
        )
    # The DataLoader draws a seed of its own from its generator too.
    generator = rng.generator("cpu")
    if balance:
        _, classes, counts = np.unique(
            np.asarray(dataset.y), return_inverse=True, return_counts=True
        )
    if balance == "draw":
        sampler = WeightedRandomSampler(
            torch.as_tensor(1.0 / counts[classes], dtype=torch.float64),
            len(dataset),
            generator=generator,
        )
    elif balance == "oversample":
        sampler = OversampledIndices(classes, generator)
    elif shuffle:
        sampler = RandomSampler(dataset, generator=generator)
    else:
        sampler = SequentialSampler(dataset)
    batch_size = len(dataset) if batch_size == -1 else batch_size
    return DataLoader(
        dataset,
        sampler=BatchSampler(sampler, batch_size, drop_last),
        batch_size=None,
        generator=generator,
    )
