"""Level of detail for the 2D scatter at up to millions of customers (numpy only, no Qt).

When many customers are in view, drawing each as a marker costs hundreds of milliseconds
per frame and the markers only pile up. Instead every screen cell is coloured by the
customers in it: a 2D histogram per group, blended by the square root of each group's count
(so a small group still tints a cell shared with a big one), with an opacity that grows with
the log of the cell's total. A cell with a single customer is drawn, so no group vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: opacity (0..1) of a cell holding one customer; the densest cell is fully opaque
MIN_ALPHA = 0.35


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in plotted coordinates."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, other: Rect) -> bool:
        return (
            self.x0 <= other.x0
            and self.y0 <= other.y0
            and self.x1 >= other.x1
            and self.y1 >= other.y1
        )

    def intersection(self, other: Rect) -> Rect | None:
        """The overlap of the two rectangles, None when they do not overlap."""
        x0, y0 = max(self.x0, other.x0), max(self.y0, other.y0)
        x1, y1 = min(self.x1, other.x1), min(self.y1, other.y1)
        return Rect(x0, y0, x1, y1) if x0 <= x1 and y0 <= y1 else None

    def grown(self, factor: float) -> Rect:
        """The same centre, each side ``factor`` times as long."""
        cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
        hw, hh = self.width * factor / 2, self.height * factor / 2
        return Rect(cx - hw, cy - hh, cx + hw, cy + hh)


def cell_counts(
    x: np.ndarray, y: np.ndarray, codes: np.ndarray, groups: int, rect: Rect, shape: tuple[int, int]
) -> np.ndarray:
    """Customers per (group, row, column) cell of ``rect`` split into ``shape`` = (rows, columns).

    Row 0 is the bottom of ``rect`` (the image is drawn with y growing upwards). Points outside
    ``rect``, with a non-finite coordinate or a negative code (a hidden group) are not counted.
    Returns an int64 array of shape (groups, rows, columns).
    """
    rows, cols = shape
    if rect.width <= 0 or rect.height <= 0:
        return np.zeros((groups, rows, cols), dtype=np.int64)
    fx = (x - np.float32(rect.x0)) * np.float32(cols / rect.width)
    fy = (y - np.float32(rect.y0)) * np.float32(rows / rect.height)
    inside = (
        (fx >= 0) & (fx < cols) & (fy >= 0) & (fy < rows) & (codes >= 0)
    )  # NaN fails every test
    idx = np.flatnonzero(inside)
    # one flat index per point: group, row, column
    flat = (codes[idx].astype(np.int32) * rows + fy[idx].astype(np.int32)) * cols + fx[idx].astype(
        np.int32
    )
    return np.bincount(flat, minlength=groups * rows * cols).reshape(groups, rows, cols)


def spread(counts: np.ndarray) -> np.ndarray:
    """Each cell's customers also counted in the next cell right, up and diagonally (a 2 x 2
    box): a marker is wider than one cell, and values on a grid (whole days, whole orders)
    would otherwise leave empty stripes between cell columns that hold none of them."""
    out = counts.copy()
    out[:, :, 1:] += counts[:, :, :-1]
    out[:, 1:, :] += out[:, :-1, :].copy()
    return out


def blend(counts: np.ndarray, colors: np.ndarray, *, scale_max: float | None = None) -> np.ndarray:
    """RGBA image (rows, columns, 4) uint8 of per-group counts (groups, rows, columns).

    ``colors`` is (groups, 3) in 0..1. ``scale_max``: the cell total that is fully opaque
    (default: the densest cell), so two images can share one scale.
    """
    groups, rows, cols = counts.shape
    flat = counts.reshape(groups, -1)
    total = flat.sum(axis=0)
    occupied = np.flatnonzero(total)
    out = np.zeros((rows * cols, 4), dtype=np.uint8)
    if occupied.size:
        weights = np.sqrt(flat[:, occupied].astype(np.float32))
        rgb = (colors.T.astype(np.float32) @ weights) / weights.sum(axis=0)
        out[occupied, :3] = (rgb.T * 255 + 0.5).astype(np.uint8)
        top = float(scale_max if scale_max else total[occupied].max())
        # one customer: MIN_ALPHA; the densest cell: opaque; log in between
        level = np.log(total[occupied].astype(np.float32)) / np.float32(np.log(max(top, 2.0)))
        out[occupied, 3] = (
            (MIN_ALPHA + (1 - MIN_ALPHA) * np.clip(level, 0, 1)) * 255 + 0.5
        ).astype(np.uint8)
    return out.reshape(rows, cols, 4)


class SortedPoints:
    """The customers' plotted positions sorted by x, so the ones in a rectangle are found by a
    binary search on x and a test of y over that slice only (not over every customer)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        order = finite[np.argsort(x[finite], kind="stable")]
        self.order = order  # positions in the customer table
        self.x = x[order].astype(np.float32)
        self.y = y[order].astype(np.float32)
        self.bounds = (
            Rect(float(self.x[0]), float(self.y.min()), float(self.x[-1]), float(self.y.max()))
            if len(order)
            else None
        )

    def span(self, rect: Rect) -> slice:
        """The slice of the sorted points whose x lies in ``rect``."""
        i0, i1 = np.searchsorted(self.x, [np.float32(rect.x0), np.float32(rect.x1)], side="left")
        return slice(int(i0), int(max(i0, i1)))

    def count_in(self, rect: Rect, codes: np.ndarray) -> int:
        """How many points are in ``rect`` with a sorted code >= 0."""
        s = self.span(rect)
        ys = self.y[s]
        return int(np.count_nonzero((ys >= rect.y0) & (ys <= rect.y1) & (codes[s] >= 0)))

    def rows_in(self, rect: Rect, codes: np.ndarray) -> np.ndarray:
        """Positions (in the customer table) of the points in ``rect`` whose sorted code is >= 0."""
        s = self.span(rect)
        ys = self.y[s]
        keep = (ys >= rect.y0) & (ys <= rect.y1) & (codes[s] >= 0)
        return self.order[s][keep]

    def counts(
        self, rect: Rect, codes: np.ndarray, groups: int, shape: tuple[int, int]
    ) -> np.ndarray:
        """:func:`cell_counts` of the points in ``rect`` (``codes`` in sorted order)."""
        s = self.span(rect)
        return cell_counts(self.x[s], self.y[s], codes[s], groups, rect, shape)


