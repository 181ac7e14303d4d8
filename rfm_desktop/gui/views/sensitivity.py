"""Sensitivity tab: the analysis again with one choice changed at a time (core.sensitivity), side
by side with the main run: K, silhouette, stability, cluster sizes, and how many customers change
cluster and named segment.

The variants cost several analyses (on the 4,338 customers of the real data about four times
the run), so they run on the button, in the app's worker, with progress and Cancel. The table
is kept on the result (``AnalysisResult.sensitivity``, as ``segment --sensitivity`` does): it
stays while the analyst looks at other tabs or renames segments, exports with the result, and a
new analysis starts without one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.base import ResultView
from rfm_desktop.gui.views.tables import (
    Column,
    NumericSortProxy,
    PaddedDelegate,
    RowTableModel,
    fmt_int,
    fmt_num,
    fmt_pct,
    is_missing,
    make_table_view,
)

ModelIndex = QModelIndex | QPersistentModelIndex
#: True for the main run's row (whatever the sort order)
MAIN_ROLE = Qt.ItemDataRole.UserRole + 2
MAIN_RUN = "main run"


class _Count(int):
    """A count of customers that also knows their share (sorts as the count)."""

    share: float

    def __new__(cls, count: int, share: float) -> _Count:
        made = super().__new__(cls, int(count))
        made.share = share
        return made

    def text(self) -> str:
        return f"{self:,}" + ("" if is_missing(self.share) else f" ({fmt_pct(self.share)})")


def _changing(what: str, key: str) -> Column:
    """A "customers changing …" column: the count, with its share of the shared customers."""
    return Column(
        f"Changing\n{what}",
        lambda r: _Count(r[f"customers_changing_{key}"], r[f"share_changing_{key}"]),
        _Count.text,
        f"Customers in both runs whose {what} differs from the main run's (share of them)"
        + (": clusters are paired by their centroids." if key == "cluster" else "."),
    )


COLUMNS = (
    Column(
        "Variant",
        lambda r: r["variant"],
        str,
        "The main run, or the one setting changed for this line.",
        numeric=False,
    ),
    Column(
        "K",
        lambda r: r["k"],
        fmt_int,
        "Clusters (the main run's K, or the variant's own suggested K when the main run swept K).",
    ),
    Column(
        "Silhouette",
        lambda r: r["silhouette"],
        lambda v: fmt_num(v, 3),
        "Mean silhouette, -1..1: higher means better separated clusters.",
    ),
    Column(
        "Stability\n(ARI)",
        lambda r: r["stability_ari"],
        lambda v: fmt_num(v, 2),
        "Mean adjusted Rand index of refits on half the customers with the full fit, -1..1 "
        "(– when the stability check was off).",
    ),
    Column(
        "Dissolving\nclusters",
        lambda r: r["clusters_dissolving"],
        fmt_int,
        "Clusters with a mean best-match Jaccard below 0.6 over the refits (Hennig 2007).",
    ),
    Column(
        "Cluster sizes",
        lambda r: r["cluster_sizes"],
        str,
        "Customers per cluster, in cluster order.",
        numeric=False,
    ),
    Column("Customers", lambda r: r["customers"], fmt_int, "Customers analysed by the variant."),
)


class _Model(RowTableModel):
    """The variants table; the main run's line is bold and tinted wherever sorting puts it."""

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        main = self.row_object(index.row())["variant"] == MAIN_RUN
        if role == MAIN_ROLE:
            return main
        if main and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if main and role == Qt.ItemDataRole.BackgroundRole:
            tint = QGuiApplication.palette().color(QPalette.ColorRole.Highlight)
            tint.setAlphaF(0.18)
            return tint
        return super().data(index, role)


#: the columns in the order shown
TABLE_COLUMNS = (
    *COLUMNS,
    _changing("cluster", "cluster"),
    _changing("named segment", "segment"),
)

#: the column of the cluster sizes (it takes the width to spare)
SIZES_COLUMN = [c.header for c in TABLE_COLUMNS].index("Cluster sizes")

INTRO = (
    "The analysis again with one choice changed at a time — outliers kept, dropped or in their "
    "own segment; log1p or no transform; standard or robust scaling; the score bins — side by "
    "side with this run (bold). Clusters are paired with this run's by their centroids."
)
READING = (
    "How to read it: a choice the segmentation depends on moves many customers to another "
    "cluster or lowers the stability; if most lines keep K, a similar silhouette and few "
    "changing customers, the segments do not hang on that choice."
)


def _key(result: AnalysisResult) -> tuple[AnalysisParams, str]:
    """What makes two results the same run (a rename is not a new run)."""
    return result.params.run_settings(), result.input_sha256


