"""Cleaning report tab: what each cleaning step removed, and the facts of the input."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from rfm_desktop.core.result import AnalysisResult, CleaningStep, MissingIdCheck, RowGroup
from rfm_desktop.gui.views.base import ResultView
from rfm_desktop.gui.views.tables import (
    Column,
    RowTableModel,
    fmt_int,
    fmt_num,
    fmt_pct,
    make_table_view,
)


def _share_removed(step: CleaningStep) -> float:
    return step.removed / step.before if step.before else 0.0


def _status(step: CleaningStep) -> str:
    if getattr(step, "enabled", True):
        return "On"
    would = getattr(step, "would_remove", 0)
    return f"Off (would remove {would:,})" if would else "Off"


STEP_COLUMNS = (
    Column("Step", lambda s: s.label, str, "What the step removes.", numeric=False),
    Column("Rows before", lambda s: s.before, fmt_int, "Rows going into the step."),
    Column("Removed", lambda s: s.removed, fmt_int, "Rows the step removed."),
    Column("Remaining", lambda s: s.after, fmt_int, "Rows after the step."),
    Column("% removed", _share_removed, fmt_pct, "Removed rows as a share of the rows going in."),
    Column("Status", _status, str, "Whether the step was switched on.", numeric=False),
    Column(
        "First row removed",
        lambda s: s.example or "",
        str,
        "The first row the step removed (or, switched off, would remove).",
        numeric=False,
    ),
)

MISSING_ID_COLUMNS = (
    Column("Sales rows", lambda r: r[0], str, "What is compared.", numeric=False),
    Column("With customer id", lambda r: r[1], str, "The rows RFM sees."),
    Column("Without customer id", lambda r: r[2], str, "The rows RFM cannot see."),
)


def _main_country(group: RowGroup, country: str | None) -> float | None:
    return dict(group.countries).get(country, 0.0) if country else None


def missing_id_rows(check: MissingIdCheck) -> list[tuple[str, str, str]]:
    """The comparison as (figure, with id, without id) texts, for the panel's table."""
    a, b = check.with_id, check.without_id
    country = a.countries[0][0] if a.countries else None
    figures: list[tuple[str, float | None, float | None, Callable[[float], str]]] = [
        ("Share of the sales rows", a.row_share, b.row_share, fmt_pct),
        ("Share of the sales revenue", a.revenue_share, b.revenue_share, fmt_pct),
        ("Invoices", a.invoices, b.invoices, fmt_int),
        ("Mean invoice value", a.invoice_value_mean, b.invoice_value_mean, fmt_num),
        ("Lines per invoice", a.lines_per_invoice, b.lines_per_invoice, fmt_num),
        ("Units per invoice", a.units_per_invoice, b.units_per_invoice, fmt_num),
        ("Median unit price", a.unit_price_median, b.unit_price_median, lambda v: fmt_num(v, 2)),
    ]
    if country:
        figures.append(
            (
                f"Rows from {country}",
                _main_country(a, country),
                _main_country(b, country),
                fmt_pct,
            )
        )
    return [
        (name, fmt(x), fmt(y)) for name, x, y, fmt in figures if x is not None and y is not None
    ]


#: What each warning stage is called next to the warning (core/result.STAGES).
STAGE_NAMES = {
    "read": "Reading",
    "cleaning": "Cleaning",
    "customers": "Customers",
    "clustering": "Clustering",
    "value": "Customer value",
}

_DATE_TOKENS = {
    "%Y": "YYYY",
    "%y": "YY",
    "%m": "MM",
    "%d": "DD",
    "%H": "hh",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%p": "AM/PM",
    "%b": "Mon",
    "%B": "Month",
    "%f": "ffffff",
}


def readable_date_format(fmt: str) -> str:
    """'%d/%m/%Y %H:%M' -> 'DD/MM/YYYY hh:mm (%d/%m/%Y %H:%M)'; other labels as they are."""
    if not fmt:
        return "not detected"
    if "%" not in fmt:
        return fmt
    readable = re.sub(r"%[A-Za-z]", lambda m: _DATE_TOKENS.get(m.group(0), m.group(0)), fmt)
    return f"{readable} ({fmt})"


