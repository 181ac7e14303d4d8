"""The rule-coverage map: every R x F x M score cell coloured by the rule that takes it
(core.coverage.Coverage), one small R x F panel per M score; cells no rule takes ("Others")
hatched; optionally faded where no customer of the last run has those scores."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from rfm_desktop.core.coverage import Coverage
from rfm_desktop.core.rules import OTHERS
from rfm_desktop.gui.views.base import foreground, text_color_on

GAP = 12  # between panels, in pixels
MIN_NUMBER_CELL = 16  # cells at least this big show the rule's number


class CoverageMap(QWidget):
    """Paints a :class:`Coverage`; :meth:`cell_at` and :meth:`cell_rect` map pixels to cells."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.coverage: Coverage | None = None
        self.counts: np.ndarray | None = None  # customers per row of coverage.cells
        self.colors: list[str] = []  # one per rule
        self.highlight: int | None = None  # index of the rule whose box is outlined
        self._geometry: tuple[int, float, float, float, float] = (1, 0.0, 0.0, 0.0, 0.0)
        self.setMinimumSize(240, 200)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(460, 380)

    def set_coverage(
        self,
        coverage: Coverage | None,
        colors: Sequence[str] = (),
        counts: np.ndarray | None = None,
    ) -> None:
        """Show ``coverage`` with a colour per rule; ``counts``: customers per cell (or None)."""
        self.coverage = coverage
        self.colors = list(colors)
        self.counts = counts
        self.update()

    def set_highlight(self, rule: int | None) -> None:
        self.highlight = rule
        self.update()

    # -- geometry ---------------------------------------------------------------------------------
    def _layout(self) -> tuple[int, float, float, float, float]:
        """(panel columns, cell size, x0, y0, label size) that make the cells as big as they fit."""
        n = self.coverage.bins if self.coverage else 1
        label = self.fontMetrics().height()
        best = (1, 0.0)
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            size = min(
                (self.width() - cols * (label + GAP)) / (cols * n),
                (self.height() - rows * (2 * label + GAP)) / (rows * n),
            )
            if size > best[1]:
                best = (cols, size)
        cols, size = best[0], max(best[1], 2.0)
        rows = math.ceil(n / cols)
        width = cols * (n * size + label + GAP) - GAP
        height = rows * (n * size + 2 * label + GAP) - GAP
        return (
            cols,
            size,
            max((self.width() - width) / 2, 0.0),
            max((self.height() - height) / 2, 0.0),
            label,
        )

    def _panel_origin(self, m: int) -> tuple[float, float]:
        """Top-left corner of the cells of panel ``m`` (1-based)."""
        cols, size, x0, y0, label = self._geometry
        n = self.coverage.bins if self.coverage else 1
        col, row = (m - 1) % cols, (m - 1) // cols
        return (
            x0 + col * (n * size + label + GAP) + label,
            y0 + row * (n * size + 2 * label + GAP) + label,
        )

    def cell_rect(self, r: int, f: int, m: int) -> QRectF:
        """The pixels of cell (R r, F f, M m): rows R high to low, columns F low to high."""
        self._geometry = self._layout()
        size = self._geometry[1]
        n = self.coverage.bins if self.coverage else 1
        left, top = self._panel_origin(m)
        return QRectF(left + (f - 1) * size, top + (n - r) * size, size, size)

    def cell_at(self, pos: QPoint) -> tuple[int, int, int] | None:
        if self.coverage is None:
            return None
        n = self.coverage.bins
        self._geometry = self._layout()
        size = self._geometry[1]
        for m in range(1, n + 1):
            left, top = self._panel_origin(m)
            f = math.floor((pos.x() - left) / size) + 1
            r = n - math.floor((pos.y() - top) / size)
            if 1 <= f <= n and 1 <= r <= n:
                return r, f, m
        return None

    def describe_cell(self, r: int, f: int, m: int) -> str:
        """'R 4 · F 2 · M 3 → Need Attention (rule 6); 37 customers in the last run'."""
        assert self.coverage is not None
        n = self.coverage.bins
        row = ((r - 1) * n + (f - 1)) * n + (m - 1)
        rule = int(self.coverage.cells["rule"].iat[row])
        taker = (
            f"{OTHERS} (no rule matches)"
            if rule < 0
            else f"{self.coverage.rules.rules[rule].name} (rule {rule + 1})"
        )
        text = f"R {r} · F {f} · M {m} → {taker}"
        if self.counts is not None:
            count = int(self.counts[row])
            text += f"; {count:,} customer{'s' if count != 1 else ''} in the last run"
        return text

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        fg = foreground(self)
        if self.coverage is None:
            painter.setPen(fg)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "Fix the table to see the map."
            )
            return
        coverage = self.coverage
        n = coverage.bins
        self._geometry = self._layout()
        _cols, size, _x0, _y0, label = self._geometry
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() * 0.85, 6.0))
        rules = coverage.cells["rule"].to_numpy()
        hatch = QBrush(
            self.palette().color(self.palette().ColorRole.Mid), Qt.BrushStyle.BDiagPattern
        )
        base = self.palette().color(self.palette().ColorRole.Base)
        grid = QPen(self.palette().color(self.palette().ColorRole.Window), 1)
        for m in range(1, n + 1):
            left, top = self._panel_origin(m)
            painter.setFont(self.font())
            painter.setPen(fg)
            painter.drawText(
                QRectF(left, top - label, n * size, label), Qt.AlignmentFlag.AlignCenter, f"M {m}"
            )
            painter.setFont(small)
            for r in range(1, n + 1):
                for f in range(1, n + 1):
                    row = ((r - 1) * n + (f - 1)) * n + (m - 1)
                    rect = QRectF(left + (f - 1) * size, top + (n - r) * size, size, size)
                    rule = int(rules[row])
                    faded = self.counts is not None and self.counts[row] == 0
                    if rule < 0:
                        painter.fillRect(rect, base)
                        painter.fillRect(rect, hatch)
                    else:
                        color = QColor(self.colors[rule] if rule < len(self.colors) else "#888888")
                        if faded:
                            color.setAlphaF(0.35)
                        painter.fillRect(rect, color)
                        if size >= MIN_NUMBER_CELL:
                            painter.setPen(text_color_on(color) if not faded else fg)
                            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(rule + 1))
                    painter.setPen(grid)
                    painter.drawRect(rect)
            painter.setPen(fg)
            if size * n >= 60:  # score numbers along the first column and the bottom row
                for s in (1, n):
                    painter.drawText(
                        QRectF(left - label, top + (n - s) * size, label - 2, size),
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                        f"{s}",
                    )
                    painter.drawText(
                        QRectF(left + (s - 1) * size, top + n * size, size, label),
                        Qt.AlignmentFlag.AlignCenter,
                        f"{s}",
                    )
        self._paint_highlight(painter, fg)

    def _paint_highlight(self, painter: QPainter, fg: QColor) -> None:
        """A thick outline around the box of the selected rule, in every M panel it spans."""
        coverage = self.coverage
        if (
            coverage is None
            or self.highlight is None
            or not 0 <= self.highlight < len(coverage.rules.rules)
        ):
            return
        rule = coverage.rules.rules[self.highlight]
        if rule.is_empty:
            return
        (r_lo, r_hi), (f_lo, f_hi), (m_lo, m_hi) = rule.boxes
        pen = QPen(fg, 3)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for m in range(m_lo, m_hi + 1):
            top_left = self.cell_rect(r_hi, f_lo, m)
            bottom_right = self.cell_rect(r_lo, f_hi, m)
            painter.drawRect(top_left.united(bottom_right).adjusted(1, 1, -1, -1))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            cell = self.cell_at(event.pos())
            if cell is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.describe_cell(*cell), self)
            return True
        return super().event(event)
