"""The pyqtgraph pieces of the 2D scatter: legend entries that toggle a group, a view box
whose left-drag draws a rectangle or a lasso, and a scatter item for one-style groups."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem


class LegendSample(pg.ItemSample):
    """Legend swatch: a fixed-size dot in the group's colour (points may be 2 px)."""

    def paint(self, p, *args) -> None:
        if not self.item.isVisible():
            super().paint(p, *args)
            return
        p.setRenderHint(p.RenderHint.Antialiasing)
        p.setPen(pg.mkPen(self.item.legend_pen))
        p.setBrush(pg.mkBrush(self.item.legend_color))
        p.drawEllipse(QRectF(4, 4, 12, 12))


class ToggleLegend(pg.LegendItem):
    """Clicking a name (not only its swatch) shows or hides the group."""

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for sample, label in self.items:
            if label.sceneBoundingRect().contains(ev.scenePos()):
                sample.item.setVisible(not sample.item.isVisible())
                sample.update()
                ev.accept()
                return


class SelectViewBox(pg.ViewBox):
    """Left-drag draws a rectangle or a lasso in the select modes; middle-drag always pans."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "rect"
        self.on_rect: Callable[[QRectF, bool], object] | None = None  # (rectangle, additive)
        self.on_lasso: Callable[[np.ndarray, bool], object] | None = (
            None  # ((n, 2) points, additive)
        )
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

    def mouseDragEvent(self, ev, axis=None) -> None:
        if (
            self.mode not in ("rect", "lasso")
            or ev.button() != Qt.MouseButton.LeftButton
            or axis is not None
        ):
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

    def updateSpots(self, dataSet=None) -> None:
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


class TickGrid(pg.GraphicsObject):
    """Grid lines at the axes' ticks (major ones stronger), drawn as one batch of lines.

    The axes' own grid (``showGrid``) is redrawn with each axis in every frame of a pan and
    cost more than all the customers drawn; this item draws a handful of cosmetic lines.
    """

    def __init__(self, bottom: pg.AxisItem, left: pg.AxisItem) -> None:
        super().__init__()
        self._axes = (bottom, left)
        self._pens = (QPen(), QPen())

    def set_color(self, color: QColor) -> None:
        for pen, alpha in zip(self._pens, (46, 18), strict=True):
            c = QColor(color)
            c.setAlpha(alpha)
            pen.setColor(c)
            pen.setWidth(1)
            pen.setCosmetic(True)
        self.update()

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        view = self.getViewBox()
        return view.viewRect() if view is not None else QRectF()

    def paint(self, p, *args) -> None:
        rect = self.boundingRect()
        if rect.isEmpty():
            return
        bottom, left = self._axes
        lines: tuple[list[QLineF], list[QLineF]] = ([], [])
        for axis, vertical in ((bottom, True), (left, False)):
            lo, hi = (rect.left(), rect.right()) if vertical else (rect.top(), rect.bottom())
            pixels = axis.geometry().width() if vertical else axis.geometry().height()
            for level, (_spacing, values) in enumerate(
                axis.tickValues(lo, hi, max(pixels, 1.0))[:2]
            ):
                for v in values:
                    lines[level].append(
                        QLineF(v, rect.top(), v, rect.bottom())
                        if vertical
                        else QLineF(rect.left(), v, rect.right(), v)
                    )
        p.setRenderHint(p.RenderHint.Antialiasing, False)
        for pen, batch in zip(self._pens, lines, strict=True):
            p.setPen(pen)
            p.drawLines(batch)


class RasterItem(pg.GraphicsObject):
    """A picture stretched over a rectangle of the plot (the density images).

    Unlike pyqtgraph's ImageItem it takes a ready ``QImage`` (made off the GUI thread, already
    in the screen's pixel format), so a new image costs the GUI thread nothing but its drawing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._image: QImage | None = None
        self._rect = QRectF()
        self.array: np.ndarray | None = None  # the RGBA pixels (rows from the bottom), for tests

    def set_image(self, image: QImage, rect: QRectF, array: np.ndarray | None = None) -> None:
        self.prepareGeometryChange()
        self._image, self._rect, self.array = image, QRectF(rect), array
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, p, *args) -> None:
        if self._image is None or self._rect.isEmpty():
            return
        # the view's y axis points up: row 0 (the bottom of the region) lands at rect.top()
        p.drawImage(self._rect, self._image)


def to_qimage(rgba: np.ndarray) -> QImage:
    """An RGBA uint8 array (rows, columns, 4) as a premultiplied ARGB QImage (a copy); safe to
    call on a worker thread."""
    rows, cols = rgba.shape[:2]
    data = np.ascontiguousarray(rgba)
    image = QImage(data.data, cols, rows, cols * 4, QImage.Format.Format_RGBA8888)
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