class SensitivityView(ResultView):
    title = "Sensitivity"
    view_name = "sensitivity"

    #: "Export sensitivity.csv…": the host opens the export dialog on the sensitivity table
    exportRequested = Signal()
    #: the variants ended: "done", "cancelled" or "failed"
    ended = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker: Any = None  # gui.worker.Worker of the running (or last) computation
        self._running_for: tuple[AnalysisParams, str] | None = None
        content = QWidget()
        layout = QVBoxLayout(content)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.run_button = QPushButton("Run sensitivity")
        self.run_button.setToolTip(
            "Run the variants in the background (several times the analysis); you can keep "
            "working meanwhile."
        )
        self.run_button.clicked.connect(self.run_sensitivity)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the variants; the table stays as it was.")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export sensitivity.csv…")
        self.export_button.setToolTip(
            "Write the table as the CSV file `rfm-desktop segment --sensitivity` writes."
        )
        self.export_button.clicked.connect(self.exportRequested)
        self.status = QLabel()
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        row.addWidget(self.status, 1)
        row.addWidget(self.export_button)
        layout.addLayout(row)

        self.model = _Model(TABLE_COLUMNS, self)
        self.proxy = NumericSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = make_table_view()
        self.table.setModel(self.proxy)
        # as tall as its few lines (the reading note right below), as wide as the window: the
        # variant's name and the cluster sizes wrap on a small screen instead of pushing the
        # last columns out of sight, and the sizes take what a wide window has to spare
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.table.setItemDelegate(PaddedDelegate(8, self.table))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, self.fontMetrics().horizontalAdvance("outliers own segment") + 24)
        header.setSectionResizeMode(SIZES_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(True)
        layout.addWidget(self.table)
        self.reading = QLabel(READING)
        self.reading.setWordWrap(True)
        layout.addWidget(self.reading)
        layout.addStretch(1)
        self.set_content(content)
        self._show_running(False)

    # -- state ---------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True while the variants are computed."""
        return self.worker is not None and self.worker.is_running

    def table_frame(self) -> pd.DataFrame | None:
        """The table shown (the result's core.sensitivity table), None before it ran."""
        return self._result.sensitivity if self._result is not None else None

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        self.show_content()
        if self.is_running() and self._running_for != _key(result):
            self.cancel()  # a new analysis: the variants of the old one are of no use
        self._show_table()

    # -- the job -------------------------------------------------------------------------------
    def run_sensitivity(self) -> None:
        """Compute the variants of the current result in the background."""
        result = self._result
        if result is None or self.is_running():
            return
        from rfm_desktop.core import sensitivity
        from rfm_desktop.gui import worker

        self._running_for = _key(result)
        self.bar.setValue(0)
        self.status.setText("Reading the file again…")
        self._show_running(True)
        self.worker = worker.start_worker(
            lambda task: sensitivity.compare_again(result, task.progress, task.cancelled),
            name="sensitivity",
            on_progress=self._progress,
            on_finished=self._finished,
            on_errored=self._failed,
            on_aborted=self._aborted,
            on_done=lambda: self._show_running(False),
            owner=self,
        )

    def cancel(self) -> None:
        """Stop the variants (the table stays as it was)."""
        if self.worker is not None:
            self.worker.cancel()

    def _progress(self, fraction: float, step: str) -> None:
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(step)

    def _finished(self, table: pd.DataFrame) -> None:
        result = self._result
        if result is None or _key(result) != self._running_for:
            return  # pragma: no cover - set_result cancels the job of another run
        result.sensitivity = table  # kept with the result: exports and the run record have it
        self._show_table()
        self.ended.emit("done")

    def _failed(self, exc: BaseException) -> None:
        from rfm_desktop.gui import dialogs

        self.status.setText("The sensitivity stopped: " + dialogs.error_texts(exc)[0])
        self.ended.emit("failed")
        dialogs.show_error(self.window(), exc)

    def _aborted(self) -> None:
        self._show_table()
        self.status.setText("Cancelled; " + self.status.text()[:1].lower() + self.status.text()[1:])
        self.ended.emit("cancelled")

    # -- drawing -------------------------------------------------------------------------------
    def _show_running(self, running: bool) -> None:
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.run_button.setEnabled(not running and self._result is not None)
        self.export_button.setEnabled(not running and self.table_frame() is not None)

    def _show_table(self) -> None:
        table = self.table_frame()
        self.model.set_rows([] if table is None else table.to_dict("records"))
        self.proxy.sort(-1)  # the engine's order (main run first) until a header is clicked
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setVisible(table is not None)
        self.reading.setVisible(table is not None)
        if table is None and self._result is not None:
            from rfm_desktop.core import sensitivity

            variants = len(sensitivity.variants(self._result.params))
            self.status.setText(
                f"Not run yet for this analysis: {variants} variants, each about as long as the "
                f"analysis ({self._result.seconds:.1f} s here); they run in the background."
            )
        elif table is not None:
            variants = len(table) - 1
            self.status.setText(f"{variants} variants of this analysis, each with one change.")
        self._show_running(self.is_running())
