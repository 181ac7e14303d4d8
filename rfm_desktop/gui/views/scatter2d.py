"""2D scatter tab: customers on two chosen axes, coloured by cluster or RFM segment.

Built to stay smooth at 1,000,000 customers: one ScatterPlotItem per group with one brush
and pen each; above ``DISPLAY_BUDGET`` customers every group draws the same fixed-seed
fraction of its points (so relative densities stay true), while selections always test
every customer.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.explain import explain_scores
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.axes import ReadableAxis
from rfm_desktop.gui.views.base import (
    PNG_AND_SVG,
    ResultView,
    background,
    foreground,
    style_graphics_view,
    style_plot,
)
from rfm_desktop.gui.views.colors import segment_color
from rfm_desktop.gui.views.geometry import points_in_polygon, points_in_rect

#: most points drawn in all; above it every group draws the same fixed-seed random fraction
DISPLAY_BUDGET = 500_000
#: an SVG with more drawn points than this would be too big to open
SVG_POINT_LIMIT = 150_000
SEED = 12345


@dataclass(frozen=True)
class AxisSpec:
    key: str
    column: str
    label: str
    short: str
    unit: str = ""
    loggable: bool = True


AXES: dict[str, AxisSpec] = {
    "recency": AxisSpec("recency", "recency", "Recency (days since last purchase)", "Recency", "days"),
    "frequency": AxisSpec("frequency", "frequency", "Frequency (orders)", "Frequency", "orders"),
    "monetary": AxisSpec("monetary", "monetary", "Monetary (total spend)", "Monetary"),
    "pc1": AxisSpec("pc1", "pc1", "PCA 1 (of the scaled R, F, M)", "PCA 1", loggable=False),
    "pc2": AxisSpec("pc2", "pc2", "PCA 2 (of the scaled R, F, M)", "PCA 2", loggable=False),
}
COLOR_BY = {"cluster": "Cluster", "segment": "RFM segment"}
SELECT_MODES = {"pan": "Pan / zoom", "rect": "Rectangle", "lasso": "Lasso"}


@dataclass
class _Group:
    key: object  # cluster id or segment name
    name: str
    color: str
    rows: np.ndarray  # positions in result.customers
    shown: np.ndarray  # positions into ``rows`` that are drawn
    item: pg.ScatterPlotItem | None = None
    overlay: pg.ScatterPlotItem | None = None  # the selected points, drawn on top
    extra: dict = field(default_factory=dict)


class _Sample(pg.ItemSample):
    """Legend swatch: a fixed-size dot in the group's colour (points may be 2 px)."""

    def paint(self, p, *args) -> None:  # noqa: ANN001 - Qt API
        if not self.item.isVisible():
            super().paint(p, *args)
            return
        p.setRenderHint(p.RenderHint.Antialiasing)
        p.setPen(pg.mkPen(self.item.legend_pen))
        p.setBrush(pg.mkBrush(self.item.legend_color))
        p.drawEllipse(QRectF(4, 4, 12, 12))


class _Legend(pg.LegendItem):
    """Clicking a name (not only its swatch) shows or hides the group."""

    def mouseClickEvent(self, ev) -> None:  # noqa: ANN001, N802 - Qt API
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for sample, label in self.items:
            if label.sceneBoundingRect().contains(ev.scenePos()):
                sample.item.setVisible(not sample.item.isVisible())
                sample.update()
                ev.accept()
                return


