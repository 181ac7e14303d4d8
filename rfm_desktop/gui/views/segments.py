"""Segments tab: one row per cluster profile, names editable in place, tick boxes for export."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.result import AnalysisResult, ClusterProfile
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.base import ResultView
from rfm_desktop.gui.views.tables import (
    SORT_ROLE,
    Column,
    ColumnTableModel,
    ModelIndex,
    NumericSortProxy,
    PaddedDelegate,
    fmt_int,
    fmt_num,
    fmt_pct,
    sort_key,
)

COL_NAME = 0
COL_CUSTOMERS = 1
COL_SHARE = 2
COL_REVENUE_SHARE = 3
COL_RECENCY = 4
COL_FREQUENCY = 5
COL_MONETARY = 6
COL_AOV = 7
COL_SILHOUETTE = 8
COL_STABILITY = 9
COL_CLV_SUM = 10
COL_CLV_MEAN = 11
COL_P_ALIVE_BELOW_HALF = 12
COL_REVENUE_AT_RISK = 13
COL_STRATEGY = 14
#: customer lifetime value columns: hidden when the run did not compute it
VALUE_COLS = (COL_CLV_SUM, COL_CLV_MEAN, COL_P_ALIVE_BELOW_HALF, COL_REVENUE_AT_RISK)

COLUMNS: tuple[Column, ...] = (  # in the order of the COL_ numbers above
    Column(
        "Segment",
        lambda p: p.name,
        str,
        "Tick the segments to export; double-click a name to rename it.",
        numeric=False,
    ),
    Column("Customers", lambda p: p.size, fmt_int, "Number of customers in the segment."),
    Column("Share", lambda p: p.share, fmt_pct, "Share of all customers."),
    Column("Revenue\nshare", lambda p: p.revenue_share, fmt_pct, "Share of total spend."),
    Column(
        "Recency\n(days)",
        lambda p: p.recency_mean,
        lambda v: fmt_num(v, 1),
        "Mean days since the last purchase; lower is better.",
    ),
    Column(
        "Frequency\n(orders)",
        lambda p: p.frequency_mean,
        lambda v: fmt_num(v, 1),
        "Mean number of orders (invoices).",
    ),
    Column(
        "Monetary\n(spend)",
        lambda p: p.monetary_mean,
        lambda v: fmt_num(v, 2),
        "Mean total spend per customer.",
    ),
    Column(
        "Avg order\nvalue",
        lambda p: p.average_order_value,
        lambda v: fmt_num(v, 2),
        "Spend divided by orders over the segment.",
    ),
    Column(
        "Silhouette",
        lambda p: p.silhouette_mean,
        lambda v: fmt_num(v, 3),
        "Mean silhouette, -1..1: higher means a more distinct segment.",
    ),
    Column(
        "Stability",
        lambda p: p.stability,
        lambda v: fmt_num(v, 2),
        "Mean Jaccard similarity with its best match when k-means is refitted on half the "
        "customers, 0..1 (Hennig 2007): 0.75 or more stable, below 0.6 the segment dissolves.",
    ),
    Column(
        "CLV\n(sum)",
        lambda p: p.predicted_clv_sum,
        lambda v: fmt_num(v, 0),
        "Predicted customer lifetime value: the discounted expected revenue of the segment's "
        "customers over the CLV horizon.",
    ),
    Column(
        "CLV\n(mean)",
        lambda p: p.predicted_clv_mean,
        lambda v: fmt_num(v, 0),
        "Predicted customer lifetime value per customer.",
    ),
    Column(
        "P(alive)\n< 0.5",
        lambda p: p.customers_p_alive_below_half,
        fmt_int,
        "Customers more likely gone than still buying (BG/NBD).",
    ),
    Column(
        "Revenue\nat risk",
        lambda p: p.revenue_at_risk,
        lambda v: fmt_num(v, 0),
        "Σ (1 − P(alive)) × the value over the horizon if still active, over the segment's "
        "active buyers (repeat buyers who bought within the horizon).",
    ),
    Column(
        "Suggested strategy",
        lambda p: p.strategy,
        str,
        "What to do with this segment.",
        numeric=False,
    ),
)

#: What the stability flag says in the table (core.stability.flag).
STABILITY_WORDS = {"stable": "stable", "doubtful": "doubtful", "dissolves": "⚠ dissolves"}


def _raw(profile: ClusterProfile, column: int) -> Any:
    return COLUMNS[column].value(profile)


def _text(profile: ClusterProfile, column: int) -> str:
    if column == COL_STABILITY and profile.stability is not None:
        return f"{profile.stability:.2f} {STABILITY_WORDS.get(profile.stability_flag, '')}".strip()
    return COLUMNS[column].text(_raw(profile, column))


class SegmentsModel(ColumnTableModel):
    """Cluster profiles as rows. Editing a name does not change the result: it emits
    :attr:`renameRequested`, and the host renames and calls ``set_result`` again."""

    renameRequested = Signal(int, str)
    checkedChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, parent)
        self._profiles: list[ClusterProfile] = []
        self._checked: dict[int, bool] = {}

    # -- data ---------------------------------------------------------------------
    def set_profiles(
        self,
        profiles: tuple[ClusterProfile, ...] | list[ClusterProfile],
        *,
        keep_ticks: bool = True,
    ) -> None:
        """``keep_ticks``: the same analysis redrawn (e.g. after a rename) keeps its ticks; a new
        analysis starts with every segment ticked (cluster 2 of another run is another group)."""
        self.beginResetModel()
        self._profiles = list(profiles)
        old = self._checked if keep_ticks else {}
        self._checked = {p.id: old.get(p.id, True) for p in self._profiles}
        self.endResetModel()
        self.checkedChanged.emit()

    def profile(self, row: int) -> ClusterProfile:
        return self._profiles[row]

    def profiles(self) -> list[ClusterProfile]:
        return list(self._profiles)

    def checked_ids(self) -> list[int]:
        return [p.id for p in self._profiles if self._checked.get(p.id, False)]

    def set_checked(self, cluster_id: int, checked: bool) -> None:
        for row, p in enumerate(self._profiles):
            if p.id == cluster_id and self._checked.get(p.id) != checked:
                self._checked[p.id] = checked
                idx = self.index(row, COL_NAME)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.CheckStateRole])
                self.checkedChanged.emit()

    def set_all_checked(self, checked: bool) -> None:
        for p in self._profiles:
            self._checked[p.id] = checked
        if self._profiles:
            self.dataChanged.emit(
                self.index(0, COL_NAME),
                self.index(len(self._profiles) - 1, COL_NAME),
                [Qt.ItemDataRole.CheckStateRole],
            )
        self.checkedChanged.emit()

    # -- Qt model API ---------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._profiles)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL_NAME:
            flags |= Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        p = self._profiles[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (
                p.name if (col == COL_NAME and role == Qt.ItemDataRole.EditRole) else _text(p, col)
            )
        if role == SORT_ROLE:
            return sort_key(_raw(p, col))
        if role == Qt.ItemDataRole.DecorationRole and col == COL_NAME:
            return QColor(p.color)
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_NAME:
            return (
                Qt.CheckState.Checked if self._checked.get(p.id, False) else Qt.CheckState.Unchecked
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STRATEGY:
                return p.strategy
            if col == COL_NAME:
                extra = " (customers the outlier rule set apart)" if p.is_outlier_segment else ""
                return f"{p.name}{extra}: double-click to rename."
            if col == COL_SILHOUETTE and p.is_outlier_segment:
                return "The Outliers segment is not a k-means cluster, so it has no silhouette."
            if col == COL_STABILITY and p.dissolves:
                return (
                    f"{p.name} dissolves: refitted on half the customers, k-means finds it again "
                    f"only with a mean Jaccard of {p.stability:.2f} (below 0.6). Do not build a "
                    "campaign on it alone."
                )
            return COLUMNS[col].tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(col)
        return None

    def setData(self, index: ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_NAME:
            return False
        p = self._profiles[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole:
            checked = (
                Qt.CheckState(value) == Qt.CheckState.Checked
                if not isinstance(value, bool)
                else value
            )
            self.set_checked(p.id, checked)
            return True
        if role == Qt.ItemDataRole.EditRole:
            name = str(value).strip()
            if name and name != p.name:
                self.renameRequested.emit(p.id, name)
            return True
        return False


class SegmentsView(ResultView):
    """The cluster profiles as a sortable table."""

    title = "Segments"
    view_name = "segments"
    placeholder = "Run an analysis to see the customer segments here."

    #: (cluster id, new name): the user edited a name; rename the result and redraw
    renameRequested = Signal(int, str)
    #: the ticked cluster ids changed
    checkedChanged = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SegmentsModel(self)
        self.proxy = NumericSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.model.renameRequested.connect(self.renameRequested)
        self.model.checkedChanged.connect(
            lambda: self.checkedChanged.emit(self.selected_cluster_ids())
        )

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the engine's order until a click
        self.table.setAlternatingRowColors(True)
        # one line per row whatever the width: long texts are elided, the tooltip has them whole
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setItemDelegate(PaddedDelegate(10, self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.verticalHeader().setVisible(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(int(self.fontMetrics().height() * 1.9))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_STRATEGY, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)  # the strategy column takes what is left, never below:
        header.setMinimumSectionSize(60)
        # a few words, elided; the whole strategy is in its tooltip and in the pane below, so a
        # small screen (1024 x 640 at 150 %) needs no sideways scrolling to read it
        self.strategy_min_width = self.fontMetrics().horizontalAdvance("x") * 16
        self.details = QLabel()
        self.details.setObjectName("strategyDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        tick_all = QPushButton("Tick all")
        tick_none = QPushButton("Tick none")
        tick_all.clicked.connect(lambda: self.model.set_all_checked(True))
        tick_none.clicked.connect(lambda: self.model.set_all_checked(False))
        hint = QLabel(
            "Double-click a name to rename a segment. Ticked segments are the ones exported as “chosen segments”."
        )
        hint.setWordWrap(True)
        make_hint(hint)

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(tick_all)
        top.addWidget(tick_none)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(hint)
        self.set_content(content)

    def set_result(self, result: AnalysisResult) -> None:
        previous, self._result = self._result, result
        same = (
            previous is not None
            and previous.params.run_settings() == result.params.run_settings()
            and previous.input_sha256 == result.input_sha256
        )
        self.model.set_profiles(result.clusters, keep_ticks=same)
        for column in VALUE_COLS:
            self.table.setColumnHidden(column, result.value is None)
        sil = "–" if result.silhouette != result.silhouette else f"{result.silhouette:.3f}"
        self.summary.setText(
            f"<b>{len(result.clusters)} segments</b> from {result.customer_count:,} customers "
            f"(K = {result.k}, mean silhouette {sil})."
        )
        self.table.resizeColumnsToContents()
        self._fit_strategy()
        self._show_details()
        self.show_content()

    def _show_details(self, *_args: Any) -> None:
        """The current row's segment (the first one before a click) with its whole strategy."""
        current = self.proxy.mapToSource(self.table.currentIndex())
        row = current.row() if current.isValid() else 0
        if not 0 <= row < self.model.rowCount():
            self.details.clear()
            return
        p = self.model.profile(row)
        self.details.setText(
            f"<b>{html.escape(p.name)}</b> ({p.size:,} customers) — suggested strategy: "
            f"{html.escape(p.strategy)}"
        )

    def _fit_strategy(self) -> None:
        """The strategy column fills the table's width but keeps room for a readable phrase;
        below that the table scrolls sideways."""
        header = self.table.horizontalHeader()
        others = sum(
            header.sectionSize(c)
            for c in range(header.count())
            if c != COL_STRATEGY and not header.isSectionHidden(c)
        )
        space = self.table.viewport().width() - others
        header.resizeSection(COL_STRATEGY, max(self.strategy_min_width, space))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self._result is not None:
            self._fit_strategy()

    def selected_cluster_ids(self) -> list[int]:
        """The ticked clusters, in the result's order (for "export chosen segments")."""
        return self.model.checked_ids()

    def set_selected_cluster_ids(self, ids: list[int]) -> None:
        wanted = set(ids)
        for p in self.model.profiles():
            self.model.set_checked(p.id, p.id in wanted)
