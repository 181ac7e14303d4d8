"""Table helpers shared by the table views: number formats, numeric sorting, a plain table model."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

#: the raw value a column sorts by (a number for numeric columns, text otherwise)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

ModelIndex = QModelIndex | QPersistentModelIndex


def is_missing(value: Any) -> bool:
    try:
        return value is None or (isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def cell_item(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item of a cell that the code filled itself (Qt types ``item()`` as optional: an empty
    cell has none)."""
    item = table.item(row, column)
    assert item is not None, f"cell ({row}, {column}) of {table.objectName()!r} has no item"
    return item


def fmt_int(value: Any) -> str:
    return "–" if is_missing(value) else f"{int(round(float(value))):,}"


def fmt_num(value: Any, decimals: int = 1) -> str:
    return "–" if is_missing(value) else f"{float(value):,.{decimals}f}"


def fmt_pct(fraction: Any, decimals: int = 1) -> str:
    return "–" if is_missing(fraction) else f"{100.0 * float(fraction):.{decimals}f}%"


def sort_key(value: Any) -> Any:
    """NaN sorts below every number, so empty cells gather at one end."""
    if is_missing(value):
        return -math.inf
    return value


class NumericSortProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE`` so 1,000 sorts after 200 (not as text)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: ModelIndex, right: ModelIndex) -> bool:
        a = left.data(SORT_ROLE)
        b = right.data(SORT_ROLE)
        if isinstance(a, int | float) and isinstance(b, int | float):
            return float(a) < float(b)
        return str(a).casefold() < str(b).casefold()


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]  # row object -> raw value (sorting, tests)
    text: Callable[[Any], str] = str  # raw value -> what the cell shows
    tooltip: str = ""
    numeric: bool = True


class ColumnSpec(Protocol):
    """What every table's column says about itself (:class:`Column` and the customers' columns)."""

    @property
    def header(self) -> str: ...

    @property
    def tooltip(self) -> str: ...

    @property
    def numeric(self) -> bool: ...


class ColumnTableModel(QAbstractTableModel):
    """The base of every table model of the views: columns described by :class:`ColumnSpec`
    (header, its tooltip, numbers right-aligned); subclasses give the rows and the cells."""

    def __init__(self, columns: Sequence[ColumnSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns: Sequence[ColumnSpec] = list(columns)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._columns)

    def alignment(self, column: int) -> int:
        """The cell alignment of ``column``: numbers right, text left."""
        horizontal = (
            Qt.AlignmentFlag.AlignRight
            if self._columns[column].numeric
            else Qt.AlignmentFlag.AlignLeft
        )
        return int(horizontal | Qt.AlignmentFlag.AlignVCenter)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole and self._columns[section].tooltip:
            return self._columns[section].tooltip
        return None


class RowTableModel(ColumnTableModel):
    """A read-only table over a list of row objects, described by :class:`Column` s."""

    _columns: list[Column]

    def __init__(self, columns: Sequence[Column], parent: QWidget | None = None) -> None:
        super().__init__(columns, parent)
        self._rows: list[Any] = []
        self._decoration: Callable[[Any, int], QColor | None] | None = None

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def set_decoration(self, fn: Callable[[Any, int], QColor | None]) -> None:
        self._decoration = fn

    def row_object(self, row: int) -> Any:
        return self._rows[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        col = self._columns[index.column()]
        row = self._rows[index.row()]
        raw = col.value(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(raw)
        if role == SORT_ROLE:
            return sort_key(raw)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(index.column())
        if role == Qt.ItemDataRole.DecorationRole and self._decoration is not None:
            return self._decoration(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and not col.numeric:
            return col.text(raw)  # long texts (a strategy) may be cut off in the cell
        return None


def make_table_view(parent: QWidget | None = None) -> QTableView:
    """A sortable, read-only table with readable defaults."""
    view = QTableView(parent)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setHighlightSections(False)
    return view


class PaddedDelegate(QStyledItemDelegate):
    """Rows sized to their (wrapped) text plus some air, so cells never touch the grid."""

    def __init__(self, padding: int = 10, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._padding = padding

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), size.height() + self._padding)
