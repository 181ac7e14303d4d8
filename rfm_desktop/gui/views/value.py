"""Value tab: customer lifetime value next to the segments (``AnalysisResult.value``, core.value):
revenue at risk per named segment, ranked; the calibration/holdout charts; the P(alive) matrix."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.base import (
    ResultView,
    TitledPlotWidget,
    foreground,
    style_graphics_view,
    style_plot,
)
from rfm_desktop.gui.views.rfmsegments import CLV_COLUMNS
from rfm_desktop.gui.views.tables import (
    Column,
    NumericSortProxy,
    RowTableModel,
    fmt_int,
    make_table_view,
)

_CLV_SUM, _CLV_MEAN, _BELOW_HALF, _AT_RISK = CLV_COLUMNS
TABLE_COLUMNS = (
    Column(
        "Segment",
        lambda r: r["segment"],
        str,
        "Named RFM segment, or k-means cluster.",
        numeric=False,
    ),
    Column("Customers", lambda r: r["customers"], fmt_int, "Customers in the segment."),
    _AT_RISK,
    _BELOW_HALF,
    _CLV_SUM,
    _CLV_MEAN,
)
#: what the table lists: (key, combo text)
GROUPINGS = (("rfm_segment", "Named RFM segments"), ("cluster", "Clusters (Segments tab)"))
NOT_COMPUTED = (
    "Customer lifetime value was not computed for this run. Turn it on with “Predicted value and "
    "churn risk” on the wizard's Run page (or `rfm-desktop segment … --clv`) and run again."
)


NO_VALIDATION = (
    "No validation: tick “Check the model” under Customer value on the wizard's Run page "
    "(or `--calibration-end DATE`) to compare the models with later purchases."
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
        self.group_combo = QComboBox()
        for key, text in GROUPINGS:
            self.group_combo.addItem(text, key)
        self.group_combo.setToolTip("Revenue at risk per named RFM segment or per k-means cluster.")
        self.group_combo.currentIndexChanged.connect(lambda _i: self._fill_table())
        self.group_bar = QWidget()
        bar = QHBoxLayout(self.group_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Ranked by revenue at risk, per:"))
        bar.addWidget(self.group_combo)
        bar.addStretch(1)
        layout.addWidget(self.group_bar)
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
        self.plots: dict[str, TitledPlotWidget] = {}
        for column, name in enumerate(("by_frequency", "cumulative", "p_alive")):
            widget = TitledPlotWidget()  # three side by side: long titles are elided
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
        for widget in (self.group_bar, self.table, self.charts):
            widget.setVisible(shown)
        if analysis is None:  # not asked for, or the models could not be fitted (the warning)
            failed = [w.text for w in result.warnings_for("value")]
            self.note.setText("\n".join(f"⚠ {t}" for t in failed) if failed else NOT_COMPUTED)
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
        self._fill_table()
        self._draw_validation(analysis.validation)
        self._draw_matrix(analysis.matrices)

    def grouping(self) -> str:
        """ "rfm_segment" or "cluster": what the table lists."""
        return str(self.group_combo.currentData())

    def set_grouping(self, key: str) -> None:
        self.group_combo.setCurrentIndex(max(self.group_combo.findData(key), 0))

    def _fill_table(self) -> None:
        """The named segments or the clusters, ranked by revenue at risk, highest first."""
        result = self._result
        if result is None or result.value is None:
            return
        if self.grouping() == "cluster":
            rows = [
                {
                    "segment": p.name,
                    "customers": p.size,
                    "revenue_at_risk": p.revenue_at_risk,
                    "customers_p_alive_below_half": p.customers_p_alive_below_half,
                    "predicted_clv_sum": p.predicted_clv_sum,
                    "predicted_clv_mean": p.predicted_clv_mean,
                }
                for p in result.clusters
            ]
        else:
            rows = result.segments.to_dict("records")
        rows.sort(key=lambda r: -float(r["revenue_at_risk"] or 0.0))
        self.model.set_rows(rows)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # revenue at risk, highest first

    def _draw_validation(self, validation: dict | None) -> None:
        fg = foreground(self)
        for name in ("by_frequency", "cumulative"):
            widget = self.plots[name]
            style_graphics_view(widget, self)
            widget.getPlotItem().clear()
        frequency, cumulative = self.plots["by_frequency"], self.plots["cumulative"]
        titles = ("Holdout purchases per customer", "Cumulative repeat purchases")
        for widget, title in zip((frequency, cumulative), titles, strict=True):
            style_plot(widget.getPlotItem(), self)
            widget.set_title(title, fg)
            widget.getPlotItem().addLegend(offset=(10, 10), labelTextColor=fg)
        checked = bool(validation and "by_frequency" in validation)
        for widget in (frequency, cumulative):  # no axes around a sentence
            for side in ("left", "bottom"):
                widget.getPlotItem().showAxis(side, checked)
        if validation is None or not checked:
            text = (validation or {}).get("error") or NO_VALIDATION
            for widget in (frequency, cumulative):
                item = pg.TextItem(str(text), color=fg, anchor=(0.5, 0.5))
                item.textItem.setTextWidth(260)
                widget.addItem(item)
                widget.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
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
        style_plot(plot, self)
        widget.set_title("P(alive) by repeat purchases × days silent", foreground(self))
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
