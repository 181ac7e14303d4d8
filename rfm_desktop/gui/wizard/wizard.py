"""The five steps with Back / Next; pages share one WizardState, so going back keeps every choice."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.errors import RFMError
from rfm_desktop.core.params import AnalysisParams, DateOrder, SheetChoice
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.busy import BusyBar
from rfm_desktop.gui.texts import FILE_FILTERS
from rfm_desktop.gui.wizard.cleaning_page import CleaningPage
from rfm_desktop.gui.wizard.clustering_page import ClusteringPage
from rfm_desktop.gui.wizard.columns_page import ColumnsPage
from rfm_desktop.gui.wizard.file_page import FilePage
from rfm_desktop.gui.wizard.loading import LoadOutcome
from rfm_desktop.gui.wizard.page import WizardPage
from rfm_desktop.gui.wizard.run_page import RunPage
from rfm_desktop.gui.wizard.state import WizardState

FILE, COLUMNS, CLEANING, CLUSTERING, RUN = range(5)


class AnalysisWizard(QWidget):
    resultReady = Signal(object)
    fileOpening = Signal(str)  # path: reading it starts
    fileLoaded = Signal(str)  # path
    loadFailed = Signal()
    pageChanged = Signal(int)
    resultsRequested = Signal()  # back to the last results without running again
    scoringRequested = Signal()  # the Clustering page's "Scores and segment rules…"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = WizardState(self)
        self.busy = BusyBar(cancel_tip="Stop this job; your choices stay as they are.")
        self.file_page = FilePage(self.state, self.busy)
        self.columns_page = ColumnsPage(self.state, self.busy)
        self.cleaning_page = CleaningPage(self.state, self.busy)
        self.clustering_page = ClusteringPage(self.state, self.busy)
        self.run_page = RunPage(self.state, self.busy)
        self.run_page.known_sweep = self.clustering_page.sweep_for  # Run reuses "Evaluate K"
        self.pages: list[WizardPage] = [
            self.file_page,
            self.columns_page,
            self.cleaning_page,
            self.clustering_page,
            self.run_page,
        ]
        self.stack = QStackedWidget()
        self.steps = QListWidget()
        self.steps.setObjectName("wizardSteps")
        for page in self.pages:
            self.stack.addWidget(page)
            item = QListWidgetItem(page.title)
            item.setSizeHint(QSize(0, self.fontMetrics().height() * 2))
            self.steps.addItem(item)
            page.completeChanged.connect(self._update_buttons)
        self.steps.setFixedWidth(
            max(150, self.fontMetrics().horizontalAdvance("4. Clustering") + 60)
        )
        self.steps.currentRowChanged.connect(self._step_clicked)

        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("The previous step; your choices are kept.")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("The next step.")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        footer = QHBoxLayout()
        footer.addWidget(self.busy, 1)
        footer.addStretch(0)
        footer.addWidget(self.back_button)
        footer.addWidget(self.next_button)
        self.results_button = QPushButton("Back to results ▶")
        self.results_button.setToolTip(
            "The results of the last run, without running again (Ctrl+2)."
        )
        self.results_button.clicked.connect(self.resultsRequested)
        self.results_button.setVisible(False)
        footer.addWidget(self.results_button)

        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addLayout(footer)
        layout = QHBoxLayout(self)
        layout.addWidget(self.steps)
        layout.addLayout(right, 1)

        #: what follows the reading of the file being opened: (saved params to apply or None, run)
        self._once_read: tuple[AnalysisParams | None, bool] = (None, False)
        self.file_page.loaded.connect(self._file_loaded)
        self.file_page.loadFailed.connect(self._load_failed)
        self.run_page.resultReady.connect(self.resultReady)
        self.clustering_page.scoringRequested.connect(self.scoringRequested)
        self.run_page.runStarted.connect(self._update_buttons)
        self.run_page.runEnded.connect(self._update_buttons)
        self._go(FILE)

    # -- navigation ------------------------------------------------------------------------
    @property
    def current_index(self) -> int:
        return self.stack.currentIndex()

    @property
    def current_page(self) -> WizardPage:
        return self.pages[self.current_index]

    def reachable(self, index: int) -> bool:
        """Every earlier page is done (and past the Columns page, all rows are read)."""
        if index > COLUMNS and self.state.needs_reload:
            return False
        return all(self.pages[i].is_complete() for i in range(index))

    def go_to(self, index: int) -> bool:
        if index == self.current_index:
            return True
        if not self.reachable(index) or self.run_page.is_running():
            return False
        self._go(index)
        return True

    def _go(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.pages[index].enter()
        self.steps.blockSignals(True)
        self.steps.setCurrentRow(index)
        self.steps.blockSignals(False)
        self._update_buttons()
        self.pageChanged.emit(index)

    def next(self) -> None:
        index = self.current_index
        if index >= RUN or not self.current_page.is_complete():
            return
        self.current_page.before_next(
            lambda: self._go(index + 1) if self.current_index == index else None
        )

    def back(self) -> None:
        if self.current_index > 0 and not self.run_page.is_running():
            self._go(self.current_index - 1)

    def _step_clicked(self, row: int) -> None:
        if row < 0 or not self.go_to(row):
            self.steps.blockSignals(True)
            self.steps.setCurrentRow(self.current_index)
            self.steps.blockSignals(False)

    def _update_buttons(self) -> None:
        index = self.current_index
        running = self.run_page.is_running()
        self.back_button.setEnabled(index > 0 and not running)
        self.next_button.setVisible(index < RUN)
        self.next_button.setEnabled(index < RUN and self.current_page.is_complete() and not running)
        for i in range(self.steps.count()):
            item = self.steps.item(i)
            enabled = i == index or (self.reachable(i) and not running)
            flags = item.flags()
            item.setFlags(
                flags | Qt.ItemFlag.ItemIsEnabled if enabled else flags & ~Qt.ItemFlag.ItemIsEnabled
            )

    # -- file --------------------------------------------------------------------------------
    def open_file(
        self,
        path: str,
        sheet: SheetChoice = None,
        mapping: dict[str, str] | None = None,
        *,
        header_row: int | None = None,
        date_order: DateOrder | None = None,
        apply: AnalysisParams | None = None,
        run: bool = False,
    ) -> None:
        """Read ``path`` in the background (sheets, preview, all rows).

        ``apply``: the params of a saved analysis, applied through the state once all rows are
        read; then the analysis runs (so it does with ``run``, e.g. ``rfm-desktop --demo``).
        """
        self.cancel_jobs()  # before the new plan: a cancelled load forgets the old one
        self._go(FILE)
        self._once_read = (apply, run or apply is not None)
        self.fileOpening.emit(path)
        self.file_page.load(path, sheet, mapping, header_row=header_row, date_order=date_order)

    def open_analysis(self, path: str) -> bool:
        """Open a saved analysis: read its data file (once the analyst agrees) with the
        analysis's sheet, mapping, header row and date order, apply its params, run.

        Nothing touches that data path before the analyst's click (not even an existence check:
        on Windows one on a network path contacts the host). False when the analysis file is
        broken or the analyst cancelled.
        """
        from rfm_desktop.core.analysis_file import is_network_path, load_analysis

        parent = self.window()
        try:
            params = load_analysis(path)
        except RFMError as exc:  # unreadable, not JSON, not a saved analysis, bad values
            dialogs.show_error(parent, exc)
            return False
        data_path = params.input_path
        answer = dialogs.confirm_data_file(
            parent, Path(path).name, data_path, is_network_path(data_path)
        )
        if answer is None:
            return False
        if answer == "read" and not Path(data_path).exists():
            dialogs.show_info(
                parent,
                "Where is the data file?",
                f"The analysis was made on '{Path(data_path).name}', which is no longer at\n{data_path}.",
                "Choose the file in its new place.",
            )
            answer = "choose"
        if answer == "choose":
            data_path = (
                dialogs.ask_open_file(
                    parent,
                    f"Where is {Path(data_path).name}?",
                    str(Path(path).parent),
                    FILE_FILTERS,
                )
                or ""
            )
            if not data_path:
                return False
            params = params.replace(input_path=data_path)
        self.open_file(
            data_path,
            params.sheet,
            params.mapping or None,
            header_row=params.header_row,
            date_order=params.date_order,
            apply=params,
        )
        return True

    def _file_loaded(self, outcome: LoadOutcome) -> None:
        (apply, run), self._once_read = self._once_read, (None, False)
        self.fileLoaded.emit(outcome.path)
        if run and outcome.transactions is not None:
            if apply is not None:
                self.state.apply_params(apply)
            self.run()
        elif outcome.transactions is None and len(outcome.sheets) <= 1:
            self._go(COLUMNS)  # the mapping needs the analyst: show the problems there
        else:
            self._update_buttons()

    def _load_failed(self) -> None:
        self._once_read = (None, False)
        self.loadFailed.emit()

    # -- jobs --------------------------------------------------------------------------------
    def run(self, *, reread: bool = True) -> bool:
        """Run the analysis with the current choices (Ctrl+R)."""
        if not self.state.has_file or self.run_page.is_running():
            return False
        if self.state.needs_reload:  # the mapping changed: read all rows again, then run
            if not reread or not self.columns_page.is_complete():
                self._go(COLUMNS)
                return False
            self.columns_page.before_next(lambda: self.run(reread=False))
            return True
        for page in self.pages[:RUN]:
            page.cancel_jobs()
        self._go(RUN)
        return self.run_page.start_run() is not None

    def cancel_jobs(self) -> None:
        for page in self.pages:
            page.cancel_jobs()
        self.run_page.cancel_run()

    def is_busy(self) -> bool:
        return any(page.has_jobs() for page in self.pages)
