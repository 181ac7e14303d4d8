"""A progress bar, the step name and a Cancel button that follow one worker at a time."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from rfm_desktop.gui.hints import ElidedLabel
from rfm_desktop.gui.worker import Worker


class BusyBar(QWidget):
    """Shows what the tracked worker is doing; hidden when nothing runs."""

    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None, *, cancel_tip: str = "Stop this job."):
        super().__init__(parent)
        self._worker: Worker | None = None
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setMinimumWidth(self.fontMetrics().horizontalAdvance("0") * 12)
        self.step = ElidedLabel()  # a long step name never widens the window
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 2)
        layout.addWidget(self.step, 3)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    @property
    def worker(self) -> Worker | None:
        return self._worker

    def is_busy(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def track(self, worker: Worker, text: str, *, cancellable: bool = True) -> None:
        """Follow ``worker``: busy (indeterminate) until its first progress report."""
        self._worker = worker
        self.bar.setRange(0, 0)
        self.bar.reset()
        self.step.setText(text)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)  # a bound slot: no call once this bar is deleted

    def cancel(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()
            self.cancelled.emit()

    def _on_progress(self, fraction: float, step: str) -> None:
        if self.sender() is not self._worker:
            return
        if fraction > 0.0:  # until something is done, a busy (moving) bar says "working"
            if self.bar.maximum() == 0:
                self.bar.setRange(0, 1000)
            # 100 % only when the job is done: its last step ("Evaluating K=10") still takes time
            self.bar.setValue(max(self.bar.value(), int(min(fraction, 0.99) * 1000)))
        if step:
            self.step.setText(step)

    def _on_done(self) -> None:
        if self.sender() is self._worker:
            self._worker = None
            self.setVisible(False)
