"""RFM scores tab: the R score x F score grid coloured by mean spend (any number of scores, 2–10),
and beside it the thresholds of every score (core.scoring.thresholds_frame), empty scores marked."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.explain import band_text
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.core.scoring import MeasureScale, thresholds_frame
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.views.base import ResultView, text_color_on
from rfm_desktop.gui.views.colors import heat_color
from rfm_desktop.gui.views.tables import cell_item, fmt_int, fmt_num, fmt_pct

THRESHOLD_HEADERS = (
    ("Score", "The score and its measure (R recency, F frequency, M monetary)."),
    (
        "Values",
        "The values that get this score: above the lower break, up to and including the upper one.",
    ),
    ("Customers", "Customers with this score."),
    ("Customers have", "The lowest and highest value among the customers with this score."),
)


def _cell_fraction(value: float, low: float, high: float) -> float:
    """Position of ``value`` on a log scale between the smallest and largest cell means."""
    if not math.isfinite(value) or value <= 0:
        return float("nan") if not math.isfinite(value) else 0.0
    if high <= low:
        return 0.5
    return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))


def _after(text: str, separator: str) -> str:
    """The part of a core label after its 'R 4' prefix ('R 4: > 8 …', 'R 4 = 9–30 days')."""
    return text.split(separator, 1)[1] if separator in text else text


def score_values(scale: MeasureScale, score: int) -> str:
    """The values a score stands for ('> 8 and ≤ 30 days'), or why none can have it."""
    if not scale.reachable(score):
        return "none (equal breaks)"
    return _after(band_text(scale, scale.band(score)), ": ")


def _empty_brush(widget: QWidget) -> QBrush:
    return QBrush(
        widget.palette().color(widget.palette().ColorRole.Mid), Qt.BrushStyle.BDiagPattern
    )


class RFMView(ResultView):
    title = "RFM scores"
    view_name = "rfm"
    placeholder = "Run an analysis to see the RFM scores and their thresholds here."

    #: the analyst wants to change the number of scores, the break points or the segment rules
    scoringRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bins = 0
        self.grid = QTableWidget(0, 0)
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.grid.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.grid.setWordWrap(True)
        for header in (self.grid.horizontalHeader(), self.grid.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setHighlightSections(False)
        self.grid.horizontalHeader().setToolTip(
            "Frequency score: 1 = fewest orders … highest = most orders."
        )
        self.grid.verticalHeader().setToolTip(
            "Recency score: highest = bought most recently … 1 = longest ago."
        )
        self.grid.setMinimumSize(320, 260)
        self.grid_help = QLabel()
        self.grid_help.setWordWrap(True)
        make_hint(self.grid_help)

        self.thresholds = QTableWidget(0, len(THRESHOLD_HEADERS))
        self.thresholds.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.thresholds.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.thresholds.verticalHeader().setVisible(False)
        self.thresholds.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        for i, (text, tip) in enumerate(THRESHOLD_HEADERS):
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            self.thresholds.setHorizontalHeaderItem(i, item)
        header = self.thresholds.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.thresholds_note = QLabel()
        self.thresholds_note.setWordWrap(True)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.scoring_button = QPushButton("Scores and segment rules…")
        self.scoring_button.setToolTip(
            "Change the number of scores, the break points or the named-segment rules, "
            "with a live map of which rule takes each score cell; then run again."
        )
        self.scoring_button.clicked.connect(self.scoringRequested)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.scoring_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_title = QLabel()
        left_layout.addWidget(self.grid_title)
        left_layout.addWidget(self.grid, 1)
        left_layout.addWidget(self.grid_help)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>Score thresholds</b>"))
        right_layout.addWidget(self.thresholds, 1)
        right_layout.addWidget(self.thresholds_note)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 420])
        splitter.setChildrenCollapsible(False)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.set_content(content)

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        if not result.scales:
            self.show_message("This result has no score thresholds: run the analysis again.")
            return
        self._bins = result.bins
        method = {s.method for s in result.scales}
        how = (
            "custom break points"
            if method == {"custom"}
            else (
                "quantile breaks" if method == {"quantile"} else "quantile and custom break points"
            )
        )
        self.summary.setText(
            f"<b>{result.bins} scores</b> per measure ({how}); named segments from the rule table "
            f"<b>{result.rules.name}</b> ({len(result.rules.rules)} rules, first match wins)."
        )
        self._fill_grid(result)
        self._fill_thresholds(result)
        self.show_content()

    # -- the grid ---------------------------------------------------------------------------------
    def r_rows(self) -> list[int]:
        """R scores top to bottom (most recent at the top)."""
        return list(range(self._bins, 0, -1))

    def cell(self, r_score: int, f_score: int) -> QTableWidgetItem:
        """The grid cell of an R score and an F score (1..bins each)."""
        return cell_item(self.grid, self._bins - r_score, f_score - 1)

    def cell_values(self, r_score: int, f_score: int) -> dict[str, Any]:
        return dict(self.cell(r_score, f_score).data(Qt.ItemDataRole.UserRole))

    def _header(self, scale: MeasureScale, score: int) -> QTableWidgetItem:
        band = scale.band(score)
        empty = band.customers == 0
        values = "empty" if empty else _after(scale.describe(score), " = ")
        if self._bins > 5 and not empty and scale.measure != "monetary":
            values = values.rsplit(" ", 1)[
                0
            ]  # '3–4', not '3–4 orders': narrow columns; the title has the unit
        item = QTableWidgetItem(f"{scale.letter} {score}\n{values}")
        item.setToolTip(
            f"{scale.letter} {score}: no customer has this score ({score_values(scale, score)})."
            if empty
            else f"{scale.describe(score)} ({band.customers:,} customers)."
        )
        if empty:
            font = QFont(item.font())
            font.setItalic(True)
            item.setFont(font)
            item.setForeground(
                QBrush(self.palette().color(self.palette().ColorRole.PlaceholderText))
            )
        return item

    def _fill_grid(self, result: AnalysisResult) -> None:
        bins = result.bins
        r_scale, f_scale = result.scale("recency"), result.scale("frequency")
        self.grid.clear()
        self.grid.setRowCount(bins)
        self.grid.setColumnCount(bins)
        for i, r in enumerate(self.r_rows()):
            self.grid.setVerticalHeaderItem(i, self._header(r_scale, r))
        for f in range(1, bins + 1):
            self.grid.setHorizontalHeaderItem(f - 1, self._header(f_scale, f))
        cells = {
            (int(rec["r_score"]), int(rec["f_score"])): (
                int(rec["customers"] or 0),
                float(rec["monetary_mean"]),
            )
            for rec in result.heatmap.to_dict("records")
        }
        means = np.array([m for n, m in cells.values() if n > 0 and math.isfinite(m) and m > 0])
        low, high = (float(means.min()), float(means.max())) if means.size else (1.0, 1.0)
        total = sum(n for n, _ in cells.values()) or 1
        unused = {("R", s) for s in range(1, bins + 1) if not r_scale.band(s).customers}
        unused |= {("F", s) for s in range(1, bins + 1) if not f_scale.band(s).customers}
        for i, r in enumerate(self.r_rows()):
            for j, f in enumerate(range(1, bins + 1)):
                n, mean = cells.get((r, f), (0, float("nan")))
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if n == 0:
                    empty_score = ("R", r) in unused or ("F", f) in unused
                    item.setText(
                        "–" if bins > 5 else ("score unused" if empty_score else "no customers")
                    )
                    item.setBackground(
                        _empty_brush(self)
                        if empty_score
                        else QBrush(self.palette().color(self.palette().ColorRole.AlternateBase))
                    )
                    item.setToolTip(
                        f"R {r}, F {f}: no customers"
                        + (" (no customer has this score)." if empty_score else ".")
                    )
                else:
                    color = heat_color(_cell_fraction(mean, low, high))
                    if bins <= 5:
                        item.setText(f"{n:,}\ncustomers\nmean {fmt_num(mean, 0)}")
                    elif bins <= 7:
                        item.setText(f"{n:,}\n{fmt_num(mean, 0)}")
                    else:
                        item.setText(f"{n:,}")
                    item.setBackground(QBrush(color))
                    item.setForeground(QBrush(text_color_on(color)))
                    item.setToolTip(
                        f"R {r}, F {f}: {n:,} customers ({fmt_pct(n / total)}), mean spend {fmt_num(mean, 2)}."
                    )
                item.setData(Qt.ItemDataRole.UserRole, {"customers": n, "monetary_mean": mean})
                self.grid.setItem(i, j, item)
        self.grid_title.setText(
            "<b>Recency score × Frequency score</b>"
            + (" (row values in days, column values in orders)" if bins > 5 else "")
        )
        self.grid_help.setText(
            f"Rows: R {bins} = bought most recently … R 1 = longest ago. Columns: F 1 = fewest orders … "
            f"F {bins} = most. Each cell: customers"
            + (", and their mean spend" if bins <= 7 else " (hover for the mean spend)")
            + ". Colour: mean spend (log scale, dark = low, yellow = high). Hatched: a score no customer has."
        )

    # -- the thresholds -----------------------------------------------------------------------------
    def _fill_thresholds(self, result: AnalysisResult) -> None:
        frame = thresholds_frame(result.scales)
        self.thresholds.setRowCount(len(frame))
        muted = QBrush(self.palette().color(self.palette().ColorRole.PlaceholderText))
        empty_scores = []
        for row, rec in enumerate(frame.to_dict("records")):
            scale = result.scale(rec["measure"])
            score = int(rec["score"])
            customers = int(rec["customers"])
            texts = (
                f"{scale.letter} {score}",
                score_values(scale, score),
                fmt_int(customers),
                _after(scale.describe(score), " = ") if customers else "no customer",
            )
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if not customers:
                    font = QFont(item.font())
                    font.setItalic(True)
                    item.setFont(font)
                    item.setForeground(muted)
                    item.setToolTip(
                        f"{scale.letter} {score} is empty: {score_values(scale, score)}."
                    )
                item.setData(Qt.ItemDataRole.UserRole, rec)
                self.thresholds.setItem(row, col, item)
            if not customers:
                empty_scores.append(f"{scale.letter} {score}")
        self.thresholds.resizeColumnsToContents()
        if empty_scores:
            self.thresholds_note.setText(
                f"<b>Empty scores: {', '.join(empty_scores)}.</b> Equal values always get equal scores, so when "
                "many customers share a value the quantile breaks coincide and fewer scores are used."
            )
        else:
            self.thresholds_note.setText(
                f"Every one of the {result.bins} scores is used on each measure."
            )

    def threshold_rows(self) -> list[tuple[str, ...]]:
        """The thresholds table as text, row by row (for tests and the selftest)."""
        return [
            tuple(
                cell_item(self.thresholds, r, c).text()
                for c in range(self.thresholds.columnCount())
            )
            for r in range(self.thresholds.rowCount())
        ]
