"""The OpenGL widget of the 3D tab: pyqtgraph's GLViewWidget with a field of view that spans
the shorter side, a calmer drag-to-rotate, and axis titles and tick numbers drawn as a plain
overlay widget (so screenshots and the report capture them)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMatrix4x4, QPainter, QVector3D
from PySide6.QtWidgets import QToolTip, QWidget

TITLE_MARGIN = 4.0  # px every axis text keeps from the widget's edge
MIN_FIT = 0.6  # the picture shrinks at most to this share to make room for the axis texts


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
        layout = self._layout(self._transform(view), self._inner(view))
        return [(text, rect, is_title) for text, rect, is_title, _ in layout]

    def fit(self, view: Any, projection: QMatrix4x4) -> float:
        """The factor (MIN_FIT..1) to shrink the picture by about the widget's centre so that
        every text laid out beside the axes under ``projection`` lies inside the widget.

        Shrinking about the centre moves each text's anchor towards it while the text keeps its
        pixel offset from the anchor, so each edge gives a bound in closed form.
        """
        if not self._axes:
            return 1.0
        inner = self._inner(view)
        c = inner.center()
        k = 1.0
        for _, rect, _, (ax, ay) in self._layout(self._transform(view, projection), None):
            dx, dy = ax - c.x(), ay - c.y()
            if dx < 0 and rect.left() < inner.left():
                k = min(k, 1 + (rect.left() - inner.left()) / -dx)
            if dx > 0 and rect.right() > inner.right():
                k = min(k, 1 + (inner.right() - rect.right()) / dx)
            if dy < 0 and rect.top() < inner.top():
                k = min(k, 1 + (rect.top() - inner.top()) / -dy)
            if dy > 0 and rect.bottom() > inner.bottom():
                k = min(k, 1 + (inner.bottom() - rect.bottom()) / dy)
        return max(k, MIN_FIT)

    def _inner(self, view: Any) -> QRectF:
        m = TITLE_MARGIN
        return QRectF(view.rect()).adjusted(m, m, -m, -m)

    def _layout(
        self, transform: QMatrix4x4, inner: QRectF | None
    ) -> list[tuple[str, QRectF, bool, tuple[float, float]]]:
        """(text, rectangle, is a title, anchor) under ``transform``; with ``inner``, titles
        are elided to its width and moved into it (the last resort when fit() hits MIN_FIT)."""

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
            anchor = screen(pos)
            rect = box(anchor, n, 4.0, size)
            reach[axis] = max(
                reach[axis], 4.0 + abs(n[0]) * size.width() + abs(n[1]) * size.height()
            )
            ticks.append((text, rect, False, (anchor[0], anchor[1])))
        out: list[tuple[str, QRectF, bool, tuple[float, float]]] = []
        for (start, end, title), n, r in zip(self._axes, normals, reach, strict=True):
            mid = (screen(start) + screen(end)) / 2
            shown = title
            if inner is not None:
                shown = title_metrics.elidedText(title, Qt.TextElideMode.ElideRight, inner.width())
            rect = box(mid, n, r + 10.0, title_metrics.size(0, shown))
            if inner is not None:
                rect.moveLeft(min(max(rect.left(), inner.left()), inner.right() - rect.width()))
                rect.moveTop(min(max(rect.top(), inner.top()), inner.bottom() - rect.height()))
            if inner is not None:  # overlapping an earlier title: move the two apart
                for _, other, _, _ in out:
                    if not rect.intersects(other):
                        continue
                    left, right = sorted((rect, other), key=lambda r: r.center().x())
                    push = left.intersected(right).width() + 2
                    right.translate(min(push, max(inner.right() - right.right(), 0.0)), 0)
                    if left.intersects(right):
                        left.translate(-(left.intersected(right).width() + 2), 0)
                        left.moveLeft(max(left.left(), inner.left()))
            out.append((shown, rect, True, (mid[0], mid[1])))
        for tick in ticks:
            if not any(tick[1].intersects(other[1]) for other in out):
                out.append(tick)
        return out

    def title_tip(self, pos: QPointF) -> str:
        """The full axis title under ``pos`` (widget pixels) when it is drawn elided, else ""."""
        titles = [(shown, rect) for shown, rect, is_title in self.placed() if is_title]
        for (shown, rect), title in zip(titles, self.texts(), strict=True):
            if rect.contains(pos) and shown != title:
                return title
        return ""

    def _transform(self, view: Any, projection: QMatrix4x4 | None = None) -> QMatrix4x4:
        if projection is None:
            region = view.getViewport()
            projection = view.projectionMatrix(region, region)
        rect = QRectF(view.rect())
        to_widget = QMatrix4x4()
        to_widget.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        return to_widget * projection * view.viewMatrix()

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
            whole cloud stays in view in a wide tab as well as in a tall one, widened just
            enough that the axis titles and numbers stay inside the widget (a small window,
            150 %/200 % scaling)."""
            full = self._frustum(viewport, viewport, 1.0)
            labels = getattr(self, "labels", None)
            zoom = 1.0 if labels is None else labels.fit(self, full)
            return self._frustum(region, viewport, zoom)

        def _frustum(self, region, viewport, zoom: float) -> QMatrix4x4:
            x0, y0, w, h = viewport
            w, h = max(w, 1), max(h, 1)
            near = self.opts["distance"] * 0.001
            half = near * math.tan(0.5 * math.radians(self.opts["fov"])) / zoom
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

        def event(self, ev) -> bool:
            """Show the full axis title over an elided one (the overlay takes no mouse events)."""
            if ev.type() == QEvent.Type.ToolTip:
                tip = self.labels.title_tip(QPointF(ev.pos()))
                if tip:
                    QToolTip.showText(ev.globalPos(), tip, self)
                else:
                    QToolTip.hideText()
                return True
            return super().event(ev)

        def resizeEvent(self, event) -> None:
            super().resizeEvent(event)
            self.labels.setGeometry(self.rect())

    return GLView()
