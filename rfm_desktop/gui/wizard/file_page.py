"""Step 1: the chosen file, its sheet, and reading it in the background."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton

from rfm_desktop.core.errors import MappingError
from rfm_desktop.gui.busy import BusyBar
from rfm_desktop.gui.texts import tip
from rfm_desktop.gui.wizard.loading import LoadOutcome, load_file
from rfm_desktop.gui.wizard.page import WizardPage


def _fmt_size(path: str) -> str:
    try:
        size = Path(path).stat().st_size
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
        self.sheet_combo = QComboBox()
        self.sheet_combo.setToolTip(tip("sheet"))
        self.sheet_combo.setMinimumContentsLength(24)
        self.sheet_combo.activated.connect(self._sheet_chosen)
        self.sheet_label = QLabel("Sheet:")
        self.status = QLabel()
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path_label, 1)
        row.addWidget(self.choose_button)
        form = QFormLayout()
        form.addRow("File:", row)
        form.addRow(self.sheet_label, self.sheet_combo)
        form.addRow("", self.status)
        self.progress = BusyBar(cancel_tip=tip("cancel_load"))
        form.addRow("", self.progress)
        self.body.addLayout(form)
        self.body.addStretch(1)
        self._loading = False
        self._show_sheets([], None)

    def is_complete(self) -> bool:
        """All rows read, or at least the first rows (then the Columns page fixes the mapping)."""
        return self.state.preview is not None and not self._loading

    def enter(self) -> None:
        self._refresh()

    # -- loading -----------------------------------------------------------------------------
    def load(self, path: str, sheet: str | None = None, mapping: dict[str, str] | None = None) -> None:
        """Read ``path`` (sheet list, 200-row preview, all rows) in the background."""
        self.cancel_jobs()
        self._loading = True
        self.path_label.setText(f"<b>{Path(path).name}</b><br>{Path(path).parent}")
        self.status.setText("Reading the file…")
        self.completeChanged.emit()
        worker = self.run_job(
            lambda task: load_file(path, sheet, mapping, task),
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
        state.set_file(outcome.path, outcome.sheets, outcome.sheet, outcome.preview)
        if outcome.transactions is not None:
            state.set_transactions(outcome.transactions)
        else:
            state.mapping = dict(outcome.auto_mapping)
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
        self.status.setText("Reading the file was cancelled." if self.state.transactions is None else self.status.text())
        self.completeChanged.emit()
        self.loadFailed.emit()

    def _sheet_chosen(self, index: int) -> None:
        sheet = self.sheet_combo.itemText(index)
        if self.state.path and sheet != self.state.sheet:
            self.load(self.state.path, sheet)

    # -- display -----------------------------------------------------------------------------
    def _show_sheets(self, sheets: list[str], current: str | None) -> None:
        self.sheet_combo.clear()
        self.sheet_combo.addItems(sheets)
        if current in sheets:
            self.sheet_combo.setCurrentText(current)
        visible = len(sheets) > 0
        self.sheet_combo.setVisible(visible)
        self.sheet_label.setVisible(visible)
        self.sheet_combo.setEnabled(len(sheets) > 1)

    def _refresh(self) -> None:
        state = self.state
        if state.path is None:
            self.path_label.setText("No file chosen yet.")
            self._show_sheets([], None)
            return
        p = Path(state.path)
        size = _fmt_size(state.path)
        self.path_label.setText(f"<b>{p.name}</b>{'  (' + size + ')' if size else ''}<br>{p.parent}")
        self._show_sheets(state.sheets, state.sheet)
        t = state.transactions
        if t is not None:
            columns = len(state.preview.columns) if state.preview is not None else 0
            dates = t.frame["invoice_date"]
            first, last = dates.min(), dates.max()
            span = f", from {first:%d %b %Y} to {last:%d %b %Y}" if first == first and last == last else ""
            where = f" of sheet '{state.sheet}'" if state.sheet else ""
            self.status.setText(
                f"✔ {t.rows_read:,} rows and {columns} columns read{where}{span}. "
                f"Dates read as {t.date_format}.<br>Next: check which column holds what."
            )
        elif state.preview is not None:
            where = f"The sheet '{state.sheet}'" if state.sheet else "The file"
            other = " Choose another sheet above, or" if len(state.sheets) > 1 else ""
            self.status.setText(
                f"⚠ {where} was read, but some required columns could not be found.{other} "
                "Next: choose the columns on the Columns page."
            )


__all__ = ["FilePage", "MappingError"]