class _SelectViewBox(pg.ViewBox):
    """Left-drag draws a rectangle or a lasso in the select modes; middle-drag always pans."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "rect"
        self.on_rect = None  # callable(QRectF, additive)
        self.on_lasso = None  # callable(np.ndarray (n, 2), additive)
        self._rect_item = QGraphicsRectItem()
        self._path_item = QGraphicsPathItem()
        for shape in (self._rect_item, self._path_item):
            shape.setZValue(1e9)
            shape.hide()
            self.addItem(shape, ignoreBounds=True)
        self._points: list[tuple[float, float]] = []
        self._last_scene: QPointF | None = None

    def set_shape_color(self, color: QColor) -> None:
        pen = QPen(color, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        fill = QColor(color)
        fill.setAlpha(30)
        for shape in (self._rect_item, self._path_item):
            shape.setPen(pen)
            shape.setBrush(QBrush(fill))

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: ANN001, N802 - Qt API
        if self.mode not in ("rect", "lasso") or ev.button() != Qt.MouseButton.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        additive = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        start = self.mapSceneToView(ev.buttonDownScenePos())
        here = self.mapSceneToView(ev.scenePos())
        if self.mode == "rect":
            rect = QRectF(start, here).normalized()
            self._rect_item.setRect(rect)
            self._rect_item.setVisible(not ev.isFinish())
            if ev.isFinish() and self.on_rect is not None:
                self.on_rect(rect, additive)
            return
        if ev.isStart():
            self._points = [(start.x(), start.y())]
            self._last_scene = ev.buttonDownScenePos()
        last = self._last_scene
        if last is None or (ev.scenePos() - last).manhattanLength() >= 3:  # ~1 vertex per 3 px
            self._points.append((here.x(), here.y()))
            self._last_scene = ev.scenePos()
        path = QPainterPath(QPointF(*self._points[0]))
        for px, py in self._points[1:]:
            path.lineTo(px, py)
        path.closeSubpath()
        self._path_item.setPath(path)
        self._path_item.setVisible(not ev.isFinish())
        if ev.isFinish() and self.on_lasso is not None:
            self.on_lasso(np.asarray(self._points, dtype=np.float64), additive)


class FastScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem whose points all share one style (we never set per-point styles).

    pyqtgraph looks up each point's symbol in its atlas in a Python loop; with one
    style per item a single lookup serves every point, so 200,000 points update in
    milliseconds instead of a fraction of a second.
    """

    def updateSpots(self, dataSet=None) -> None:  # noqa: ANN001, N802, N803 - pyqtgraph API
        data = self.data if dataSet is None else dataSet
        if not (self.opts["pxMode"] and self.opts["useCache"]) or len(data) == 0:
            super().updateSpots(dataSet)
            return
        stale = data["sourceRect"]["w"] == 0
        if stale.any():
            style = (self.opts["symbol"], self.opts["size"], self.opts["pen"], self.opts["brush"])
            data["sourceRect"][stale] = self.fragmentAtlas[[style]][0]
            self._maybeRebuildAtlas()
            self._updateMaxSpotSizes(data=data)
            self.invalidate()
        else:
            self._updateMaxSpotSizes(data=data)


def _display_subset(n: int, fraction: float, seed: int) -> np.ndarray:
    """Positions 0..n-1 to draw: all of them, or a fixed-seed random ``fraction``."""
    if fraction >= 1.0:
        return np.arange(n)
    size = min(n, max(1, round(n * fraction))) if n else 0
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _point_style(total: int) -> tuple[float, int]:
    """(size in px, alpha 0..255) so dense plots show density instead of a solid blob."""
    if total <= 2_000:
        return 8.0, 230
    if total <= 20_000:
        return 6.0, 200
    if total <= 200_000:
        return 4.0, 150
    return 2.5, 110


