"""Customers tab: every customer (id, R/F/M values, scores, named segment, cluster), searchable and
sortable; the selected customer's "Why this segment" (core.explain.explain_customer) beside it.

The model sorts and filters itself with numpy instead of a QSortFilterProxyModel: the proxy calls
back into Python for every comparison, which took 44 s to sort 100,000 rows (a million-customer
file would never finish); an argsort takes milliseconds.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QItemSelection, QModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core import value
from rfm_desktop.core.explain import Explanation, explain_customer
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.core.scoring import with_unit
from rfm_desktop.gui.views.base import ResultView
from rfm_desktop.gui.views.colors import segment_color
from rfm_desktop.gui.views.rfmgrid import score_values
from rfm_desktop.gui.views.tables import (
    SORT_ROLE,
    ColumnTableModel,
    ModelIndex,
    fmt_int,
    fmt_num,
    make_table_view,
)

ALL_SEGMENTS = "All named segments"


@dataclass(frozen=True)
class CustomerColumn:
    column: str  # a column of AnalysisResult.customers
    header: str
    text: Callable[[Any], str]
    tooltip: str
    numeric: bool = True


COLUMNS = (
    CustomerColumn("customer_id", "Customer", str, "The customer id of the file.", numeric=False),
    CustomerColumn(
        "recency",
        "Recency\n(days)",
        lambda v: fmt_num(v, 0),
        "Days from the last purchase to the snapshot.",
    ),
    CustomerColumn(
        "frequency", "Frequency\n(orders)", lambda v: fmt_num(v, 0), "Orders (distinct invoices)."
    ),
    CustomerColumn("monetary", "Monetary", lambda v: fmt_num(v, 2), "Total spend."),
    CustomerColumn("r_score", "R", fmt_int, "Recency score: higher = bought more recently."),
    CustomerColumn("f_score", "F", fmt_int, "Frequency score: higher = more orders."),
    CustomerColumn("m_score", "M", fmt_int, "Monetary score: higher = more spend."),
    CustomerColumn(
        "rfm_segment",
        "RFM segment",
        str,
        "The named RFM segment (first rule that matches).",
        numeric=False,
    ),
    CustomerColumn("cluster_name", "Cluster", str, "The k-means cluster.", numeric=False),
    # customer lifetime value (core.value.CUSTOMER_COLUMNS): shown when the run computed it
    CustomerColumn(
        "p_alive",
        "P(alive)",
        lambda v: fmt_num(v, 3),
        "Chance that the customer still buys (BG/NBD); below 0.5 more likely gone.",
    ),
    CustomerColumn(
        "expected_purchases",
        "Expected\npurchases",
        lambda v: fmt_num(v, 2),
        "Purchase days expected over the CLV horizon.",
    ),
    CustomerColumn(
        "expected_avg_spend",
        "Expected\nspend/order",
        lambda v: fmt_num(v, 2),
        "Expected spend per purchase (Gamma-Gamma).",
    ),
    CustomerColumn(
        "predicted_clv",
        "Predicted\nCLV",
        lambda v: fmt_num(v, 2),
        "Discounted expected revenue over the CLV horizon.",
    ),
    CustomerColumn(
        "revenue_at_risk",
        "Revenue\nat risk",
        lambda v: fmt_num(v, 2),
        "(1 − P(alive)) × the value over the horizon if still active; active buyers only "
        "(repeat buyers who bought within the horizon).",
    ),
    CustomerColumn(
        "expected_next_order",
        "Expected\nnext order",
        lambda v: str(v)[:10],
        "When the next purchase is expected; empty when less than one purchase is expected "
        "within the horizon.",
        numeric=False,
    ),
)
#: the columns a run without customer lifetime value does not have (hidden then)
VALUE_COLUMNS = frozenset(value.CUSTOMER_COLUMNS)


class CustomerModel(ColumnTableModel):
    """The customers frame as rows; :meth:`sort` and :meth:`set_filter` reorder a row index."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, parent)
        self._frame = pd.DataFrame()
        self._values: list[np.ndarray] = []
        self._keys: dict[int, np.ndarray] = {}
        self._order = np.zeros(0, dtype=np.int64)  # every row, in the sort order
        self._keep = np.zeros(0, dtype=bool)  # per row: passes the filter
        self._rows = np.zeros(0, dtype=np.int64)  # shown rows, in order
        self._text = ""
        self._segment: str | None = None

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self._frame = frame
        self._values = [
            (
                frame[c.column].to_numpy(dtype=float, na_value=np.nan)
                if c.numeric
                else frame[c.column].astype("string").to_numpy(dtype=object, na_value=None)
            )
            if c.column in frame
            else np.full(len(frame), None, dtype=object)
            for c in COLUMNS
        ]
        self._keys = {}  # sort keys per column, made on the first sort
        self._order = np.arange(len(frame), dtype=np.int64)
        self._keep = self._mask()
        self._rows = self._order[self._keep[self._order]]
        self.endResetModel()

    # -- filtering and sorting ----------------------------------------------------------------
    def _mask(self) -> np.ndarray:
        frame = self._frame
        keep = np.ones(len(frame), dtype=bool)
        if self._segment is not None and "rfm_segment" in frame:
            keep &= (frame["rfm_segment"] == self._segment).to_numpy(dtype=bool, na_value=False)
        if self._text:
            hit = np.zeros(len(frame), dtype=bool)
            for column in ("customer_id", "rfm_segment", "cluster_name"):
                if column in frame:
                    hit |= (
                        frame[column]
                        .astype("string")
                        .str.contains(self._text, case=False, regex=False)
                        .to_numpy(dtype=bool, na_value=False)
                    )
            keep &= hit
        return keep

    def set_filter(self, text: str = "", segment: str | None = None) -> None:
        """Keep the customers whose id, segment or cluster contains ``text`` (any case), and who
        are in the named ``segment`` (None: any)."""
        text = text.strip()
        if (text, segment) == (self._text, self._segment):
            return
        self.beginResetModel()
        self._text, self._segment = text, segment
        self._keep = self._mask()
        self._rows = self._order[self._keep[self._order]]
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS) or not len(self._frame):
            return
        keys = self._keys.get(column)
        if keys is None:
            values = self._values[column]
            # text: codes in sorted order of the case-folded text, so the sort is on integers
            keys = (
                values
                if COLUMNS[column].numeric
                else pd.factorize(pd.Series(values, dtype="string").str.casefold(), sort=True)[0]
            )
            self._keys[column] = keys
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old = [
            (int(self._rows[i.row()]) if 0 <= i.row() < len(self._rows) else -1, i.column())
            for i in persistent
        ]
        if order == Qt.SortOrder.AscendingOrder:
            self._order = np.argsort(keys, kind="stable")
        else:  # stable too: equal keys keep their order
            self._order = len(keys) - 1 - np.argsort(keys[::-1], kind="stable")[::-1]
        self._rows = self._order[self._keep[self._order]]
        if old:
            position = np.full(len(self._frame), -1, dtype=np.int64)
            position[self._rows] = np.arange(len(self._rows))
            self.changePersistentIndexList(
                persistent,
                [
                    self.index(int(position[r]), c)
                    if r >= 0 and position[r] >= 0
                    else QModelIndex()
                    for r, c in old
                ],
            )
        self.layoutChanged.emit()

    # -- lookups --------------------------------------------------------------------------------
    def frame_row(self, row: int) -> int:
        """The row of ``AnalysisResult.customers`` shown at ``row``."""
        return int(self._rows[row])

    def customer_id(self, row: int) -> str:
        return str(self._values[0][self._rows[row]])

    def row_of(self, customer_id: str) -> int | None:
        hits = np.flatnonzero(self._values[0][self._rows] == customer_id)
        return int(hits[0]) if len(hits) else None

    def shown_ids(self) -> list[str]:
        return [str(v) for v in self._values[0][self._rows]]

    # -- Qt model API ---------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        col = COLUMNS[index.column()]
        value = self._values[index.column()][self._rows[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return "–" if value is None else col.text(value)
        if role == SORT_ROLE:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(index.column())
        if (
            role == Qt.ItemDataRole.DecorationRole
            and col.column == "rfm_segment"
            and value is not None
        ):
            return QColor(segment_color(str(value)))
        return None


def explanation_html(explanation: Explanation, result: AnalysisResult) -> str:
    """The explanation as a short page: who and which rule, the scores with their thresholds, the
    nearest better segment, and the one-sentence text."""
    e = html.escape
    rule = explanation.rule
    if rule is not None:
        index = result.rules.rules.index(rule) + 1
        matched = f"rule {index} of {len(result.rules.rules)} ({e(rule.describe())}), the first that matches"
    else:
        matched = "no rule matches these scores"
    rows = "".join(
        f"<tr><td>{e(m.measure.capitalize())}</td><td align='right'>{e(with_unit(m.value, m.measure))}</td>"
        f"<td align='center'>{result.scale(m.measure).letter} {m.score}</td><td>{e(score_values(result.scale(m.measure), m.score))}</td></tr>"
        for m in explanation.measures
    )
    if explanation.better_segment is not None:
        moves = "; ".join(e(c.text) for c in explanation.changes)
        better = f"<p><b>Nearest better segment: {e(explanation.better_segment)}</b> — {moves}.</p>"
    elif result.rules.rank(explanation.segment) == 0:
        better = "<p>Already in the best segment.</p>"
    else:
        better = "<p>No better segment can be reached by buying more.</p>"
    return (
        f"<p><b>Customer {e(explanation.customer_id)} → {e(explanation.segment)}</b>: {matched}.</p>"
        "<table cellspacing='0' cellpadding='3'><tr><th align='left'>Measure</th><th align='right'>Value</th>"
        f"<th>Score</th><th align='left'>Values of the score</th></tr>{rows}</table>"
        f"{better}{value_html(explanation.customer_id, result)}"
        f"<p style='color:gray'>{e(explanation.text)}</p>"
    )


def value_html(customer_id: str, result: AnalysisResult) -> str:
    """The customer's lifetime value in one sentence ("" when the run did not compute it)."""
    if result.value is None:
        return ""
    customers = result.customers
    row = customers.loc[customers["customer_id"].astype("string") == customer_id].iloc[0]
    horizon = result.value.options.horizon_days
    nxt = row["expected_next_order"]
    when = (
        f"next order expected by {nxt:%Y-%m-%d}"
        if not pd.isna(nxt)
        else f"less than one order expected in {horizon} days"
    )
    return (
        f"<p><b>Value over the next {horizon} days:</b> {fmt_num(row['predicted_clv'], 2)} "
        f"(P(alive) {fmt_num(row['p_alive'], 3)}, {fmt_num(row['expected_purchases'], 2)} "
        f"purchases of {fmt_num(row['expected_avg_spend'], 2)} expected; {when}); revenue at "
        f"risk {fmt_num(row['revenue_at_risk'], 2)}.</p>"
    )


class CustomersView(ResultView):
    """Every customer, searchable and sortable, with "Why this segment" for the selected one."""

    title = "Customers"
    view_name = "customers"
    placeholder = "Run an analysis to look up customers and see why they are in their segment."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CustomerModel(self)
        self.table = make_table_view()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionMode(self.table.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        # sized once from the first rows: measuring every row again after each sort would take seconds
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setResizeContentsPrecision(200)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search a customer id, segment or cluster…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip(
            "Shows the customers whose id, named segment or cluster contains this text."
        )
        self.segment_combo = QComboBox()
        self.segment_combo.setToolTip("Only the customers of one named RFM segment.")
        self.count_label = QLabel()
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(200)  # filter once typing pauses, not on every key
        self._filter_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.segment_combo.currentIndexChanged.connect(lambda _i: self.apply_filter())

        self.why = QTextBrowser()
        self.why.setOpenLinks(False)
        self.why.setMinimumHeight(120)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        bar.addWidget(self.segment_combo, 1)
        bar.addWidget(self.count_label, 1)
        why_box = QWidget()
        why_layout = QVBoxLayout(why_box)
        why_layout.setContentsMargins(0, 0, 0, 0)
        why_layout.addWidget(QLabel("<b>Why this segment</b>"))
        why_layout.addWidget(self.why, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(why_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self.set_content(content)
        self._explanation: Explanation | None = None

    def set_result(self, result: AnalysisResult) -> None:
        chosen = self._explanation.customer_id if self._explanation is not None else None
        self._result = result
        self.segment_combo.blockSignals(True)
        current = self.segment_combo.currentText()
        self.segment_combo.clear()
        self.segment_combo.addItem(ALL_SEGMENTS)
        for name in result.segments["segment"].astype(str):
            self.segment_combo.addItem(name)
        self.segment_combo.setCurrentIndex(max(self.segment_combo.findText(current), 0))
        self.segment_combo.blockSignals(False)
        self.model.set_frame(result.customers)
        for column, shown in enumerate(COLUMNS):
            if shown.column in VALUE_COLUMNS:
                self.table.setColumnHidden(column, shown.column not in result.customers)
        header = self.table.horizontalHeader()
        self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.apply_filter()
        self.table.resizeColumnsToContents()
        self.show_content()
        self.select_customer(chosen) if chosen is not None else self._show_why(None)

    def apply_filter(self) -> None:
        segment = self.segment_combo.currentText()
        self.model.set_filter(
            self.search.text(), None if segment in ("", ALL_SEGMENTS) else segment
        )
        total = len(self._result.customers) if self._result is not None else 0
        shown = self.model.rowCount()
        self.count_label.setText(
            f"{shown:,} of {total:,} customers" if shown != total else f"{total:,} customers"
        )
        if (
            self._explanation is not None
            and self.model.row_of(self._explanation.customer_id) is None
        ):
            self._show_why(None)

    def select_customer(self, customer_id: str) -> bool:
        """Select a customer's row (when shown) and explain it."""
        row = self.model.row_of(str(customer_id))
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def why_text(self) -> str:
        """The one-sentence explanation on show ("" when no customer is selected)."""
        return self._explanation.text if self._explanation is not None else ""

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._show_why(self.model.customer_id(rows[0].row()) if rows else None)

    def _show_why(self, customer_id: str | None) -> None:
        if customer_id is None or self._result is None:
            self._explanation = None
            self.why.setHtml(
                "<p style='color:gray'>Select a customer to see the scores, the thresholds they fell "
                "between, the rule that matched, and what would move them to a better segment.</p>"
            )
            return
        self._explanation = explain_customer(self._result, customer_id)
        self.why.setHtml(explanation_html(self._explanation, self._result))
