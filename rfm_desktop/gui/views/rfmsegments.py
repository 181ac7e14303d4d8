"""RFM segments tab: one row per named RFM segment (customers, orders, revenue, average order value,
medians of R/F/M: ``AnalysisResult.segments``), a bar chart of the metric the analyst picks, and
revenue share against customer share (the R package `rfm`'s segment summary and plots)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.axes import ReadableAxis
from rfm_desktop.gui.views.base import (
    PNG_AND_SVG,
    ResultView,
    foreground,
    style_graphics_view,
    style_plot,
)
from rfm_desktop.gui.views.colors import segment_color
from rfm_desktop.gui.views.tables import (
    Column,
    NumericSortProxy,
    RowTableModel,
    fmt_int,
    fmt_num,
    fmt_pct,
    make_table_view,
)


def _num(decimals: int) -> Callable[[object], str]:
    return lambda v: fmt_num(v, decimals)


#: customer lifetime value per segment (core.value.GROUP_COLUMNS): hidden when not computed
CLV_COLUMNS = (
    Column(
        "CLV\n(sum)",
        lambda r: r.get("predicted_clv_sum"),
        _num(0),
        "Predicted customer lifetime value: the discounted expected revenue of the segment's "
        "customers over the CLV horizon.",
    ),
    Column(
        "CLV\n(mean)",
        lambda r: r.get("predicted_clv_mean"),
        _num(0),
        "Predicted customer lifetime value per customer.",
    ),
    Column(
        "P(alive)\n< 0.5",
        lambda r: r.get("customers_p_alive_below_half"),
        fmt_int,
        "Customers more likely gone than still buying (BG/NBD).",
    ),
    Column(
        "Revenue\nat risk",
        lambda r: r.get("revenue_at_risk"),
        _num(0),
        "Σ (1 − P(alive)) × the value over the horizon if still active, over the segment's "
        "active buyers (repeat buyers who bought within the horizon).",
    ),
)
TABLE_COLUMNS = (
    Column(
        "Segment",
        lambda r: r["segment"],
        str,
        "Named RFM segment (from the R, F and M scores and the rule table).",
        numeric=False,
    ),
    Column("Customers", lambda r: r["customers"], fmt_int, "Customers in the segment."),
    Column("Share", lambda r: r["share"], fmt_pct, "Share of all customers."),
    Column(
        "Orders", lambda r: r["orders"], fmt_int, "Orders (invoices) of the segment's customers."
    ),
    Column("Revenue", lambda r: r["revenue"], _num(2), "Total spend of the segment's customers."),
    Column("Revenue\nshare", lambda r: r["revenue_share"], fmt_pct, "Share of total spend."),
    Column(
        "Avg order\nvalue",
        lambda r: r["average_order_value"],
        _num(2),
        "Revenue divided by orders.",
    ),
    Column(
        "Median recency\n(days)",
        lambda r: r["recency_median"],
        _num(1),
        "Median days since the last purchase.",
    ),
    Column(
        "Median frequency\n(orders)",
        lambda r: r["frequency_median"],
        _num(1),
        "Median number of orders.",
    ),
    Column("Median\nmonetary", lambda r: r["monetary_median"], _num(2), "Median total spend."),
    Column(
        "Suggested strategy",
        lambda r: r["strategy"],
        str,
        "What to do with this segment (the rule table's text).",
        numeric=False,
    ),
    *CLV_COLUMNS,
)


@dataclass(frozen=True)
class Metric:
    column: str  # a column of AnalysisResult.segments
    label: str
    text: Callable[[object], str]


METRICS: tuple[Metric, ...] = (
    Metric("customers", "Customers", fmt_int),
    Metric("orders", "Orders", fmt_int),
    Metric("revenue", "Revenue", _num(0)),
    Metric("average_order_value", "Average order value", _num(2)),
    Metric("recency_median", "Median recency (days)", _num(1)),
    Metric("frequency_median", "Median frequency (orders)", _num(1)),
    Metric("monetary_median", "Median monetary", _num(2)),
    Metric("recency_mean", "Mean recency (days)", _num(1)),
    Metric("frequency_mean", "Mean frequency (orders)", _num(1)),
    Metric("monetary_mean", "Mean monetary", _num(2)),
)
#: the table's customer lifetime value columns (shown when the run computed it)
VALUE_COLUMNS = tuple(TABLE_COLUMNS.index(c) for c in CLV_COLUMNS)
STRATEGY_COLUMN = next(i for i, c in enumerate(TABLE_COLUMNS) if c.header == "Suggested strategy")
#: the two bars of "revenue share vs customer share" (Tableau blue and orange: apart for colour-blind eyes)
SHARE_BARS = (("share", "Customer share", "#4C78A8"), ("revenue_share", "Revenue share", "#F58518"))


def name_axis(plot: pg.PlotItem, names: Sequence[str], widget: QWidget) -> None:
    """Segment names on the left axis, best at the top, wide enough from the first paint."""
    left = plot.getAxis("left")
    left.setTicks([[(len(names) - 1 - i, n) for i, n in enumerate(names)], []])
    left.setStyle(tickLength=0)
    metrics = QFontMetrics(left.style.get("tickFont") or widget.font())
    left.setWidth(max((metrics.horizontalAdvance(n) for n in names), default=40) + 14)


def value_labels(
    plot: pg.PlotItem, ys: np.ndarray, values: np.ndarray, texts: Sequence[str], color: QColor
) -> list:
    """A text at the end of each bar."""
    items = []
    for y, value, text in zip(ys, values, texts, strict=True):
        label = pg.TextItem(text, color=color, anchor=(0, 0.5))
        label.setPos(float(value) if np.isfinite(value) else 0.0, float(y))
        plot.addItem(label)
        items.append(label)
    return items


class RFMSegmentsView(ResultView):
    title = "RFM segments"
    view_name = "rfm-segments"
    placeholder = "Run an analysis to see the named RFM segments here."
    image_formats = PNG_AND_SVG

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RowTableModel(TABLE_COLUMNS, self)
        self.model.set_decoration(
            lambda row, col: QColor(segment_color(str(row["segment"]))) if col == 0 else None
        )
        self.proxy = NumericSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = make_table_view()
        self.table.setModel(self.proxy)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # best segment first until a click
        self.summary = QLabel()
        self.summary.setWordWrap(True)

        self.metric_combo = QComboBox()
        for metric in METRICS:
            self.metric_combo.addItem(metric.label, metric.column)
        self.metric_combo.setToolTip("The per-segment figure the left chart shows.")
        self.metric_combo.currentIndexChanged.connect(self._draw_metric)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(18)
        self.metric_plot: pg.PlotItem = self.graphics.addPlot(
            row=0, col=0, axisItems={"bottom": ReadableAxis("bottom")}
        )
        self.share_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=1)
        for plot in (self.metric_plot, self.share_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
        self.share_legend = self.share_plot.addLegend(
            offset=(-10, -10)
        )  # bottom right: the small bars
        self._labels: dict[str, list] = {"metric": [], "share": []}
        self._bars: dict[str, pg.BarGraphItem] = {}

        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        chart_bar = QHBoxLayout()
        chart_bar.addWidget(QLabel("Chart:"))
        chart_bar.addWidget(self.metric_combo)
        chart_bar.addStretch(1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addLayout(chart_bar)
        layout.addWidget(self.graphics, 1)
        self.set_content(content)

    def _fit_table(self) -> None:
        """The table as tall as its rows, but at most 45 % of the tab (the charts need the rest)."""
        rows = self.model.rowCount()
        needed = (
            self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
            + 2 * self.table.frameWidth()
            + self.table.horizontalScrollBar().sizeHint().height()
        )
        self.table.setFixedHeight(
            max(min(needed, int(self.height() * 0.45)), 4 * self.fontMetrics().height())
        )
        # two bars per segment: their value labels only when each bar is as tall as a line of text
        room = self.height() - self.table.height() - 6 * self.fontMetrics().height()
        fits = room >= 2 * rows * self.fontMetrics().height()
        for label in self._labels["share"]:
            label.setVisible(fits)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_table()

    # -- drawing ---------------------------------------------------------------------------------
    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        rows = [
            {**row, "strategy": result.rules.strategy(str(row["segment"]))}
            for row in result.segments.to_dict("records")
        ]
        self.model.set_rows(rows)
        for column in VALUE_COLUMNS:
            self.table.setColumnHidden(column, result.value is None)
        self.table.resizeColumnsToContents()
        # the value columns come after the strategy, which is then elided (its tooltip and the
        # rule table hold the whole text); else it sizes to its text like the others
        header = self.table.horizontalHeader()
        if result.value is not None:
            header.setSectionResizeMode(STRATEGY_COLUMN, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(STRATEGY_COLUMN, self.fontMetrics().horizontalAdvance("x") * 26)
        else:
            header.setSectionResizeMode(STRATEGY_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        others = next((r for r in rows if r["segment"] == "Others"), None)
        extra = (
            f" {others['customers']:,} customers ({fmt_pct(others['share'])}) match no rule and are “Others”."
            if others
            else ""
        )
        self.summary.setText(
            f"<b>{len(rows)} named RFM segments</b> among {result.customer_count:,} customers, from the rule "
            f"table <b>{result.rules.name}</b> on {result.bins} scores.{extra} Best segment first; click a "
            "header to sort."
        )
        style_graphics_view(self.graphics, self)
        self._draw_metric()
        self._draw_shares()
        self.show_content()

    def chosen_metric(self) -> str:
        return str(self.metric_combo.currentData())

    def set_metric(self, column: str) -> None:
        self.metric_combo.setCurrentIndex(max(self.metric_combo.findData(column), 0))

    def bar_values(
        self, which: str = "metric"
    ) -> dict[str, float] | dict[str, tuple[float, float]]:
        """What the bars show, by segment: the metric, or (customer share, revenue share)."""
        if self._result is None:
            return {}
        frame = self._result.segments
        names = frame["segment"].astype(str).tolist()
        if which == "metric":
            return dict(zip(names, frame[self.chosen_metric()].astype(float).tolist(), strict=True))
        return {
            n: (float(c), float(r))
            for n, c, r in zip(names, frame["share"], frame["revenue_share"], strict=True)
        }

    def _clear(self, plot: pg.PlotItem, key: str) -> None:
        for item in self._labels[key]:
            plot.removeItem(item)
        self._labels[key] = []
        for name in [n for n in self._bars if n.startswith(key)]:
            plot.removeItem(self._bars.pop(name))

    def _draw_metric(self) -> None:
        if self._result is None:
            return
        plot = self.metric_plot
        self._clear(plot, "metric")
        metric = next(m for m in METRICS if m.column == self.chosen_metric())
        frame = self._result.segments
        names = frame["segment"].astype(str).tolist()
        values = frame[metric.column].to_numpy(dtype=float)
        ys = np.arange(len(names))[::-1].astype(float)
        shown = np.nan_to_num(values, nan=0.0)
        bar = pg.BarGraphItem(
            x0=0,
            y=ys,
            height=0.7,
            width=shown,
            brushes=[pg.mkBrush(segment_color(n)) for n in names],
            pen=pg.mkPen(None),
        )
        plot.addItem(bar)
        self._bars["metric"] = bar
        fg = foreground(self)
        self._labels["metric"] = value_labels(plot, ys, shown, [metric.text(v) for v in values], fg)
        style_plot(plot, self, title=f"{metric.label} by segment")
        plot.showGrid(x=True, y=False, alpha=0.18)
        name_axis(plot, names, self)
        top = float(shown.max()) if len(shown) and shown.max() > 0 else 1.0
        plot.setXRange(0, top * 1.18, padding=0)  # room for the value labels
        plot.setYRange(-0.6, len(names) - 0.4, padding=0)

    def _draw_shares(self) -> None:
        assert self._result is not None
        plot = self.share_plot
        self._clear(plot, "share")
        self.share_legend.clear()
        frame = self._result.segments
        names = frame["segment"].astype(str).tolist()
        ys = np.arange(len(names))[::-1].astype(float)
        fg = foreground(self)
        for offset, (column, label, color) in zip((0.18, -0.18), SHARE_BARS, strict=True):
            values = frame[column].to_numpy(dtype=float)
            bar = pg.BarGraphItem(
                x0=0,
                y=ys + offset,
                height=0.34,
                width=values,
                brush=pg.mkBrush(color),
                pen=pg.mkPen(None),
                name=label,
            )
            plot.addItem(bar)
            self._bars[f"share-{column}"] = bar
            self._labels["share"] += value_labels(
                plot, ys + offset, values, [fmt_pct(v) for v in values], fg
            )
        self._fit_table()
        for _sample, label in self.share_legend.items:
            label.setText(label.text, color=fg.name())
        style_plot(plot, self, title="Revenue share vs customer share")
        plot.showGrid(x=True, y=False, alpha=0.18)
        name_axis(plot, names, self)
        plot.getAxis("bottom").setTicks([[(x, f"{x:.0%}") for x in np.arange(0, 1.01, 0.1)], []])
        top = (
            float(np.nanmax(frame[["share", "revenue_share"]].to_numpy(dtype=float)))
            if len(frame)
            else 1.0
        )
        plot.setXRange(0, min(1.0, top) * 1.2 + 0.02, padding=0)
        plot.setYRange(-0.6, len(names) - 0.4, padding=0)

    def _plot_for_export(self):
        return self.graphics.scene()
