"""Hovering over the 2D scatter: which customer is under the pointer, what to say about them,
and the card that says it beside the point (kept inside the plot area)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from rfm_desktop.core.explain import explain_scores
from rfm_desktop.core.result import AnalysisResult

#: what the line under the plot says while no customer is hovered
IDLE_TEXT = "Hover over a point to see the customer."


def nearest_row(
    candidates: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    at: tuple[float, float],
    pixel: tuple[float, float],
    reach: float,
) -> int | None:
    """The candidate customer drawn nearest to a plotted position, if within reach.

    Parameters
    ----------
    candidates : np.ndarray
        Positions (in ``result.customers``) of the customers drawn now.
    xs, ys : np.ndarray
        Plotted coordinates of every customer (NaN where not drawn).
    at : tuple of float
        The plotted position (x, y) of the pointer.
    pixel : tuple of float
        The size of one screen pixel in plotted units (x, y); distances are measured in pixels.
    reach : float
        The farthest a customer may be from ``at``, in screen pixels.

    Returns
    -------
    int or None
        The position of the nearest customer, or None when none is within reach.
    """
    if candidates.size == 0:
        return None
    px_w, px_h = pixel[0] or 1.0, pixel[1] or 1.0
    dx = (xs[candidates] - at[0]) / px_w
    dy = (ys[candidates] - at[1]) / px_h
    d2 = dx * dx + dy * dy
    if not np.isfinite(d2).any():
        return None
    best = int(np.nanargmin(d2))
    return int(candidates[best]) if d2[best] <= reach * reach else None


def describe_customer(result: AnalysisResult, row: int) -> str:
    """The hover text of one customer: id, segment, R, F, M and why the RFM segment.

    Parameters
    ----------
    result : AnalysisResult
        The result drawn.
    row : int
        The customer's position in ``result.customers``.

    Returns
    -------
    str
        Two lines (three with the explanation), recency in days, frequency in orders and
        monetary in the file's currency.
    """
    frame = result.customers
    cid = frame["customer_id"].iat[row]
    rec, freq, mon = (frame[c].iat[row] for c in ("recency", "frequency", "monetary"))
    cluster = (
        frame["cluster_name"].iat[row]
        if "cluster_name" in frame.columns
        else frame["cluster"].iat[row]
    )
    segment = frame["rfm_segment"].iat[row] if "rfm_segment" in frame.columns else ""
    why = (
        explain_scores((rec, freq, mon), result.scales, result.rules).text if result.scales else ""
    )
    return (
        f"Customer {cid}  ·  segment: {cluster}  ·  RFM segment: {segment}\n"
        f"Recency {rec:,.0f} days  ·  Frequency {freq:,.0f} orders  ·  Monetary {mon:,.2f}"
    ) + (f"\nWhy this segment: {textwrap.fill(why, 100)}" if why else "")


class HoverCard(QObject):
    """A ring around the hovered customer and a card with its text beside it.

    The card is a plain label over the plot (not a scene item): it is placed in widget pixels
    and kept inside the plot area, whatever the text's width. The pointer's moves are rate
    limited (30 a second); ``find`` turns a plotted position into a customer's row.
    """

    def __init__(
        self,
        graphics: pg.GraphicsLayoutWidget,
        plot: pg.PlotItem,
        status: QLabel,
        find: Callable[[float, float], int | None],
        describe: Callable[[int], str],
        position: Callable[[int], tuple[float, float]],
    ) -> None:
        super().__init__(graphics)
        self._graphics, self._plot, self._status = graphics, plot, status
        self._find, self._describe, self._position = find, describe, position
        self.enabled: Callable[[], bool] = lambda: True
        self.ring = pg.ScatterPlotItem(size=14, brush=None, pxMode=True)
        self.ring.setZValue(1e6)
        self.ring.hide()
        plot.addItem(self.ring, ignoreBounds=True)
        self.card = QLabel(graphics)
        self.card.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.card.setTextFormat(Qt.TextFormat.PlainText)
        self.card.hide()
        self.pointer_inside = False
        graphics.scene().sigMouseMoved.connect(self._pointer_moved)
        self._viewport = graphics.viewport()
        self._viewport.installEventFilter(self)
        self._proxy = pg.SignalProxy(
            graphics.scene().sigMouseMoved, rateLimit=30, slot=self.mouse_moved
        )

    @property
    def viewbox(self) -> pg.ViewBox:
        return self._plot.getViewBox()

    def restyle(self, foreground: QColor, panel: QColor) -> None:
        """Colours of the ring (the plot's foreground) and of the card (a panel)."""
        fg = foreground
        self.ring.setPen(pg.mkPen(fg, width=2))
        self.card.setStyleSheet(
            f"QLabel {{ background: rgba({panel.red()}, {panel.green()}, {panel.blue()}, 235); "
            f"color: {fg.name()}; border: 1px solid rgba({fg.red()}, {fg.green()}, {fg.blue()}, 120); "
            "border-radius: 3px; padding: 3px 6px; }"
        )

    def _pointer_moved(self, _pos: object) -> None:
        self.pointer_inside = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._viewport
            and event.type() == QEvent.Type.Leave
            and shiboken6.isValid(self.card)  # not while the plot is being destroyed
        ):
            # the mouse left the plot: the card goes (a rate-limited move still queued is ignored)
            self.pointer_inside = False
            self.show(None)
        return super().eventFilter(watched, event)

    def mouse_moved(self, args: tuple) -> None:
        """A (rate-limited) move of the pointer in the scene."""
        if not self.enabled() or not self.pointer_inside:
            return
        scene_pos = args[0]
        if not self.viewbox.sceneBoundingRect().contains(scene_pos):
            self.show(None)
            return
        pos = self.viewbox.mapSceneToView(scene_pos)
        self.show(self._find(pos.x(), pos.y()))

    def show(self, row: int | None) -> None:
        """Show the ring and the card of customer ``row``, or hide them (None)."""
        if row is None:
            self.ring.hide()
            self.card.hide()
            self._status.setText(IDLE_TEXT)
            return
        text = self._describe(row)
        x, y = self._position(row)
        self.ring.setData(x=[x], y=[y])
        self.ring.show()
        self.card.setText(text)
        self._fit()
        self._place(x, y)
        self.card.show()
        self.card.raise_()
        self._status.setText(text.replace("\n", "  ·  "))

    def plot_area(self) -> QRect:
        """The data area of the plot in the pixels of the graphics widget (where the card must stay)."""
        return self._graphics.mapFromScene(self.viewbox.sceneBoundingRect()).boundingRect()

    def _fit(self) -> None:
        """Its natural size, or wrapped to the plot's width when the text is wider than that."""
        card = self.card
        card.setWordWrap(False)
        card.setMinimumWidth(0)
        card.setMaximumWidth(16_777_215)
        hint = card.sizeHint()
        width = self.plot_area().width()
        if hint.width() <= width:
            card.resize(hint)
            return
        card.setWordWrap(True)
        card.setFixedWidth(max(width, 120))
        card.resize(card.width(), card.heightForWidth(card.width()))

    def _place(self, x: float, y: float) -> None:
        """Beside the point (right and above when there is room, else left or below), then
        pushed inside the plot area so no part of the text is cut off."""
        area = self.plot_area()
        point = self._graphics.mapFromScene(self.viewbox.mapViewToScene(QPointF(x, y)))
        size = self.card.size()
        gap = 10
        left = (
            point.x() + gap
            if point.x() + gap + size.width() <= area.right()
            else point.x() - gap - size.width()
        )
        top = (
            point.y() - gap - size.height()
            if point.y() - gap - size.height() >= area.top()
            else point.y() + gap
        )
        left = max(area.left(), min(left, area.right() - size.width()))
        top = max(area.top(), min(top, area.bottom() - size.height()))
        self.card.move(int(left), int(top))
