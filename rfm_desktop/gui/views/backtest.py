"""Backtest tab: do the segments predict anything? (core.backtest, ``rfm-desktop backtest``)

The analysis is made again on the data before an as-of date (on the worker) and each named
segment and cluster is measured over the next N days: the table of backtest.csv, and bars of
the share who bought again with their lift against all customers. The export writes the CLI's
files (core.backtest.write_backtest: backtest.csv, backtest_customers.csv, run.json).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.backtest import HORIZON_MAX_DAYS, Backtest, run_backtest, write_backtest
from rfm_desktop.core.palette import OTHERS_COLOR, segment_color
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui import dialogs, settings, worker
from rfm_desktop.gui.views.base import ResultView, foreground, style_graphics_view, style_plot
from rfm_desktop.gui.views.tables import (
    Column,
    NumericSortProxy,
    RowTableModel,
    fmt_int,
    fmt_num,
    fmt_pct,
    make_table_view,
)

DEFAULT_HORIZON_DAYS = 90
INTRO = (
    "Do the segments predict anything? The analysis is made again with only the transactions "
    "before the as-of date, and each group is measured over the days after it: who bought again, "
    "how much, and the lift (the group's share who bought again over that of all customers)."
)
TABLE_COLUMNS = (
    Column("Group", lambda r: r["segment"], str, "Named RFM segment or cluster.", numeric=False),
    Column(
        "Customers", lambda r: r["customers"], fmt_int, "Customers in the group on the as-of date."
    ),
    Column(
        "Bought again",
        lambda r: r["bought_again_share"],
        fmt_pct,
        "Share of the group's customers who bought in the horizon.",
    ),
    Column(
        "Lift",
        lambda r: r["lift"],
        lambda v: fmt_num(v, 2),
        "Bought again ÷ bought again of all customers: above 1, the group buys again more often.",
    ),
    Column(
        "Orders /\ncustomer",
        lambda r: r["orders_per_customer"],
        lambda v: fmt_num(v, 2),
        "Orders (distinct invoices) in the horizon per customer of the group.",
    ),
    Column(
        "Spend /\ncustomer",
        lambda r: r["spend_per_customer"],
        lambda v: fmt_num(v, 2),
        "Spend in the horizon per customer of the group (the file's currency).",
    ),
    Column(
        "Revenue\nshare",
        lambda r: r["revenue_share"],
        fmt_pct,
        "The group's part of all analysed customers' spend in the horizon.",
    ),
)


class BacktestView(ResultView):
    title = "Backtest"
    view_name = "backtest"

    #: the files an export wrote
    exported = Signal(list)
    #: a backtest finished and is shown
    backtestShown = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backtest: Backtest | None = None
        self.backtest_result: AnalysisResult | None = None  # the analysis before the as-of date
        self._job: worker.Worker | None = None
        self._export_job: worker.Worker | None = None
        self._date_for: str | None = None  # the input file the as-of date was set for
        self._settings: object = None  # the run settings the backtest shown was made with
        content = QWidget()
        layout = QVBoxLayout(content)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)

        controls = QHBoxLayout()
        self.as_of_edit = QDateEdit()
        self.as_of_edit.setCalendarPopup(True)
        self.as_of_edit.setDisplayFormat("yyyy-MM-dd")
        self.as_of_edit.setToolTip(
            "Segments are made from the transactions before this day (the snapshot is this day)."
        )
        self.horizon_spin = QSpinBox()
        self.horizon_spin.setRange(1, HORIZON_MAX_DAYS)
        self.horizon_spin.setValue(DEFAULT_HORIZON_DAYS)
        self.horizon_spin.setSuffix(" days")
        self.horizon_spin.setToolTip(
            "How long after the as-of date purchases are counted; shortened (with a warning) when "
            "the data end sooner."
        )
        self.run_button = QPushButton("Run backtest")
        self.run_button.setToolTip("Runs in the background; the window stays usable.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.export_button = QPushButton("Export backtest…")
        self.export_button.setToolTip(
            "Write backtest.csv, backtest_customers.csv and run.json into a folder, as "
            "`rfm-desktop backtest` does."
        )
        self.export_button.setEnabled(False)
        for widget in (QLabel("As of"), self.as_of_edit, QLabel("Horizon"), self.horizon_spin):
            controls.addWidget(widget)
        controls.addWidget(self.run_button)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.progress, 1)
        controls.addStretch(0)
        controls.addWidget(self.export_button)
        layout.addLayout(controls)

        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warning_label.setVisible(False)
        self.warning_label.setStyleSheet("color: #B35900;")
        layout.addWidget(self.warning_label)
        self.note = QLabel("Choose the as-of date and the horizon, then run the backtest.")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note)

        switch = QHBoxLayout()
        self.groups_label = QLabel("Groups:")
        switch.addWidget(self.groups_label)
        self.rfm_radio = QRadioButton("Named RFM segments")
        self.cluster_radio = QRadioButton("Clusters")
        self.rfm_radio.setChecked(True)
        self.switch = QButtonGroup(self)
        for radio in (self.rfm_radio, self.cluster_radio):
            self.switch.addButton(radio)
            switch.addWidget(radio)
        switch.addStretch(1)
        layout.addLayout(switch)

        self.model = RowTableModel(TABLE_COLUMNS, self)
        proxy = NumericSortProxy(self)
        proxy.setSourceModel(self.model)
        self.table = make_table_view()
        self.table.setModel(proxy)
        # backtest.csv's order (all customers, best segment first) until a header is clicked
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setMinimumSize(420, 120)
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumSize(420, 260)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.plot_widget)
        self.splitter.setChildrenCollapsible(False)
        # the content's height for the window's width sums preferred heights (the labels wrap),
        # and the plot's is tall: the charts take the room left, so the tab does not scroll
        self.splitter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.splitter, 1)
        layout.addStretch(0)  # takes the room while the charts are hidden
        self.set_content(content)

        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self.export_dialog)
        self.switch.buttonClicked.connect(lambda _b: self._draw())

    # -- state ---------------------------------------------------------------------------
    def grouping(self) -> str:
        """ "rfm_segment" or "cluster": the groups the table and the bars show."""
        return "cluster" if self.cluster_radio.isChecked() else "rfm_segment"

    def set_grouping(self, grouping: str) -> None:
        if grouping not in ("rfm_segment", "cluster"):
            raise ValueError(f"Show 'rfm_segment' or 'cluster', not '{grouping}'.")
        (self.cluster_radio if grouping == "cluster" else self.rfm_radio).setChecked(True)
        self._draw()

    def as_of(self) -> str:
        return self.as_of_edit.date().toString("yyyy-MM-dd")

    def set_inputs(self, as_of: str, horizon_days: int) -> None:
        self.as_of_edit.setDate(QDate.fromString(as_of, "yyyy-MM-dd"))
        self.horizon_spin.setValue(horizon_days)

    def is_running(self) -> bool:
        return self._job is not None and self._job.is_running

    def shown_rows(self) -> pd.DataFrame:
        """The rows of backtest.csv shown: all customers, then the chosen grouping's groups."""
        if self.backtest is None:
            return pd.DataFrame()
        table = self.backtest.table
        return table[table["grouping"].isin(["all", self.grouping()])].reset_index(drop=True)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        self.show_content()
        path = result.params.input_path
        if self._date_for != path:  # a new file: a date in its data, the last quarter by default
            self._date_for = path
            start = result.snapshot_date - dt.timedelta(days=DEFAULT_HORIZON_DAYS)
            self.as_of_edit.setDate(QDate(start.year, start.month, start.day))
        if self.backtest is None:
            self._draw()
        if self.backtest is not None and self._settings != result.params.run_settings():
            self._forget()  # made with other settings (or another file): not this analysis's

    def _forget(self) -> None:
        self.backtest, self.backtest_result = None, None
        self.export_button.setEnabled(False)
        self.warning_label.setVisible(False)
        self.note.setText("Choose the as-of date and the horizon, then run the backtest.")
        self._draw()

    # -- running ---------------------------------------------------------------------------
    def run(self) -> None:
        """Run the backtest of the shown result's settings at the chosen date, on the worker."""
        result = self._result
        if result is None or self.is_running():
            return
        # as `rfm-desktop backtest`: no customer lifetime value (it measures the segments, and a
        # CLV fit that fails on the shorter history would stop it)
        params = result.params.replace(
            as_of=self.as_of(),
            snapshot_date=None,
            clv=dataclasses.replace(result.params.clv, enabled=False),
        )
        self._settings = result.params.run_settings()
        days = self.horizon_spin.value()
        self._running(True)
        self._job = worker.start_worker(
            lambda task: run_backtest(params, days, task.progress, task.cancelled),
            name="backtest",
            on_progress=self._progress,
            on_finished=self._finished,
            on_errored=self._failed,
            on_done=lambda: self._running(False),
            owner=self,
        )

    def _progress(self, fraction: float, step: str) -> None:
        self.progress.setValue(int(100 * fraction))
        self.progress.setFormat(f"{step} %p%")

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.progress.setValue(0)

    def _failed(self, exc: BaseException) -> None:
        dialogs.show_error(self.window(), exc)

    def _finished(self, outcome: tuple[AnalysisResult, Backtest]) -> None:
        if self._result is not None and self._settings != self._result.params.run_settings():
            return  # another analysis came while it ran: its settings were not tested
        self.show_backtest(*outcome)

    def show_backtest(self, result: AnalysisResult, backtest: Backtest) -> None:
        """Show a finished backtest (``result``: the analysis before the as-of date)."""
        self.backtest_result, self.backtest = result, backtest
        self.export_button.setEnabled(True)
        warnings = [w.text for w in backtest.warnings]
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        everyone = backtest.table.iloc[0]
        self.note.setText(
            f"{int(everyone['customers']):,} customers segmented on the data before "
            f"{backtest.as_of.date()}, measured over {backtest.horizon_days} days (until "
            f"{(backtest.horizon_end - pd.Timedelta(days=1)).date()}): "
            f"{everyone['bought_again_share']:.1%} of them bought again, "
            f"{everyone['spend_per_customer']:,.2f} spent per customer. K = {result.k}; "
            "customers who first bought after the date are in no group."
        )
        self._draw()
        self.backtestShown.emit(backtest)

    # -- drawing ---------------------------------------------------------------------------
    def _colors(self, names: list[str]) -> list[str]:
        if self.grouping() == "rfm_segment":
            return [segment_color(n) for n in names]
        clusters = (
            {c.name: c.color for c in self.backtest_result.clusters} if self.backtest_result else {}
        )
        return [clusters.get(n, OTHERS_COLOR) for n in names]

    def _draw(self) -> None:
        shown = self.backtest is not None  # the table and the bars only once there is a backtest
        for widget in (self.splitter, self.rfm_radio, self.cluster_radio, self.groups_label):
            widget.setVisible(shown)
        rows = self.shown_rows()
        self.model.set_rows(rows.to_dict("records"))
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        self._fit_table()
        plot = self.plot_widget.getPlotItem()
        plot.clear()
        style_graphics_view(self.plot_widget, self)
        style_plot(plot, self, title="Bought again in the horizon (lift against all customers)")
        groups = rows[rows["grouping"] != "all"] if not rows.empty else rows
        if groups.empty:
            plot.getAxis("left").setTicks([[]])
            return
        fg = foreground(self)
        names = [str(n) for n in groups["segment"]]
        shares = groups["bought_again_share"].to_numpy(dtype=float) * 100
        lifts = groups["lift"].to_numpy(dtype=float)
        ys = np.arange(len(names))[::-1].astype(float)  # the first group on top
        plot.addItem(
            pg.BarGraphItem(
                x0=0,
                y=ys,
                height=0.65,
                width=shares,
                brushes=[pg.mkBrush(c) for c in self._colors(names)],
                pen=pg.mkPen(fg, width=0.5),
            )
        )
        for y, share, lift in zip(ys, shares, lifts, strict=True):
            label = pg.TextItem(f" {share:.1f}%  ×{lift:.2f}", color=fg, anchor=(0, 0.5))
            label.setPos(float(share), float(y))
            plot.addItem(label)
        overall = float(rows.iloc[0]["bought_again_share"]) * 100
        plot.addItem(
            pg.InfiniteLine(
                overall,
                angle=90,
                pen=pg.mkPen(fg, style=Qt.PenStyle.DashLine),
                label=f"all customers {overall:.1f}%",
                labelOpts={"position": 0.99, "color": fg, "anchors": [(0, 0), (0, 0)]},
            )
        )
        plot.getAxis("left").setTicks([[(float(y), n) for y, n in zip(ys, names, strict=True)]])
        plot.setLabel("bottom", "% of the group's customers who bought again")
        plot.setXRange(0, max(float(shares.max()), overall) * 1.3 + 1, padding=0)
        plot.setYRange(-0.6, len(names) + 0.2, padding=0)  # room above for the line's label
        plot.setMouseEnabled(x=False, y=False)

    def _fit_table(self) -> None:
        """The table as tall as its rows (it has a dozen at most), the bars below it the rest."""
        table = self.table
        height = (
            table.horizontalHeader().height()
            + sum(table.rowHeight(i) for i in range(self.model.rowCount()))
            + 2 * table.frameWidth()
            + table.horizontalScrollBar().sizeHint().height()
        )
        total = self.splitter.height()
        height = max(table.minimumHeight(), min(height, total - self.plot_widget.minimumHeight()))
        self.splitter.setSizes([height, total - height])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_table()

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.backtest is None:
            return
        folder = dialogs.ask_directory(
            self.window(), "Export the backtest into a folder", settings.last_folder("export")
        )
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str | Path) -> None:
        """Write the CLI's backtest files into ``folder`` on the worker."""
        result, backtest = self.backtest_result, self.backtest
        if result is None or backtest is None:
            return
        self._export_job = worker.start_worker(
            lambda _task: write_backtest(folder, result, backtest),
            name="backtest-export",
            on_finished=self._exported,
            on_errored=self._failed,
            owner=self,
        )

    def _exported(self, paths: list[Path]) -> None:
        if paths:
            settings.set_last_folder(paths[0].parent, "export")
            self.note.setText(
                self.note.text().split("\nWrote ")[0]
                + f"\nWrote {', '.join(p.name for p in paths)} in {paths[0].parent}."
            )
        self.exported.emit(paths)
