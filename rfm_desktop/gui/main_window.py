"""The main window: welcome screen, wizard and results in one stack, with menus and shortcuts."""

from __future__ import annotations

import gc
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop import __version__
from rfm_desktop.core.errors import ExportError, InputFileError
from rfm_desktop.gui import dialogs, settings, worker
from rfm_desktop.gui.current_result import CurrentResult
from rfm_desktop.gui.texts import ANALYSIS_FILTER, FILE_FILTERS, HELP_HTML
from rfm_desktop.gui.welcome import WelcomePage
from rfm_desktop.resources import sample_data_path

# The start page needs Qt only. Everything behind it (the wizard, the results, pandas,
# scikit-learn, pyarrow, pyqtgraph) is imported on first use, and in the background while the
# analyst looks at the start page (MainWindow.preload), so the window appears at once.
if TYPE_CHECKING:
    from rfm_desktop.core.params import DateOrder, SheetChoice
    from rfm_desktop.core.result import AnalysisResult
    from rfm_desktop.gui.results import ResultsPanel
    from rfm_desktop.gui.wizard.wizard import AnalysisWizard

#: what the wizard and the results import; preloaded on a worker thread
HEAVY_MODULES = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "scipy",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.metrics",
    "pyqtgraph",
    "openpyxl",
)
APP_TITLE = "RFM Desktop"


def _stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".csv.gz", ".rfm.json"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