def render(
    points: SortedPoints,
    codes: np.ndarray,
    shown: np.ndarray,
    colors: np.ndarray,
    region: Rect,
    shape: tuple[int, int],
    selected: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The density image of ``region`` and, with ``selected``, that of the selected customers
    on the same opacity scale. Runs on a worker thread: it only reads its arguments.

    Parameters
    ----------
    points : the customers' plotted positions, sorted.
    codes : group index per customer (table order), -1 for none.
    shown : bool per group: False for a group hidden from the legend.
    colors : (groups, 3) in 0..1.
    region, shape : the rectangle drawn and its cells (rows, columns).
    selected : bool per customer (table order), or None.
    """
    groups = len(shown)
    lookup = np.append(np.asarray(shown, dtype=bool), False)  # code -1 picks the appended False
    sorted_codes = codes[points.order]
    sorted_codes = np.where(lookup[sorted_codes], sorted_codes, -1)
    counts = spread(points.counts(region, sorted_codes, groups, shape))
    top = float(counts.sum(axis=0).max()) if counts.size else 1.0
    image = blend(counts, colors, scale_max=top)
    if selected is None:
        return image, None
    chosen = np.where(selected[points.order], sorted_codes, -1)
    return image, blend(spread(points.counts(region, chosen, groups, shape)), colors, scale_max=top)
