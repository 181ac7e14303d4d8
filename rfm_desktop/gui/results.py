"""The results: one tab per view of ``views.ALL_VIEWS``, fed the same AnalysisResult."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from rfm_desktop.core.compare import Comparison
from rfm_desktop.core.errors import SegmentNameError
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.current_result import CurrentResult
from rfm_desktop.gui.views import (
    ALL_VIEWS,
    KEvaluationView,
    MigrationView,
    ResultView,
    RFMView,
    Scatter2DView,
    SegmentsView,
    SensitivityView,
)

V = TypeVar("V", bound=ResultView)


class RenameCommand(QUndoCommand):
    """One segment rename, undoable (Edit ▸ Undo, Ctrl+Z)."""

    def __init__(self, panel: ResultsPanel, cluster_id: int, old: str, new: str):
        super().__init__(f"rename '{old}' to '{new}'")
        self.panel, self.cluster_id, self.old, self.new = panel, cluster_id, old, new

    def redo(self) -> None:
        self.panel.apply_name(self.cluster_id, self.new)

    def undo(self) -> None:
        self.panel.apply_name(self.cluster_id, self.old)


class ResultsPanel(QWidget):
    backRequested = Signal()
    exportRequested = Signal()
    saveImageRequested = Signal()
    reportRequested = Signal()
    resultChanged = Signal(object)  # after a rename
    kPicked = Signal(int)  # a K clicked on the K evaluation tab
    scoringRequested = Signal()  # "Scores and segment rules…" on the RFM scores tab
    sensitivityExportRequested = Signal()  # "Export sensitivity.csv…" on the Sensitivity tab

    def __init__(self, current: CurrentResult | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        #: the result shown: held there, not here (the main window passes its own)
        self.current = current if current is not None else CurrentResult(self)
        self.current.changed.connect(self._show)
        #: edits of the result (renames); clean = what is saved in the analysis file
        self.undo_stack = QUndoStack(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.back_button = QPushButton("◀ Change settings")
        self.back_button.setToolTip(
            "Back to the wizard: change the cleaning or clustering and run again."
        )
        self.back_button.clicked.connect(self.backRequested)
        self.export_button = QPushButton("Export segments…")
        self.export_button.setToolTip(
            "Write customer lists for campaigns as CSV or Excel (Ctrl+E)."
        )
        self.export_button.clicked.connect(self.exportRequested)
        self.image_button = QPushButton("Save view as image…")
        self.image_button.setToolTip("Save the picture of the current tab as PNG or SVG.")
        self.image_button.clicked.connect(self.saveImageRequested)
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip(
            "One self-contained HTML file with the segments, the cleaning, the K charts and the scatter plots."
        )
        self.report_button.clicked.connect(self.reportRequested)
        # the summary on a line of its own: beside the four buttons its longest word (the file
        # name) made the window wider than a 1024-pixel screen at 150 % scaling
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addStretch(1)
        for b in (self.export_button, self.image_button, self.report_button):
            top.addWidget(b)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.views: list[ResultView] = []
        for cls in ALL_VIEWS:
            view = cls()
            self.views.append(view)
            self.tabs.addTab(view, view.title)
            if isinstance(view, SegmentsView):
                view.renameRequested.connect(self.rename_cluster)
            if isinstance(view, KEvaluationView):
                view.kPicked.connect(self.kPicked)
            if isinstance(view, RFMView):
                view.scoringRequested.connect(self.scoringRequested)
            if isinstance(view, MigrationView):
                view.customersChosen.connect(self.select_customers)
                view.exportRequested.connect(self.exportRequested)
            if isinstance(view, SensitivityView):
                view.exportRequested.connect(self.sensitivityExportRequested)
        scatter, migration = self.view_of(Scatter2DView), self.view_of(MigrationView)
        if scatter is not None and migration is not None:
            scatter.selectionChanged.connect(migration.selection_changed)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)

    # -- lookup ----------------------------------------------------------------------------
    def view(self, view_name: str) -> ResultView | None:
        return next((v for v in self.views if v.view_name == view_name), None)

    def find_view(self, attribute: str) -> ResultView | None:
        """The first view that has ``attribute`` (e.g. ``selected_cluster_ids``)."""
        return next((v for v in self.views if hasattr(v, attribute)), None)

    def view_of(self, cls: type[V]) -> V | None:
        """The view of class ``cls`` (each view class has one tab)."""
        return next((v for v in self.views if isinstance(v, cls)), None)

    def current_view(self) -> ResultView | None:
        widget = self.tabs.currentWidget()
        return widget if widget in self.views else None

    def show_view(self, view: ResultView) -> None:
        self.tabs.setCurrentWidget(view)

    # -- selections for export -----------------------------------------------------------
    def selected_cluster_ids(self) -> list[int]:
        view = self.view_of(SegmentsView)
        return list(view.selected_cluster_ids()) if view is not None else []

    def selected_customer_ids(self) -> list[str]:
        view = self.view_of(Scatter2DView)
        return list(view.selected_customer_ids()) if view is not None else []

    def select_customers(self, ids: list[str], what: str) -> None:
        """Make ``ids`` the app's selection (the 2D scatter's, which export offers), every group
        shown so none of them is left out; ``what`` says where they come from."""
        scatter = self.view_of(Scatter2DView)
        if scatter is None:
            return
        scatter.update_state(
            selected=frozenset(ids), hidden_clusters=frozenset(), hidden_segments=frozenset()
        )
        migration = self.view_of(MigrationView)
        if migration is not None:
            migration.show_selected(len(self.selected_customer_ids()), what)

    def show_comparison(self, comparison: Comparison) -> None:
        """Show the result compared with a previous one (its clusters carry the previous ids and
        names now) and the Migration tab."""
        migration = self.view_of(MigrationView)
        if migration is not None:
            migration.set_comparison(comparison)
        self.set_result(comparison.result)
        if migration is not None:
            self.show_view(migration)

    # -- result ------------------------------------------------------------------------------
    @property
    def result(self) -> AnalysisResult | None:
        return self.current.result

    def set_result(self, result: AnalysisResult, *, edited: bool = False) -> None:
        """Show ``result``; a new result (not ``edited``) starts a new undo history."""
        self.current.set(result, edited=edited)

    def _show(self, result: AnalysisResult | None, edited: bool) -> None:
        """Draw the current result in every view (None: another file, the views keep the last)."""
        if result is None:  # renames of the last result stay undoable (and unsaved)
            self.summary.clear()
            return
        if not edited:
            self.undo_stack.clear()
        for view in self.views:
            view.set_result(result)
        name = html.escape(Path(result.params.input_path).name)
        self.summary.setText(
            f"<b>{result.customer_count:,}</b> customers in {result.segments_text}, "
            f"silhouette {result.silhouette:.2f}, from {name}, "
            f"snapshot {result.snapshot_date:%Y-%m-%d}."
            + (
                f" ⚠ {len(result.warnings)} warning{'s' if len(result.warnings) > 1 else ''}: see the "
                "Cleaning report tab."
                if result.warnings
                else ""
            )
        )
        self.summary.setToolTip("\n".join(f"⚠ {w.text}" for w in result.warnings))

    def rename_cluster(self, cluster_id: int, name: str) -> None:
        """A view asked to rename a segment: the new name goes to every view and export."""
        if self.result is None:
            return
        try:
            old = self.result.cluster(cluster_id).name
            self.result.rename_cluster(
                cluster_id, name
            )  # checks the name before it becomes an edit
        except SegmentNameError as exc:
            dialogs.show_error(self.window(), exc)
            self.set_result(self.result, edited=True)  # put the old name back in the editor
            return
        if name.strip() != old:
            self.undo_stack.push(RenameCommand(self, cluster_id, old, name.strip()))

    def apply_name(self, cluster_id: int, name: str) -> None:
        """Rename without a new undo step (the undo stack's commands call this)."""
        if self.result is None:
            return
        renamed = self.result.rename_cluster(cluster_id, name)
        self.set_result(renamed, edited=True)
        self.resultChanged.emit(renamed)

    def clear(self) -> None:
        self.current.set(None)
