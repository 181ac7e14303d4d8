"""Step 5: a summary of the choices, Run, a progress bar with the step name and Cancel."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from rfm_desktop.core import cleaning, pipeline
from rfm_desktop.core.choices import OUTLIER_MODES
from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.core.result import AnalysisResult, KScore, KSweep
from rfm_desktop.gui.busy import BusyBar
from rfm_desktop.gui.stall import StallMeter
from rfm_desktop.gui.texts import tip
from rfm_desktop.gui.wizard.page import WizardPage
from rfm_desktop.gui.wizard.value_box import ValueOptionsBox, describe_value
from rfm_desktop.gui.worker import Worker

TRANSFORM_WORDS = {"log1p": "log (log1p)", "none": "none"}
PRESET_WORDS = {"seed": "the write-up settings (raw R/F/M, K = 4)"}


def _sheets_text(sheet: object) -> str:
    if not sheet:
        return ""
    if isinstance(sheet, tuple):
        return " – sheets " + html.escape(", ".join(f"'{s}'" for s in sheet))
    return f" – sheet '{html.escape(str(sheet))}'"


def describe(params: AnalysisParams) -> str:
    """The choices of a run as a short HTML list."""
    c, k = params.cleaning, params.clustering
    # the cleaning steps switched on, in the words of the cleaning page (core.cleaning.STEPS)
    steps = [
        step.label[:1].lower() + step.label[1:]
        for step in cleaning.STEPS
        if step.option is not None and getattr(c, step.option)
    ]
    if k.k is None:
        k_text = f"the best K from {k.k_min} to {k.k_max}"
    else:
        k_text = f"fixed K = {k.k}" + (
            f" (K {k.k_min} to {k.k_max} also scored for the charts)" if k.sweep else ""
        )
    if c.outliers == "segment":
        k_text += ", plus an Outliers segment"
    rows = [
        ("File", html.escape(Path(params.input_path).name) + _sheets_text(params.sheet)),
        ("Remove", html.escape(", ".join(steps) or "nothing")),
        ("Outliers", f"{OUTLIER_MODES[c.outliers].short} (beyond {c.iqr_multiplier:g} × IQR)"),
        (
            "Snapshot date",
            f"{params.as_of} (only transactions before it)"
            if params.as_of
            else params.snapshot_date or "the day after the last purchase",
        ),
        ("Features", ", ".join(f.capitalize() for f in k.features)),
        ("Transform / scaler", f"{TRANSFORM_WORDS[k.transform]} / {k.scaler}"),
        ("Segments", k_text + f" (seed {k.seed})"),
        ("Customer value", describe_value(params.clv)),
    ]
    if params.preset:
        rows.append(("Preset", PRESET_WORDS.get(params.preset, html.escape(params.preset))))
    body = "".join(f"<tr><td><b>{a}</b></td><td>&nbsp;&nbsp;{b}</td></tr>" for a, b in rows)
    return f"<table cellspacing='4'>{body}</table>"


class RunPage(WizardPage):
    title = "5. Run"
    subtitle = "Check the choices and run the analysis. The results open in tabs when it is done."

    resultReady = Signal(object)
    runStarted = Signal()
    runEnded = Signal()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.run_button = QPushButton("Run analysis")
        self.run_button.setToolTip(tip("run"))
        font = QFont(self.run_button.font())
        font.setBold(True)
        self.run_button.setFont(font)
        self.run_button.setMinimumHeight(36)
        self.run_button.clicked.connect(self.start_run)
        self.progress = BusyBar(cancel_tip=tip("cancel_run"))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.value_box = ValueOptionsBox(self.state)
        self.state.paramsChanged.connect(lambda _old, _new, changed: self._clv_changed(changed))
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addStretch(1)
        self.body.addWidget(self.summary)
        self.body.addSpacing(6)
        self.body.addWidget(self.value_box)
        self.body.addSpacing(12)
        self.body.addLayout(row)
        self.body.addWidget(self.progress)
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        self.stall = StallMeter(parent=self, where=self.progress.step.text)
        self.last_stall_ms: float | None = None
        self.worker: Worker | None = None
        self.streamed: list[KScore] = []
        #: the K sweep already made for these inputs ("Evaluate K"), or None: set by the wizard
        self.known_sweep: Callable[[AnalysisParams], KSweep | None] = lambda _params: None

    def is_complete(self) -> bool:
        return self.state.transactions is not None and not self.is_running()

    def enter(self) -> None:
        if self.state.path is not None:
            self.summary.setText(describe(self.state.params))

    def _clv_changed(self, changed: frozenset[str]) -> None:
        if "clv" in changed and self.state.path is not None:
            self.enter()

    def is_running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def start_run(self) -> Worker | None:
        state = self.state
        if state.transactions is None or self.is_running():
            return None
        self.enter()
        params = state.params
        transactions = state.transactions
        sweep = self.known_sweep(params)
        self.streamed = []
        self.message.setText(
            "The K scores of “Evaluate K” are used again: no new sweep." if sweep else ""
        )
        self.run_button.setEnabled(False)
        self.stall.start()
        worker = self.run_job(
            lambda task: pipeline.run(
                params,
                task.progress,
                task.cancelled,
                transactions=transactions,
                on_k_score=task.partial,
                sweep=sweep,
                value_failure="warn",  # a model that cannot be fitted costs the value, not the run
            ),
            "Starting…",
            on_finished=self._finished,
            on_errored=self._errored,
            on_partial=self._partial,
            on_aborted=self._aborted,
            show_busy=False,
            name="run",
        )
        self.worker = worker
        self.progress.track(worker, "Starting…")
        worker.done.connect(self._done)
        self.runStarted.emit()
        self.completeChanged.emit()
        return worker

    def cancel_run(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _partial(self, score: object) -> None:
        if isinstance(score, KScore):
            self.streamed.append(score)
            self.message.setText(
                "Evaluated "
                + ", ".join(f"K={s.k} (silhouette {s.silhouette:.2f})" for s in self.streamed)
            )

    def _stop_meter(self) -> None:
        if self.stall.running:
            self.last_stall_ms = self.stall.stop()

    def _finished(self, result: AnalysisResult) -> None:
        self._stop_meter()  # before the views draw: the figure is about the run itself
        self.message.setText(
            f"Done in {result.seconds:.1f} s: {result.customer_count:,} customers in {result.segments_text} "
            f"(silhouette {result.silhouette:.2f})."
        )
        self.resultReady.emit(result)

    def _errored(self, exc: BaseException) -> None:
        self._stop_meter()
        self.message.setText("The analysis stopped with an error; nothing was changed.")
        self.show_error(exc)

    def _aborted(self) -> None:
        self._stop_meter()
        self.message.setText("The analysis was cancelled; nothing was changed.")

    def _done(self) -> None:
        self._stop_meter()
        self.run_button.setEnabled(True)
        self.worker = None
        self.completeChanged.emit()
        self.runEnded.emit()
