"""An axis that writes numbers the way an analyst reads them: 20,000 (not 2·10⁴ or 20 x1e3)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


def plain_number(value: float) -> str:
    if not math.isfinite(value):
        return ""
    if abs(value) >= 1 or value == 0:
        return (
            f"{value:,.0f}"
            if abs(value - round(value)) < 1e-9 * max(1.0, abs(value))
            else f"{value:,.1f}"
        )
    return f"{value:.3g}"


def _is_nice(value: float) -> bool:
    """1, 2 or 5 times a power of ten."""
    if value <= 0 or not math.isfinite(value):
        return False
    mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5))


class ReadableAxis(pg.AxisItem):
    """Plain tick labels with thousands separators; on a log axis only 1, 2, 5 x 10^n are
    labelled (the other minor ticks stay as unlabelled marks)."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def itemChange(self, change, value):
        result = super().itemChange(change, value)
        # pyqtgraph sizes an axis that is hidden (or inside a hidden plot) 0 pixels wide and
        # corrects it only in its first paint: that paint finds no room and draws no labels,
        # and a grab before the next layout pass shows a bare axis (a plot hidden while its
        # labels were set, then shown). An axis that becomes visible takes its size at once.
        if change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged and self.isVisible():
            if self.orientation in ("left", "right"):
                self._updateWidth()
            else:
                self._updateHeight()
        return result

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        if spacing >= 1 and all(abs(v - round(v)) < 1e-6 for v in values):
            return [f"{v * scale:,.0f}" for v in values]
        return super().tickStrings(values, scale, spacing)

    def logTickStrings(self, values, scale, spacing):
        real = [10 ** float(v) * scale for v in values]
        labels = [plain_number(v) if _is_nice(v) else "" for v in real]
        if sum(1 for text in labels if text) < 2:  # a narrow range: label every tick
            labels = [plain_number(float(f"{v:.3g}")) for v in real]
        return labels