class MainWindow(QMainWindow):
    resultShown = Signal(object)  # an AnalysisResult is on screen (after a run or a rename)
    exportWritten = Signal(list)  # paths written by an export

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.welcome = WelcomePage()
        self._wizard: AnalysisWizard | None = None  # made on first use: see ensure_pages
        self._results: ResultsPanel | None = None
        self._preloader: worker.Worker | None = None
        self._edited = False  # renames since the analysis was saved (or run)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)
        self.current = CurrentResult(self)  # the result on screen, held once
        self.last_export_folder: Path | None = None
        self._export_worker: worker.Worker | None = None
        self._compare_worker: worker.Worker | None = None
        self._remember = True  # add the file being opened to the recent files
        self._help_dialog: QDialog | None = None

        self.status_label = QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.setToolTip("Show the exported files in the file manager.")
        self.open_folder_button.setFlat(True)
        self.open_folder_button.setVisible(False)
        self.open_folder_button.clicked.connect(self.open_export_folder)
        self.statusBar().addPermanentWidget(self.open_folder_button)

        self._build_actions()
        self._build_menus()
        self._connect()
        self._refresh_recent()
        self._restore_layout()
        self.show_welcome()

    # -- the pages behind the start page, made on first use ------------------------------------
    @property
    def wizard(self) -> AnalysisWizard:
        self.ensure_pages()
        assert self._wizard is not None  # made by ensure_pages
        return self._wizard

    @property
    def results(self) -> ResultsPanel:
        self.ensure_pages()
        assert self._results is not None  # made by ensure_pages
        return self._results

    @property
    def result(self) -> AnalysisResult | None:
        """The result on screen (read-only: see :attr:`current`)."""
        return self.current.result

    @property
    def undo_action(self) -> QAction:
        self.ensure_pages()
        return self._undo_action

    @property
    def redo_action(self) -> QAction:
        self.ensure_pages()
        return self._redo_action

    def ensure_pages(self) -> None:
        """Make the wizard and the results (importing what they need, if not preloaded yet)."""
        if self._wizard is not None:
            return
        from rfm_desktop.gui.results import ResultsPanel
        from rfm_desktop.gui.wizard.wizard import AnalysisWizard

        self._wizard = AnalysisWizard()
        self._results = results = ResultsPanel(self.current)
        self.stack.addWidget(self._wizard)
        self.stack.addWidget(self._results)
        self._build_undo_actions(results)
        self._connect_pages()
        self._restore_splitters()
        self._update_actions()
        # the objects made so far stay out of the garbage collector's full passes (see app.py)
        gc.collect()
        gc.freeze()

    def preload(self) -> None:
        """Import the heavy libraries on a worker thread, then make the pages (GUI thread)."""
        if self._wizard is not None or self._preloader is not None:
            return

        def load(_task: Any) -> None:
            for name in HEAVY_MODULES:
                try:
                    importlib.import_module(name)
                except ImportError:  # e.g. trimmed from a bundle: the page says so when used
                    pass

        self._preloader = worker.start_worker(
            load, name="preload", on_done=self.ensure_pages, background=True
        )

    # -- actions and menus -------------------------------------------------------------------
    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action(
            "&Open file…",
            self.open_file_dialog,
            QKeySequence.StandardKey.Open,
            "Open a transactions export (.xlsx, .csv, .parquet).",
        )
        self.sample_action = self._action(
            "Try &sample data",
            self.open_sample,
            None,
            "Open the bundled sample in the UCI Online Retail layout.",
        )
        self.open_analysis_action = self._action(
            "Open &analysis…",
            self.open_analysis_dialog,
            "Ctrl+Shift+O",
            "Open saved settings and run them again on their file.",
        )
        self.save_analysis_action = self._action(
            "&Save analysis…",
            self.save_analysis_dialog,
            QKeySequence.StandardKey.Save,
            "Save the current settings as a small JSON file.",
        )
        self.compare_action = self._action(
            "&Compare with a previous analysis…",
            self.compare_dialog,
            None,
            "Match the clusters to a previous result's and show who moved where (Migration tab).",
        )
        self.export_action = self._action(
            "&Export segments…",
            self.export_dialog,
            "Ctrl+E",
            "Write customer lists for campaigns as CSV or Excel.",
        )
        self.image_action = self._action(
            "Save view as &image…",
            self.save_view_image,
            "Ctrl+Shift+S",
            "Save the picture of the current results tab as PNG or SVG.",
        )
        self.report_action = self._action(
            "Save &report…",
            self.save_report,
            "Ctrl+Shift+R",
            "One self-contained HTML file with segments, cleaning and charts.",
        )
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.run_action = self._action(
            "&Run analysis",
            self.run_analysis,
            "Ctrl+R",
            "Run the analysis with the current settings.",
        )
        self.cancel_action = self._action("&Cancel", self.cancel, "Esc", "Stop the running job.")
        self.wizard_action = self._action(
            "Analysis &steps",
            self.show_wizard,
            "Ctrl+1",
            "The wizard: file, columns, cleaning, clustering, run.",
        )
        self.results_action = self._action(
            "&Results", self.show_results, "Ctrl+2", "The result tabs."
        )
        self.help_action = self._action(
            "&Help",
            self.show_help,
            QKeySequence.StandardKey.HelpContents,
            "What RFM is and how to use the app (F1).",
        )
        if self.help_action.shortcut().isEmpty():
            self.help_action.setShortcut(QKeySequence("F1"))
        self.about_action = self._action("&About RFM Desktop", self.show_about)

    def _build_undo_actions(self, results: ResultsPanel) -> None:
        """Undo/redo of the results' edits (made with the results, see ensure_pages)."""
        stack = results.undo_stack
        self._undo_action = stack.createUndoAction(self, "&Undo")
        self._undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self._redo_action = stack.createRedoAction(self, "&Redo")
        self._redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self._undo_action, self._redo_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)
            self.edit_menu.addAction(action)
        self._undo_action.setToolTip("Undo the last change to the results (e.g. a segment rename).")
        self._redo_action.setToolTip("Redo the change just undone.")
        stack.cleanChanged.connect(self._clean_changed)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = QMenu("Open &recent", self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.sample_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_analysis_action)
        file_menu.addAction(self.save_analysis_action)
        file_menu.addAction(self.compare_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.image_action)
        file_menu.addAction(self.report_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.edit_menu = bar.addMenu("&Edit")  # undo and redo come with the results (ensure_pages)
        analysis_menu = bar.addMenu("&Analysis")
        analysis_menu.addAction(self.run_action)
        analysis_menu.addAction(self.cancel_action)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.wizard_action)
        view_menu.addAction(self.results_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.about_action)

    def _connect(self) -> None:
        self.welcome.openRequested.connect(self.open_file_dialog)
        self.welcome.sampleRequested.connect(self.open_sample)
        self.welcome.recentRequested.connect(self.open_path)

    def _connect_pages(self) -> None:
        self.wizard.file_page.chooseRequested.connect(self.open_file_dialog)
        self.wizard.fileOpening.connect(self._file_opening)
        self.wizard.fileLoaded.connect(self._file_loaded)
        self.wizard.loadFailed.connect(self._load_failed)
        self.wizard.resultReady.connect(self.show_result)
        self.wizard.pageChanged.connect(lambda _i: self._update_actions())
        self.wizard.resultsRequested.connect(self.show_results)
        self.wizard.run_page.runStarted.connect(self._update_actions)
        self.wizard.run_page.runEnded.connect(self._update_actions)
        self.results.backRequested.connect(self.show_wizard)
        self.results.exportRequested.connect(self.export_dialog)
        self.results.saveImageRequested.connect(self.save_view_image)
        self.results.reportRequested.connect(self.save_report)
        self.results.resultChanged.connect(self._result_renamed)
        self.results.kPicked.connect(self._k_picked)
        self.results.scoringRequested.connect(lambda: self.edit_scoring(rerun=True))
        self.results.sensitivityExportRequested.connect(lambda: self.export_dialog("sensitivity"))
        self.wizard.scoringRequested.connect(lambda: self.edit_scoring(rerun=False))

    def _update_actions(self) -> None:
        if self._wizard is None:  # only the start page so far
            for action in (
                self.compare_action,
                self.export_action,
                self.image_action,
                self.report_action,
                self.results_action,
                self.run_action,
                self.save_analysis_action,
                self.wizard_action,
            ):
                action.setEnabled(False)
            return
        has_result = self.result is not None
        running = self.wizard.run_page.is_running()
        has_file = self.wizard.state.has_file
        for action in (
            self.compare_action,
            self.export_action,
            self.image_action,
            self.report_action,
            self.results_action,
        ):
            action.setEnabled(has_result)
        self.wizard.results_button.setVisible(has_result)
        self.run_action.setEnabled(has_file and not running)
        self.save_analysis_action.setEnabled(self.wizard.state.path is not None)
        self.wizard_action.setEnabled(self.wizard.state.path is not None)

    # -- navigation ----------------------------------------------------------------------------
    def show_welcome(self) -> None:
        self.stack.setCurrentWidget(self.welcome)
        self._update_title()
        self._update_actions()

    def show_wizard(self) -> None:
        if self._wizard is None or self.wizard.state.path is None:
            return
        self.stack.setCurrentWidget(self.wizard)
        self._update_actions()

    def show_results(self) -> None:
        if self.result is None:
            return
        self.stack.setCurrentWidget(self.results)
        self._update_actions()

    def _update_title(self) -> None:
        path = self._wizard.state.path if self._wizard is not None else None
        edited = "*" if self._edited else ""  # unsaved renames
        self.setWindowTitle(f"{Path(path).name}{edited} — {APP_TITLE}" if path else APP_TITLE)

    def _clean_changed(self, clean: bool) -> None:
        self._edited = not clean
        self._update_title()

    def status(self, text: str, timeout_ms: int = 0) -> None:
        self.status_label.setText(text)
        if timeout_ms:
            # with the label as context: no call after the window is gone
            QTimer.singleShot(
                timeout_ms,
                self.status_label,
                lambda t=text: self.status_label.clear() if self.status_label.text() == t else None,
            )

    # -- opening files -------------------------------------------------------------------------
    def open_file_dialog(self) -> None:
        path = dialogs.ask_open_file(
            self, "Open transactions", settings.last_folder(), FILE_FILTERS
        )
        if path:
            self.open_path(path)

    def open_sample(self, *, run: bool = False) -> None:
        path = sample_data_path()
        if not path.exists():
            dialogs.show_error(
                self,
                InputFileError(
                    f"The bundled sample is missing: {path}.", hint="Reinstall RFM Desktop."
                ),
            )
            return
        self.open_path(str(path), remember=False, run=run)

    def open_path(
        self,
        path: str,
        *,
        remember: bool = True,
        sheet: SheetChoice = None,
        mapping: dict[str, str] | None = None,
        header_row: int | None = None,
        date_order: DateOrder | None = None,
        run: bool = False,
    ) -> None:
        """Open a data file (or a saved analysis) in the wizard; loading runs in the background
        (then the analysis, with ``run``)."""
        if path.lower().endswith(".json"):
            self.open_analysis(path)
            return
        if not Path(path).exists():
            dialogs.show_error(
                self,
                InputFileError(
                    f"File not found: '{path}'.",
                    hint="It may have been moved or deleted; open it from its new place.",
                ),
            )
            settings.remove_recent_file(path)
            self._refresh_recent()
            return
        self._remember = remember
        self.wizard.open_file(
            path, sheet, mapping, header_row=header_row, date_order=date_order, run=run
        )

    def _file_opening(self, path: str) -> None:
        settings.set_last_folder(path)
        self.stack.setCurrentWidget(self.wizard)
        self.status(f"Reading {Path(path).name}…")
        self.setWindowTitle(f"{Path(path).name} — {APP_TITLE}")

    def _file_loaded(self, path: str) -> None:
        if self._remember:
            settings.add_recent_file(path)
            self._refresh_recent()
        if self.result is not None and self.result.params.input_path != path:
            self.current.set(None)  # the results belonged to another file
        self._update_title()
        self._update_actions()
        t = self.wizard.state.transactions
        self.status(
            f"Read {t.rows_read:,} rows from {Path(path).name}."
            if t is not None
            else f"Choose the columns of {Path(path).name}."
        )

    def _load_failed(self) -> None:
        self.status("")
        if self.wizard.state.transactions is None:
            self.wizard.state.forget_file()
            self.show_welcome()
        else:
            self._update_title()

    def _refresh_recent(self) -> None:
        files = settings.recent_files()
        self.welcome.set_recent_files(files)
        self.recent_menu.clear()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(files))

    def open_demo(self) -> None:
        """Open the sample and run it with the default settings (``rfm-desktop --demo``)."""
        self.open_sample(run=True)

    # -- running -------------------------------------------------------------------------------
    def run_analysis(self) -> None:
        if not self.wizard.state.has_file:
            self.status("Open a file first (Ctrl+O).", 4000)
            return
        self.stack.setCurrentWidget(self.wizard)
        if not self.wizard.run():
            self.status("The analysis cannot run yet: finish the highlighted step.", 4000)

    def cancel(self) -> None:
        """Stop whatever the analyst started: the run, an export, a comparison, the sensitivity
        variants, a backtest, the t-SNE map (every job on the worker but the app's own)."""
        if self._wizard is not None:
            self.wizard.cancel_jobs()  # first: the pages reset their own controls
        worker.cancel_jobs()

    def show_result(self, result: AnalysisResult) -> None:
        self.current.set(result)  # the results panel draws it
        # the Clustering page keeps the K scores of this run (seen after "Change settings")
        self.wizard.clustering_page.show_sweep(result.sweep, result.params)
        self.stack.setCurrentWidget(self.results)
        self._update_actions()
        self.status(
            f"{result.customer_count:,} customers in {result.segments_text} "
            f"(silhouette {result.silhouette:.2f}), computed in {result.seconds:.1f} s."
        )
        self.resultShown.emit(result)

    def _k_picked(self, k: int) -> None:
        self.wizard.clustering_page.pick_k(k)
        self.status(f"K = {k} chosen for the next run: press Ctrl+R to run with it.")

    def edit_scoring(self, *, rerun: bool) -> None:
        """The scores and segment rules editor; from the results, a change runs the analysis again."""
        from rfm_desktop.gui.scoring_dialog import ScoringDialog

        state = self.wizard.state
        result = (
            self.result
            if self.result is not None and self.result.params.input_path == state.path
            else None
        )
        dialog = ScoringDialog(
            state.scoring,
            result,
            parent=self,
            accept_text="Apply and run again" if rerun else "Use these scores and rules",
        )
        if not dialogs.run_dialog(dialog):
            return
        changed = dialog.scoring() != state.scoring
        state.update(scoring=dialog.scoring())
        if changed and rerun:
            self.run_analysis()

    def _result_renamed(self, result: AnalysisResult) -> None:
        state = self.wizard.state
        if state.path is not None and state.params.run_settings() == result.params.run_settings():
            # saved with the analysis, applied on re-runs
            state.update(cluster_names=result.params.cluster_names)
        self.resultShown.emit(result)

    # -- export --------------------------------------------------------------------------------
    def export_dialog(self, kind: str | None = None) -> None:
        """The export dialog on the result; ``kind`` picks what it exports first."""
        result = self.result
        if result is None:
            self.status("Run an analysis first: there is nothing to export yet.", 4000)
            return
        from rfm_desktop.core.export_request import run_export
        from rfm_desktop.gui.export_dialog import ExportDialog

        dialog = ExportDialog(
            result,
            settings.last_folder("export"),
            chosen_clusters=self.results.selected_cluster_ids(),
            selected_customers=self.results.selected_customer_ids(),
            fmt=settings.export_format(),
            kind=kind,
            parent=self,
        )
        if not dialogs.run_dialog(dialog):
            return
        request = dialog.request()
        if request.kind != "sensitivity":  # CSV only: not the analyst's choice of format
            settings.set_export_format(request.fmt)
        self.status("Exporting…")
        self._export_worker = worker.start_worker(
            lambda _task: run_export(result, request),
            name="export",
            on_finished=self._exported,
            on_errored=self._export_failed,
        )

    def _export_failed(self, exc: BaseException) -> None:
        self.status("")
        dialogs.show_error(self, exc)

    def _exported(self, paths: list[Path]) -> None:
        from rfm_desktop.core.export_request import describe_written

        if paths:
            self.last_export_folder = paths[0].parent
            settings.set_last_folder(paths[0].parent, "export")
        self.open_folder_button.setVisible(bool(paths))
        self.status(describe_written(paths))
        self.exportWritten.emit(paths)

    def open_export_folder(self) -> None:
        if self.last_export_folder is not None:
            dialogs.open_folder(self.last_export_folder)

    def save_view_image(self) -> None:
        view = self.results.current_view()
        if self.result is None or view is None:
            self.status("Run an analysis and pick a results tab first.", 4000)
            return
        formats = tuple(getattr(view, "image_formats", ("png",)))
        filters = ";;".join(
            f
            for f, ext in (("PNG image (*.png)", "png"), ("SVG vector image (*.svg)", "svg"))
            if ext in formats
        )
        default = (
            Path(settings.last_folder("export"))
            / f"{_stem(self.result.params.input_path)}-{view.view_name}.png"
        )
        chosen = dialogs.ask_save_file(self, f"Save {view.title} as image", str(default), filters)
        if not chosen:
            return
        path = Path(chosen[0])
        if path.suffix.lower() not in (".png", ".svg"):
            path = path.with_suffix(".svg" if "svg" in chosen[1].lower() else ".png")
        try:
            view.save_image(path)
        except ExportError as exc:  # ImageError; anything else is a bug, not a failed export
            dialogs.show_error(self, exc)
            return
        from rfm_desktop.core.export_request import describe_written

        settings.set_last_folder(path, "export")
        self.last_export_folder = path.parent
        self.open_folder_button.setVisible(True)
        self.status(describe_written([path]))
        self.exportWritten.emit([path])

    def save_report(self) -> None:
        result = self.result
        if result is None:
            self.status("Run an analysis first: there is nothing to report yet.", 4000)
            return
        default = (
            Path(settings.last_folder("export")) / f"{_stem(result.params.input_path)}-report.html"
        )
        chosen = dialogs.ask_save_file(self, "Save report", str(default), "HTML report (*.html)")
        if not chosen:
            return
        path = Path(chosen[0])
        if path.suffix.lower() not in (".html", ".htm"):
            path = path.with_suffix(".html")
        from rfm_desktop.core.report import write_report
        from rfm_desktop.gui.images import report_images

        self.status("Drawing the pictures for the report…")
        try:
            images = report_images(
                self.results.views, result
            )  # drawn in the GUI thread, from the result
        except ExportError as exc:
            dialogs.show_error(self, exc)
            return
        self._export_worker = worker.start_worker(
            lambda _task: [write_report(result, path, images)],
            name="report",
            on_finished=self._exported,
            on_errored=self._export_failed,
        )

    # -- comparison with a previous analysis (issue 12) ---------------------------------------
    def compare_dialog(self) -> None:
        if self.result is None:
            self.status("Run an analysis first: there is nothing to compare yet.", 4000)
            return
        path = dialogs.ask_previous_result(self, settings.last_folder("export"), ANALYSIS_FILTER)
        if path:
            self.compare_with(path)

    def compare_with(self, path: str) -> None:
        """Compare the result on screen with the previous analysis at ``path``, on the worker."""
        from rfm_desktop.gui.views.migration import start_comparison

        result = self.result
        if result is None:
            return
        self.status(f"Comparing with {Path(path).name}…")

        def compared(comparison: Any) -> None:
            if self.result is not result:  # another run came meanwhile: it was not compared
                self.status("The comparison was dropped: the result changed meanwhile.", 6000)
                return
            self.results.show_comparison(comparison)
            self.stack.setCurrentWidget(self.results)
            self.status(f"Compared with {Path(path).name}: see the Migration tab.")
            self.resultShown.emit(comparison.result)

        self._compare_worker = start_comparison(
            result, path, on_finished=compared, on_errored=self._export_failed
        )

    # -- saved analyses ------------------------------------------------------------------------
    def save_analysis_dialog(self) -> bool:
        """Ask where and save the settings (and the segment names); True when saved."""
        state = self.wizard.state
        if state.path is None:
            self.status("Open a file first: there are no settings to save yet.", 4000)
            return False
        from rfm_desktop.core.analysis_file import SUFFIX, save_analysis

        default = Path(settings.last_folder("export")) / f"{_stem(state.path)}{SUFFIX}"
        chosen = dialogs.ask_save_file(self, "Save analysis", str(default), ANALYSIS_FILTER)
        if not chosen:
            return False
        path = chosen[0] if chosen[0].lower().endswith(".json") else chosen[0] + SUFFIX
        params, result = state.params, self.result
        if result is not None and result.params.run_settings() != params.run_settings():
            result = None  # the settings changed since the run: the record holds no counts
        try:
            written = save_analysis(params, path, result)
        except ExportError as exc:
            dialogs.show_error(self, exc)
            return False
        settings.set_last_folder(written, "export")
        self.results.undo_stack.setClean()
        self.status(f"Saved the settings to {written.name}.")
        return True

    def open_analysis_dialog(self) -> None:
        path = dialogs.ask_open_file(self, "Open analysis", settings.last_folder(), ANALYSIS_FILTER)
        if path:
            self.open_analysis(path)

    def open_analysis(self, path: str) -> None:
        """Open a saved analysis: the wizard reads its file, applies its params and runs it."""
        self._remember = True
        self.wizard.open_analysis(path)

    # -- help ----------------------------------------------------------------------------------
    def show_help(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("RFM Desktop help")
        browser = QTextBrowser()
        browser.setHtml(HELP_HTML)
        browser.setOpenExternalLinks(True)
        QVBoxLayout(dialog).addWidget(browser)
        dialog.resize(640, 620)
        dialog.setModal(False)
        dialog.show()
        self._help_dialog = dialog

    def show_about(self) -> None:
        dialogs.show_info(
            self,
            "About RFM Desktop",
            f"RFM Desktop {__version__}",
            "Customer segmentation (RFM + k-means) for retail analysts, offline.",
        )

    # -- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        QTimer.singleShot(0, self, lambda: self.open_path(path))

    @staticmethod
    def _dropped_path(event: Any) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).is_file():
                return url.toLocalFile()
        return None

    # -- window layout -------------------------------------------------------------------------
    def _splitters(self) -> list[QSplitter]:
        return [s for s in self.findChildren(QSplitter) if s.objectName()]

    def _restore_layout(self) -> None:
        geometry = settings.load_bytes("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(min(1280, int(screen.width() * 0.9)), min(820, int(screen.height() * 0.9)))
        state = settings.load_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        self._restore_splitters()

    def _restore_splitters(self) -> None:
        for splitter in self._splitters():
            saved = settings.load_bytes(f"splitters/{splitter.objectName()}")
            if saved is not None:
                splitter.restoreState(saved)

    def save_layout(self) -> None:
        settings.save_bytes("window/geometry", self.saveGeometry())
        settings.save_bytes("window/state", self.saveState())
        for splitter in self._splitters():
            settings.save_bytes(f"splitters/{splitter.objectName()}", splitter.saveState())
        settings.settings().sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._edited:
            answer = dialogs.ask_save_discard_cancel(
                self,
                "Unsaved changes",
                "The segment names were changed since the analysis was saved. Save the analysis?",
            )
            if answer == "cancel" or (answer == "save" and not self.save_analysis_dialog()):
                event.ignore()
                return
        self.save_layout()
        if self._wizard is not None:
            self.wizard.cancel_jobs()
        worker.shutdown(3000)
        super().closeEvent(event)
