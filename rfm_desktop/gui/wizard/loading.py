"""Reading a file for the wizard (runs on a worker thread): sheets, preview, all rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from rfm_desktop.core import io, pipeline
from rfm_desktop.core.errors import MappingError, RFMError
from rfm_desktop.core.mapping import auto_map, check_mapping
from rfm_desktop.core.params import ALL_SHEETS, AnalysisParams, DateOrder, SheetChoice
from rfm_desktop.gui.wizard.state import column_map
from rfm_desktop.gui.worker import Task

PREVIEW_ROWS = 200


@dataclass
class LoadOutcome:
    path: str
    sheets: list[str]  # every sheet of a workbook
    chosen: tuple[str, ...]  # the sheets read (ticked)
    default: tuple[str, ...]  # the sheets the engine reads when none is named (pre-ticked)
    preview: pd.DataFrame
    auto_mapping: dict[str, str]
    header_row: int | None = None  # as asked: None = found automatically
    date_order: DateOrder | None = None  # as asked: None = detected
    skipped: dict[str, str] = field(default_factory=dict)  # sheet -> why it is not read by default
    transactions: io.Transactions | None = None  # None when the mapping needs the analyst
    error: RFMError | None = None  # why the transactions could not be read with the mapping
    problems: list[str] = field(default_factory=list)
    #: the sheet choice as asked (a name, a 0-based index, names, or None for the default sheets)
    requested_sheet: SheetChoice = None

    @property
    def sheet(self) -> str | None:
        """The first sheet read (its rows are in the preview)."""
        return self.chosen[0] if self.chosen else None


def load_file(
    path: str,
    sheet: SheetChoice,
    mapping: dict[str, str] | None,
    task: Task,
    *,
    header_row: int | None = None,
    date_order: DateOrder | None = None,
) -> LoadOutcome:
    task.progress(0.0, "Looking at the file")
    explicit = {f: c for f, c in (mapping or {}).items() if c} or None
    sheets = [str(s) for s in io.list_sheets(path)]
    default: tuple[str, ...] = tuple(sheets[:1])
    skipped: dict[str, str] = {}
    if len(sheets) > 1:
        task.progress(0.01, "Looking at the sheets")
        plan = io.plan_sheets(path, explicit, header_row)
        default, skipped = plan.read or default, dict(plan.skipped)
    task.raise_if_cancelled()
    chosen = _named(sheets, sheet, default)
    preview = io.read_preview(
        path,
        sheet=chosen[0] if chosen else None,
        nrows=PREVIEW_ROWS,
        header_row=header_row,
        mapping=explicit,
    )
    task.raise_if_cancelled()
    auto = dict(auto_map([str(c) for c in preview.columns]))
    chosen_map = explicit or auto
    outcome = LoadOutcome(
        path,
        sheets,
        chosen,
        default,
        preview,
        auto,
        header_row,
        date_order,
        skipped,
        requested_sheet=sheet,
    )
    problems = list(check_mapping(preview, chosen_map))
    if problems:
        outcome.problems = problems
        outcome.error = MappingError(" ".join(problems))
        return outcome
    request = None if chosen == default else (chosen[0] if len(chosen) == 1 else chosen)
    params = AnalysisParams(
        input_path=path,
        sheet=request,
        column_map=column_map(chosen_map),
        header_row=header_row,
        date_order=date_order,
    )
    outcome.transactions = read_all(params, task, start=0.05)
    return outcome


def read_all(params: AnalysisParams, task: Task, start: float = 0.0) -> io.Transactions:
    """All rows as ``params`` say (file, sheets, mapping, header row, date order); progress from ``start`` to 1."""

    def progress(fraction: float, step: str) -> None:
        task.progress(start + (1.0 - start) * fraction, step)

    return pipeline.load(params, progress, task.cancelled)


def _named(sheets: list[str], sheet: SheetChoice, default: tuple[str, ...]) -> tuple[str, ...]:
    """The sheet names a choice stands for (an unknown name is kept: reading it says so)."""
    if not sheets:
        return ()
    if sheet is None or (
        isinstance(sheet, str)
        and sheet.strip().casefold() == ALL_SHEETS
        and ALL_SHEETS not in [s.casefold() for s in sheets]
    ):
        return default
    items = sheet if isinstance(sheet, tuple) else (sheet,)
    return tuple(
        sheets[i] if isinstance(i, int) and 0 <= i < len(sheets) else str(i) for i in items
    )
