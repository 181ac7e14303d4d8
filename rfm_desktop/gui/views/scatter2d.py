"""2D scatter tab: customers on two chosen axes (or a PCA / t-SNE map), coloured by cluster
or RFM segment.

Built to stay smooth at 1,000,000 customers with level of detail: when more than
``POINT_LIMIT`` customers are in (or near) the view, each screen cell is coloured by the
customers in it (a density image per group, blended, see ``density.py``); when fewer are,
they are drawn as points, one ScatterPlotItem per group with one brush and pen each. Only the
region around the view is drawn, and it is redrawn when a pan or zoom leaves it. Selections
and counts always test every customer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QRect, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.errors import ImageError
from rfm_desktop.core.palette import hex_to_rgb
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
from rfm_desktop.gui.views.density import Rect, SortedPoints, render
from rfm_desktop.gui.views.geometry import points_in_polygon, points_in_rect
from rfm_desktop.gui.views.hover import HoverCard, describe_customer, nearest_row
from rfm_desktop.gui.views.scatter_items import (
    FastScatter,
    LegendSample,
    RasterItem,
    SelectViewBox,
    TickGrid,
    ToggleLegend,
    to_qimage,
)
from rfm_desktop.gui.views.scatter_state import (
    ALL_AXES,
    AXES,
    COLOR_BY,
    PROJECTIONS,
    Scatter2DState,
)
from rfm_desktop.gui.views.svg import faint_brushes
from rfm_desktop.gui.views.tsne_job import TsneJob, sample_note

if TYPE_CHECKING:
    from rfm_desktop.gui.worker import Worker

#: most customers drawn as points; with more in the drawn region a density image is drawn
POINT_LIMIT = 50_000
#: the drawn region is the view grown by this factor, so most pans need no redraw
MARGIN = 1.6
#: screen pixels per density cell (the points it replaces are 2-3 px wide)
CELL_PX = 2
#: cells (rows, columns) of the coarse image of every customer shown until the sharp one is drawn
OVERVIEW_CELLS = (300, 400)
#: an SVG with more drawn points than this would be too big to open
SVG_POINT_LIMIT = 150_000


SELECT_MODES = {"pan": "Pan / zoom", "rect": "Rectangle", "lasso": "Lasso"}


@dataclass
class _Group:
    key: object  # cluster id or segment name
    name: str
    color: str
    rows: np.ndarray  # positions in result.customers
    item: pg.ScatterPlotItem | None = None
    overlay: pg.ScatterPlotItem | None = None  # the selected points, drawn on top

    def made(self) -> tuple[pg.ScatterPlotItem, pg.ScatterPlotItem]:
        """The item and the overlay, once drawn (ScatterView._make_items makes them right after
        building the groups)."""
        assert self.item is not None and self.overlay is not None, "the group is not drawn yet"
        return self.item, self.overlay


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
    #: the t-SNE map was computed and drawn (or its computation ended: "done", "cancelled", "failed")
    tsneEnded = Signal(str)
    #: the sharp density image of the region around the view is drawn
    detailDrawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._groups: list[_Group] = []
        #: what the view shows; changed only through set_state (the widgets follow it)
        self._state = Scatter2DState()
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._selected = np.zeros(0, dtype=bool)
        self._size, self._alpha = 6.0, 200
        self._arrays: dict[str, np.ndarray] = {}
        self._codes = np.zeros(0, dtype=np.int16)  # group index per customer, -1: none
        self._sorted: SortedPoints | None = None  # level of detail is on when set
        self._region: Rect | None = None  # what is drawn (level of detail)
        self._region_pixel = (
            0.0,
            0.0,
        )  # the size of a screen pixel (plotted units) when it was drawn
        self._mode = "points"  # "points" or "density": what the drawn region shows
        self._tsne = None  # core.tsne.TsneMap of the current result
        self._tsne_note = ""
        self._sorted_codes = np.zeros(0, dtype=np.int16)  # group per sorted point, -1 hidden
        self._detail_job: Worker | None = None  # drawing the density image of the region
        self._detail_generation = 0  # only the newest job's image is shown

        # -- controls ---------------------------------------------------------------
        self.projection_combo = QComboBox()
        for key, text in PROJECTIONS.items():
            self.projection_combo.addItem(text, key)
        self.projection_combo.setToolTip(
            "R, F, M axes: choose X and Y. PCA: the two directions of most variance of the scaled "
            "R, F, M. t-SNE: a map that keeps customers with similar R, F, M close together "
            "(computed in the background; on a random sample above 20,000 customers)."
        )
        self.x_combo = QComboBox()
        self.y_combo = QComboBox()
        for spec in AXES.values():
            self.x_combo.addItem(spec.short, spec.key)
            self.y_combo.addItem(spec.short, spec.key)
        self.x_log = QCheckBox("log")
        self.y_log = QCheckBox("log")
        self.x_log.setToolTip(
            "Logarithmic x axis (values below the smallest positive value are drawn at it)."
        )
        self.y_log.setToolTip(
            "Logarithmic y axis (values below the smallest positive value are drawn at it)."
        )
        self.color_combo = QComboBox()
        for key, text in COLOR_BY.items():
            self.color_combo.addItem(text, key)

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
        # a long description must not widen the window (small screens): it is cut at the edge
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        # t-SNE: computed in the background, its progress panel shown meanwhile
        self._tsne_job = TsneJob(self)
        self._tsne_job.finished.connect(self._tsne_finished)
        self._tsne_job.failed.connect(self._tsne_failed)
        self._tsne_job.cancelled.connect(self._tsne_cancelled)
        self.tsne_bar = self._tsne_job.bar
        self.tsne_label = self._tsne_job.label
        self.tsne_cancel = self._tsne_job.cancel_button
        self.tsne_panel = self._tsne_job.panel

        # -- plot ----------------------------------------------------------------------
        self.graphics = pg.GraphicsLayoutWidget()
        self.viewbox = SelectViewBox()
        self.plot: pg.PlotItem = self.graphics.addPlot(
            row=0,
            col=0,
            viewBox=self.viewbox,
            axisItems={"bottom": ReadableAxis("bottom"), "left": ReadableAxis("left")},
        )
        self.plot.setMenuEnabled(False)
        self.legend = ToggleLegend(sampleType=LegendSample, labelTextSize="10pt", verSpacing=-4)
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
        # the density images (level of detail): a coarse one of every customer, always complete;
        # a sharp one of the region around the view, drawn in the background; the selected on top
        self._overview = RasterItem()
        self._density = RasterItem()
        self._density_selected = RasterItem()
        self._overview.setZValue(4)
        self._density.setZValue(5)
        self._density_selected.setZValue(11)
        for image in (self._overview, self._density, self._density_selected):
            image.hide()
            self.plot.addItem(image, ignoreBounds=True)
        self._grid = TickGrid(self.plot.getAxis("bottom"), self.plot.getAxis("left"))
        self._grid.setZValue(-10)
        self.plot.addItem(self._grid, ignoreBounds=True)
        self.viewbox.sigRangeChanged.connect(self._range_changed)
        self.viewbox.sigResized.connect(self._range_changed)
        self.hover = HoverCard(
            self.graphics,
            self.plot,
            self.hover_label,
            find=self._nearest,
            describe=self._describe,
            position=lambda row: (float(self._x[row]), float(self._y[row])),
        )
        self.hover.enabled = lambda: self._result is not None
        # the ring and the card under their old names (the tests look at them)
        self._hover_ring, self._hover_text = self.hover.ring, self.hover.card

        # -- layout -----------------------------------------------------------------------
        row1 = QHBoxLayout()
        for widget in (
            QLabel("Map:"),
            self.projection_combo,
            QLabel("  X:"),
            self.x_combo,
            self.x_log,
            QLabel("  Y:"),
            self.y_combo,
            self.y_log,
            QLabel("  Colour by:"),
            self.color_combo,
        ):
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
        layout.addWidget(self.tsne_panel)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        layout.addWidget(self.sample_label)
        self.set_content(content)

        self._show_state_in_widgets()
        # a widget edit is a state change like any other (the widgets echo nothing back: set_state
        # blocks their signals while it fills them)
        for combo in (self.x_combo, self.y_combo):
            combo.currentIndexChanged.connect(self._axis_widgets_edited)
        for box in (self.x_log, self.y_log):
            box.toggled.connect(self._axis_widgets_edited)
        self.projection_combo.currentIndexChanged.connect(
            lambda: self.update_state(projection=str(self.projection_combo.currentData()))
        )
        self.color_combo.currentIndexChanged.connect(
            lambda: self.update_state(color_by=str(self.color_combo.currentData()))
        )
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
            self._state = replace(self._state, selected=frozenset())
            self._drop_tsne()
        self._put_tsne_arrays()
        self._size, self._alpha = _point_style(len(frame))
        self._build_groups()
        self._compute_xy()
        self._redraw(autorange=not keep)
        self.show_content()
        if not keep:
            self._emit_selection()
        if self.projection() == "tsne" and self._tsne is None:
            self._start_tsne()

    def state(self) -> Scatter2DState:
        """What the view shows now (axes, log scales, colouring, hidden groups, selection)."""
        return self._state

    def update_state(self, **changes: object) -> None:
        """Change some fields of the state (see :class:`Scatter2DState`) and redraw.

        Raises
        ------
        ValueError
            For an unknown projection, axis or colouring.
        """
        self.set_state(replace(self._state, **changes))  # type: ignore[arg-type]

    def set_state(self, state: Scatter2DState) -> None:
        """Show ``state``: the one way the view's choices change; redraws what differs.

        Selected customers that are not in the result or are in a hidden group are dropped from
        the selection (hidden customers cannot be selected)."""
        self._show(state)

    def _show(self, state: Scatter2DState, mask: np.ndarray | None = None) -> bool:
        """:meth:`set_state`; ``mask`` is the selection as rows when the caller has it already.
        Returns True when the selection changed (and :attr:`selectionChanged` was emitted)."""
        old, self._state = self._state, state
        self._show_state_in_widgets()
        if self._result is None:
            return False
        if state.projection == "tsne" and self._tsne is None:
            self._start_tsne()
        axes = ("projection", "x", "y", "x_log", "y_log")
        axes_changed = any(getattr(state, f) != getattr(old, f) for f in axes)
        groups_changed = state.color_by != old.color_by
        hidden_changed = state.hidden != old.hidden
        if groups_changed:
            self._build_groups()
            self._groups_shown_changed()
        elif hidden_changed:
            # the legend's toggles land here too (see _group_visibility_changed)
            for g in self._groups:
                for item in g.made():
                    item.setVisible(g.key not in state.hidden)
            if self._sorted is not None:
                self._groups_shown_changed()
                self._refresh_detail()
        if axes_changed:
            self._compute_xy()
            self._redraw()
        elif groups_changed:
            self._redraw(autorange=False)
        if mask is None:
            mask = (
                self._rows_of(state.selected)
                if state.selected != old.selected
                else self._selected.copy()
            )
        mask &= np.append(self._shown_groups(), False)[self._codes]  # hidden: not selectable
        if len(state.selected) != int(mask.sum()):  # ids not in the result, or hidden customers
            self._state = replace(self._state, selected=self._ids_of(mask))
        if np.array_equal(mask, self._selected):
            return False
        self._selected = mask
        self._selection_changed()
        return True

    def _show_state_in_widgets(self) -> None:
        state = self._state
        pairs = (
            (self.projection_combo, state.projection),
            (self.x_combo, state.x),
            (self.y_combo, state.y),
            (self.color_combo, state.color_by),
        )
        boxes = ((self.x_log, state.x_log), (self.y_log, state.y_log))
        for widget, _ in (*pairs, *boxes):
            widget.blockSignals(True)
        for combo, key in pairs:
            combo.setCurrentIndex(combo.findData(key))
        for box, on in boxes:
            box.setChecked(on)
        for widget, _ in (*pairs, *boxes):
            widget.blockSignals(False)

    def _axis_widgets_edited(self) -> None:
        self.update_state(
            x=str(self.x_combo.currentData()),
            y=str(self.y_combo.currentData()),
            x_log=self.x_log.isChecked(),
            y_log=self.y_log.isChecked(),
        )

    def _rows_of(self, ids: frozenset[str]) -> np.ndarray:
        """The selection mask of customers ``ids`` (ids not in the result are ignored)."""
        mask = np.zeros(len(self._selected), dtype=bool)
        if self._result is not None and ids:
            index = pd.Index(self._result.customers["customer_id"].astype(str))
            rows = index.get_indexer(list(ids))
            mask[rows[rows >= 0]] = True
        return mask

    def _ids_of(self, mask: np.ndarray) -> frozenset[str]:
        if self._result is None or not mask.any():
            return frozenset()
        return frozenset(str(v) for v in self._result.customers["customer_id"].to_numpy()[mask])

    def set_axes(self, x: str, y: str, *, x_log: bool = False, y_log: bool = False) -> None:
        """Choose the axes by key: recency, frequency, monetary, pc1, pc2 (the R, F, M axes map)."""
        self.update_state(projection="axes", x=x, y=y, x_log=x_log, y_log=y_log)

    def axes(self) -> tuple[str, str, bool, bool]:
        return (self._axis_key("x"), self._axis_key("y"), self._log_on("x"), self._log_on("y"))

    def set_projection(self, key: str) -> None:
        """ "axes" (the X and Y chosen), "pca" (PCA 1 x PCA 2) or "tsne" (computed in the
        background the first time; :attr:`tsneEnded` tells when it is drawn)."""
        self.update_state(projection=key)

    def projection(self) -> str:
        return self._state.projection

    def tsne_map(self):
        """The t-SNE map of the current result, once computed."""
        return self._tsne

    def is_computing_tsne(self) -> bool:
        return self._tsne_job.is_running()

    def cancel_tsne(self) -> None:
        """Stop computing the t-SNE map (the map goes back to the R, F, M axes)."""
        self._tsne_job.cancel()

    @property
    def _tsne_worker(self):
        """The gui.worker.Worker computing the t-SNE map (None before the first)."""
        return self._tsne_job.worker

    def set_color_by(self, mode: str) -> None:
        """ "cluster" or "segment" (the named RFM segment)."""
        self.update_state(color_by=mode)

    def color_by(self) -> str:
        return self._state.color_by

    def set_select_mode(self, mode: str) -> None:
        """ "pan", "rect" or "lasso": what a left-drag does."""
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

    def select_polygon(self, points, *, add: bool = False) -> int:
        """Select every customer of the shown groups inside the polygon (plotted coordinates)."""
        poly = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return self._apply_selection(lambda x, y: points_in_polygon(x, y, poly), add)

    def clear_selection(self) -> None:
        self.update_state(selected=frozenset())

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
        if key not in {g.key for g in self._groups}:
            return
        hidden = self._state.hidden
        self.set_state(self._state.with_hidden(hidden - {key} if visible else hidden | {key}))

    def is_group_visible(self, key: object) -> bool:
        return key not in self._state.hidden

    def toggle_group(self, key: object) -> None:
        """What clicking a legend entry does."""
        self.set_group_visible(key, not self.is_group_visible(key))

    def reset_view(self) -> None:
        """Show every customer of the shown groups (4 % padding)."""
        visible = self._visible_rows()
        x, y = self._x[visible], self._y[visible]
        finite = np.isfinite(x) & np.isfinite(y)
        if not finite.any():
            self.viewbox.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.04)
            return
        x, y = x[finite], y[finite]
        self.viewbox.setRange(
            xRange=(float(x.min()), float(x.max())),
            yRange=(float(y.min()), float(y.max())),
            padding=0.04,
        )

    def hover_at(self, x: float, y: float) -> str | None:
        """Describe the drawn customer nearest to plotted position (x, y), within a few pixels."""
        hit = self._nearest(x, y)
        self._show_hover(hit)
        return None if hit is None else self._describe(hit)

    def _describe(self, row: int) -> str:
        """The hover card's text of the customer at ``row``."""
        assert self._result is not None  # no hover without a result (hover.enabled)
        return describe_customer(self._result, row)

    def level_of_detail(self) -> str:
        """What the plot shows now: "points" (every customer in view as a marker) or
        "density" (each screen cell coloured by its customers)."""
        return self._mode

    def density_image(self) -> np.ndarray | None:
        """The sharp RGBA density image (rows from the bottom), or None when points are drawn
        or while it is being drawn."""
        return (
            self._density.array if self._mode == "density" and self._density.isVisible() else None
        )

    def is_drawing_detail(self) -> bool:
        """True while the sharp density image is computed in the background."""
        return self._detail_job is not None and self._detail_job.is_running

    # -- building ---------------------------------------------------------------------------------
    def _axis_key(self, axis: str) -> str:
        return self._state.axis_key(axis)

    def _log_on(self, axis: str) -> bool:
        return self._state.log_on(axis)

    def _axis_label(self, key: str) -> str:
        label = ALL_AXES[key].label
        variance = tuple(getattr(self._result, "pca_variance", ()) or ())
        if key in ("pc1", "pc2") and len(variance) >= 2:
            share = variance[0 if key == "pc1" else 1]
            label = (
                f"{ALL_AXES[key].short} ({100 * share:.0f}% of the variance of the scaled R, F, M)"
            )
        return label

    def _build_groups(self) -> None:
        result = self._result
        if result is None:
            return
        frame = result.customers
        if self.color_by() == "cluster":
            specs = [(c.id, c.name, c.color) for c in result.clusters]
            values = frame["cluster"].to_numpy()
        else:
            from rfm_desktop.core.rules import SEGMENT_ORDER

            present = pd.unique(frame["rfm_segment"].astype(str).to_numpy())
            names = [s for s in SEGMENT_ORDER if s in set(present)] + sorted(
                set(present) - set(SEGMENT_ORDER)
            )
            specs = [(s, s, segment_color(s)) for s in names]
            values = frame["rfm_segment"].astype(str).to_numpy()
        keys = [key for key, _, _ in specs]
        codes = pd.Categorical(values, categories=keys).codes  # -1 for values without a profile
        self._codes = codes.astype(np.int16)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        self._groups = [
            _Group(key=key, name=name, color=color, rows=order[bounds[i] : bounds[i + 1]])
            for i, (key, name, color) in enumerate(specs)
        ]
        self._make_items()

    def _make_items(self) -> None:
        for item in list(self.plot.items):
            if isinstance(item, pg.ScatterPlotItem) and item is not self.hover.ring:
                self.plot.removeItem(item)
        self.legend.clear()
        hidden = self._state.hidden
        bg = background(self)
        many = len(self._selected) > 20_000
        for g in self._groups:
            color = QColor(g.color)
            pen = None if many else pg.mkPen(bg, width=0.6)
            item = FastScatter(
                pxMode=True,
                useCache=True,
                symbol="o",
                size=self._size,
                pen=pen,
                brush=self._brush(color),
                antialias=not many,
                name=g.name,
            )
            item.legend_color = color
            item.legend_pen = foreground(self)
            overlay = FastScatter(
                pxMode=True,
                useCache=True,
                symbol="o",
                size=self._size + 2,
                pen=pg.mkPen(foreground(self), width=1.0),
                brush=pg.mkBrush(color),
            )
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
        column = ALL_AXES[key].column
        if column not in self._arrays:
            return np.full(len(self._selected), np.nan)
        return self._arrays[column]

    def _compute_xy(self) -> None:
        xs = []
        for axis in ("x", "y"):
            values = self._column(self._axis_key(axis))
            if self._log_on(axis):
                positive = values[values > 0]
                floor = float(positive.min()) if positive.size else 1.0
                values = np.log10(np.maximum(values, floor))
            xs.append(values)
        self._x, self._y = xs
        # level of detail only pays above POINT_LIMIT customers; below, every point is drawn once
        self._sorted = SortedPoints(self._x, self._y) if len(self._x) > POINT_LIMIT else None
        self._groups_shown_changed()

    def _redraw(self, *, autorange: bool = True) -> None:
        if self._sorted is None:
            self._mode = "points"
            for image in (self._overview, self._density, self._density_selected):
                image.hide()
            for g in self._groups:
                rows = self._drawn_rows(g)
                g.made()[0].setData(x=self._x[rows], y=self._y[rows])
        x_key, y_key = self._axis_key("x"), self._axis_key("y")
        self.plot.getAxis("bottom").setLogMode(self._log_on("x"))
        self.plot.getAxis("left").setLogMode(self._log_on("y"))
        self.plot.setLabel(
            "bottom", self._axis_label(x_key) + (", log scale" if self._log_on("x") else "")
        )
        self.plot.setLabel(
            "left", self._axis_label(y_key) + (", log scale" if self._log_on("y") else "")
        )
        by = "cluster" if self.color_by() == "cluster" else "RFM segment"
        if self.projection() == "tsne":
            title = f"t-SNE map of the scaled R, F, M, coloured by {by}"
        else:
            title = f"{ALL_AXES[y_key].short} vs {ALL_AXES[x_key].short}, coloured by {by}"
        self.plot.setTitle(title, color=foreground(self).name(), size="11pt")
        axes_mode = self.projection() == "axes"
        for widget in (self.x_combo, self.y_combo):
            widget.setEnabled(axes_mode)
        self.x_log.setEnabled(axes_mode and AXES[x_key].loggable if x_key in AXES else False)
        self.y_log.setEnabled(axes_mode and AXES[y_key].loggable if y_key in AXES else False)
        self._show_hover(None)
        self._region = None
        if autorange:
            self.reset_view()  # with level of detail, the range change draws the region
        if self._region is None:
            self._refresh_detail()
        if self._sorted is None:
            self._draw_selection()
        self._update_notes()

    def _draw_selection(self) -> None:
        any_selected = bool(self._selected.any())
        for g in self._groups:
            item, overlay = g.made()
            item.setOpacity(0.25 if any_selected else 1.0)  # dims without restyling every point
            rows = self._drawn_rows(g)
            chosen = rows[self._selected[rows]] if any_selected else rows[:0]
            overlay.setData(x=self._x[chosen], y=self._y[chosen])
        self._density.setOpacity(0.25 if any_selected else 1.0)
        self._overview.setOpacity(0.25 if any_selected else 1.0)
        if self._mode == "density" and self._region is not None:
            self._start_detail(self._region)  # the selected customers are drawn with the region
        else:
            self._density_selected.hide()
        self._update_count()

    # -- level of detail ------------------------------------------------------------------------
    def _shown_groups(self) -> np.ndarray:
        return np.array(
            [g.item is not None and g.item.isVisible() for g in self._groups], dtype=bool
        )

    def _visible_codes(self, *, selected_only: bool = False) -> np.ndarray:
        """Each customer's group index, -1 for hidden groups (and unselected customers)."""
        lookup = np.append(self._shown_groups(), False)  # code -1 picks the appended False
        codes = np.where(lookup[self._codes], self._codes, -1)
        if selected_only:
            codes = np.where(self._selected, codes, -1)
        return codes

    def _groups_shown_changed(self) -> None:
        """Groups, their visibility or the axes changed: redraw the overview, then the region."""
        self._region = None
        if self._sorted is None:
            return
        self._sorted_codes = self._visible_codes()[self._sorted.order]
        bounds = self._sorted.bounds
        if bounds is not None:
            area = bounds.grown(1.02)  # a little room so the extreme customers are inside a cell
            image, _ = render(
                self._sorted,
                self._codes,
                self._shown_groups(),
                self._colors(),
                area,
                OVERVIEW_CELLS,
            )
            self._overview.set_image(
                to_qimage(image), QRectF(area.x0, area.y0, area.width, area.height), image
            )

    def _colors(self) -> np.ndarray:
        return (
            np.array([hex_to_rgb(g.color) for g in self._groups], dtype=np.float32).reshape(-1, 3)
            / 255
        )

    def _view_rect(self) -> Rect:
        (x0, x1), (y0, y1) = self.viewbox.viewRange()
        return Rect(float(x0), float(y0), float(x1), float(y1))

    def _range_changed(self, *_args: object) -> None:
        if self._sorted is not None and self._result is not None:
            self._refresh_detail()

    def _refresh_detail(self) -> None:
        """Draw the region around the view again when the view left it (where there are
        customers) or when its cells no longer match the screen's pixels (zoom, resize)."""
        sorted_points = self._sorted
        if sorted_points is None or sorted_points.bounds is None:
            return
        view = self._view_rect()
        data = sorted_points.bounds.grown(1.02)
        seen = view.intersection(data)  # the part of the view where there are customers
        pixel = self.viewbox.viewPixelSize()
        region = self._region
        if region is not None and (seen is None or region.contains(seen)):
            # cells more than 1.5 times coarser or finer than CELL_PX pixels now
            coarse = any(
                abs(math.log((old or 1.0) / (new or 1.0))) > math.log(1.5)
                for old, new in zip(self._region_pixel, pixel, strict=True)
            )
            if self._mode == "points" or not coarse:
                return  # still drawn (points stay exact when zooming in)
        region = view.grown(MARGIN).intersection(data) or view
        self._region, self._region_pixel = region, pixel
        if sorted_points.count_in(region, self._sorted_codes) <= POINT_LIMIT:
            rows = sorted_points.rows_in(region, self._sorted_codes)
            self._mode = "points"
            self._cancel_detail()
            for image in (self._overview, self._density, self._density_selected):
                image.hide()
            codes = self._codes[rows]
            for i, g in enumerate(self._groups):
                mine = rows[codes == i]
                g.made()[0].setData(x=self._x[mine], y=self._y[mine])
        else:
            self._mode = "density"
            for g in self._groups:
                for item in g.made():
                    item.setData(x=[], y=[])
            self._overview.show()
            self._density.hide()  # until the region is drawn; the overview covers everything
        self._draw_selection()
        self._update_notes()

    def _density_shape(self, region: Rect) -> tuple[int, int]:
        px_w, px_h = self.viewbox.viewPixelSize()
        cols = math.ceil(region.width / (px_w or 1.0) / CELL_PX) if px_w else 400
        rows = math.ceil(region.height / (px_h or 1.0) / CELL_PX) if px_h else 300
        return max(1, min(rows, 2000)), max(1, min(cols, 3000))

    def _start_detail(self, region: Rect) -> None:
        """Draw the region's density image (and its selected customers) on a worker thread;
        frames go on meanwhile with the overview and the previous image."""
        from rfm_desktop.gui import worker

        self._cancel_detail()
        self._detail_generation += 1
        generation = self._detail_generation
        assert self._sorted is not None  # the density image is drawn only with level of detail
        args = (
            self._sorted,
            self._codes,
            self._shown_groups(),
            self._colors(),
            region,
            self._density_shape(region),
            self._selected.copy() if self._selected.any() else None,
        )

        def draw(_task: object) -> tuple:
            image, selected = render(*args)  # numpy, then the QImage: both off the GUI thread
            return image, to_qimage(image), None if selected is None else to_qimage(selected)

        self._detail_job = worker.start_worker(
            draw,
            name="scatter detail",
            background=True,  # the chart's own drawing, not a job of the analyst's
            on_finished=lambda images: self._detail_ready(generation, region, images),
        )

    def _cancel_detail(self) -> None:
        if self._detail_job is not None:
            self._detail_job.cancel()
            self._detail_job = None

    def _detail_ready(self, generation: int, region: Rect, images: tuple) -> None:
        if (
            not shiboken6.isValid(self)
            or generation != self._detail_generation
            or self._mode != "density"
        ):
            return  # the view is gone, or a newer region was asked for
        array, image, selected = images
        rect = QRectF(region.x0, region.y0, region.width, region.height)
        self._density.set_image(image, rect, array)
        self._density.show()
        if selected is not None:
            self._density_selected.set_image(selected, rect)
        self._density_selected.setVisible(selected is not None)
        self.detailDrawn.emit()

    def _drawn_rows(self, g: _Group) -> np.ndarray:
        """Rows of group ``g`` drawn as points now."""
        if self._sorted is None:  # every customer with both coordinates (t-SNE maps a sample)
            return g.rows[np.isfinite(self._x[g.rows]) & np.isfinite(self._y[g.rows])]
        if self._mode == "density" or self._region is None:
            return g.rows[:0]
        r = self._region
        x, y = self._x[g.rows], self._y[g.rows]
        return g.rows[(x >= r.x0) & (x <= r.x1) & (y >= r.y0) & (y <= r.y1)]

    def _visible_rows(self) -> np.ndarray:
        rows = [g.rows for g in self._groups if g.item is not None and g.item.isVisible()]
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)

    def _update_notes(self) -> None:
        notes = []
        if self._tsne_note and self.projection() == "tsne":
            notes.append(self._tsne_note)
        if self._mode == "density":
            notes.append(
                "Many customers in view: each cell is coloured by the segments of the customers in it "
                "(darker = more); zoom in to see single customers. Selections include every customer."
            )
        self.sample_label.setText("  ".join(notes))
        self.sample_label.setVisible(bool(notes))

    def _restyle(self) -> None:
        style_graphics_view(self.graphics, self)
        style_plot(self.plot, self)
        fg = foreground(self)
        # a grid item instead of the axes' grid: the axes redraw their grid lines in every
        # frame of a pan, which cost more than all the customers drawn
        self.plot.showGrid(x=False, y=False)
        self._grid.set_color(fg)
        panel = QColor(background(self))
        panel.setAlpha(220)
        self.legend.setBrush(pg.mkBrush(panel))
        self.legend.setPen(pg.mkPen(QColor(fg.red(), fg.green(), fg.blue(), 80)))
        self.legend.setLabelTextColor(fg)
        self.viewbox.set_shape_color(fg)
        self.hover.restyle(fg, panel)

    def _palette_changed(self) -> None:
        self._restyle()
        if self._result is not None:
            self._make_items()
            self._redraw(autorange=False)

    # -- t-SNE -------------------------------------------------------------------------------------
    def _drop_tsne(self) -> None:
        self.cancel_tsne()
        self._tsne = None
        self._tsne_note = ""
        self._arrays.pop("tsne1", None)
        self._arrays.pop("tsne2", None)

    def _put_tsne_arrays(self) -> None:
        """t-SNE coordinates per customer (NaN for those outside the mapped sample)."""
        if self._tsne is None or self._result is None:
            return
        n = len(self._result.customers)
        for i, key in enumerate(("tsne1", "tsne2")):
            values = np.full(n, np.nan)
            values[self._tsne.rows] = self._tsne.coords[:, i]
            self._arrays[key] = values

    def _start_tsne(self) -> None:
        if self._result is None or self.is_computing_tsne():
            return
        self._tsne_job.start(self._result)

    def _tsne_finished(self, result: AnalysisResult, tsne_map) -> None:
        if result is not self._result:
            return  # a map of an older result
        self._tsne = tsne_map
        self._tsne_note = sample_note(tsne_map)
        self._put_tsne_arrays()
        if self.projection() == "tsne":
            self._compute_xy()
            self._redraw()
        self.tsneEnded.emit("done")

    def _tsne_failed(self, exc: BaseException) -> None:
        self._back_to_axes()
        self.sample_label.setText(f"The t-SNE map could not be computed: {exc}")
        self.sample_label.show()
        self.tsneEnded.emit("failed")

    def _tsne_cancelled(self) -> None:
        self._back_to_axes()
        self.tsneEnded.emit("cancelled")

    def _back_to_axes(self) -> None:
        if self.projection() == "tsne":
            self.update_state(projection="axes")

    # -- reactions -------------------------------------------------------------------------
    def _group_visibility_changed(self, g: _Group) -> None:
        """A legend click toggled the item: make it a state change (set_state's own toggles
        find the state already saying so)."""
        visible = g.made()[0].isVisible()
        if visible != self.is_group_visible(g.key):
            self.set_group_visible(g.key, visible)

    def _apply_selection(self, test, add: bool) -> int:
        if self._result is None:
            return 0
        candidates = self._visible_rows()
        inside = test(self._x[candidates], self._y[candidates])
        mask = self._selected.copy() if add else np.zeros_like(self._selected)
        mask[candidates[inside]] = True
        if not self._show(replace(self._state, selected=self._ids_of(mask)), mask):
            self._selection_changed()  # every drag is answered, even when it selects the same
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
            self.count_label.setText(
                f"<b>{n:,}</b> of {total:,} customers selected ({100 * n / total:.1f}%)."
            )

    # -- hover ------------------------------------------------------------------------------
    @property
    def _pointer_inside(self) -> bool:
        return self.hover.pointer_inside

    @_pointer_inside.setter
    def _pointer_inside(self, inside: bool) -> None:
        self.hover.pointer_inside = inside

    def _on_mouse_moved(self, args: tuple) -> None:
        self.hover.mouse_moved(args)

    def _nearest(self, x: float, y: float) -> int | None:
        """Row of the drawn customer nearest to (x, y) in screen pixels, if within reach."""
        if self._sorted is not None:  # only the customers in view: far fewer than all of them
            candidates = self._sorted.rows_in(
                self._view_rect(), self._visible_codes()[self._sorted.order]
            )
        else:
            candidates = self._visible_rows()
        pixel = self.viewbox.viewPixelSize()
        return nearest_row(candidates, self._x, self._y, (x, y), pixel, self._size / 2 + 4)

    def _show_hover(self, row: int | None) -> None:
        self.hover.show(row)

    def plot_area(self) -> QRect:
        """The data area of the plot in the pixels of ``self.graphics`` (where the card must stay)."""
        return self.hover.plot_area()

    # -- export ----------------------------------------------------------------------------------
    def drawn_point_count(self) -> int:
        """Markers drawn now (0 while the density image is shown)."""
        return sum(
            len(g.item.data) for g in self._groups if g.item is not None and g.item.isVisible()
        )

    def _plot_for_export(self):
        return self.graphics.scene()

    def save_image(self, path) -> None:
        if str(path).lower().endswith(".svg"):
            if self._mode == "density":
                raise ImageError(
                    "Too many customers are in view to draw each one in an SVG file (the plot shows them "
                    "as a density image). Save it as PNG, or zoom in or hide some segments first."
                )
            if self.drawn_point_count() > SVG_POINT_LIMIT:
                raise ImageError(
                    f"This plot draws {self.drawn_point_count():,} points, too many for an SVG file "
                    f"(the limit is {SVG_POINT_LIMIT:,}). Save it as PNG, or hide some segments first."
                )
        self._show_hover(None)
        dim_in_svg = str(path).lower().endswith(".svg") and self._selected.any()
        items = [(g.item, g.color) for g in self._groups] if dim_in_svg else []
        with faint_brushes(items, self._brush):
            super().save_image(path)
