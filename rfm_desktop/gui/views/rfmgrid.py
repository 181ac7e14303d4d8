"""RFM tab: the R score x F score grid coloured by mean spend, and the named RFM segments."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.base import ResultView, text_color_on
from rfm_desktop.gui.views.colors import heat_color, segment_color
from rfm_desktop.gui.views.tables import (
    Column,
    NumericSortProxy,
    RowTableModel,
    fmt_int,
    fmt_num,
    fmt_pct,
    make_table_view,
)

R_ROWS = (5, 4, 3, 2, 1)  # most recent at the top
F_COLS = (1, 2, 3, 4, 5)

SEGMENT_COLUMNS = (
    Column("Segment", lambda r: r["segment"], str, "Named RFM segment (from the R, F and M scores).", numeric=False),
    Column("Customers", lambda r: r["customers"], fmt_int, "Customers in the segment."),
    Column("Share", lambda r: r["share"], fmt_pct, "Share of all customers."),
    Column("Revenue\nshare", lambda r: r["revenue_share"], fmt_pct, "Share of total spend."),
    Column("Recency\n(days)", lambda r: r["recency_mean"], lambda v: fmt_num(v, 1), "Mean days since the last purchase."),
    Column("Frequency\n(orders)", lambda r: r["frequency_mean"], lambda v: fmt_num(v, 1), "Mean number of orders."),
    Column("Monetary\n(spend)", lambda r: r["monetary_mean"], lambda v: fmt_num(v, 2), "Mean total spend."),
)


def _cell_fraction(value: float, low: float, high: float) -> float:
    """Position of ``value`` on a log scale between the smallest and largest cell means."""
    if not math.isfinite(value) or value <= 0:
        return float("nan") if not math.isfinite(value) else 0.0
    if high <= low:
        return 0.5
    return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))


class RFMView(ResultView):
    title = "RFM"
    view_name = "rfm"
    placeholder = "Run an analysis to see the RFM scores and named segments here."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QTableWidget(len(R_ROWS), len(F_COLS))
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.grid.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.grid.setWordWrap(True)
        self.grid.setShowGrid(True)
        self.grid.setHorizontalHeaderLabels([f"F {f}" for f in F_COLS])
        self.grid.setVerticalHeaderLabels([f"R {r}" for r in R_ROWS])
        for header in (self.grid.horizontalHeader(), self.grid.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setHighlightSections(False)
        self.grid.horizontalHeader().setToolTip("Frequency score: 1 = fewest orders, 5 = most orders.")
        self.grid.verticalHeader().setToolTip("Recency score: 5 = bought most recently, 1 = longest ago.")
        self.grid.setMinimumSize(380, 300)
        grid_title = QLabel("<b>Recency score × Frequency score</b>")
        grid_help = QLabel(
            "Rows: R 5 = bought most recently … R 1 = longest ago. Columns: F 1 = fewest orders … F 5 = most. "
            "Each cell: customers, and their mean spend. Colour: mean spend (log scale, dark = low, yellow = high)."
        )
        grid_help.setWordWrap(True)
        grid_help.setEnabled(False)

        self.segments_model = RowTableModel(SEGMENT_COLUMNS, self)
        self.segments_model.set_decoration(
            lambda row, col: QColor(segment_color(str(row["segment"]))) if col == 0 else None
        )
        self.segments_proxy = NumericSortProxy(self)
        self.segments_proxy.setSourceModel(self.segments_model)
        self.segments_table = make_table_view()
        self.segments_table.setModel(self.segments_proxy)
        self.segments_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        seg_title = QLabel("<b>Named RFM segments</b>")
        seg_help = QLabel("Segments from the R, F and M scores (rules of the R package “rfm”). Click a header to sort.")
        seg_help.setWordWrap(True)
        seg_help.setEnabled(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(grid_title)
        left_layout.addWidget(self.grid, 1)
        left_layout.addWidget(grid_help)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(seg_title)
        right_layout.addWidget(self.segments_table, 1)
        right_layout.addWidget(seg_help)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([460, 740])  # the segment table needs the wider part
        splitter.setChildrenCollapsible(False)
        self.set_content(splitter)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        self._fill_grid(result)
        rows = result.segments.to_dict("records") if result.segments is not None else []
        self.segments_model.set_rows(rows)
        self.segments_table.resizeColumnsToContents()
        self.show_content()

    def cell(self, r_score: int, f_score: int) -> QTableWidgetItem:
        """The grid cell of an R score and an F score (1..5 each)."""
        return self.grid.item(R_ROWS.index(r_score), F_COLS.index(f_score))

    def _fill_grid(self, result: AnalysisResult) -> None:
        heat = result.heatmap
        cells: dict[tuple[int, int], tuple[int, float]] = {}
        if heat is not None and len(heat):
            for rec in heat.to_dict("records"):
                cells[(int(rec["r_score"]), int(rec["f_score"]))] = (
                    int(rec.get("customers", 0) or 0),
                    float(rec["monetary_mean"]) if rec.get("monetary_mean") is not None else float("nan"),
                )
        means = np.array([m for n, m in cells.values() if n > 0 and math.isfinite(m) and m > 0])
        low, high = (float(means.min()), float(means.max())) if means.size else (1.0, 1.0)
        total = sum(n for n, _ in cells.values()) or 1
        for i, r in enumerate(R_ROWS):
            for j, f in enumerate(F_COLS):
                n, mean = cells.get((r, f), (0, float("nan")))
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if n == 0:
                    item.setText("no customers")
                    item.setBackground(QBrush(self.palette().color(self.palette().ColorRole.AlternateBase)))
                    item.setToolTip(f"R {r}, F {f}: no customers.")
                else:
                    color = heat_color(_cell_fraction(mean, low, high))
                    item.setText(f"{n:,}\ncustomers\nmean {fmt_num(mean, 0)}")
                    item.setBackground(QBrush(color))
                    item.setForeground(QBrush(text_color_on(color)))
                    item.setToolTip(
                        f"R {r}, F {f}: {n:,} customers ({fmt_pct(n / total)}), mean spend {fmt_num(mean, 2)}."
                    )
                item.setData(Qt.ItemDataRole.UserRole, {"customers": n, "monetary_mean": mean})
                self.grid.setItem(i, j, item)

    def cell_values(self, r_score: int, f_score: int) -> dict[str, Any]:
        return dict(self.cell(r_score, f_score).data(Qt.ItemDataRole.UserRole))
