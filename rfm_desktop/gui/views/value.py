"""Value tab: customer lifetime value next to the segments (``AnalysisResult.value``, core.value):
revenue at risk per named segment, ranked; the calibration/holdout charts; the P(alive) matrix."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.base import ResultView, foreground, style_graphics_view, style_plot
from rfm_desktop.gui.views.tables import (
    Column,
    NumericSortProxy,
    RowTableModel,
    fmt_int,
    fmt_num,
    make_table_view,
)

TABLE_COLUMNS = (
    Column("Segment", lambda r: r["segment"], str, "Named RFM segment.", numeric=False),
    Column("Customers", lambda r: r["customers"], fmt_int, "Customers in the segment."),
    Column(
        "Revenue\nat risk",
        lambda r: r["revenue_at_risk"],
        lambda v: fmt_num(v, 0),
        "Σ (1 − P(alive)) × the value over the horizon if still active, over the segment's "
        "active buyers (repeat buyers who bought within the horizon).",
    ),
    Column(
        "P(alive)\n< 0.5",
        lambda r: r["customers_p_alive_below_half"],
        fmt_int,
        "Customers more likely gone than still buying.",
    ),
    Column(
        "Predicted CLV\n(sum)",
        lambda r: r["predicted_clv_sum"],
        lambda v: fmt_num(v, 0),
        "Discounted expected revenue over the horizon.",
    ),
    Column(
        "Predicted CLV\n(mean)",
        lambda r: r["predicted_clv_mean"],
        lambda v: fmt_num(v, 0),
        "Per customer.",
    ),
)
NOT_COMPUTED = (
    "Customer lifetime value was not computed for this run. Turn it on with "
    "`rfm-desktop segment … --clv` or in a saved analysis (clv.enabled)."
)


class ValueView(ResultView):
    title = "Value"
    view_name = "value"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        content = QWidget()
        layout = QVBoxLayout(content)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note)
        self.model = RowTableModel(TABLE_COLUMNS, self)
        proxy = NumericSortProxy(self)
        proxy.setSourceModel(self.model)
        self.table = make_table_view()
        self.table.setModel(proxy)
        self.table.setMinimumHeight(220)
        layout.addWidget(self.table)
        self.charts = QWidget()
        grid = QGridLayout(self.charts)
        grid.setContentsMargins(0, 0, 0, 0)
        self.plots: dict[str, pg.PlotWidget] = {}
        for column, name in enumerate(("by_frequency", "cumulative", "p_alive")):
            widget = pg.PlotWidget()
            widget.setMinimumSize(300, 240)
            self.plots[name] = widget
            grid.addWidget(widget, 0, column)
        layout.addWidget(self.charts, 1)
        self.set_content(content)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        self.show_content()
        analysis = result.value
        shown = analysis is not None
        self.table.setVisible(shown)
        self.charts.setVisible(shown)
        if analysis is None:
            self.note.setText(NOT_COMPUTED)
            self.model.set_rows([])
            return
        bg, customers = analysis.bgnbd, result.customers
        self.note.setText(
            f"Over the next {analysis.options.horizon_days} days (discount "
            f"{analysis.options.discount_rate:.1%} a month): predicted CLV "
            f"{customers['predicted_clv'].sum():,.0f}, revenue at risk "
            f"{customers['revenue_at_risk'].sum():,.0f}; "
            f"{int((customers['p_alive'] < 0.5).sum()):,} customers with P(alive) < 0.5. "
            f"BG/NBD r={bg.r:.3g}, α={bg.alpha:.3g} days, a={bg.a:.3g}, b={bg.b:.3g}; "
            f"Gamma-Gamma p={analysis.gamma_gamma.p:.3g}, q={analysis.gamma_gamma.q:.3g}, "
            f"v={analysis.gamma_gamma.v:.3g}."
            + "".join(f"\n⚠ {w.text}" for w in result.warnings_for("value"))
        )
        rows = result.segments.sort_values("revenue_at_risk", ascending=False)
        self.model.set_rows(rows.to_dict("records"))
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # revenue at risk, highest first
        self._draw_validation(analysis.validation)
        self._draw_matrix(analysis.matrices)

    def _draw_validation(self, validation: dict | None) -> None:
        fg = foreground(self)
        for name in ("by_frequency", "cumulative"):
            widget = self.plots[name]
            style_graphics_view(widget, self)
            widget.getPlotItem().clear()
        frequency, cumulative = self.plots["by_frequency"], self.plots["cumulative"]
        titles = ("Holdout purchases per customer", "Cumulative repeat purchases")
        for widget, title in zip((frequency, cumulative), titles, strict=True):
            style_plot(widget.getPlotItem(), self, title=title)
            widget.getPlotItem().addLegend(offset=(10, 10), labelTextColor=fg)
        if not validation or "by_frequency" not in validation:
            text = (validation or {}).get("error") or "Set a calibration end to validate."
            for widget in (frequency, cumulative):
                item = pg.TextItem(str(text)[:80], color=fg, anchor=(0.5, 0.5))
                widget.addItem(item)
            return
        buckets = validation["by_frequency"]
        xs = np.arange(len(buckets))
        frequency.plot(xs, [b["actual_mean"] for b in buckets], pen=pg.mkPen(fg, width=2),
                       symbol="o", name="actual")  # fmt: skip
        frequency.plot(xs, [b["predicted_mean"] for b in buckets],
                       pen=pg.mkPen("#d95f02", width=2, style=Qt.PenStyle.DashLine),
                       symbol="s", name="model")  # fmt: skip
        frequency.getPlotItem().getAxis("bottom").setTicks(
            [[(i, b["repeat_purchases"]) for i, b in enumerate(buckets)]]
        )
        frequency.setLabel("bottom", "repeat purchases before the calibration end")
        points = validation["cumulative"]
        days = [p["day"] for p in points]
        cumulative.plot(days, [p["actual"] for p in points], pen=pg.mkPen(fg, width=2),
                        name="actual")  # fmt: skip
        cumulative.plot(days, [p["expected"] for p in points],
                        pen=pg.mkPen("#d95f02", width=2, style=Qt.PenStyle.DashLine),
                        name="model")  # fmt: skip
        start = next((p["day"] for p in points if p["holdout"]), None)
        if start is not None:
            cumulative.addItem(
                pg.InfiniteLine(start, angle=90, pen=pg.mkPen(fg, style=Qt.PenStyle.DotLine))
            )
        cumulative.setLabel("bottom", "days from the first purchase in the data")

    def _draw_matrix(self, matrices: dict) -> None:
        widget = self.plots["p_alive"]
        style_graphics_view(widget, self)
        plot = widget.getPlotItem()
        plot.clear()
        style_plot(plot, self, title="P(alive) by repeat purchases × days silent")
        alive = np.asarray(matrices["p_alive"], dtype=float)  # rows: repeat purchases
        since = matrices["days_since_last_purchase"]
        image = pg.ImageItem(alive.T)  # x: days since last purchase, y: repeat purchases
        image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        image.setLevels((0.0, 1.0))
        step = since[1] - since[0] if len(since) > 1 else 1
        image.setRect(0, 1, step * alive.shape[1], alive.shape[0])
        plot.addItem(image)
        plot.setLabel("bottom", "days since the last purchase")
        plot.setLabel("left", "repeat purchases")
