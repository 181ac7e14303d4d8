"""A read-only table model over a pandas DataFrame (the preview of the first rows of a file)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

ModelIndex = QModelIndex | QPersistentModelIndex


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as the file shows them: a float column of whole numbers (ids and quantities read
    next to empty cells) without ``.0``; empty cells empty."""
    out = {}
    for i, (_, column) in enumerate(frame.items()):
        values = column
        if pd.api.types.is_float_dtype(column):
            finite = column.dropna()
            if len(finite) and (finite == finite.round()).all() and finite.abs().max() < 2**53:
                values = column.astype("Int64")
        out[i] = ["" if pd.isna(v) else str(v) for v in values.astype(object)]
    return pd.DataFrame(out, index=range(len(frame)), dtype=object)


class FrameModel(QAbstractTableModel):
    def __init__(self, frame: pd.DataFrame | None = None, parent: Any = None):
        super().__init__(parent)
        self._frame = pd.DataFrame()
        self._headers: list[str] = []
        self._cells: list[list[str]] = []
        self._notes: dict[str, str] = {}
        if frame is not None:
            self.set_frame(frame)

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self._frame = frame
        self._headers = [str(c) for c in frame.columns]
        # Format once: the view asks for each cell many times while scrolling.
        self._cells = [list(row) for row in _as_text(frame).itertuples(index=False, name=None)]
        self.endResetModel()

    def set_header_notes(self, notes: dict[str, str]) -> None:
        """A second header line per column (e.g. the field it is mapped to)."""
        if notes != self._notes:
            self._notes = dict(notes)
            if self._headers:
                self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._headers) - 1)

    @property
    def frame(self) -> pd.DataFrame:
        return self._frame

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._cells[index.row()][index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if section >= len(self._headers):
                return None
            header = self._headers[section]
            note = self._notes.get(header)
            return f"{header}\n→ {note}" if note else f"{header}\n"
        return str(section + 1)
