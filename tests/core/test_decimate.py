"""The one subset of customers drawn when there are too many (2D t-SNE map and 3D view)."""

from __future__ import annotations

import numpy as np

from rfm_desktop.core.decimate import sample_rows


def test_all_rows_when_within_the_limit() -> None:
    np.testing.assert_array_equal(sample_rows(5, seed=1, limit=5), np.arange(5))
    np.testing.assert_array_equal(sample_rows(0, seed=1, limit=3), np.arange(0))


def test_a_fixed_seed_sorted_subset_without_repeats() -> None:
    rows = sample_rows(1_000, seed=7, limit=100)
    assert rows.dtype == np.int64 and len(rows) == 100
    assert len(np.unique(rows)) == 100 and (np.diff(rows) > 0).all()
    assert 0 <= rows.min() and rows.max() < 1_000
    np.testing.assert_array_equal(rows, sample_rows(1_000, seed=7, limit=100))
    assert not np.array_equal(rows, sample_rows(1_000, seed=8, limit=100))
    expected = np.sort(np.random.default_rng(7).choice(1_000, size=100, replace=False))
    np.testing.assert_array_equal(rows, expected)
