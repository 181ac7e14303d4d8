"""The result on screen, held once (issue 11): the main window, the results panel and the export,
image and report actions read it here; the panel's views are drawn from its ``changed`` signal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from rfm_desktop.core.result import AnalysisResult


class CurrentResult(QObject):
    """The current :class:`AnalysisResult` (None before a run, or after another file was opened)."""

    #: (the result or None, edited: True for an edit of the same run such as a rename or its undo)
    changed = Signal(object, bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._result: AnalysisResult | None = None

    @property
    def result(self) -> AnalysisResult | None:
        return self._result

    def set(self, result: AnalysisResult | None, *, edited: bool = False) -> None:
        """Hold ``result`` and tell the readers (``edited``: the same run, renamed)."""
        self._result = result
        self.changed.emit(result, edited)
