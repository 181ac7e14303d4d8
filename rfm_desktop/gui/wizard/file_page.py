"""Step 1: the chosen file, its sheets and header row, and reading it in the background."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
)

from rfm_desktop.core.errors import MappingError
from rfm_desktop.core.params import DateOrder, SheetChoice
from rfm_desktop.gui.busy import BusyBar
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.texts import tip, warnings_html
from rfm_desktop.gui.wizard.loading import LoadOutcome, load_file
from rfm_desktop.gui.wizard.page import WizardPage

AUTOMATIC = "automatic"
_MAX_SHEET_ROWS = 5  # the sheet list grows to this many rows, then scrolls


def _fmt_size(path: str) -> str:
    try:
        size: float = Path(path).stat().st_size
    except OSError:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


class FilePage(WizardPage):
    title = "1. File"
    subtitle = "The transactions export to analyse: one row per product line of an invoice."

    chooseRequested = Signal()
    #: (outcome) a file finished loading; the wizard decides where to go
    loaded = Signal(object)
    #: loading failed or was cancelled before anything was loaded
    loadFailed = Signal()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.path_label = QLabel("No file chosen yet.")
        self.path_label.setWordWrap(True)
        self.choose_button = QPushButton("Choose another file…")
        self.choose_button.setToolTip(tip("open") + " (Ctrl+O)")
        self.choose_button.clicked.connect(self.chooseRequested)
        self.sheet_list = QListWidget()
        self.sheet_list.setObjectName("sheetList")
        self.sheet_list.setToolTip(tip("sheet"))
        self.sheet_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.sheet_list.itemChanged.connect(self._sheet_ticked)
        self.sheet_list.setMaximumWidth(max(360, self.fontMetrics().horizontalAdvance("x") * 48))
        self.sheet_label = QLabel("Sheets:")
        self.sheet_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.header_spin = QSpinBox()
        self.header_spin.setRange(0, 100_000)
        self.header_spin.setSpecialValueText(AUTOMATIC)
        self.header_spin.setToolTip(tip("header_row"))
        self.header_spin.setKeyboardTracking(False)  # one reload per value, not per keystroke
        self.header_spin.setMinimumWidth(self.fontMetrics().horizontalAdvance(AUTOMATIC) + 50)
        self.header_spin.valueChanged.connect(self._header_row_chosen)
        self.header_note = QLabel()
        make_hint(self.header_note)
        header_row = QHBoxLayout()
        header_row.addWidget(self.header_spin)
        header_row.addWidget(self.header_note, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.addWidget(self.path_label, 1)
        row.addWidget(self.choose_button)
        form = QFormLayout()
        form.addRow("File:", row)
        form.addRow(self.sheet_label, self.sheet_list)
        form.addRow("Header row:", header_row)
        form.addRow("", self.status)
        self.progress = BusyBar(cancel_tip=tip("cancel_load"))
        form.addRow("", self.progress)
        self.body.addLayout(form)
        self.body.addStretch(1)
        self._loading = False
        self._show_sheets([], (), ())

    def is_complete(self) -> bool:
        """All rows read, or at least the first rows (then the Columns page fixes the mapping)."""
        return self.state.preview is not None and not self._loading

    def enter(self) -> None:
        self._refresh()

    # -- loading -----------------------------------------------------------------------------
    def load(
        self,
        path: str,
        sheet: SheetChoice = None,
        mapping: dict[str, str] | None = None,
        *,
        header_row: int | None = None,
        date_order: DateOrder | None = None,
    ) -> None:
        """Read ``path`` (sheets, 200-row preview, all rows) in the background."""
        self.cancel_jobs()
        self._loading = True
        self.path_label.setText(f"<b>{Path(path).name}</b><br>{Path(path).parent}")
        self.status.setText("Reading the file…")
        self.completeChanged.emit()
        worker = self.run_job(
            lambda task: load_file(
                path, sheet, mapping, task, header_row=header_row, date_order=date_order
            ),
            f"Reading {Path(path).name}…",
            on_finished=self._on_loaded,
            on_errored=self._on_failed,
            on_aborted=self._on_aborted,
            show_busy=False,
            name="load",
        )
        self.progress.track(worker, f"Reading {Path(path).name}…")

    def _on_loaded(self, outcome: LoadOutcome) -> None:
        self._loading = False
        state = self.state
        state.set_file(
            outcome.path,
            outcome.sheets,
            outcome.chosen,
            outcome.preview,
            sheet=outcome.requested_sheet,
            default=outcome.default,
            skipped=outcome.skipped,
            header_row=outcome.header_row,
            date_order=outcome.date_order,
            # without rows read, the guesses to start the Columns page from
            mapping=outcome.auto_mapping if outcome.transactions is None else None,
        )
        if outcome.transactions is not None:
            state.set_transactions(outcome.transactions, date_order=outcome.date_order)
        self._refresh()
        self.completeChanged.emit()
        self.loaded.emit(outcome)
        if outcome.error is not None:
            self.show_error(outcome.error)

    def _on_failed(self, exc: BaseException) -> None:
        self._loading = False
        self._refresh()
        self.completeChanged.emit()
        self.loadFailed.emit()
        self.show_error(exc)

    def _on_aborted(self) -> None:
        self._loading = False
        self._refresh()
        self.status.setText(
            "Reading the file was cancelled."
            if self.state.transactions is None
            else self.status.text()
        )
        self.completeChanged.emit()
        self.loadFailed.emit()

    def ticked_sheets(self) -> tuple[str, ...]:
        items = (self.sheet_list.item(i) for i in range(self.sheet_list.count()))
        return tuple(item.text() for item in items if item.checkState() == Qt.CheckState.Checked)

    def set_sheet_ticked(self, name: str, ticked: bool) -> None:
        """Tick or untick a sheet (as a click on its box does)."""
        for i in range(self.sheet_list.count()):
            item = self.sheet_list.item(i)
            if item.text() == name:
                item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def _sheet_ticked(self, item: QListWidgetItem) -> None:
        if self.state.syncing or not self.state.path:
            return
        ticked = self.ticked_sheets()
        if not ticked:  # at least one sheet: undo the untick
            with self.state.sync():
                item.setCheckState(Qt.CheckState.Checked)
            return
        if ticked != self.state.chosen_sheets:
            default = self.state.default_sheets
            choice = None if ticked == default else (ticked[0] if len(ticked) == 1 else ticked)
            self.load(
                self.state.path,
                choice,
                header_row=self.state.header_row,
                date_order=self.state.date_order,
            )

    def _header_row_chosen(self, value: int) -> None:
        if self.state.syncing or not self.state.path:
            return
        row = value or None
        if row != self.state.header_row:
            self.load(
                self.state.path, self.state.sheet, header_row=row, date_order=self.state.date_order
            )

    # -- display -----------------------------------------------------------------------------
    def _show_sheets(
        self, sheets: list[str], chosen: tuple[str, ...], default: tuple[str, ...]
    ) -> None:
        with self.state.sync():  # showing the sheets read is not a new choice
            self.sheet_list.clear()
            for name in sheets:
                item = QListWidgetItem(name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked
                )
                if name not in default:
                    why = self.state.skipped_sheets.get(name, "its columns do not map")
                    item.setToolTip(f"Not read unless ticked: {why}.")
                self.sheet_list.addItem(item)
        visible = len(sheets) > 0
        self.sheet_list.setVisible(visible)
        self.sheet_label.setVisible(visible)
        self.sheet_list.setEnabled(len(sheets) > 1)
        rows = min(max(len(sheets), 1), _MAX_SHEET_ROWS)
        self.sheet_list.setFixedHeight(
            rows * self.sheet_list.sizeHintForRow(0) + 2 * self.sheet_list.frameWidth()
            if sheets
            else 0
        )

    def _show_header_row(self) -> None:
        state = self.state
        with state.sync():
            self.header_spin.setValue(state.header_row or 0)
        t = state.transactions
        found = t.header_row if t is not None and state.header_row is None else 0
        self.header_note.setText(f"found on row {found}" if found > 1 else "")

    def _refresh(self) -> None:
        state = self.state
        self.header_spin.setEnabled(
            state.path is not None and not state.path.lower().endswith(".parquet")
        )
        if state.path is None:
            self.path_label.setText("No file chosen yet.")
            self._show_sheets([], (), ())
            return
        p = Path(state.path)
        size = _fmt_size(state.path)
        self.path_label.setText(
            f"<b>{p.name}</b>{'  (' + size + ')' if size else ''}<br>{p.parent}"
        )
        self._show_sheets(state.sheets, state.chosen_sheets, state.default_sheets)
        self._show_header_row()
        t = state.transactions
        chosen = state.chosen_sheets
        if t is not None:
            columns = len(state.preview.columns) if state.preview is not None else 0
            dates = t.frame["invoice_date"]
            first, last = dates.min(), dates.max()
            span = (
                f", from {first:%d %b %Y} to {last:%d %b %Y}"
                if first == first and last == last
                else ""
            )
            where = ""
            if len(t.sheets) == 1 and len(state.sheets) > 1:
                where = f" of sheet '{t.sheets[0]}'"
            elif len(t.sheets) > 1:
                where = f" of {len(t.sheets)} sheets, stacked"
            warnings = warnings_html(t.warnings)
            self.status.setText(
                f"✔ {t.rows_read:,} rows and {columns} columns read{where}{span}. "
                f"Dates read as {t.date_format}.<br>{warnings + '<br>' if warnings else ''}"
                "Next: check which column holds what."
            )
        elif state.preview is not None:
            where = f"The sheet '{chosen[0]}'" if len(chosen) == 1 else "The file"
            other = " Tick other sheets above, or" if len(state.sheets) > 1 else ""
            self.status.setText(
                f"⚠ {where} was read, but some required columns could not be found.{other} "
                "Next: choose the columns on the Columns page."
            )


__all__ = ["FilePage", "MappingError"]
