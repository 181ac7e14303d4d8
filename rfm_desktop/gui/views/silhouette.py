"""Silhouette tab: each segment's customers' silhouettes, sorted, as horizontal bars
(like Orange's Silhouette Plot), with the overall mean as a dashed line."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.base import (
    PNG_AND_SVG,
    ResultView,
    background,
    foreground,
    style_graphics_view,
    style_plot,
)

#: most bar steps drawn per segment; more customers are drawn as evenly spaced quantiles
MAX_STEPS = 4000


def step_path(values: np.ndarray, top: float, height: float) -> QPainterPath:
    """A filled outline of horizontal bars from x=0 to each value, stacked downwards
    from ``top`` over ``height`` units (values sorted descending)."""
    n = len(values)
    step = height / n
    ys = top - step * np.repeat(np.arange(n + 1), 2)[1:-1]  # top, top-s, top-s, top-2s, ...
    xs = np.repeat(values, 2)
    xs = np.concatenate([[0.0], xs, [0.0]])
    ys = np.concatenate([[top], ys, [top - height]])
    path = pg.arrayToQPath(xs, ys, connect="all")
    path.closeSubpath()
    return path


class SilhouetteView(ResultView):
    title = "Silhouette"
    view_name = "silhouette"
    placeholder = "Run an analysis to see how well each customer fits its segment."
    image_formats = PNG_AND_SVG

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: dict[int, QGraphicsPathItem] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        self.plot: pg.PlotItem = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=True)
        self.mean_line = pg.InfiniteLine(
            angle=90, movable=False, label="", labelOpts={"position": 0.97}
        )
        self.mean_line.setZValue(20)  # above the bars
        self.plot.addItem(self.mean_line, ignoreBounds=True)
        self.zero_line = pg.InfiniteLine(pos=0, angle=90, movable=False)
        self.plot.addItem(self.zero_line, ignoreBounds=True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.help = QLabel(
            "Each bar is one customer: near 1 = clearly in its segment, near 0 = on the border "
            "between two segments, below 0 = closer to another segment."
        )
        self.help.setWordWrap(True)
        make_hint(self.help)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.help)
        self.set_content(content)
        self._restyle()

    def cluster_items(self) -> dict[int, QGraphicsPathItem]:
        """One filled bar outline per drawn cluster id."""
        return dict(self._items)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        self._restyle()
        for item in self._items.values():
            self.plot.removeItem(item)
        self._items = {}
        frame = result.customers
        sil = (
            frame["silhouette"].to_numpy(dtype=float, na_value=np.nan)
            if "silhouette" in frame.columns
            else None
        )
        labels = frame["cluster"].to_numpy()
        clusters = [c for c in result.clusters if not c.is_outlier_segment]
        blocks: list[tuple[int, str, str, np.ndarray]] = []
        for c in clusters:
            values = np.array([]) if sil is None else sil[labels == c.id]
            values = np.sort(values[np.isfinite(values)])[::-1]
            blocks.append((c.id, c.name, c.color, values))

        counted = sum(len(b[3]) for b in blocks)
        eligible = sum(c.size for c in clusters)
        if counted == 0:
            self.show_message("This result has no silhouette values to show.")
            return

        gap = max(counted * 0.04, 2.0)
        top = 0.0
        ticks = []
        x_min = 0.0
        for cid, name, color, values in blocks:
            n = len(values)
            if n == 0:
                ticks.append((top - gap / 2, f"{name} · no values"))
                top -= gap
                continue
            drawn = values
            if n > MAX_STEPS:
                drawn = values[np.linspace(0, n - 1, MAX_STEPS).round().astype(int)]
            item = QGraphicsPathItem(step_path(drawn, top, float(n)))
            fill = QColor(color)
            item.setBrush(pg.mkBrush(fill))
            pen = pg.mkPen(fill.darker(115), width=1)
            pen.setCosmetic(True)
            item.setPen(pen)
            self.plot.addItem(item)
            self._items[cid] = item
            ticks.append((top - n / 2, f"{name} · {float(values.mean()):.2f}"))
            x_min = min(x_min, float(values.min()))
            top -= n + gap
        bottom = top + gap
        left = self.plot.getAxis("left")
        left.setTicks([ticks, []])
        left.setStyle(tickLength=0)
        # wide enough for the longest name from the start: pyqtgraph widens an axis only
        # after a first paint, and an export before that would drop the names
        metrics = QFontMetrics(left.style.get("tickFont") or self.font())
        left.setWidth(max(metrics.horizontalAdvance(text) for _, text in ticks) + 16)
        headroom = counted * 0.07  # free space on top for the "mean" label
        self.plot.setYRange(bottom, headroom, padding=0.02)
        self.plot.setXRange(min(-0.1, x_min - 0.05), 1.0, padding=0.01)
        self.plot.setLimits(yMin=bottom - gap, yMax=headroom + gap)

        mean = result.silhouette
        if mean is not None and math.isfinite(mean):
            self.mean_line.setValue(mean)
            self.mean_line.label.setFormat(f"mean {mean:.3f}")
            self.mean_line.show()
        else:
            self.mean_line.hide()

        notes = []
        if counted < eligible:
            notes.append(
                f"Silhouette computed on a sample of {counted:,} customers (of {eligible:,})."
            )
        if any(c.is_outlier_segment for c in result.clusters):
            notes.append(
                "The Outliers segment is not a k-means cluster, so it has no silhouette and is not shown."
            )
        notes.append("Numbers after the names are each segment's mean silhouette.")
        self.note.setText(" ".join(notes))
        self.show_content()

    def _restyle(self) -> None:
        style_graphics_view(self.graphics, self)
        style_plot(self.plot, self, title="Silhouette per segment")
        self.plot.showGrid(x=True, y=False, alpha=0.18)
        self.plot.setLabel("bottom", "Silhouette (−1 to 1: higher = fits its segment better)")
        fg = foreground(self)
        self.mean_line.setPen(pg.mkPen(fg, width=1.5, style=Qt.PenStyle.DashLine))
        self.mean_line.label.setColor(fg)
        panel = QColor(background(self))
        panel.setAlpha(225)
        self.mean_line.label.fill = pg.mkBrush(panel)
        muted = QColor(fg)
        muted.setAlpha(90)
        self.zero_line.setPen(pg.mkPen(muted, width=1))

    def _plot_for_export(self):
        return self.graphics.scene()
