"""3D tab: customers in the scaled R/F/M space (as clustered) or on PCA 1/2/3, one
translucent GL point cloud per cluster. Falls back to a plain message without OpenGL."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtGui import (
    QVector3D,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.decimate import sample_rows
from rfm_desktop.core.errors import ImageError
from rfm_desktop.core.palette import hex_to_rgb
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.axes import plain_number
from rfm_desktop.gui.views.base import ResultView, background, foreground, message_label
from rfm_desktop.gui.views.colors import swatch_icon
from rfm_desktop.gui.views.gl_probe import gl_available, gl_unavailable_reason
from rfm_desktop.gui.views.gl_widget import make_gl_view

if TYPE_CHECKING:  # pyqtgraph.opengl itself is imported when the 3D tab is first drawn
    from pyqtgraph.opengl import GLScatterPlotItem
    from pyqtgraph.opengl.GLGraphicsItem import GLGraphicsItem

#: most points drawn in all; above it every cluster draws the same fixed-seed random fraction
DISPLAY_BUDGET = 300_000
POINT_SIZE = 4.0
POINT_ALPHA = 0.6
SEED = 54321
#: degrees the view turns per pixel of mouse drag (pyqtgraph's own is 1.0)
ROTATE_DEGREES_PER_PX = 0.35
#: the scene: every axis from -1 to +1 (a cube, like matplotlib's 3D axes), ticks in data units
CUBE = 1.0
CAMERA = {"elevation": 22.0, "azimuth": -60.0}
#: field of view in degrees; narrower than pyqtgraph's 60 for less perspective distortion
FOV = 30.0

SPACES: dict[str, tuple[str, tuple[str, str, str], tuple[str, str, str]]] = {
    "scaled": (
        "Scaled R, F, M (as clustered)",
        ("x_recency", "x_frequency", "x_monetary"),
        ("Recency", "Frequency", "Monetary"),
    ),
    "pca": ("PCA 1, 2, 3", ("pc1", "pc2", "pc3"), ("PCA 1", "PCA 2", "PCA 3")),
}


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if not np.isfinite(raw) or raw <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def _ticks(values: np.ndarray, target: int = 5) -> np.ndarray:
    """Nice tick values (1, 2 or 5 x 10^n apart) whose first and last enclose every value."""
    if not len(values):
        return np.array([0.0, 1.0])
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    step = _nice_step((hi - lo) / target)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return np.arange(first, last + 1) * step


class View3D(ResultView):
    """The clusters in 3D: drag to rotate, wheel to zoom, "Reset view" to go back."""

    title = "3D"
    view_name = "scatter-3d"
    placeholder = "Run an analysis to see the clusters in 3D here."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # gl_widget.make_gl_view(): a GLViewWidget subclass made (with its import) on first use
        self._gl: Any = None
        self._gl_error = ""
        self._items: dict[int, GLScatterPlotItem] = {}
        self._decor: list[GLGraphicsItem] = []
        self._camera: dict[str, Any] = {}
        self._checks: dict[int, QCheckBox] = {}

        self.space_combo = QComboBox()
        for key, (text, _, _) in SPACES.items():
            self.space_combo.addItem(text, key)
        self.space_combo.currentIndexChanged.connect(self._redraw)
        self.reset_button = QPushButton("Reset view")
        self.reset_button.clicked.connect(self.reset_view)
        self.hint = QLabel("Drag to rotate · wheel to zoom · Ctrl+drag to pan")
        make_hint(self.hint)
        self.sample_label = QLabel()
        make_hint(self.sample_label)
        self.sample_label.setWordWrap(True)
        self.sample_label.hide()

        self.gl_message = message_label("")
        self.gl_stack = QStackedWidget()
        self.gl_stack.addWidget(self.gl_message)
        self.legend_box = QWidget()
        self.legend_layout = QVBoxLayout(self.legend_box)
        self.legend_layout.setContentsMargins(8, 8, 8, 8)
        self.legend_title = QLabel("<b>Segments</b>")
        self.legend_layout.addWidget(self.legend_title)
        self.legend_layout.addStretch(1)

        self.picture = QWidget()  # what save_image writes: the 3D view and its legend
        picture_layout = QHBoxLayout(self.picture)
        picture_layout.setContentsMargins(0, 0, 0, 0)
        picture_layout.addWidget(self.gl_stack, 1)
        picture_layout.addWidget(self.legend_box)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Space:"))
        controls.addWidget(self.space_combo)
        controls.addWidget(self.reset_button)
        controls.addSpacing(12)
        controls.addWidget(self.hint)
        controls.addStretch(1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(controls)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.sample_label)
        self.set_content(content)

    # -- public API ------------------------------------------------------------------------------
    def gl_available(self) -> bool:
        return gl_available()

    def is_gl_active(self) -> bool:
        """True when the GL view is made and shown (False: the fallback message is shown)."""
        return self._gl is not None and self.gl_stack.currentWidget() is self._gl

    def fallback_message(self) -> str | None:
        return None if self.is_gl_active() else self.gl_message.text()

    def gl_widget(self) -> Any:
        return self._gl

    def axis_labels(self) -> list[str]:
        """The axis titles drawn beside the axes (empty without OpenGL)."""
        return self._gl.labels.texts() if self._gl is not None else []

    def tick_labels(self) -> list[str]:
        """The numbers written at the tick marks, x then y then z (empty without OpenGL)."""
        return self._gl.labels.tick_texts() if self._gl is not None else []

    def cluster_items(self) -> dict[int, GLScatterPlotItem]:
        """One GLScatterPlotItem per cluster id (empty without OpenGL)."""
        return dict(self._items)

    def set_space(self, key: str) -> None:
        """ "scaled" (the clustering features) or "pca"."""
        if key not in SPACES:
            raise ValueError(f"Unknown 3D space '{key}': use scaled or pca.")
        self.space_combo.setCurrentIndex(self.space_combo.findData(key))

    def set_cluster_visible(self, cluster_id: int, visible: bool) -> None:
        if cluster_id in self._checks:
            self._checks[cluster_id].setChecked(visible)

    def reset_view(self) -> None:
        if self._gl is not None and self._camera:
            self._gl.opts["fov"] = FOV
            self._gl.setCameraPosition(**self._camera)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        self._build_legend(result)
        self._ensure_gl()
        self._redraw()
        self.show_content()

    # -- GL ---------------------------------------------------------------------------------------
    def _ensure_gl(self) -> None:
        if self._gl is not None:
            return
        if not gl_available():
            self._show_gl_message(gl_unavailable_reason())
            return
        try:
            self._gl = make_gl_view(ROTATE_DEGREES_PER_PX)
            self._gl.setMinimumSize(320, 240)
        except Exception as exc:
            self._gl = None
            self._show_gl_message(f"the 3D view could not start ({exc.__class__.__name__}: {exc})")
            return
        self.gl_stack.addWidget(self._gl)
        self.gl_stack.setCurrentWidget(self._gl)

    def _show_gl_message(self, why: str) -> None:
        self.gl_message.setText(
            "The 3D view needs OpenGL, which is not available here"
            + (f": {why}." if why else ".")
            + "\n\nThe 2D scatter tab shows the same customers (try the PCA 1 and PCA 2 axes)."
        )
        self.gl_stack.setCurrentWidget(self.gl_message)

    def _redraw(self) -> None:
        result = self._result
        if result is None:
            return
        frame = result.customers
        key = self.space_combo.currentData()
        _, columns, names = SPACES[key]
        missing = [c for c in columns if c not in frame.columns]
        n = len(frame)
        fraction = 1.0 if n <= DISPLAY_BUDGET else DISPLAY_BUDGET / n
        self.sample_label.setText(
            f"Drawing a random {100 * fraction:.0f}% of the {n:,} customers to keep the 3D view fast."
        )
        self.sample_label.setVisible(fraction < 1.0)
        if self._gl is None:
            return
        if missing:
            self._show_gl_message(f"the result has no {', '.join(missing)} columns")
            return
        import pyqtgraph.opengl as gl

        for item in list(self._items.values()) + self._decor:
            self._gl.removeItem(item)
        self._items, self._decor = {}, []
        self._gl.setBackgroundColor(background(self))

        xyz = frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(xyz).all(axis=1)
        labels = frame["cluster"].to_numpy()
        ticks = [_ticks(xyz[finite, axis]) for axis in range(3)]
        low = np.array([t[0] for t in ticks])
        high = np.array([t[-1] for t in ticks])
        scene = self._to_scene(xyz, low, high)
        for i, profile in enumerate(result.clusters):
            rows = np.flatnonzero((labels == profile.id) & finite)
            share = len(rows) if fraction >= 1.0 else max(1, round(len(rows) * fraction))
            rows = rows[sample_rows(len(rows), SEED + i, share)]
            r, g, b = hex_to_rgb(profile.color)
            item = gl.GLScatterPlotItem(
                pos=scene[rows],
                color=(r / 255, g / 255, b / 255, POINT_ALPHA),
                size=POINT_SIZE,
                pxMode=True,
                glOptions="translucent",
            )
            check = self._checks.get(profile.id)
            item.setVisible(check.isChecked() if check is not None else True)
            self._gl.addItem(item)
            self._items[profile.id] = item
        self._draw_axes(gl, ticks, self._axis_titles(key, names))
        self._gl.update()

    @staticmethod
    def _to_scene(xyz: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Data units to the scene's cube, -CUBE..+CUBE on every axis."""
        return ((xyz - low) / np.maximum(high - low, 1e-12) * 2 - 1).astype(np.float32) * CUBE

    def _axis_titles(self, key: str, names: tuple[str, str, str]) -> list[str]:
        if key == "scaled":
            return [f"{name} (scaled)" for name in names]
        variance = tuple(getattr(self._result, "pca_variance", ()) or ())
        if len(variance) < 3:
            return list(names)
        return [
            f"{name} ({100 * share:.0f}% of variance)"
            for name, share in zip(names, variance, strict=False)
        ]

    def _draw_axes(self, gl: Any, ticks: list[np.ndarray], titles: list[str]) -> None:
        """Axes on the box edges nearest the default camera (x and y along the floor's front
        edges, z up the left edge, as matplotlib draws them), tick marks and numbers, a grid
        on the floor and on the two back walls. Everything is in the -CUBE..CUBE scene."""
        fg = foreground(self)
        fg_rgba = (fg.redF(), fg.greenF(), fg.blueF(), 1.0)
        grid_rgba = (fg.redF(), fg.greenF(), fg.blueF(), 0.16)
        at = [(t - t[0]) / max(t[-1] - t[0], 1e-12) * 2 * CUBE - CUBE for t in ticks]
        c = CUBE
        tick_len = 0.04 * c
        # (start, end, outward direction of the tick marks) per axis, in scene units
        edges = [
            (np.array([-c, -c, -c]), np.array([c, -c, -c]), np.array([0.0, -1.0, 0.0])),
            (np.array([c, -c, -c]), np.array([c, c, -c]), np.array([1.0, 0.0, 0.0])),
            (
                np.array([-c, -c, -c]),
                np.array([-c, -c, c]),
                np.array([-1.0, -1.0, 0.0]) / np.sqrt(2),
            ),
        ]
        lines, tick_labels = [], []
        for axis, (start, end, out) in enumerate(edges):
            lines += [start, end]
            for value, pos in zip(ticks[axis], at[axis], strict=True):
                p = start.copy()
                p[axis] = pos
                lines += [p, p + out * tick_len]
                tick_labels.append((axis, p + out * tick_len, plain_number(float(value))))
        # grid lines on the floor and the two back walls, except where an axis runs (a faint
        # line on top of an axis makes it look dotted)
        grid = []
        for x in at[0]:  # floor (not on the y axis at x = +c), and the back wall at y = +c
            grid += [(x, c, -c), (x, c, c)] + ([(x, -c, -c), (x, c, -c)] if x < c else [])
        for y in at[
            1
        ]:  # floor (not on the x axis at y = -c), and the left wall (not on the z axis)
            grid += [] if y <= -c else [(-c, y, -c), (c, y, -c), (-c, y, -c), (-c, y, c)]
        for z in at[2]:  # both back walls
            grid += [(-c, -c, z), (-c, c, z), (-c, c, z), (c, c, z)]
        items = [
            gl.GLLinePlotItem(
                pos=np.asarray(grid, dtype=np.float32),
                color=grid_rgba,
                width=1.0,
                mode="lines",
                antialias=True,
                glOptions="translucent",
            ),
            # not antialiased: Mesa's smoothed wide lines come out dotted
            gl.GLLinePlotItem(
                pos=np.asarray(lines, dtype=np.float32),
                color=fg_rgba,
                width=1.5,
                mode="lines",
                antialias=False,
                glOptions="translucent",
            ),
        ]
        axes = [(start, end, title) for (start, end, _), title in zip(edges, titles, strict=True)]
        self._gl.labels.set_labels(axes, tick_labels, fg)
        for item in items:
            self._gl.addItem(item)
            self._decor.append(item)

        self._camera = {
            "pos": QVector3D(
                0.0, 0.0, 0.0
            ),  # the box centre: the scene stays centred while it turns
            # the box's bounding sphere (radius sqrt(3) CUBE) fits the field of view, with room for labels
            "distance": float(np.sqrt(3) * c / math.sin(math.radians(FOV / 2)) * 1.12),
            **CAMERA,
        }
        self.reset_view()

    # -- legend -------------------------------------------------------------------------------
    def _build_legend(self, result: AnalysisResult) -> None:
        previous = {cid: box.isChecked() for cid, box in self._checks.items()}
        for box in self._checks.values():
            self.legend_layout.removeWidget(box)
            box.deleteLater()
        self._checks = {}
        for i, profile in enumerate(result.clusters):
            box = QCheckBox(f"{profile.name} ({profile.size:,})")
            box.setIcon(swatch_icon(profile.color))
            box.setChecked(previous.get(profile.id, True))
            box.setToolTip("Untick to hide this segment in the 3D view.")
            box.toggled.connect(lambda on, cid=profile.id: self._toggle(cid, on))
            self.legend_layout.insertWidget(1 + i, box)
            self._checks[profile.id] = box

    def _toggle(self, cluster_id: int, visible: bool) -> None:
        item = self._items.get(cluster_id)
        if item is not None:
            item.setVisible(visible)
            self._gl.update()

    # -- export ---------------------------------------------------------------------------------
    def save_image(self, path: str | Path) -> None:
        """PNG of the 3D view and its legend (SVG is not possible for a GL picture)."""
        path = Path(path)
        if path.suffix.lower() == ".png" and self._result is not None and not self.is_gl_active():
            raise ImageError(
                "The 3D view is not available here (no OpenGL), so there is no picture to save."
            )
        super().save_image(path)

    def _widget_for_png(self) -> QWidget:
        return self.picture

    def _palette_changed(self) -> None:
        if self._result is not None:
            self._redraw()
