"""What every wizard page shares: a title, completeness, and background jobs through the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from rfm_desktop.gui import dialogs
from rfm_desktop.gui.busy import BusyBar
from rfm_desktop.gui.wizard.state import WizardState
from rfm_desktop.gui.worker import Task, Worker, start_worker


class WizardPage(QWidget):
    """Subclasses fill ``self.body`` and override :meth:`is_complete` / :meth:`enter`."""

    title = "Step"
    subtitle = ""
    completeChanged = Signal()

    def __init__(self, state: WizardState, busy: BusyBar, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.busy = busy
        self._jobs: set[Worker] = set()
        heading = QLabel(self.title)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        heading.setFont(font)
        sub = QLabel(self.subtitle)
        sub.setWordWrap(True)
        sub.setVisible(bool(self.subtitle))
        # the page's content scrolls when the window is small (1024×640, or 150 %/200 % scaling)
        # instead of being cut off or squeezed below its minimum sizes
        inner = QWidget()
        self.body = QVBoxLayout(inner)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("pageScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(sub)
        layout.addSpacing(6)
        layout.addWidget(self.scroll_area, 1)

    # -- navigation hooks ------------------------------------------------------------------
    def is_complete(self) -> bool:
        return True

    def enter(self) -> None:
        """The page becomes visible: refresh from the state."""

    def before_next(self, proceed: Callable[[], object]) -> None:
        """Called on Next; call ``proceed`` (now or after a background job) to move on."""
        proceed()

    # -- background jobs -------------------------------------------------------------------
    def run_job(
        self,
        fn: Callable[[Task], Any],
        text: str,
        *,
        on_finished: Callable[[Any], None],
        on_errored: Callable[[BaseException], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_aborted: Callable[[], None] | None = None,
        show_busy: bool = True,
        name: str = "job",
    ) -> Worker:
        worker = start_worker(
            fn,
            name=name,
            owner=self,
            on_finished=on_finished,
            on_errored=on_errored or self.show_error,
            on_partial=on_partial,
            on_aborted=on_aborted,
        )
        self._jobs.add(worker)
        worker.done.connect(lambda w=worker: self._job_done(w))
        if show_busy:
            self.busy.track(worker, text)
        return worker

    def _job_done(self, worker: Worker) -> None:
        self._jobs.discard(worker)
        self.completeChanged.emit()

    def cancel_jobs(self) -> None:
        for worker in list(self._jobs):
            worker.cancel()

    def has_jobs(self) -> bool:
        return any(w.is_running for w in self._jobs)

    def show_error(self, exc: BaseException) -> None:
        dialogs.show_error(self.window(), exc)
