"""Drawing fewer customers than there are: the one fixed-seed random subset that the 2D
t-SNE map and the 3D view both use, so the same seed always picks the same customers."""

from __future__ import annotations

import numpy as np


def sample_rows(n: int, seed: int, limit: int) -> np.ndarray:
    """All of ``0..n-1``, or a fixed-seed random ``limit`` of them.

    Parameters
    ----------
    n : int
        How many rows (customers) there are.
    seed : int
        Seed of the random generator: the same seed picks the same rows.
    limit : int
        The most rows kept.

    Returns
    -------
    np.ndarray
        Sorted int64 row positions, ``min(n, limit)`` of them, without repeats.
    """
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False)).astype(
        np.int64
    )