class Scatter2DView(ResultView):
    """Customers on two axes; legend toggles groups; rectangle/lasso selection; hover details."""

    title = "2D scatter"
    view_name = "scatter-2d"
    placeholder = "Run an analysis to see the customers plotted here."
    image_formats = PNG_AND_SVG

    #: numpy array of the selected customer ids (strings); emitted after every selection change
    selectionChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._groups: list[_Group] = []
        self._hidden: dict[str, set[object]] = {"cluster": set(), "segment": set()}
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._selected = np.zeros(0, dtype=bool)
        self._size, self._alpha = 6.0, 200
        self._arrays: dict[str, np.ndarray] = {}

        # -- controls ---------------------------------------------------------------
        self.x_combo = QComboBox()
        self.y_combo = QComboBox()
        for spec in AXES.values():
            self.x_combo.addItem(spec.short, spec.key)
            self.y_combo.addItem(spec.short, spec.key)
        self.x_log = QCheckBox("log")
        self.y_log = QCheckBox("log")
        self.x_log.setToolTip("Logarithmic x axis (values below the smallest positive value are drawn at it).")
        self.y_log.setToolTip("Logarithmic y axis (values below the smallest positive value are drawn at it).")
        self.color_combo = QComboBox()
        for key, text in COLOR_BY.items():
            self.color_combo.addItem(text, key)
        self.x_combo.setCurrentIndex(self.x_combo.findData("recency"))
        self.y_combo.setCurrentIndex(self.y_combo.findData("monetary"))
        self.y_log.setChecked(True)

        self.mode_buttons = QButtonGroup(self)
        mode_box = QHBoxLayout()
        mode_box.setSpacing(0)
        for key, text in SELECT_MODES.items():
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setProperty("mode", key)
            button.setToolTip(
                {
                    "pan": "Drag to move the view; wheel to zoom.",
                    "rect": "Drag a rectangle to select customers (Shift adds). Middle-drag pans, wheel zooms.",
                    "lasso": "Draw around customers to select them (Shift adds). Middle-drag pans, wheel zooms.",
                }[key]
            )
            self.mode_buttons.addButton(button)
            mode_box.addWidget(button)
            if key == "rect":
                button.setChecked(True)
        self.clear_button = QPushButton("Clear selection")
        self.reset_button = QPushButton("Reset view")
        self.count_label = QLabel()
        self.sample_label = QLabel()
        self.sample_label.setWordWrap(True)
        make_hint(self.sample_label)
        self.sample_label.hide()
        self.hover_label = QLabel(" ")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # -- plot ----------------------------------------------------------------------
        self.graphics = pg.GraphicsLayoutWidget()
        self.viewbox = _SelectViewBox()
        self.plot: pg.PlotItem = self.graphics.addPlot(
            row=0, col=0, viewBox=self.viewbox,
            axisItems={"bottom": ReadableAxis("bottom"), "left": ReadableAxis("left")},
        )
        self.plot.setMenuEnabled(False)
        self.legend = _Legend(sampleType=_Sample, labelTextSize="10pt", verSpacing=-4)
        side = self.graphics.ci.addLayout(row=0, col=1)  # legend beside the plot, never over points
        side.addItem(self.legend, row=0, col=0)
        side.addItem(pg.GraphicsWidget(), row=1, col=0)  # takes the spare height under the legend
        side.layout.setRowStretchFactor(0, 0)
        side.layout.setRowStretchFactor(1, 1)
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 0)
        self.viewbox.on_rect = lambda rect, add: self.select_rect(
            rect.left(), rect.top(), rect.right(), rect.bottom(), add=add
        )
        self.viewbox.on_lasso = lambda pts, add: self.select_polygon(pts, add=add)
        self._hover_ring = pg.ScatterPlotItem(size=14, brush=None, pxMode=True)
        self._hover_ring.setZValue(1e6)
        self._hover_ring.hide()
        self._hover_text = pg.TextItem(anchor=(0, 1))
        self._hover_text.setZValue(1e6)
        self._hover_text.hide()
        self.plot.addItem(self._hover_ring, ignoreBounds=True)
        self.plot.addItem(self._hover_text, ignoreBounds=True)
        self._hover_proxy = pg.SignalProxy(self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)

        # -- layout -----------------------------------------------------------------------
        row1 = QHBoxLayout()
        for widget in (QLabel("X:"), self.x_combo, self.x_log, QLabel("   Y:"), self.y_combo, self.y_log,
                       QLabel("   Colour by:"), self.color_combo):
            row1.addWidget(widget)
        row1.addStretch(1)
        row1.addWidget(self.reset_button)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Drag to:"))
        row2.addLayout(mode_box)
        row2.addWidget(self.clear_button)
        row2.addSpacing(12)
        row2.addWidget(self.count_label)
        row2.addStretch(1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        layout.addWidget(self.sample_label)
        self.set_content(content)

        for combo in (self.x_combo, self.y_combo):
            combo.currentIndexChanged.connect(self._axes_changed)
        for box in (self.x_log, self.y_log):
            box.toggled.connect(self._axes_changed)
        self.color_combo.currentIndexChanged.connect(self._groups_changed)
        self.mode_buttons.buttonClicked.connect(lambda b: self.set_select_mode(b.property("mode")))
        self.clear_button.clicked.connect(self.clear_selection)
        self.reset_button.clicked.connect(self.reset_view)
        self._restyle()
        self._update_count()

    # -- public API ---------------------------------------------------------------------------
    def set_result(self, result: AnalysisResult) -> None:
        previous = self._result
        keep = (
            previous is not None
            and previous.params.run_settings() == result.params.run_settings()
            and previous.input_sha256 == result.input_sha256
            and len(previous.customers) == len(result.customers)
        )
        self._result = result
        frame = result.customers
        self._arrays = {
            spec.column: frame[spec.column].to_numpy(dtype=np.float64, na_value=np.nan)
            for spec in AXES.values()
            if spec.column in frame.columns
        }
        if not keep:
            self._selected = np.zeros(len(frame), dtype=bool)
        self._size, self._alpha = _point_style(len(frame))
        self._build_groups()
        self._compute_xy()
        self._redraw(autorange=not keep)
        self.show_content()
        if not keep:
            self._emit_selection()

    def set_axes(self, x: str, y: str, *, x_log: bool = False, y_log: bool = False) -> None:
        """Choose the axes by key: recency, frequency, monetary, pc1, pc2."""
        for key in (x, y):
            if key not in AXES:
                raise ValueError(f"Unknown axis '{key}': use one of {', '.join(AXES)}.")
        widgets = (self.x_combo, self.y_combo, self.x_log, self.y_log)
        for w in widgets:
            w.blockSignals(True)
        self.x_combo.setCurrentIndex(self.x_combo.findData(x))
        self.y_combo.setCurrentIndex(self.y_combo.findData(y))
        self.x_log.setChecked(x_log)
        self.y_log.setChecked(y_log)
        for w in widgets:
            w.blockSignals(False)
        self._axes_changed()

    def axes(self) -> tuple[str, str, bool, bool]:
        return (self.x_combo.currentData(), self.y_combo.currentData(), self._log_on("x"), self._log_on("y"))

    def set_color_by(self, mode: str) -> None:
        """"cluster" or "segment" (the named RFM segment)."""
        if mode not in COLOR_BY:
            raise ValueError(f"Colour by 'cluster' or 'segment', not '{mode}'.")
        self.color_combo.setCurrentIndex(self.color_combo.findData(mode))

    def color_by(self) -> str:
        return str(self.color_combo.currentData())

    def set_select_mode(self, mode: str) -> None:
        """"pan", "rect" or "lasso": what a left-drag does."""
        if mode not in SELECT_MODES:
            raise ValueError(f"Unknown selection mode '{mode}': use pan, rect or lasso.")
        self.viewbox.mode = mode
        self.viewbox.setMouseMode(pg.ViewBox.PanMode)
        for button in self.mode_buttons.buttons():
            button.setChecked(button.property("mode") == mode)

    def select_mode(self) -> str:
        return self.viewbox.mode

    def select_rect(self, x0: float, y0: float, x1: float, y1: float, *, add: bool = False) -> int:
        """Select every customer of the shown groups inside the rectangle (plotted coordinates,
        i.e. log10 of the value on a log axis). Returns the number selected."""
        return self._apply_selection(lambda x, y: points_in_rect(x, y, x0, y0, x1, y1), add)

    def select_polygon(self, points, *, add: bool = False) -> int:  # noqa: ANN001 - any (n, 2) sequence
        """Select every customer of the shown groups inside the polygon (plotted coordinates)."""
        poly = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return self._apply_selection(lambda x, y: points_in_polygon(x, y, poly), add)

    def clear_selection(self) -> None:
        if self._selected.any():
            self._selected[:] = False
            self._selection_changed()

    def selected_rows(self) -> np.ndarray:
        """Positions (0-based) of the selected customers in ``result.customers``."""
        return np.flatnonzero(self._selected)

    def selected_customer_ids(self) -> list[str]:
        return [str(v) for v in self._selected_ids()]

    def selected_count(self) -> int:
        return int(self._selected.sum())

    def group_items(self) -> dict[object, pg.ScatterPlotItem]:
        """The one scatter item per group (cluster id or segment name) currently drawn."""
        return {g.key: g.item for g in self._groups if g.item is not None}

    def set_group_visible(self, key: object, visible: bool) -> None:
        for g in self._groups:
            if g.key == key and g.item is not None:
                g.item.setVisible(visible)

    def is_group_visible(self, key: object) -> bool:
        return key not in self._hidden[self.color_by()]

    def toggle_group(self, key: object) -> None:
        """What clicking a legend entry does."""
        self.set_group_visible(key, not self.is_group_visible(key))

    def reset_view(self) -> None:
        self.plot.enableAutoRange()
        self.plot.autoRange(padding=0.04)

    def hover_at(self, x: float, y: float) -> str | None:
        """Describe the drawn customer nearest to plotted position (x, y), within a few pixels."""
        hit = self._nearest(x, y)
        self._show_hover(hit)
        return None if hit is None else self._describe(hit)

    # -- building ---------------------------------------------------------------------------------
    def _log_on(self, axis: str) -> bool:
        combo, box = (self.x_combo, self.x_log) if axis == "x" else (self.y_combo, self.y_log)
        return box.isChecked() and AXES[combo.currentData()].loggable

    def _build_groups(self) -> None:
        result = self._result
        if result is None:
            return
        frame = result.customers
        if self.color_by() == "cluster":
            specs = [(c.id, c.name, c.color) for c in result.clusters]
            values = frame["cluster"].to_numpy()
        else:
            from rfm_desktop.core.rfm import SEGMENT_ORDER

            present = pd.unique(frame["rfm_segment"].astype(str).to_numpy())
            names = [s for s in SEGMENT_ORDER if s in set(present)] + sorted(set(present) - set(SEGMENT_ORDER))
            specs = [(s, s, segment_color(s)) for s in names]
            values = frame["rfm_segment"].astype(str).to_numpy()
        keys = [key for key, _, _ in specs]
        codes = pd.Categorical(values, categories=keys).codes  # -1 for values without a profile
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        self._groups = []
        fraction = self.display_fraction()
        for i, (key, name, color) in enumerate(specs):
            rows = order[bounds[i] : bounds[i + 1]]
            shown = _display_subset(len(rows), fraction, SEED + i)
            self._groups.append(_Group(key=key, name=name, color=color, rows=rows, shown=shown))
        self._make_items()
        if fraction < 1.0:
            self.sample_label.setText(
                f"Drawing a random {100 * fraction:.0f}% of the {len(frame):,} customers to keep the plot fast; "
                "selections and counts include every customer."
            )
        self.sample_label.setVisible(fraction < 1.0)

    def _make_items(self) -> None:
        for item in list(self.plot.items):
            if isinstance(item, pg.ScatterPlotItem) and item is not self._hover_ring:
                self.plot.removeItem(item)
        self.legend.clear()
        hidden = self._hidden[self.color_by()]
        bg = background(self)
        many = len(self._selected) > 20_000
        for g in self._groups:
            color = QColor(g.color)
            pen = None if many else pg.mkPen(bg, width=0.6)
            item = FastScatter(pxMode=True, useCache=True, symbol="o", size=self._size, pen=pen,
                                      brush=self._brush(color), antialias=not many, name=g.name)
            item.legend_color = color
            item.legend_pen = foreground(self)
            overlay = FastScatter(pxMode=True, useCache=True, symbol="o", size=self._size + 2,
                                         pen=pg.mkPen(foreground(self), width=1.0), brush=pg.mkBrush(color))
            overlay.setZValue(10)
            g.item, g.overlay = item, overlay
            self.plot.addItem(item)
            self.plot.addItem(overlay)
            item.setVisible(g.key not in hidden)
            overlay.setVisible(g.key not in hidden)
            item.visibleChanged.connect(lambda g=g: self._group_visibility_changed(g))
            self.legend.addItem(item, f"{g.name} ({len(g.rows):,})")
        self.legend.setLabelTextColor(foreground(self))

    def _brush(self, color: QColor) -> QBrush:
        c = QColor(color)
        c.setAlpha(self._alpha)
        return pg.mkBrush(c)

    def _column(self, key: str) -> np.ndarray:
        column = AXES[key].column
        if column not in self._arrays:
            return np.full(len(self._selected), np.nan)
        return self._arrays[column]

    def _compute_xy(self) -> None:
        xs = []
        for axis in ("x", "y"):
            combo = self.x_combo if axis == "x" else self.y_combo
            values = self._column(combo.currentData())
            if self._log_on(axis):
                positive = values[values > 0]
                floor = float(positive.min()) if positive.size else 1.0
                values = np.log10(np.maximum(values, floor))
            xs.append(values)
        self._x, self._y = xs

    def _redraw(self, *, autorange: bool = True) -> None:
        for g in self._groups:
            rows = g.rows[g.shown]
            g.item.setData(x=self._x[rows], y=self._y[rows])
        self._draw_selection()
        x_key, y_key = self.x_combo.currentData(), self.y_combo.currentData()
        self.plot.getAxis("bottom").setLogMode(self._log_on("x"))
        self.plot.getAxis("left").setLogMode(self._log_on("y"))
        x_label = AXES[x_key].label + (", log scale" if self._log_on("x") else "")
        y_label = AXES[y_key].label + (", log scale" if self._log_on("y") else "")
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        by = "cluster" if self.color_by() == "cluster" else "RFM segment"
        self.plot.setTitle(f"{AXES[y_key].short} vs {AXES[x_key].short}, coloured by {by}",
                           color=foreground(self).name(), size="11pt")
        self.x_log.setEnabled(AXES[x_key].loggable)
        self.y_log.setEnabled(AXES[y_key].loggable)
        self._show_hover(None)
        if autorange:
            self.reset_view()

    def _draw_selection(self) -> None:
        any_selected = bool(self._selected.any())
        for g in self._groups:
            g.item.setOpacity(0.25 if any_selected else 1.0)  # dims without restyling every point
            rows = g.rows[g.shown]
            chosen = rows[self._selected[rows]] if any_selected else rows[:0]
            g.overlay.setData(x=self._x[chosen], y=self._y[chosen])
        self._update_count()

    def _restyle(self) -> None:
        style_graphics_view(self.graphics, self)
        style_plot(self.plot, self)
        fg = foreground(self)
        panel = QColor(background(self))
        panel.setAlpha(220)
        self.legend.setBrush(pg.mkBrush(panel))
        self.legend.setPen(pg.mkPen(QColor(fg.red(), fg.green(), fg.blue(), 80)))
        self.legend.setLabelTextColor(fg)
        self.viewbox.set_shape_color(fg)
        self._hover_ring.setPen(pg.mkPen(fg, width=2))
        self._hover_text.fill = pg.mkBrush(panel)
        self._hover_text.border = pg.mkPen(QColor(fg.red(), fg.green(), fg.blue(), 120))
        self._hover_text.setColor(fg)

    def _palette_changed(self) -> None:
        self._restyle()
        if self._result is not None:
            self._make_items()
            self._redraw(autorange=False)

    # -- reactions -------------------------------------------------------------------------
    def _axes_changed(self) -> None:
        if self._result is None:
            return
        self._compute_xy()
        self._redraw()

    def _groups_changed(self) -> None:
        if self._result is None:
            return
        self._build_groups()
        self._redraw(autorange=False)

    def _group_visibility_changed(self, g: _Group) -> None:
        visible = g.item.isVisible()
        hidden = self._hidden[self.color_by()]
        if visible:
            hidden.discard(g.key)
        else:
            hidden.add(g.key)
        g.overlay.setVisible(visible)
        if not visible and self._selected[g.rows].any():  # hidden customers are not selected
            self._selected[g.rows] = False
            self._selection_changed()

    def _apply_selection(self, test, add: bool) -> int:  # noqa: ANN001 - callable(x, y) -> mask
        if self._result is None:
            return 0
        rows = [g.rows for g in self._groups if g.item is not None and g.item.isVisible()]
        candidates = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        inside = test(self._x[candidates], self._y[candidates])
        if not add:
            self._selected[:] = False
        self._selected[candidates[inside]] = True
        self._selection_changed()
        return self.selected_count()

    def _selection_changed(self) -> None:
        self._draw_selection()
        self._emit_selection()

    def _emit_selection(self) -> None:
        self.selectionChanged.emit(self._selected_ids())

    def _selected_ids(self) -> np.ndarray:
        if self._result is None or not self._selected.any():
            return np.array([], dtype=object)
        ids = self._result.customers["customer_id"].to_numpy()[self._selected]
        return np.asarray([str(v) for v in ids], dtype=object)

    def _update_count(self) -> None:
        total = len(self._selected)
        if total == 0:
            self.count_label.setText("")
            return
        n = self.selected_count()
        if n == 0:
            self.count_label.setText(f"No customers selected (of {total:,}).")
        else:
            self.count_label.setText(f"<b>{n:,}</b> of {total:,} customers selected ({100 * n / total:.1f}%).")

    # -- hover ------------------------------------------------------------------------------
    def _on_mouse_moved(self, args) -> None:  # noqa: ANN001 - SignalProxy payload
        if self._result is None:
            return
        scene_pos = args[0]
        if not self.viewbox.sceneBoundingRect().contains(scene_pos):
            self._show_hover(None)
            return
        pos = self.viewbox.mapSceneToView(scene_pos)
        hit = self._nearest(pos.x(), pos.y())
        self._show_hover(hit)

    def _nearest(self, x: float, y: float) -> int | None:
        """Row of the drawn customer nearest to (x, y) in screen pixels, if within reach."""
        rows = [g.rows[g.shown] for g in self._groups if g.item is not None and g.item.isVisible()]
        if not rows:
            return None
        candidates = np.concatenate(rows)
        px_w, px_h = self.viewbox.viewPixelSize()
        px_w, px_h = px_w or 1.0, px_h or 1.0
        dx = (self._x[candidates] - x) / px_w
        dy = (self._y[candidates] - y) / px_h
        d2 = dx * dx + dy * dy
        if d2.size == 0 or not np.isfinite(d2).any():
            return None
        best = int(np.nanargmin(d2))
        reach = self._size / 2 + 4
        return int(candidates[best]) if d2[best] <= reach * reach else None

    def _describe(self, row: int) -> str:
        frame = self._result.customers
        cid = frame["customer_id"].iat[row]
        rec, freq, mon = (frame[c].iat[row] for c in ("recency", "frequency", "monetary"))
        cluster = frame["cluster_name"].iat[row] if "cluster_name" in frame.columns else frame["cluster"].iat[row]
        segment = frame["rfm_segment"].iat[row] if "rfm_segment" in frame.columns else ""
        why = explain_scores((rec, freq, mon), self._result.scales, self._result.rules).text if self._result.scales else ""
        return (
            f"Customer {cid}  ·  segment: {cluster}  ·  RFM segment: {segment}\n"
            f"Recency {rec:,.0f} days  ·  Frequency {freq:,.0f} orders  ·  Monetary {mon:,.2f}"
        ) + (f"\nWhy this segment: {textwrap.fill(why, 100)}" if why else "")

    def _show_hover(self, row: int | None) -> None:
        if row is None:
            self._hover_ring.hide()
            self._hover_text.hide()
            self.hover_label.setText("Hover over a point to see the customer.")
            return
        text = self._describe(row)
        x, y = float(self._x[row]), float(self._y[row])
        self._hover_ring.setData(x=[x], y=[y])
        self._hover_ring.show()
        self._hover_text.setText(text)
        (x0, x1), (y0, y1) = self.viewbox.viewRange()
        self._hover_text.setAnchor((1.0 if x > (x0 + x1) / 2 else 0.0, 0.0 if y > (y0 + y1) / 2 else 1.0))
        self._hover_text.setPos(x, y)
        self._hover_text.show()
        self.hover_label.setText(text.replace("\n", "  ·  "))

    # -- export ----------------------------------------------------------------------------------
    def display_fraction(self) -> float:
        """Share of the customers drawn (1.0 unless there are more than ``DISPLAY_BUDGET``)."""
        n = len(self._selected)
        return 1.0 if n <= DISPLAY_BUDGET else DISPLAY_BUDGET / n

    def drawn_point_count(self) -> int:
        return sum(len(g.shown) for g in self._groups if g.item is not None and g.item.isVisible())

    def _plot_for_export(self):  # noqa: ANN202
        return self.graphics.scene()

    def save_image(self, path) -> None:  # noqa: ANN001
        if str(path).lower().endswith(".svg") and self.drawn_point_count() > SVG_POINT_LIMIT:
            raise ValueError(
                f"This plot draws {self.drawn_point_count():,} points, too many for an SVG file "
                f"(the limit is {SVG_POINT_LIMIT:,}). Save it as PNG, or hide some segments first."
            )
        self._show_hover(None)
        dim_in_svg = str(path).lower().endswith(".svg") and self._selected.any()
        if dim_in_svg:  # the SVG exporter ignores item opacity: dim the brushes instead
            for g in self._groups:
                faint = QColor(g.color)
                faint.setAlpha(50)
                g.item.setBrush(pg.mkBrush(faint))
        try:
            super().save_image(path)
        finally:
            if dim_in_svg:
                for g in self._groups:
                    g.item.setBrush(self._brush(QColor(g.color)))
