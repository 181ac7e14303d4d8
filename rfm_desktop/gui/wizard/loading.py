"""Reading a file for the wizard (runs on a worker thread): sheets, preview, all rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rfm_desktop.core import io, pipeline, schema
from rfm_desktop.core.errors import MappingError, RFMError
from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.gui.wizard.state import column_map
from rfm_desktop.gui.worker import Task

PREVIEW_ROWS = 200


@dataclass
class LoadOutcome:
    path: str
    sheets: list[str]
    sheet: str | None
    preview: pd.DataFrame
    auto_mapping: dict[str, str]
    transactions: Any = None  # core.io.Transactions, None when the mapping needs the analyst
    error: RFMError | None = None  # why the transactions could not be read with the mapping
    problems: list[str] = field(default_factory=list)


def load_file(path: str, sheet: str | None, mapping: dict[str, str] | None, task: Task) -> LoadOutcome:
    task.progress(0.0, "Looking at the file")
    sheets = [str(s) for s in io.list_sheets(path)]
    if sheet is None and sheets:
        sheet = _sheet_with_transactions(path, sheets, task)
    task.raise_if_cancelled()
    preview = io.read_preview(path, sheet=sheet, nrows=PREVIEW_ROWS)
    task.raise_if_cancelled()
    auto = dict(schema.auto_map([str(c) for c in preview.columns]))
    chosen = {field: column for field, column in (mapping or {}).items() if column} or auto
    outcome = LoadOutcome(path, sheets, sheet, preview, auto)
    problems = list(schema.check_mapping(preview, chosen))
    if problems:
        outcome.problems = problems
        outcome.error = MappingError(" ".join(problems))
        return outcome
    outcome.transactions = read_all(path, sheet, chosen, task, start=0.05)
    return outcome


def read_all(path: str, sheet: str | None, mapping: dict[str, str], task: Task, start: float = 0.0) -> Any:
    """All rows with ``mapping``; progress from ``start`` to 1."""
    params = AnalysisParams(input_path=path, sheet=sheet, column_map=column_map(mapping))

    def progress(fraction: float, step: str) -> None:
        task.progress(start + (1.0 - start) * fraction, step)

    return pipeline.load(params, progress, task.cancelled)


def _sheet_with_transactions(path: str, sheets: list[str], task: Task) -> str:
    """The first sheet whose columns map on their own (a workbook may start with a notes sheet)."""
    if len(sheets) == 1:
        return sheets[0]
    for index, name in enumerate(sheets):
        task.raise_if_cancelled()
        task.progress(0.05 * index / len(sheets), f"Looking at sheet '{name}'")
        try:
            preview = io.read_preview(path, sheet=name, nrows=PREVIEW_ROWS)
        except RFMError:
            continue
        headers = [str(c) for c in preview.columns]
        if not schema.check_mapping(preview, schema.auto_map(headers)):
            return name
    return sheets[0]
