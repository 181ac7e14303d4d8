"""Step 3: which rows to drop, with counts recomputed in the background as options change."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core import cleaning, pipeline
from rfm_desktop.core.choices import OUTLIER_MODES
from rfm_desktop.core.errors import RFMError
from rfm_desktop.core.params import IQR_MAX, IQR_MIN, AnalysisParams
from rfm_desktop.core.result import CleaningReport
from rfm_desktop.gui.binding import KEEP, bind
from rfm_desktop.gui.texts import TIPS, tip, warnings_html
from rfm_desktop.gui.wizard.page import WizardPage

DEBOUNCE_MS = 250


class CleaningPage(WizardPage):
    title = "3. Cleaning"
    subtitle = (
        "Choose which rows to remove before computing recency, frequency and monetary value. "
        "The counts update as you change the options."
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.step_boxes: dict[str, QCheckBox] = {}
        self.removed_labels: dict[str, QLabel] = {}
        self.after_labels: dict[str, QLabel] = {}
        self.example_labels: dict[str, QLabel] = {}
        self._step_rows: dict[str, list[QWidget]] = {}
        steps_box = QGroupBox("Rows to remove")
        grid = QGridLayout(steps_box)
        grid.setVerticalSpacing(2)
        grid.addWidget(self._header("Step"), 0, 0)
        grid.addWidget(self._header("Rows removed"), 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self._header("Rows left"), 0, 2, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self._header("First row removed"), 0, 3)
        self.rows_read_label = QLabel()
        grid.addWidget(QLabel("Rows in the file"), 1, 0)
        grid.addWidget(self.rows_read_label, 1, 2, Qt.AlignmentFlag.AlignRight)
        self.currency_combo = QComboBox()
        self.currency_combo.setToolTip(tip("step.other_currency"))
        self.currency_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for row, step in enumerate(cleaning.STEPS, start=2):
            text = step.label if step.option is not None else f"{step.label} (always removed)"
            if step.name == "other_currency":
                text = "Rows in another currency than"
            box = QCheckBox(text)
            box.setToolTip(tip(f"step.{step.name}") if f"step.{step.name}" in TIPS else step.label)
            if step.option is None:
                box.setChecked(True)
                box.setEnabled(False)
            removed, after, example = QLabel("…"), QLabel("…"), QLabel()
            example.setEnabled(False)  # grey: a detail, not a count
            cell: QWidget = box
            if step.name == "other_currency":
                cell = QWidget()
                line = QHBoxLayout(cell)
                line.setContentsMargins(0, 0, 0, 0)
                line.addWidget(box)
                line.addWidget(self.currency_combo)
                line.addStretch(1)
            grid.addWidget(cell, row, 0)
            grid.addWidget(removed, row, 1, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(after, row, 2, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(example, row, 3)
            self.step_boxes[step.name] = box
            self.removed_labels[step.name] = removed
            self.after_labels[step.name] = after
            self.example_labels[step.name] = example
            self._step_rows[step.name] = [cell, removed, after, example]
        grid.setColumnStretch(0, 1)
        grid.setHorizontalSpacing(14)
        self._example_width = self.fontMetrics().horizontalAdvance("x") * 26
        grid.setColumnMinimumWidth(3, self._example_width)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        grid.addWidget(self.summary, len(cleaning.STEPS) + 2, 0, 1, 4)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.TextFormat.RichText)
        self.warnings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings_label.setVisible(False)
        grid.addWidget(self.warnings_label, len(cleaning.STEPS) + 3, 0, 1, 4)

        outlier_box = QGroupBox("Unusual customers (outliers)")
        outlier_layout = QGridLayout(outlier_box)
        self.outlier_combo = QComboBox()
        for mode, choice in OUTLIER_MODES.items():
            self.outlier_combo.addItem(choice.label, mode)
        self.outlier_combo.setToolTip(tip("outliers"))
        self.iqr_spin = QDoubleSpinBox()
        self.iqr_spin.setRange(IQR_MIN, IQR_MAX)
        self.iqr_spin.setSingleStep(0.5)
        self.iqr_spin.setDecimals(1)
        self.iqr_spin.setSuffix(" × IQR")
        self.iqr_spin.setToolTip(tip("iqr"))
        self.iqr_spin.setMaximumWidth(self.fontMetrics().horizontalAdvance("10.0 × IQR") + 60)
        self.outlier_info = QLabel()
        self.outlier_info.setWordWrap(True)
        outlier_layout.addWidget(QLabel("Outliers:"), 0, 0)
        outlier_layout.addWidget(self.outlier_combo, 0, 1)
        outlier_layout.addWidget(QLabel("Further than:"), 1, 0)
        outlier_layout.addWidget(self.iqr_spin, 1, 1, Qt.AlignmentFlag.AlignLeft)
        outlier_layout.addWidget(self.outlier_info, 2, 0, 1, 3)
        outlier_layout.setColumnStretch(2, 1)

        snapshot_box = QGroupBox("Snapshot date")
        snapshot_layout = QVBoxLayout(snapshot_box)
        self.snapshot_default = QCheckBox("The day after the last purchase")
        self.snapshot_default.setToolTip(tip("snapshot_default"))
        self.snapshot_default.setChecked(True)
        self.snapshot_edit = QDateEdit()
        self.snapshot_default.toggled.connect(lambda on: self.snapshot_edit.setEnabled(not on))
        self.snapshot_edit.setCalendarPopup(True)
        self.snapshot_edit.setDisplayFormat("yyyy-MM-dd")
        self.snapshot_edit.setToolTip(tip("snapshot"))
        self.snapshot_edit.setEnabled(False)
        date_row = QHBoxLayout()
        date_row.addWidget(QLabel("Or up to:"))
        date_row.addWidget(self.snapshot_edit)
        date_row.addStretch(1)
        snapshot_layout.addWidget(self.snapshot_default)
        snapshot_layout.addLayout(date_row)
        snapshot_box.setToolTip(tip("snapshot"))
        # as of a date: only the rows before it, the snapshot at it (one file, "end of May")
        self.as_of_box = QCheckBox("Only transactions before:")
        self.as_of_box.setToolTip(tip("as_of"))
        self.as_of_edit = QDateEdit()
        self.as_of_edit.setCalendarPopup(True)
        self.as_of_edit.setDisplayFormat("yyyy-MM-dd")
        self.as_of_edit.setToolTip(tip("as_of"))
        self.as_of_edit.setEnabled(False)
        as_of_row = QHBoxLayout()
        as_of_row.addWidget(self.as_of_box)
        as_of_row.addWidget(self.as_of_edit)
        as_of_row.addStretch(1)
        snapshot_layout.addLayout(as_of_row)

        column = QVBoxLayout()
        column.addWidget(steps_box)
        below = QHBoxLayout()  # side by side: the page fits 640 pixels of height
        below.addWidget(outlier_box, 3)
        below.addWidget(snapshot_box, 2)
        column.addLayout(below)
        column.addStretch(1)
        holder = QWidget()
        holder.setLayout(column)
        holder.setMaximumWidth(self.fontMetrics().horizontalAdvance("x") * 130)
        # long warnings scroll instead of squeezing the steps; at 150 %/200 % scaling on a small
        # screen the counts scroll sideways instead of being cut off
        scroll = QScrollArea()
        scroll.setWidget(holder)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body.addWidget(scroll, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.recompute)
        self._error: str | None = None
        self.report: CleaningReport | None = None  # the last one shown
        self.warnings: list[str] = []  # the cleaning and customers warnings shown
        self.customers: int | None = None
        self._shown_for: object = None
        self._masks: cleaning.StepMasks | None = None  # the step tests of the loaded file
        self._bind()
        self._follow_transactions()
        self.state.paramsChanged.connect(self._params_changed)
        self.state.transactionsChanged.connect(self._follow_transactions)

    def _bind(self) -> None:
        """Each widget shows one field of ``params.cleaning`` (or the snapshot date) and edits it."""
        state, currency_box = self.state, self.step_boxes["other_currency"]
        bindings = [
            bind(self.step_boxes[step.name], state, f"cleaning.{step.option}")
            for step in cleaning.STEPS
            if step.option is not None and step.option != "currency"
        ]
        # the currency rule needs two widgets: ticked = the code chosen in the combo
        bindings.append(
            bind(
                currency_box,
                state,
                "cleaning.currency",
                to_widget=lambda code: code is not None,
                from_widget=lambda on: self.currency_combo.currentData() if on else None,
            )
        )
        bindings.append(
            bind(
                self.currency_combo,
                state,
                "cleaning.currency",
                to_widget=lambda code: KEEP if code is None else code,
                from_widget=lambda code: code if currency_box.isChecked() else None,
            )
        )
        bindings.append(bind(self.outlier_combo, state, "cleaning.outliers"))
        bindings.append(
            bind(self.iqr_spin, state, "cleaning.iqr_multiplier", from_widget=lambda v: round(v, 2))
        )
        # the snapshot date too: the default box ticked = None, else the date shown
        bindings.append(
            bind(
                self.snapshot_default,
                state,
                "snapshot_date",
                to_widget=lambda day: day is None,
                from_widget=lambda default: None if default else self._shown_snapshot(),
            )
        )
        self._snapshot = bind(
            self.snapshot_edit,
            state,
            "snapshot_date",
            to_widget=self._snapshot_shown,
            from_widget=lambda _day: (
                None if self.snapshot_default.isChecked() else self._shown_snapshot()
            ),
        )
        bindings.append(self._snapshot)
        for binding in bindings:
            binding.edited.connect(self._edited)
        self.as_of_box.toggled.connect(self._as_of_edited)
        self.as_of_edit.dateChanged.connect(self._as_of_edited)
        self._show_as_of(self.state.current.as_of)

    def _as_of_edited(self, *_args: Any) -> None:
        """The as-of date replaces a chosen snapshot date: the snapshot is the as-of date."""
        if self.state.syncing or self.state.path is None:
            return
        day = self.as_of_edit.date().toString("yyyy-MM-dd") if self.as_of_box.isChecked() else None
        self.state.update(as_of=day, snapshot_date=None)
        self._edited()

    def _show_as_of(self, day: str | None) -> None:
        """The as-of widgets show ``day`` (None: unticked); the snapshot box waits while it is set."""
        with self.state.sync():
            self.as_of_box.setChecked(day is not None)
            if day is not None:
                self.as_of_edit.setDate(QDate.fromString(day, "yyyy-MM-dd"))
        self.as_of_edit.setEnabled(day is not None)
        self.snapshot_default.setEnabled(day is None)
        self.snapshot_edit.setEnabled(day is None and not self.snapshot_default.isChecked())

    @staticmethod
    def _header(text: str) -> QLabel:
        label = QLabel(f"<b>{text}</b>")
        return label

    # -- page API ----------------------------------------------------------------------------
    def is_complete(self) -> bool:
        return self.state.transactions is not None and self._error is None

    def enter(self) -> None:
        key = (
            id(self.state.transactions),
            self.state.cleaning,
            self.state.snapshot_date,
            self.state.current.as_of,
        )
        if key != self._shown_for:
            self.recompute()

    def _follow_transactions(self) -> None:
        """New rows: their currencies and the snapshot dates they allow (inside ``state.sync``)."""
        state = self.state
        self._fill_currencies(state.cleaning.currency)
        last = state.last_purchase()
        if last is not None:
            default = last + pd.Timedelta(days=1)
            self.snapshot_default.setText(f"The day after the last purchase ({default:%Y-%m-%d})")
            self.snapshot_edit.setMinimumDate(QDate(last.year, last.month, last.day))
            latest = pipeline.latest_snapshot(last)
            self.snapshot_edit.setMaximumDate(QDate(latest.year, latest.month, latest.day))
            if self.state.current.as_of is None:  # offer the start of the last month
                with self.state.sync():
                    self.as_of_edit.setDate(QDate(last.year, last.month, 1))
        self._snapshot.refresh()

    def _snapshot_shown(self, day: str | None) -> Any:
        """The date the edit shows: the chosen snapshot, else the default one (once rows are read)."""
        if day:
            return QDate.fromString(day, "yyyy-MM-dd")
        last = self.state.last_purchase()
        if last is None:
            return KEEP
        default = last + pd.Timedelta(days=1)
        return QDate(default.year, default.month, default.day)

    def _shown_snapshot(self) -> str:
        return self.snapshot_edit.date().toString("yyyy-MM-dd")

    def _fill_currencies(self, chosen: str | None) -> None:
        """The file's currencies (most rows first) in the combo; the row shows only when there are any."""
        transactions = self.state.transactions
        counts = cleaning.currency_counts(transactions.frame) if transactions is not None else {}
        self.currency_combo.clear()
        for code in dict(counts):
            self.currency_combo.addItem(code, code)
        if chosen is not None and self.currency_combo.findData(chosen) < 0:
            self.currency_combo.addItem(chosen, chosen)
        self.currency_combo.setCurrentIndex(max(self.currency_combo.findData(chosen), 0))
        for widget in self._step_rows["other_currency"]:
            widget.setVisible(self.currency_combo.count() > 0)

    def _params_changed(
        self, _old: AnalysisParams, new: AnalysisParams, changed: frozenset[str]
    ) -> None:
        code = new.cleaning.currency
        if "cleaning" in changed and code is not None and self.currency_combo.findData(code) < 0:
            self._fill_currencies(code)  # a currency of a saved analysis the rows lack
        if "as_of" in changed:
            self._show_as_of(new.as_of)
        if changed & {"cleaning", "snapshot_date", "as_of"}:
            self._mark_stale()

    def _edited(self) -> None:
        """An option changed on this page: count again once the analyst pauses (set elsewhere,
        e.g. by a preset, the counts follow on entering the page, see enter)."""
        self._mark_stale()
        self._timer.start()

    def _mark_stale(self) -> None:
        for label in (*self.removed_labels.values(), *self.after_labels.values()):
            label.setEnabled(False)

    def _show_warnings(self, warnings: Any) -> None:
        """The warnings about the cleaning and the customers, under the counts."""
        self.warnings = [str(w) for w in warnings]
        self.warnings_label.setText(warnings_html(self.warnings))
        self.warnings_label.setVisible(bool(self.warnings))

    # -- background recount ------------------------------------------------------------------
    def cancel_jobs(self) -> None:
        """Also the recount still waiting for its debounce: none may start after a cancel."""
        self._timer.stop()
        super().cancel_jobs()

    def recompute(self) -> None:
        self._timer.stop()
        state = self.state
        if state.transactions is None:
            return
        super().cancel_jobs()
        transactions, params = state.transactions, state.params
        key = (id(transactions), state.cleaning, state.snapshot_date, state.params.as_of)
        self._mark_stale()

        if self._masks is None or self._masks.frame is not transactions.frame:
            self._masks = cleaning.StepMasks(transactions.frame)  # one per loaded file
        masks = self._masks

        def job(task: Any) -> Any:
            # The step counts first (with what the switched-off steps would remove), shown
            # before the rows are copied, then the customers and outliers (RFM values needed).
            cleaned = pipeline.clean_rows(transactions, params, masks, task.partial)
            steps = cleaned[1]
            task.raise_if_cancelled()
            prepared = pipeline.prepare(
                transactions, params, task.progress, task.cancelled, cleaned=cleaned, masks=masks
            )
            as_of = tuple(s for s in prepared.report.steps if s.step == "as_of")
            report = dataclasses.replace(prepared.report, steps=steps.steps + as_of)
            return report, [w for w in prepared.warnings if w.stage in ("cleaning", "customers")]

        self.run_job(
            job,
            "Counting the rows each step removes…",
            on_partial=self._show_steps,
            on_finished=lambda done: self._show(done[0], done[1], key),
            on_errored=self._show_error,
            name="cleaning",
        )

    def _show_steps(self, report: CleaningReport) -> None:
        self._error = None
        self.rows_read_label.setText(f"{report.rows_read:,}")
        for step in report.steps:
            removed = self.removed_labels.get(step.step)
            after = self.after_labels.get(step.step)
            if removed is None or after is None:
                continue
            if step.enabled:
                removed.setText(f"− {step.removed:,}")
            else:
                removed.setText(f"(would remove {step.would_remove:,})")
            after.setText(f"{step.after:,}")
            removed.setEnabled(step.enabled)
            after.setEnabled(True)
            example = self.example_labels[step.step]
            text = step.example or ""
            example.setText(
                self.fontMetrics().elidedText(
                    text, Qt.TextElideMode.ElideRight, self._example_width
                )
            )
            example.setToolTip(
                f"The first row this step {'removes' if step.enabled else 'would remove'}: {text}"
                if text
                else ""
            )
        share = report.rows_clean / report.rows_read if report.rows_read else 0.0
        self.summary.setText(
            f"<b>{report.rows_clean:,}</b> of {report.rows_read:,} rows remain ({share:.1%})."
        )
        self._show_warnings(report.warnings)

    def _show(self, report: CleaningReport, warnings: Any, key: object) -> None:
        self._show_steps(report)
        self._show_warnings(warnings)
        self._shown_for = key
        self.report = report
        self.customers = report.customers_before_outliers
        share = report.rows_clean / report.rows_read if report.rows_read else 0.0
        later = [s for s in report.steps if s.step == "as_of"]
        self.summary.setText(
            f"<b>{report.rows_clean:,}</b> of {report.rows_read:,} rows remain ({share:.1%}), "
            f"from <b>{report.customers_before_outliers:,}</b> customers"
            + (
                f"; {later[0].removed:,} rows on or after the as-of date are left out."
                if later
                else "."
            )
        )
        mode = report.outlier_mode
        found = report.outliers_found
        action = OUTLIER_MODES[mode].action
        self.outlier_info.setText(
            f"{found:,} of {report.customers_before_outliers:,} customers are outliers at "
            f"{self.iqr_spin.value():.1f} × IQR; they will be {action}."
        )
        self.completeChanged.emit()

    def _show_error(self, exc: BaseException) -> None:
        if not isinstance(exc, RFMError):
            self.show_error(exc)
            return
        self._error = exc.message
        self.summary.setText(f"⚠ {exc.message} {exc.hint}")
        self.completeChanged.emit()
