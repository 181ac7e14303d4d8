"""The level-of-detail arithmetic of the 2D scatter (numpy only)."""

from __future__ import annotations

import numpy as np

from rfm_desktop.gui.views.density import MIN_ALPHA, Rect, SortedPoints, blend, cell_counts, spread


def test_cell_counts_match_numpy_histogram_per_group() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=20_000), rng.normal(size=20_000)
    x[:10] = np.nan  # not counted
    codes = rng.integers(-1, 3, size=20_000).astype(np.int16)  # -1: a hidden group
    rect = Rect(-2.0, -1.5, 2.5, 1.0)
    counts = cell_counts(x, y, codes, 3, rect, (25, 40))
    assert counts.shape == (3, 25, 40)
    for g in range(3):
        m = (codes == g) & np.isfinite(x)
        expected, _, _ = np.histogram2d(
            y[m], x[m], bins=(25, 40), range=((rect.y0, rect.y1), (rect.x0, rect.x1))
        )
        # numpy closes the last bin on the right; the cells here are half-open: compare inside
        assert np.array_equal(counts[g][:-1, :-1], expected[:-1, :-1].astype(int))
    inside = (x >= rect.x0) & (x < rect.x1) & (y >= rect.y0) & (y < rect.y1) & (codes >= 0)
    assert counts.sum() == inside.sum()


def test_blend_colours_pure_cells_exactly_and_a_single_customer_is_visible() -> None:
    counts = np.zeros((2, 1, 3), dtype=np.int64)
    counts[0, 0, 0] = 400  # only group 0
    counts[1, 0, 1] = 1  # one customer of group 1
    counts[:, 0, 2] = (100, 100)  # both, equally
    colors = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    rgba = blend(counts, colors)
    assert tuple(rgba[0, 0]) == (255, 0, 0, 255)  # the densest cell is opaque
    assert tuple(rgba[0, 1, :3]) == (0, 0, 255) and rgba[0, 1, 3] == round(MIN_ALPHA * 255)
    assert tuple(rgba[0, 2, :3]) == (128, 0, 128)  # an even mix
    empty = blend(np.zeros((2, 2, 2), dtype=np.int64), colors)
    assert not empty.any()


def test_sorted_points_find_exactly_the_points_in_a_rectangle() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 100, 50_000), rng.uniform(0, 10, 50_000)
    codes = (np.arange(50_000) % 4 - 1).astype(np.int16)
    points = SortedPoints(x, y)
    rect = Rect(20.0, 2.0, 35.5, 7.25)
    rows = points.rows_in(rect, codes[points.order])
    expected = np.flatnonzero((x >= 20) & (x <= 35.5) & (y >= 2) & (y <= 7.25) & (codes >= 0))
    assert np.array_equal(np.sort(rows), expected)
    assert points.count_in(rect, codes[points.order]) == len(expected)
    assert Rect(0, 0, 10, 10).grown(2.0) == Rect(-5, -5, 15, 15)
    assert Rect(0, 0, 10, 10).contains(Rect(1, 1, 9, 9)) and not Rect(0, 0, 10, 10).contains(
        Rect(-1, 1, 9, 9)
    )


def test_spread_fills_the_next_cells_so_whole_number_values_leave_no_stripes() -> None:
    counts = np.zeros((1, 3, 4), dtype=np.int64)
    counts[0, 0, 0] = 2
    counts[0, 1, 2] = 1
    out = spread(counts)[0]
    assert out.tolist() == [[2, 2, 0, 0], [2, 2, 1, 1], [0, 0, 1, 1]]
