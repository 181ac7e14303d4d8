"""K evaluation: four small charts (elbow, silhouette, Davies–Bouldin, Calinski–Harabasz), and
a fifth for the stability of each K when the run measured it (core.stability).

``KChartsWidget`` is used live by the wizard while the K sweep streams scores in;
``KEvaluationView`` shows a finished result's sweep as a results tab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.palette import cluster_color
from rfm_desktop.core.result import AnalysisResult, KScore
from rfm_desktop.core.stability import STABLE_ARI
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.axes import ReadableAxis
from rfm_desktop.gui.views.base import (
    PNG_AND_SVG,
    ResultView,
    foreground,
    style_graphics_view,
    style_plot,
)


@dataclass(frozen=True)
class Metric:
    field: str
    title: str
    label: str


METRICS: tuple[Metric, ...] = (
    Metric("inertia", "Elbow: inertia (look for the bend)", "Inertia"),
    Metric("silhouette", "Silhouette (higher is better)", "Silhouette"),
    Metric("davies_bouldin", "Davies–Bouldin (lower is better)", "Davies–Bouldin"),
    Metric("calinski_harabasz", "Calinski–Harabasz (higher is better)", "Calinski–Harabasz"),
)
#: The stability chart: mean adjusted Rand index with the full fit, ± its spread over resamples.
STABILITY = Metric("stability", "Stability (adjusted Rand, mean ± spread)", "Adjusted Rand")
#: what the stability chart shows, in full (its tooltip: a title this long made the charts wider
#: than a 1024-pixel window's pane, and pyqtgraph then cut their right column off)
STABILITY_HELP = (
    "Agreement of each K's clustering with the full fit on subsamples of the customers: the "
    "adjusted Rand index, mean ± spread over the resamples; 1 = the same clustering."
)
LINE_COLOR = cluster_color(0)
CHOSEN_COLOR = cluster_color(5)


class KChartsWidget(QWidget):
    """Four charts with K on the x axis, filled one score at a time."""

    #: the user clicked a K on any chart
    kPicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scores: dict[int, KScore] = {}
        self._suggested: tuple[int, str] | None = None
        self._chosen: int | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(14)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._suggested_lines: dict[str, pg.InfiniteLine] = {}
        self._chosen_marks: dict[str, pg.ScatterPlotItem] = {}
        self._chosen_lines: dict[str, pg.InfiniteLine] = {}
        for i, metric in enumerate(METRICS):
            plot = self.graphics.addPlot(
                row=i // 2, col=i % 2, axisItems={"left": ReadableAxis("left")}
            )
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("left").setWidth(62)  # big inertia values never clip
            curve = plot.plot([], [], symbol="o", symbolSize=8)
            suggested = pg.InfiniteLine(
                angle=90, movable=False, label="", labelOpts={"position": 0.95}
            )
            suggested.hide()
            chosen_line = pg.InfiniteLine(angle=90, movable=False)
            chosen_line.hide()
            mark = pg.ScatterPlotItem(size=15, symbol="o")
            mark.setZValue(5)
            for item in (suggested, chosen_line, mark):
                plot.addItem(item, ignoreBounds=True)
            self.plots[metric.field] = plot
            self.curves[metric.field] = curve
            self._suggested_lines[metric.field] = suggested
            self._chosen_lines[metric.field] = chosen_line
            self._chosen_marks[metric.field] = mark
        # stability per K, filled as the sweep streams scores that carry it; hidden without
        self.stability_plot = self.graphics.addPlot(
            row=2,
            col=0,
            colspan=2,
            # both ReadableAxis: sized when the hidden plot shows (see ReadableAxis.itemChange)
            axisItems={"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom")},
        )
        self.stability_plot.setMenuEnabled(False)
        self.stability_plot.setMouseEnabled(x=False, y=False)
        self.stability_plot.setToolTip(STABILITY_HELP)
        self.stability_plot.getAxis("left").setWidth(62)
        self.stability_curve = self.stability_plot.plot([], [], symbol="o", symbolSize=8)
        self.stability_spread = pg.ErrorBarItem(x=np.array([]), y=np.array([]), beam=0.15)
        self.stability_plot.addItem(self.stability_spread)
        # where a resample counts as keeping the clustering (the "stable in n of B" of the reason)
        self.stable_line = pg.InfiniteLine(
            pos=STABLE_ARI,
            angle=0,
            movable=False,
            label=f"stable from {STABLE_ARI:g}",
            labelOpts={"position": 0.02, "anchors": [(0, 0), (0, 0)]},  # below the line
        )
        self.stability_plot.addItem(self.stable_line, ignoreBounds=True)
        self.stability_plot.hide()
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        # four readable charts at least; a smaller page scrolls (the Clustering page does)
        line = self.fontMetrics().height()
        self.graphics.setMinimumSize(line * 26, line * 34)

        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel("Click a K on any chart to choose it.")
        make_hint(self.note_label)
        self.note_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.note_label)
        self._restyle()
        self._refresh()

    # -- API used while the sweep streams ---------------------------------------------------------
    def clear(self) -> None:
        self._scores.clear()
        self._suggested = None
        self._chosen = None
        self.reason_label.clear()
        self._refresh()

    def add_score(self, score: KScore) -> None:
        """Add (or replace) the scores of one K and redraw at once."""
        self._scores[score.k] = score
        self._refresh()

    def side_by_side_width(self) -> int:
        """The width the charts need to show whole, two by two: pyqtgraph lays each row out
        at least as wide as its titles (11 pt, see style_plot) and cuts off what does not fit,
        so a page narrower than this puts the charts under its settings instead."""
        font = QFont(self.font())
        font.setPointSizeF(11)
        title = max(QFontMetrics(font).horizontalAdvance(m.title) for m in METRICS)
        axis = int(self.plots[METRICS[0].field].getAxis("left").width())
        return 2 * (title + axis) + 4 * self.fontMetrics().height()

    def set_scores(self, scores: tuple[KScore, ...] | list[KScore]) -> None:
        self._scores = {s.k: s for s in scores}
        self._refresh()

    def scores(self) -> list[KScore]:
        return [self._scores[k] for k in sorted(self._scores)]

    def set_suggested(self, k: int, reason: str) -> None:
        """A dashed line at ``k`` on every chart, and the reason under the charts."""
        self._suggested = (int(k), reason)
        self.reason_label.setText(f"<b>Suggested K = {k}.</b> {reason}")
        self._refresh()

    def set_chosen(self, k: int | None) -> None:
        """A solid marker (and line) at the K that is used."""
        self._chosen = None if k is None else int(k)
        self._refresh()

    def chosen(self) -> int | None:
        return self._chosen

    def suggested(self) -> int | None:
        return self._suggested[0] if self._suggested else None

    def pick_k(self, k: int) -> None:
        """What a click on a chart does: tell the host which K was picked."""
        self.kPicked.emit(int(k))

    def set_pick_hint(self, text: str | None) -> None:
        self.note_label.setText(text or "")
        self.note_label.setVisible(bool(text))

    def k_near(self, x: float) -> int | None:
        """The scored K nearest to x (within half a step), if any."""
        if not self._scores or not math.isfinite(x):
            return None
        ks = np.array(sorted(self._scores))
        best = int(ks[np.argmin(np.abs(ks - x))])
        return best if abs(best - x) <= 0.5 else None

    # -- drawing ------------------------------------------------------------------------------------
    def _refresh_stability(self, ticks: list) -> None:
        """Mean adjusted Rand per K with its spread as error bars; the plot shows only when a
        score carries stability."""
        stabilities = [self._scores[k].stability for k in sorted(self._scores)]
        checked = [s for s in stabilities if s is not None]
        self.stability_plot.setVisible(bool(checked))
        if not checked:
            self.stability_curve.setData([], [])
            self.stability_spread.setData(x=np.array([]), y=np.array([]))
            return
        xs = np.array([s.k for s in checked], dtype=float)
        mean = np.array([s.ari_mean for s in checked])
        spread = np.array([s.ari_sd for s in checked])
        self.stability_curve.setData(xs, mean)
        self.stability_spread.setData(x=xs, y=mean, height=2 * spread)
        self.stability_plot.getAxis("bottom").setTicks(ticks)
        ks = sorted(self._scores)
        self.stability_plot.setXRange(ks[0] - 0.5, ks[-1] + 0.5, padding=0)
        low = min(0.0, float((mean - spread).min())) - 0.05
        self.stability_plot.setYRange(low, 1.08, padding=0)
        # fixed labels every 0.5, 0 and 1 included (pyqtgraph chose 0.5 alone on a short axis)
        self.stability_plot.getAxis("left").setTicks(
            [[(v, f"{v:g}") for v in np.arange(math.ceil(low * 2) / 2, 1.01, 0.5)], []]
        )
        resamples = checked[0].resamples
        self.stability_plot.setTitle(
            f"{STABILITY.title}, {resamples} resamples",
            color=foreground(self).name(),
            size="11pt",
        )

    def _refresh(self) -> None:
        ks = sorted(self._scores)
        self._refresh_stability([[(k, str(k)) for k in ks]] if ks else [[]])
        ticks = [[(k, str(k)) for k in ks]] if ks else [[]]
        for metric in METRICS:
            plot = self.plots[metric.field]
            values = np.array([getattr(self._scores[k], metric.field) for k in ks], dtype=float)
            self.curves[metric.field].setData(np.array(ks, dtype=float), values, connect="finite")
            plot.getAxis("bottom").setTicks(ticks)
            if ks:
                plot.setXRange(ks[0] - 0.5, ks[-1] + 0.5, padding=0)
            else:
                plot.setXRange(1.5, 10.5, padding=0)
            finite = values[np.isfinite(values)]
            if finite.size:
                lo, hi = float(finite.min()), float(finite.max())
                pad = (hi - lo) or abs(hi) or 1.0
                plot.setYRange(
                    lo - 0.1 * pad, hi + 0.28 * pad, padding=0
                )  # room on top for the label

            line = self._suggested_lines[metric.field]
            if self._suggested is not None:
                line.setValue(self._suggested[0])
                line.label.setFormat(f"suggested K={self._suggested[0]}")
                line.show()
            else:
                line.hide()

            mark = self._chosen_marks[metric.field]
            chosen_line = self._chosen_lines[metric.field]
            if self._chosen is not None:
                chosen_line.setValue(self._chosen)
                chosen_line.show()
                score = self._scores.get(self._chosen)
                value = getattr(score, metric.field) if score is not None else float("nan")
                if math.isfinite(value):
                    mark.setData([self._chosen], [value])
                else:
                    mark.setData([], [])
            else:
                chosen_line.hide()
                mark.setData([], [])

    def _restyle(self) -> None:
        style_graphics_view(self.graphics, self)
        fg = foreground(self)
        muted = QColor(fg)
        muted.setAlpha(170)
        chosen = QColor(CHOSEN_COLOR)
        style_plot(self.stability_plot, self, title=STABILITY.title)
        # no horizontal grid: with it pyqtgraph hides the labels of 0 and 1 near the ends of a
        # short axis (a small window); the line at STABLE_ARI is the level that matters
        self.stability_plot.showGrid(x=True, y=False, alpha=0.18)
        self.stable_line.setPen(pg.mkPen(muted, width=1.2, style=Qt.PenStyle.DashLine))
        self.stable_line.label.setColor(muted)
        self.stability_plot.setLabel("bottom", "K (number of segments)")
        self.stability_plot.setLabel("left", STABILITY.label)
        self.stability_curve.setPen(pg.mkPen(LINE_COLOR, width=2))
        self.stability_curve.setSymbolBrush(pg.mkBrush(LINE_COLOR))
        self.stability_curve.setSymbolPen(pg.mkPen(fg, width=0.8))
        self.stability_spread.setData(pen=pg.mkPen(muted, width=1.2))
        for metric in METRICS:
            plot = self.plots[metric.field]
            style_plot(plot, self, title=metric.title)
            plot.setLabel("bottom", "K (number of segments)")
            self.curves[metric.field].setPen(pg.mkPen(LINE_COLOR, width=2))
            self.curves[metric.field].setSymbolBrush(pg.mkBrush(LINE_COLOR))
            self.curves[metric.field].setSymbolPen(pg.mkPen(fg, width=0.8))
            line = self._suggested_lines[metric.field]
            line.setPen(pg.mkPen(muted, width=1.5, style=Qt.PenStyle.DashLine))
            line.label.setColor(fg)
            self._chosen_lines[metric.field].setPen(pg.mkPen(chosen, width=1.5))
            self._chosen_marks[metric.field].setBrush(pg.mkBrush(chosen))
            self._chosen_marks[metric.field].setPen(pg.mkPen(fg, width=1.5))

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        for plot in self.plots.values():
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(event.scenePos()):
                k = self.k_near(vb.mapSceneToView(event.scenePos()).x())
                if k is not None:
                    self.pick_k(k)
                return

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()


class KEvaluationView(ResultView):
    """The finished run's K sweep, with the K that was used."""

    title = "K evaluation"
    view_name = "k-evaluation"
    placeholder = "Run an analysis to see how each number of segments (K) scored."
    image_formats = PNG_AND_SVG

    #: the user clicked a K (the host may offer to re-run with it)
    kPicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts = KChartsWidget()
        self.charts.set_pick_hint(None)
        self.charts.kPicked.connect(self.kPicked)
        self.set_content(self.charts)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        sweep = result.sweep
        if sweep is None or not sweep.scores:
            self.charts.clear()
            self.show_message(
                f"A fixed K was used without a K sweep (K = {result.k}), so there are no K scores to compare."
            )
            return
        self.charts.clear()
        self.charts.set_scores(sweep.scores)
        self.charts.set_suggested(sweep.suggested_k, sweep.reason)
        self.charts.set_chosen(result.k)
        notes = [
            f"K = {result.k} was used (solid line and large dot); the dashed line marks the suggested K."
        ]
        if sweep.silhouette_sampled:
            notes.append("Silhouette scores were computed on a fixed-seed sample of customers.")
        self.charts.set_pick_hint(" ".join(notes))
        self.show_content()

    def _plot_for_export(self):
        return (
            None
            if self._result is None or self._result.sweep is None
            else self.charts.graphics.scene()
        )

    def _widget_for_png(self) -> QWidget:
        return self.charts
