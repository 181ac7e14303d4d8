"""The K charts of the clustering page: the views' KChartsWidget, or a plain table if it is missing."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.result import KScore

COLUMNS = ("K", "Silhouette ↑", "Davies–Bouldin ↓", "Calinski–Harabasz ↑", "Inertia")


class ScoreTable(QWidget):
    """Same interface as ``views.kcharts.KChartsWidget``: clear, add_score, set_suggested, set_chosen."""

    kPicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.cellClicked.connect(lambda row, _col: self.kPicked.emit(self._ks[row]))
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        self._ks: list[int] = []

    def clear(self) -> None:
        self.table.setRowCount(0)
        self._ks = []
        self.note.clear()

    def add_score(self, score: KScore) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = (str(score.k), f"{score.silhouette:.3f}", f"{score.davies_bouldin:.3f}",
                  f"{score.calinski_harabasz:,.0f}", f"{score.inertia:,.0f}")
        for col, text in enumerate(values):
            self.table.setItem(row, col, QTableWidgetItem(text))
        self._ks.append(score.k)

    def set_suggested(self, k: int, reason: str) -> None:
        self.note.setText(f"Suggested K = {k}: {reason}")

    def set_chosen(self, k: int | None) -> None:
        if k in self._ks:
            self.table.selectRow(self._ks.index(k))
        else:
            self.table.clearSelection()


def make_kcharts() -> QWidget:
    try:
        from rfm_desktop.gui.views.kcharts import KChartsWidget
    except ImportError:
        return ScoreTable()
    return KChartsWidget()
