"""The "Scores and segment rules" dialog: number of scores, custom break points, and the named-segment
rule table (built-in rfm-0.2 / rfm-0.3, edit, reorder, load/save CSV), with the live rule-coverage
map. It builds a :class:`ScoringOptions`; the engine's own classes check it, and what they say is
shown in the dialog (never a traceback)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.coverage import Coverage, rule_coverage
from rfm_desktop.core.errors import RFMError
from rfm_desktop.core.params import FEATURES, ScoringOptions
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.core.rules import BUILTIN_RULES, RuleSet, SegmentRule, load_rules, save_rules
from rfm_desktop.core.scoring import LETTERS, UNITS, fmt_value
from rfm_desktop.gui import dialogs, settings
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.colors import segment_color
from rfm_desktop.gui.views.coverage_map import CoverageMap
from rfm_desktop.gui.views.tables import cell_item

COL_NAME, COL_STRATEGY, COL_COVERAGE = 0, 7, 8
BOUND_COLUMNS = {
    1: ("recency", 0),
    2: ("recency", 1),
    3: ("frequency", 0),
    4: ("frequency", 1),
    5: ("monetary", 0),
    6: ("monetary", 1),
}
HEADERS = ("Segment", "R min", "R max", "F min", "F max", "M min", "M max", "Strategy", "Coverage")
RULES_FILTER = "Rule tables (*.csv);;All files (*)"
CUSTOM = "custom"


def describe_scoring(options: ScoringOptions) -> str:
    """'5 scores (quantile breaks); rules rfm-0.2 (10 rules)' for labels next to the button."""
    custom = [LETTERS[m] for m, _ in options.breaks]
    breaks = f"custom breaks for {', '.join(custom)}" if custom else "quantile breaks"
    return f"{options.bins} scores ({breaks}); rule table {options.rules.name} ({len(options.rules.rules)} rules)"


def parse_breaks(text: str, measure: str) -> tuple[float, ...]:
    """'1, 2, 4, 8' as numbers (empty text: none, i.e. quantiles)."""
    values = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            values.append(float(part.replace(" ", "")))
        except ValueError:
            raise RFMError(
                f"'{part}' in the {measure} break points is not a number.",
                hint="Write the break points as numbers separated by commas, e.g. 1, 2, 4, 8.",
            ) from None
    return tuple(values)


class ScoringDialog(QDialog):
    """Edits a copy of the scoring options; :meth:`scoring` is the result once accepted."""

    # The analysis the dialog works on. It hides QDialog.result() (the accept/reject code, unused
    # here) on purpose: callers and tests read the attribute.
    result: AnalysisResult | None  # type: ignore[assignment]

    def __init__(
        self,
        scoring: ScoringOptions,
        result: AnalysisResult | None = None,
        *,
        accept_text: str = "Use these scores and rules",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scores and segment rules")
        self.result = result
        self._base = scoring.rules  # the table the editor started from (a built-in or a file)
        self._scale = scoring.rules.scale
        self._filling = False
        self.coverage: Coverage | None = None
        self.problem = ""
        self.saved_to: Path | None = None

        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(2, 10)
        self.bins_spin.setValue(scoring.bins)
        self.bins_spin.setToolTip(
            "Scores per measure: 1 (worst) to this number (best). 5 is the usual RFM scale."
        )
        self.bins_spin.valueChanged.connect(self._edited)
        self.bins_spin.setMaximumWidth(self.fontMetrics().horizontalAdvance("10") + 50)
        self.break_edits: dict[str, QLineEdit] = {}
        bins_row = QHBoxLayout()
        bins_row.addWidget(QLabel("Number of scores:"))
        bins_row.addWidget(self.bins_spin)
        bins_row.addStretch(1)
        breaks_row = QHBoxLayout()
        breaks_row.addWidget(QLabel("Break points:"))
        for measure in FEATURES:
            edit = QLineEdit(
                ", ".join(fmt_value(v).replace(",", "") for v in scoring.break_map.get(measure, ()))
            )
            edit.setPlaceholderText("quantiles")
            edit.setToolTip(
                f"Custom break points for {measure} ({UNITS[measure] or 'the file’s currency'}), increasing, "
                "one fewer than the number of scores, e.g. 1, 2, 4, 8; a value equal to a break takes the lower "
                "band. Empty: quantiles of the customers' values (equal values always get equal scores)."
            )
            edit.textChanged.connect(self._edited)
            self.break_edits[measure] = edit
            breaks_row.addWidget(QLabel(f"{measure.capitalize()}:"))
            breaks_row.addWidget(edit, 1)
        scores_box = QGroupBox("Scores")
        scores_layout = QVBoxLayout(scores_box)
        scores_layout.addLayout(bins_row)
        scores_layout.addLayout(breaks_row)

        self.table_combo = QComboBox()
        for name, table in BUILTIN_RULES.items():
            self.table_combo.addItem(f"{name} — {table.source.split(',')[0]}", name)
        self.table_combo.addItem("Custom table", CUSTOM)
        self.table_combo.setToolTip(
            "Start from a built-in table of the R package “rfm”, then edit it if you like."
        )
        self.table_combo.activated.connect(self._table_chosen)
        self.rules_table = QTableWidget(0, len(HEADERS))
        self.rules_table.setHorizontalHeaderLabels(list(HEADERS))
        self.rules_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rules_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rules_table.verticalHeader().setToolTip(
            "Rules are tried from the top: a customer takes the first "
            "rule that matches, and 'Others' when none does."
        )
        header = self.rules_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.rules_table.setWordWrap(False)
        self.rules_table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.rules_table.setColumnHidden(
            COL_STRATEGY, True
        )  # edited below the table: the map needs the room
        self.rules_table.itemChanged.connect(lambda _item: self._edited())
        self.strategy_edit = QLineEdit()
        self.strategy_edit.setPlaceholderText("What to do with the selected segment")
        self.strategy_edit.setToolTip(
            "The suggested strategy of the selected rule's segment (shown in the "
            "RFM segments tab and the exports)."
        )
        self.strategy_edit.textEdited.connect(self._strategy_edited)
        self.rules_table.itemSelectionChanged.connect(self._selection_changed)
        self.scale_note = QLabel()
        self.scale_note.setWordWrap(True)
        self.rewrite_button = QPushButton()
        self.rewrite_button.setToolTip(
            "Rewrite the bounds for the current number of scores (what the map shows)."
        )
        self.rewrite_button.clicked.connect(self.rewrite_for_bins)

        buttons = QHBoxLayout()
        self.add_button = self._button(
            "Add rule", self.add_rule, "A new rule at the end (matching nothing yet)."
        )
        self.remove_button = self._button("Remove", self.remove_rule, "Remove the selected rule.")
        self.up_button = self._button(
            "Move up", lambda: self.move_rule(-1), "Try the selected rule earlier."
        )
        self.down_button = self._button(
            "Move down", lambda: self.move_rule(1), "Try the selected rule later."
        )
        self.load_button = self._button(
            "Load CSV…",
            self.load_csv,
            "A rules file: segment,r_min,r_max,f_min,f_max,m_min,m_max[,strategy].",
        )
        self.save_button = self._button(
            "Save CSV…",
            self.save_csv,
            "Save this table as a rules CSV file (the CLI reads it with --rules FILE).",
        )
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.save_button)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Table:"))
        source_row.addWidget(self.table_combo, 1)
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale_note, 1)
        scale_row.addWidget(self.rewrite_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scores_box)
        left_layout.addLayout(source_row)
        left_layout.addWidget(self.rules_table, 1)
        strategy_row = QHBoxLayout()
        strategy_row.addWidget(QLabel("Strategy:"))
        strategy_row.addWidget(self.strategy_edit, 1)
        left_layout.addLayout(strategy_row)
        left_layout.addLayout(scale_row)
        left_layout.addLayout(buttons)

        self.map = CoverageMap()
        self.map_summary = QLabel()
        self.map_summary.setWordWrap(True)
        self.flags = QLabel()
        self.flags.setWordWrap(True)
        self.flags.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        map_help = QLabel(
            "Each panel is one M score; in it, rows are R (high at the top) and columns F (low at "
            "the left). A cell's colour and number: the rule that takes customers with those "
            "scores. Hatched: no rule, so “Others”. Select a rule to outline its box."
        )
        map_help.setWordWrap(True)
        make_hint(map_help)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>Rule coverage</b>"))
        right_layout.addWidget(self.map, 1)
        right_layout.addWidget(self.map_summary)
        right_layout.addWidget(self.flags)
        right_layout.addWidget(map_help)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("scoringSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([620, 520])
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(accept_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(1200, 760)

        self.load_table(scoring.rules)

    def _button(self, text: str, slot, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # -- the table ----------------------------------------------------------------------------------
    def load_table(self, rules: RuleSet) -> None:
        """Show a rule table (it becomes the base that the edits are compared with)."""
        self._base = rules
        self._scale = rules.scale
        self._filling = True
        try:
            self.rules_table.setRowCount(0)
            for rule in rules.rules:
                self._append(rule)
            index = self.table_combo.findData(rules.name if rules.name in BUILTIN_RULES else CUSTOM)
            self.table_combo.setCurrentIndex(index)
        finally:
            self._filling = False
        self.rules_table.resizeColumnsToContents()
        self._selection_changed()
        self._edited()

    def _append(self, rule: SegmentRule) -> None:
        row = self.rules_table.rowCount()
        self.rules_table.insertRow(row)
        self.rules_table.setItem(row, COL_NAME, QTableWidgetItem(rule.name))
        for col, (measure, side) in BOUND_COLUMNS.items():
            item = QTableWidgetItem()
            item.setData(Qt.ItemDataRole.EditRole, int(getattr(rule, measure)[side]))
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.rules_table.setItem(row, col, item)
        strategy = QTableWidgetItem(rule.strategy)
        strategy.setToolTip(rule.strategy)
        self.rules_table.setItem(row, COL_STRATEGY, strategy)
        coverage = QTableWidgetItem()
        coverage.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        self.rules_table.setItem(row, COL_COVERAGE, coverage)

    def _row_rule(self, row: int) -> SegmentRule:
        def bound(col: int) -> int:
            value = cell_item(self.rules_table, row, col).data(Qt.ItemDataRole.EditRole)
            try:
                return int(value)
            except (TypeError, ValueError):
                raise RFMError(
                    f"Rule {row + 1}: {HEADERS[col]} '{value}' is not a whole score."
                ) from None

        name = cell_item(self.rules_table, row, COL_NAME).text().strip()
        strategy = cell_item(self.rules_table, row, COL_STRATEGY).text().strip()
        return SegmentRule(
            name, (bound(1), bound(2)), (bound(3), bound(4)), (bound(5), bound(6)), strategy
        )

    def rules(self) -> RuleSet:
        """The table as edited.

        Raises
        ------
        RFMError
            A bound that is not a whole score in 1..scale, an empty, reserved or repeated name.
        """
        rules = tuple(self._row_rule(row) for row in range(self.rules_table.rowCount()))
        if not rules:
            raise RFMError("The table has no rules: add one, or pick a built-in table.")
        base = self._base
        if rules == base.rules and self._scale == base.scale:
            return base
        # "better segment" (Why this segment) keeps the base table's order while its names are the same
        order = base.order if base.order and set(base.order) == {r.name for r in rules} else ()
        if base.name in BUILTIN_RULES:
            return RuleSet(CUSTOM, rules, self._scale, order, f"edited from {base.name}")
        return RuleSet(base.name, rules, self._scale, order, base.source)

    def breaks(self) -> tuple[tuple[str, tuple[float, ...]], ...]:
        return tuple(
            (m, points) for m in FEATURES if (points := parse_breaks(self.break_edits[m].text(), m))
        )

    def scoring(self) -> ScoringOptions:
        """The options as edited (raises RFMError with the engine's message when they are not valid)."""
        return ScoringOptions(bins=self.bins_spin.value(), breaks=self.breaks(), rules=self.rules())

    # -- edits --------------------------------------------------------------------------------------
    def add_rule(self) -> None:
        n = self.rules_table.rowCount() + 1
        names = {cell_item(self.rules_table, r, COL_NAME).text() for r in range(n - 1)}
        name = next(
            f"New segment {i}" for i in range(n, n + 100) if f"New segment {i}" not in names
        )
        self._filling = True
        self._append(SegmentRule(name, (1, self._scale), (1, self._scale), (1, self._scale)))
        self._filling = False
        self.rules_table.selectRow(n - 1)
        self._edited()

    def remove_rule(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.rules_table.removeRow(row)
            self._edited()

    def move_rule(self, step: int) -> None:
        row = self.selected_row()
        if row is None or not 0 <= row + step < self.rules_table.rowCount():
            return
        self._filling = True
        items = [self.rules_table.takeItem(row, c) for c in range(len(HEADERS))]
        self.rules_table.removeRow(row)
        self.rules_table.insertRow(row + step)
        for col, item in enumerate(items):
            self.rules_table.setItem(row + step, col, item)
        self._filling = False
        self.rules_table.selectRow(row + step)
        self._edited()

    def selected_row(self) -> int | None:
        rows = self.rules_table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def rewrite_for_bins(self) -> None:
        """Turn the table into one written for the current number of scores (RuleSet.rescaled)."""
        try:
            rules = self.rules().rescaled(self.bins_spin.value())
        except RFMError as exc:
            self._show_problem(exc)
            return
        self.load_table(
            RuleSet(
                CUSTOM if rules.name in BUILTIN_RULES else rules.name,
                rules.rules,
                rules.scale,
                rules.order,
                f"{rules.source}, rewritten for {rules.scale} scores".lstrip(", "),
            )
        )

    def _table_chosen(self, index: int) -> None:
        name = self.table_combo.itemData(index)
        if name in BUILTIN_RULES:
            self.load_table(BUILTIN_RULES[name])

    def load_csv(self) -> None:
        path = dialogs.ask_open_file(
            self, "Load segment rules", settings.last_folder(), RULES_FILTER
        )
        if not path:
            return
        try:
            # a rules file is written for the run's scores, as the CLI reads it (--rules FILE)
            self.load_table(load_rules(path, scale=self.bins_spin.value()))
        except RFMError as exc:
            self._show_problem(exc)
            return
        settings.set_last_folder(path)

    def save_csv(self) -> None:
        try:
            rules = self.rules()
        except RFMError as exc:
            self._show_problem(exc)
            return
        default = str(Path(settings.last_folder("export")) / f"{rules.name}-rules.csv")
        chosen = dialogs.ask_save_file(self, "Save segment rules", default, RULES_FILTER)
        if not chosen:
            return
        path = Path(chosen[0] if chosen[0].lower().endswith(".csv") else chosen[0] + ".csv")
        try:
            save_rules(rules, path)
        except RFMError as exc:
            self._show_problem(exc)
            return
        settings.set_last_folder(path, "export")
        self.saved_to = path
        self.message.setStyleSheet("")
        self.message.setText(f"Saved the rule table to {path}.")

    # -- live check ---------------------------------------------------------------------------------
    def _edited(self) -> None:
        if self._filling:
            return
        bins = self.bins_spin.value()
        self.scale_note.setText(
            f"Bounds are scores 1–{self._scale}."
            if bins == self._scale
            else f"Bounds are written for scores 1–{self._scale} and read on 1–{bins} (as the map shows)."
        )
        self.rewrite_button.setText(f"Rewrite for {bins} scores")
        self.rewrite_button.setVisible(bins != self._scale)
        try:
            self.coverage = rule_coverage(self.rules(), bins)
        except RFMError as exc:
            self._show_problem(exc)
            self._draw(None)
            return
        try:
            options = self.scoring()
        except RFMError as exc:  # a break point problem: the rule map still holds
            self._show_problem(exc)
            self._draw(self.coverage)
            return
        self.problem = ""
        self.message.clear()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self._draw(self.coverage, options)

    def _show_problem(self, exc: RFMError) -> None:
        specific = exc.hint and exc.hint != type(exc).hint  # not the class's generic advice
        self.problem = exc.message + (f" {exc.hint}" if specific else "")
        self.message.setStyleSheet("color: #C62828; font-weight: bold;")
        self.message.setText(self.problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)

    def _customer_counts(
        self, coverage: Coverage, options: ScoringOptions | None
    ) -> np.ndarray | None:
        """Customers of the last run per score cell, when its scores are the ones being edited."""
        result = self.result
        if result is None or options is None or not len(result.customers):
            return None
        ran = result.params.scoring
        if (ran.bins, ran.break_map) != (options.bins, options.break_map):
            return None
        return np.bincount(coverage.cell_index(result.customers), minlength=coverage.bins**3)

    def _draw(self, coverage: Coverage | None, options: ScoringOptions | None = None) -> None:
        self._filling = True
        try:
            names = [
                cell_item(self.rules_table, r, COL_NAME).text()
                for r in range(self.rules_table.rowCount())
            ]
            colors = [segment_color(n) for n in names]
            for row, color in enumerate(colors):
                cell_item(self.rules_table, row, COL_NAME).setData(
                    Qt.ItemDataRole.DecorationRole, QColor(color)
                )
            if coverage is None:
                self.map.set_coverage(None)
                self.map_summary.clear()
                self.flags.clear()
                return
            counts = self._customer_counts(coverage, options)
            self.map.set_coverage(coverage, colors, counts)
            warn = QBrush(QColor("#FFE0B2"))
            for row, stat in enumerate(coverage.rule_stats):
                item = cell_item(self.rules_table, row, COL_COVERAGE)
                taken = f"{stat.cells} cell{'s' if stat.cells != 1 else ''}"
                if counts is not None:
                    customers = int(counts[(coverage.cells["rule"] == row).to_numpy()].sum())
                    taken += f", {customers:,} customers"
                text = {
                    "ok": taken,
                    "never": "never matches (empty range)",
                    "shadowed": f"never matches: shadowed by {', '.join(stat.shadowed_by)}",
                }[stat.status]
                item.setText(text)
                item.setToolTip(text)
                item.setBackground(warn if stat.status != "ok" else QBrush())
                item.setForeground(QBrush(QColor("#000000")) if stat.status != "ok" else QBrush())
            cells = coverage.bins**3
            self.map_summary.setText(
                f"{cells:,} score cells: {cells - len(coverage.uncovered):,} taken by a rule, "
                f"{len(coverage.uncovered):,} fall to “Others”."
                + (
                    ""
                    if counts is not None
                    else (
                        " Customer counts show once a run has used these scores."
                        if self.result is not None
                        else ""
                    )
                )
            )
            # counts exist only with a result (_customer_counts)
            flags = coverage.warnings(
                self.result.customers if counts is not None and self.result is not None else None
            )
            self.flags.setText(
                "<br>".join(f"⚠ {html.escape(f, quote=False)}" for f in flags)
                if flags
                else "✓ Every rule can match, and every score cell has a rule."
            )
        finally:
            self._filling = False

    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.map.set_highlight(row)
        self.strategy_edit.setEnabled(row is not None)
        self.strategy_edit.setText(
            "" if row is None else cell_item(self.rules_table, row, COL_STRATEGY).text()
        )
        self.strategy_edit.setCursorPosition(0)

    def _strategy_edited(self, text: str) -> None:
        row = self.selected_row()
        if row is not None:
            cell_item(self.rules_table, row, COL_STRATEGY).setText(text)
