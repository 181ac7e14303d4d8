"""RFM distributions tab: histograms of recency, frequency and monetary value, and the number of
customers per number of orders (``AnalysisResult.distributions``; the R package `rfm`'s
``rfm_histograms()`` and ``rfm_order_dist()``)."""

from __future__ import annotations

import pandas as pd
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.palette import cluster_color
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.axes import ReadableAxis
from rfm_desktop.gui.views.base import (
    PNG_AND_SVG,
    ResultView,
    foreground,
    style_graphics_view,
    style_plot,
)

#: (key of result.distributions, chart title, x axis label)
CHARTS = (
    ("recency", "Recency", "Days since the last purchase"),
    ("frequency", "Frequency", "Orders per customer (equal-width bins)"),
    ("monetary", "Monetary", "Total spend per customer"),
    ("orders", "Orders per customer", "Number of orders"),
)
BAR_COLOR = cluster_color(0)


class DistributionsView(ResultView):
    title = "RFM distributions"
    view_name = "rfm-distributions"
    placeholder = (
        "Run an analysis to see how recency, frequency and spend are spread over the customers."
    )
    image_formats = PNG_AND_SVG

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(16)
        self.plots: dict[str, pg.PlotItem] = {}
        self.bars: dict[str, pg.BarGraphItem] = {}
        for i, (key, _title, _label) in enumerate(CHARTS):
            plot = self.graphics.addPlot(
                row=i // 2,
                col=i % 2,
                axisItems={"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom")},
            )
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(58)
            self.plots[key] = plot
        self.note = QLabel()
        self.note.setWordWrap(True)
        make_hint(self.note)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        self.set_content(content)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        style_graphics_view(self.graphics, self)
        fg = foreground(self)
        for key, title, label in CHARTS:
            plot = self.plots[key]
            if key in self.bars:
                plot.removeItem(self.bars.pop(key))
            frame = result.distributions.get(key, pd.DataFrame())
            if key == "orders":
                x0 = frame["orders"].to_numpy(dtype=float) - 0.4 if len(frame) else []
                x1 = frame["orders"].to_numpy(dtype=float) + 0.4 if len(frame) else []
            else:
                x0 = frame["lower"].to_numpy(dtype=float) if len(frame) else []
                x1 = frame["upper"].to_numpy(dtype=float) if len(frame) else []
            heights = frame["customers"].to_numpy(dtype=float) if len(frame) else []
            bar = pg.BarGraphItem(
                x0=x0,
                x1=x1,
                y0=0,
                height=heights,
                brush=pg.mkBrush(BAR_COLOR),
                pen=pg.mkPen(
                    fg.darker(110) if fg.lightness() > 128 else fg.lighter(160), width=0.5
                ),
            )
            plot.addItem(bar)
            self.bars[key] = bar
            style_plot(plot, self, title=title)
            plot.showGrid(x=False, y=True, alpha=0.18)
            plot.setLabel("bottom", label)
            plot.setLabel("left", "Customers")
            plot.enableAutoRange()
        orders = result.distributions.get("orders")
        if orders is not None and len(orders):
            top = orders.loc[orders["customers"].idxmax()]
            self.note.setText(
                f"{int(top['customers']):,} customers ({int(top['customers']) / max(result.customer_count, 1):.1%}) "
                f"bought {int(top['orders'])} time{'s' if int(top['orders']) != 1 else ''}, the most common number "
                "of orders. Drag or scroll a chart to look closer; right-drag to stretch an axis."
            )
        self.show_content()

    def bar_heights(self, key: str) -> list[int]:
        """The customers of each bar of one chart (for tests)."""
        return [int(v) for v in self.bars[key].opts["height"]]

    def _plot_for_export(self):
        return self.graphics.scene()
