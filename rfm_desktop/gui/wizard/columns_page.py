"""Step 2: which column holds what; a preview of the first rows, problems shown as you map."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.fields import FIELDS
from rfm_desktop.core.io import Transactions
from rfm_desktop.core.mapping import check_mapping, currency_column
from rfm_desktop.gui.binding import bind
from rfm_desktop.gui.frame_model import FrameModel
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.texts import tip, warnings_html
from rfm_desktop.gui.wizard.loading import read_all
from rfm_desktop.gui.wizard.page import WizardPage
from rfm_desktop.gui.wizard.state import column_map

NOT_MAPPED = "(not in the file)"
#: Date order choices: (label, AnalysisParams.date_order)
DATE_ORDERS = (
    ("Automatic", None),
    ("Day first (31/12/2024)", "dmy"),
    ("Month first (12/31/2024)", "mdy"),
    ("Year first (2024/12/31)", "ymd"),
)


class ColumnsPage(WizardPage):
    title = "2. Columns"
    subtitle = (
        "Which column of the file holds each field. The guesses come from the column names; "
        "change any that are wrong. Fields marked * are required."
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.model = FrameModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table_title = QLabel()

        self.combos: dict[str, QComboBox] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in FIELDS:
            combo = QComboBox()
            combo.setToolTip(f"{field.description}\n\n{tip('mapping')}")
            combo.setMinimumContentsLength(14)
            self._bind_combo(combo, field.name)
            label = QLabel(f"{field.label}{' *' if field.required else ''}:")
            label.setToolTip(field.description)
            form.addRow(label, combo)
            self.combos[field.name] = combo
        money = QLabel("* plus either Quantity and Unit price, or Amount.")
        money.setWordWrap(True)
        make_hint(money)
        form.addRow("", money)
        self.date_order_combo = QComboBox()
        self.date_order_combo.setToolTip(tip("date_order"))
        for text, order in DATE_ORDERS:
            self.date_order_combo.addItem(text, order)
        bind(self.date_order_combo, self.state, "date_order")
        form.addRow("Date order:", self.date_order_combo)
        self.date_note = QLabel()
        self.date_note.setWordWrap(True)
        self.date_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", self.date_note)

        self.problem_icon = QLabel()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        size = self.fontMetrics().height()
        self.problem_icon.setPixmap(icon.pixmap(size, size))
        self.problem_icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        problem_row = QHBoxLayout()
        problem_row.addWidget(self.problem_icon)
        problem_row.addWidget(self.problems, 1)
        self.read_warnings = QLabel()  # what reading all rows with this mapping found
        self.read_warnings.setWordWrap(True)
        self.read_warnings.setTextFormat(Qt.TextFormat.RichText)
        self.read_warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.read_warnings.setVisible(False)

        box = QGroupBox("Fields")
        box_layout = QVBoxLayout(box)
        box_layout.addLayout(form)
        box_layout.addLayout(problem_row)
        box_layout.addStretch(1)

        preview = QWidget()
        preview_layout = QVBoxLayout(preview)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        preview_layout.addWidget(self.table_title)
        preview_layout.addWidget(self.read_warnings)  # above the rows: in view on any screen
        preview_layout.addWidget(self.table)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("columnsSplitter")
        fields = QScrollArea()  # eleven fields and their notes scroll on a 640-pixel screen
        fields.setWidget(box)
        fields.setWidgetResizable(True)
        fields.setFrameShape(QFrame.Shape.NoFrame)
        fields.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        fields.setMinimumWidth(box.minimumSizeHint().width() + bar)
        self.splitter.addWidget(fields)
        self.splitter.addWidget(preview)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([320, 900])
        self.body.addWidget(self.splitter, 1)
        self._problems: list[str] = []
        self._headers: list[str] = []
        self.state.transactionsChanged.connect(self._show_read_warnings)
        self.state.paramsChanged.connect(
            lambda _old, _new, changed: (
                self._check() if changed & {"column_map", "date_order"} else None
            )
        )

    # -- page API ----------------------------------------------------------------------------
    def is_complete(self) -> bool:
        return self.state.has_file and not self._problems and not self.has_jobs()

    def enter(self) -> None:
        state = self.state
        if state.preview is None:
            return
        headers = [str(c) for c in state.preview.columns]
        fresh = headers != self._headers or self.model.frame is not state.preview
        if fresh:
            self._headers = headers
            self.model.set_frame(state.preview)
        n = len(state.preview)
        self.table_title.setText(
            f"The first {n:,} rows of the file, as read (→ the field each column is used for):"
        )
        self._fill_combos(state.mapping)
        self._check()
        if fresh:  # after _check: the headers carry the field names now
            self.table.resizeColumnsToContents()
            for col in range(self.model.columnCount()):
                self.table.setColumnWidth(col, min(self.table.columnWidth(col), 200))

    def before_next(self, proceed: Callable[[], object]) -> None:
        if not self.state.needs_reload:
            proceed()
            return
        state = self.state
        params, mapping, order = state.params, dict(state.mapping), state.date_order

        def done(transactions: Transactions) -> None:
            state.set_transactions(transactions, requested=mapping, date_order=order)
            self._show_date_note()
            proceed()

        self.run_job(
            lambda task: read_all(params, task),
            "Reading all rows with this mapping…",
            on_finished=done,
            name="reload",
        )
        self.completeChanged.emit()

    def problems_text(self) -> list[str]:
        return list(self._problems)

    # -- mapping -----------------------------------------------------------------------------
    def _fill_combos(self, mapping: dict[str, str]) -> None:
        with self.state.sync():  # the items of this file's headers: not an edit
            for name, combo in self.combos.items():
                combo.clear()
                combo.addItem(NOT_MAPPED, "")
                for header in self._headers:
                    combo.addItem(header, header)
                chosen = mapping.get(name, "")
                index = combo.findData(chosen) if chosen else 0
                combo.setCurrentIndex(max(index, 0))

    def current_mapping(self) -> dict[str, str]:
        return {
            name: combo.currentData() for name, combo in self.combos.items() if combo.currentData()
        }

    def set_field(self, name: str, header: str | None) -> None:
        """Choose a column for a field (as a user would in the combo)."""
        combo = self.combos[name]
        combo.setCurrentIndex(max(combo.findData(header or ""), 0))

    def set_date_order(self, order: str | None) -> None:
        """Choose the date order (as a user would in the combo)."""
        self.date_order_combo.setCurrentIndex(max(self.date_order_combo.findData(order), 0))

    def _show_date_note(self) -> None:
        """How the dates were read, and the warning when their order was a guess."""
        state = self.state
        t = state.transactions
        if t is None or state.needs_reload:
            self.date_note.setText("Dates are read when you press Next." if t is not None else "")
            return
        note = getattr(t, "date_note", "")
        ambiguous = (
            "--date-order" in note
        )  # the order was a guess (the full sentence is the tooltip)
        self.date_note.setToolTip(note)
        self.date_note.setText(
            f"⚠ Read as {html.escape(t.date_format)}, a guess: the other order fits "
            "every date too. Choose it above if that is wrong."
            if ambiguous
            else f"Read as {html.escape(t.date_format)}."
        )

    def _bind_combo(self, combo: QComboBox, name: str) -> None:
        """The combo of field ``name`` shows its column in the column map, and edits the map."""
        bind(
            combo,
            self.state,
            "column_map",
            to_widget=lambda columns: dict(columns).get(name, ""),
            from_widget=lambda _column: self._mapping_edited(name),
        )

    def _mapping_edited(self, name: str) -> tuple[tuple[str, str], ...]:
        """The column map after the analyst chose a column for ``name`` (in its combo)."""
        if name == "amount":  # a converted amount brings its own currency column (or none)
            with self.state.sync():
                self.set_field(
                    "currency",
                    currency_column(self._headers, self.combos["amount"].currentData()),
                )
        return column_map(self.current_mapping())

    def _show_read_warnings(self) -> None:
        """The warnings of the rows as read with the current mapping; none while it is edited."""
        transactions = self.state.transactions
        text = (
            ""
            if transactions is None or self.state.needs_reload
            else warnings_html(transactions.warnings)
        )
        self.read_warnings.setText(text)
        self.read_warnings.setVisible(bool(text))

    def _check(self) -> None:
        state = self.state
        labels = {f.name: f.label for f in FIELDS}
        self.model.set_header_notes(
            {column: labels[field] for field, column in state.mapping.items()}
        )
        if state.preview is None:
            self._problems = ["Open a file first."]
        else:
            self._problems = list(check_mapping(state.preview, state.mapping))
        self._show_date_note()
        ok = not self._problems
        self.problem_icon.setVisible(not ok)
        self.problems.setText(
            "✔ The mapping can be used." if ok else "<br>".join(f"• {p}" for p in self._problems)
        )
        self._show_read_warnings()
        self.completeChanged.emit()