class CleaningView(ResultView):
    title = "Cleaning report"
    view_name = "cleaning"
    placeholder = "Run an analysis to see what the cleaning steps removed."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RowTableModel(STEP_COLUMNS, self)
        self.table = make_table_view()
        self.table.setSortingEnabled(False)  # the steps run in this order
        self.table.setModel(self.model)
        self.facts: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for key, text in (
            ("file", "Input file"),
            ("rows_read", "Rows read"),
            ("rows_clean", "Rows after cleaning"),
            ("customers", "Customers analysed"),
            ("outliers", "Outliers"),
            ("date_format", "Date format detected"),
            ("snapshot", "Snapshot date (recency counted to)"),
            ("warnings", "Warnings"),
        ):
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.RichText)  # escaped text: one warning has no tag
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts[key] = label
            form.addRow(f"{text}:", label)
        title = QLabel("<b>Cleaning steps, in the order they ran</b>")
        self.missing_title = QLabel(
            "<b>Rows without customer id: do the customers analysed look like the business?</b>"
        )
        self.missing_verdict = QLabel()
        self.missing_verdict.setWordWrap(True)
        self.missing_verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.missing_model = RowTableModel(MISSING_ID_COLUMNS, self)
        self.missing_table = make_table_view()
        self.missing_table.setSortingEnabled(False)
        self.missing_table.setModel(self.missing_model)
        # two columns of figures side by side, right-aligned under their headers, not one
        # stretched across a wide window
        self.missing_table.horizontalHeader().setStretchLastSection(False)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(title)
        layout.addWidget(self.table, 1)
        layout.addSpacing(8)
        layout.addWidget(self.missing_title)
        layout.addWidget(self.missing_verdict)
        layout.addWidget(self.missing_table, 1)
        self.set_content(content)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        report = result.cleaning
        self.model.set_rows(list(report.steps))
        self.table.resizeColumnsToContents()
        rows_read = report.rows_read or result.rows_read
        removed = rows_read - report.rows_clean
        self.facts["file"].setText(html.escape(str(result.params.input_path)))
        self.facts["rows_read"].setText(f"{rows_read:,}")
        self.facts["rows_clean"].setText(
            f"{report.rows_clean:,} ({removed:,} removed, {fmt_pct(removed / rows_read if rows_read else 0)})"
        )
        self.facts["customers"].setText(f"{result.customer_count:,}")
        self.facts["outliers"].setText(self._outlier_text(result))
        self.facts["date_format"].setText(html.escape(readable_date_format(result.date_format)))
        snapshot = result.snapshot_date
        self.facts["snapshot"].setText("–" if snapshot is None else f"{snapshot:%Y-%m-%d}")
        warnings = [
            f"{html.escape(STAGE_NAMES.get(w.stage, w.stage))}: {html.escape(w.text)}"
            for w in result.warnings
        ]
        self.facts["warnings"].setText(
            "<br>".join(f"⚠ {w}" for w in warnings) if warnings else "none"
        )
        self._show_missing_ids(report.missing_ids)
        self.show_content()

    def _show_missing_ids(self, check: MissingIdCheck | None) -> None:
        """The missing-id comparison (core.missing_ids); hidden when every sales row has an id."""
        for widget in (self.missing_title, self.missing_verdict, self.missing_table):
            widget.setVisible(check is not None)
        if check is None:
            self.missing_model.set_rows([])
            return
        mark = "⚠ " if check.differs else ""
        self.missing_verdict.setText(f"{mark}{html.escape(check.verdict)}")
        self.missing_model.set_rows(missing_id_rows(check))
        self.missing_table.resizeColumnsToContents()

    @staticmethod
    def _outlier_text(result: AnalysisResult) -> str:
        report = result.cleaning
        mode = report.outlier_mode
        found = report.outliers_found
        iqr = result.params.cleaning.iqr_multiplier
        features = ", ".join(result.params.cleaning.outlier_features)
        rule = f"IQR rule, {iqr:g} × IQR on {features}"
        before = report.customers_before_outliers
        of = f" of {before:,}" if before else ""
        action = {
            "keep": "kept in the clustering",
            "drop": "removed before clustering",
            "segment": "set apart in an “Outliers” segment",
        }.get(mode, mode)
        return f"{found:,} customers{of} flagged ({rule}); {action}."
