"""The 2D view's t-SNE map, computed in the background: the worker job, its progress panel
with Cancel, and the note that says which customers the map shows (a fixed-seed sample above
``core.tsne.SAMPLE_LIMIT``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from rfm_desktop.core.result import AnalysisResult


def sample_note(tsne_map: Any) -> str:
    """What the analyst must know about a computed ``core.tsne.TsneMap``: which customers it
    shows, that the seed makes it repeatable, and how to read it."""
    if tsne_map.sampled:
        return (
            f"t-SNE map of a fixed-seed random sample of {len(tsne_map.rows):,} of the {tsne_map.total:,} customers "
            f"(seed {tsne_map.seed}, the same map each time); customers outside the sample are not drawn and "
            "cannot be selected here."
        )
    return (
        f"t-SNE map of all {tsne_map.total:,} customers (seed {tsne_map.seed}, the same map each time); "
        "distances between groups mean little, neighbours mean a lot."
    )


class TsneJob(QObject):
    """One t-SNE computation at a time; ``panel`` shows its progress while it runs."""

    #: the result mapped and its core.tsne.TsneMap
    finished = Signal(object, object)
    #: the exception that stopped it
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: Any = None  # gui.worker.Worker of the running (or last) computation
        # a bar, what it does, Cancel (shown while the map is computed)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(220)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop computing the t-SNE map and go back to the previous axes."
        )
        self.cancel_button.clicked.connect(self.cancel)
        self.panel = QWidget()
        row = QHBoxLayout(self.panel)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar)
        row.addWidget(self.label, 1)
        row.addWidget(self.cancel_button)
        self.panel.hide()

    def is_running(self) -> bool:
        """True while a map is being computed."""
        return self.worker is not None and self.worker.is_running

    def cancel(self) -> None:
        """Stop the computation; :attr:`cancelled` follows."""
        if self.worker is not None:
            self.worker.cancel()

    def start(self, result: AnalysisResult) -> None:
        """Compute the map of ``result``'s customers (its seed; a sample above the limit)."""
        from rfm_desktop.core import tsne
        from rfm_desktop.gui import worker

        seed = int(result.params.clustering.seed)
        n = len(result.customers)
        limit = tsne.SAMPLE_LIMIT
        mapped = min(n, limit)
        what = (
            f"a random sample of {mapped:,} of the {n:,} customers (seed {seed})"
            if mapped < n
            else f"all {n:,} customers"
        )
        self.label.setText(f"Computing the t-SNE map of {what}…")
        self.bar.setValue(0)
        self.panel.show()
        customers = result.customers
        self.worker = worker.start_worker(
            lambda task: tsne.tsne_map(customers, seed, task.progress, task.cancelled, limit=limit),
            name="t-SNE",
            on_progress=self._progress,
            on_finished=partial(self._ended, self.finished, result),
            on_errored=lambda exc: self._ended(self.failed, exc),
            on_aborted=lambda: self._ended(self.cancelled),
        )

    def _progress(self, fraction: float, step: str) -> None:
        self.bar.setValue(int(fraction * 1000))
        self.bar.setToolTip(step)

    def _ended(self, signal: Any, *args: object) -> None:
        self.panel.hide()
        signal.emit(*args)
