"""The OpenGL widget of the 3D tab: pyqtgraph's GLViewWidget with a field of view that spans
the shorter side, a calmer drag-to-rotate, and axis titles and tick numbers drawn as a plain
overlay widget (so screenshots and the report capture them)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMatrix4x4, QPainter, QVector3D
from PySide6.QtWidgets import QWidget


class AxisLabels(QWidget):
    """Axis titles and tick numbers drawn over the GL picture as a plain child widget.

    pyqtgraph's GLTextItem paints with QPainter inside the GL pass, which ``QWidget.grab()``
    (screenshots, the report) does not capture; a child widget is captured like any other.
    Texts sit beside their axis on the side away from the box's centre (so outside the box
    that holds every point); a tick number that would overlap another text is left out.
    """

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._axes: list[tuple[np.ndarray, np.ndarray, str]] = []  # start, end (scene), title
        self._ticks: list[tuple[int, np.ndarray, str]] = []  # axis, position (scene), text
        self._color = QColor("black")

    def set_labels(
        self,
        axes: list[tuple[np.ndarray, np.ndarray, str]],
        ticks: list[tuple[int, np.ndarray, str]],
        color: QColor,
    ) -> None:
        self._axes, self._ticks = axes, ticks
        self._color = QColor(color)
        self.update()

    def texts(self) -> list[str]:
        return [title for _, _, title in self._axes]

    def tick_texts(self) -> list[str]:
        return [text for _, _, text in self._ticks]

    def placed(self) -> list[tuple[str, QRectF, bool]]:
        """(text, rectangle in widget pixels, is a title) for every text that is drawn."""
        view = self.parentWidget()
        if view is None or not self._axes:
            return []
        transform = self._transform(view)

        def screen(p: np.ndarray) -> np.ndarray:
            q = transform.map(QVector3D(*map(float, p))).toPointF()
            return np.array([q.x(), q.y()])

        centre = screen(np.zeros(3))
        normals, reach = [], []
        for start, end, _ in self._axes:
            a, b = screen(start), screen(end)
            d = (b - a) / (np.hypot(*(b - a)) or 1.0)
            n = np.array([-d[1], d[0]])
            if np.dot(n, (a + b) / 2 - centre) < 0:  # the side away from the box
                n = -n
            normals.append(n)
            reach.append(0.0)
        tick_metrics = QFontMetricsF(self._tick_font())
        title_metrics = QFontMetricsF(self._title_font())

        def box(anchor: np.ndarray, n: np.ndarray, gap: float, size: Any) -> QRectF:
            # the text's near edge keeps `gap` px from the anchor along n
            extent = abs(n[0]) * size.width() / 2 + abs(n[1]) * size.height() / 2
            cx, cy = anchor + n * (gap + extent)
            return QRectF(
                cx - size.width() / 2, cy - size.height() / 2, size.width(), size.height()
            )

        ticks = []
        for axis, pos, text in self._ticks:
            n = normals[axis]
            size = tick_metrics.size(0, text)
            rect = box(screen(pos), n, 4.0, size)
            reach[axis] = max(
                reach[axis], 4.0 + abs(n[0]) * size.width() + abs(n[1]) * size.height()
            )
            ticks.append((text, rect, False))
        out = []
        for (start, end, title), n, r in zip(self._axes, normals, reach, strict=True):
            mid = (screen(start) + screen(end)) / 2
            out.append((title, box(mid, n, r + 10.0, title_metrics.size(0, title)), True))
        for tick in ticks:
            if not any(tick[1].intersects(other[1]) for other in out):
                out.append(tick)
        return out

    def _transform(self, view: Any) -> QMatrix4x4:
        region = view.getViewport()
        transform = view.projectionMatrix(region, region) * view.viewMatrix()
        rect = QRectF(view.rect())
        to_widget = QMatrix4x4()
        to_widget.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        return to_widget * transform

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9) * 1.05)
        font.setBold(True)
        return font

    def _tick_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9) * 0.9)
        return font

    def paintEvent(self, event) -> None:
        placed = self.placed()
        if not placed:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setPen(self._color)
        for text, rect, is_title in placed:
            painter.setFont(self._title_font() if is_title else self._tick_font())
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()


def make_gl_view(rotate_degrees_per_px: float) -> Any:
    """A GLViewWidget with the axis-label overlay (pyqtgraph.opengl imported only here).

    Parameters
    ----------
    rotate_degrees_per_px : float
        Degrees the view turns per pixel of a plain left-drag (pyqtgraph's own is 1.0).

    Returns
    -------
    pyqtgraph.opengl.GLViewWidget
        The widget; its ``labels`` attribute is the :class:`AxisLabels` overlay.
    """
    import pyqtgraph.opengl as gl

    class GLView(gl.GLViewWidget):
        def __init__(self) -> None:
            super().__init__()
            self.labels = AxisLabels(self)

        def projectionMatrix(self, region, viewport) -> QMatrix4x4:
            """pyqtgraph's frustum, but the field of view spans the shorter side, so the
            whole cloud stays in view in a wide tab as well as in a tall one."""
            x0, y0, w, h = viewport
            w, h = max(w, 1), max(h, 1)
            near = self.opts["distance"] * 0.001
            half = near * math.tan(0.5 * math.radians(self.opts["fov"]))
            r, t = (half * w / h, half) if w >= h else (half, half * h / w)
            matrix = QMatrix4x4()
            matrix.frustum(
                r * ((region[0] - x0) * (2.0 / w) - 1),
                r * ((region[0] + region[2] - x0) * (2.0 / w) - 1),
                t * ((region[1] - y0) * (2.0 / h) - 1),
                t * ((region[1] + region[3] - y0) * (2.0 / h) - 1),
                near,
                self.opts["distance"] * 1000.0,
            )
            return matrix

        def mouseMoveEvent(self, ev) -> None:
            """pyqtgraph turns the cloud 1 degree per pixel; a third of that is calmer."""
            pos = ev.position()
            if not hasattr(self, "mousePos"):
                self.mousePos = pos
            diff = pos - self.mousePos
            plain_left = (
                ev.buttons() == Qt.MouseButton.LeftButton
                and not ev.modifiers() & Qt.KeyboardModifier.ControlModifier
            )
            if not plain_left:
                super().mouseMoveEvent(ev)
                return
            self.mousePos = pos
            self.orbit(-diff.x() * rotate_degrees_per_px, diff.y() * rotate_degrees_per_px)

        def paintGL(self, *args, **kwargs) -> None:
            super().paintGL(*args, **kwargs)
            self.labels.update()  # follow the camera

        def resizeEvent(self, event) -> None:
            super().resizeEvent(event)
            self.labels.setGeometry(self.rect())

    return GLView()
