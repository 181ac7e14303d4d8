"""The wizard's single source of truth: the run's :class:`AnalysisParams` plus the session data.

Every page reads it and changes it through :meth:`WizardState.update`, which builds a new frozen
params value (checked by the same ``__post_init__`` limits as the CLI's flags) and emits
``paramsChanged(old, new, changed)``; widgets follow it through :func:`rfm_desktop.gui.binding.bind`
(glue's ``ScatterViewerState`` + ``autoconnect_callbacks_to_qt``, Orange's ``gui.spin``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd
from PySide6.QtCore import QObject, Signal

from rfm_desktop.core.fields import FIELD_NAMES
from rfm_desktop.core.params import (
    AnalysisParams,
    CleaningOptions,
    ClusteringOptions,
    DateOrder,
    ScoringOptions,
    SheetChoice,
    ValueOptions,
)

if TYPE_CHECKING:
    from rfm_desktop.core.io import Transactions

#: Which customers and clusters a run makes: when one of these changes, the analyst's cluster
#: names no longer fit the clusters and are dropped.
CLUSTER_INPUTS = frozenset({"cleaning", "snapshot_date", "as_of", "clustering"})
#: A change of one of these by hand leaves the preset (applying a preset names it in the change).
PRESET_FIELDS = CLUSTER_INPUTS | {"scoring"}
#: What the option widgets show before a file is chosen: the defaults (never run, never saved).
#: Customer lifetime value is on in the app (0.14 s of a 1.5 s run on the 4,338 customers of the
#: real data); the CLI computes it only when asked (--clv).
_DEFAULTS = AnalysisParams(input_path="(no file)", clv=ValueOptions(enabled=True))


def column_map(mapping: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Every field, unmapped ones as "" so the engine does not detect them again."""
    return tuple(sorted((field, mapping.get(field) or "") for field in FIELD_NAMES))


def changed_fields(old: AnalysisParams | None, new: AnalysisParams) -> frozenset[str]:
    """The names of the top-level params fields that differ (all of them when there was none)."""
    names = [f.name for f in dataclasses.fields(AnalysisParams)]
    if old is None:
        return frozenset(names)
    return frozenset(n for n in names if getattr(old, n) != getattr(new, n))


def _replaced(value: Any, path: list[str], new: Any) -> Any:
    """``value`` (a frozen dataclass) with the field at ``path`` (["k"], ["a", "b"]) set to ``new``."""
    head, *rest = path
    inner = _replaced(getattr(value, head), rest, new) if rest else new
    return dataclasses.replace(value, **{head: inner})


def _named_choice(chosen: tuple[str, ...], default: tuple[str, ...]) -> SheetChoice:
    """The sheets read as a choice: None for the default ones, else a name or names."""
    if not chosen or chosen == default:
        return None
    return chosen[0] if len(chosen) == 1 else chosen


def _option(name: str) -> property:
    """A read-only view of one params field (the defaults before a file is chosen)."""
    return property(lambda self: getattr(self.current, name), doc=f"``params.{name}`` (read-only).")


class WizardState(QObject):
    """The params of the run being set up, and what was read from its file."""

    #: (old params or None, new params, frozenset of the changed top-level field names)
    paramsChanged = Signal(object, object, object)
    #: a new file (or sheets, or header row) was chosen: preview and transactions reset
    fileChanged = Signal()
    transactionsChanged = Signal()  # the full file was (re)loaded

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._params: AnalysisParams | None = (
            None  # kept after forget_file: the next file's options
        )
        self._open = False  # a file is chosen (its path is in the params)
        self._syncing = 0  # > 0 while widgets follow the state (see sync)
        # -- the session: what was read, not what a saved analysis says
        self.sheets: list[str] = []  # every sheet of the workbook
        self.default_sheets: tuple[str, ...] = ()  # read when none is chosen (pre-ticked)
        self.chosen_sheets: tuple[str, ...] = ()  # the sheets read (ticked)
        self.skipped_sheets: dict[str, str] = {}  # sheet -> why it is not read by default
        self.loaded_date_order: DateOrder | None = (
            None  # the date order the transactions were read with
        )
        self.preview: pd.DataFrame | None = None
        self.transactions: Transactions | None = None
        self.loaded_mapping: dict[str, str] = {}  # the mapping the transactions were read with

    # -- the params ----------------------------------------------------------------------------
    @property
    def params(self) -> AnalysisParams:
        """The run's settings as chosen so far.

        Raises
        ------
        RuntimeError
            No file is chosen yet (there is no run to describe).
        """
        if self._params is None or not self._open:
            raise RuntimeError("no file chosen")
        return self._params

    @property
    def current(self) -> AnalysisParams:
        """The params, or the defaults before a file is chosen (what the option widgets show)."""
        return self._params if self._params is not None else _DEFAULTS

    @property
    def path(self) -> str | None:
        return self._params.input_path if self._params is not None and self._open else None

    sheet: SheetChoice = _option("sheet")  # type: ignore[assignment]
    cleaning: CleaningOptions = _option("cleaning")  # type: ignore[assignment]
    clustering: ClusteringOptions = _option("clustering")  # type: ignore[assignment]
    scoring: ScoringOptions = _option("scoring")  # type: ignore[assignment]
    snapshot_date: str | None = _option("snapshot_date")  # type: ignore[assignment]
    preset: str | None = _option("preset")  # type: ignore[assignment]
    header_row: int | None = _option("header_row")  # type: ignore[assignment]
    date_order: DateOrder | None = _option("date_order")  # type: ignore[assignment]
    cluster_names: tuple[tuple[int, str], ...] = _option("cluster_names")  # type: ignore[assignment]
    clv: ValueOptions = _option("clv")  # type: ignore[assignment]

    @property
    def mapping(self) -> dict[str, str]:
        """The mapped fields only (field -> column header)."""
        return {field: column for field, column in self.current.column_map if column}

    @property
    def syncing(self) -> bool:
        """True while widgets follow the state (see :meth:`sync`): their signals are echoes."""
        return self._syncing > 0

    @contextmanager
    def sync(self) -> Iterator[None]:
        """Widgets are set from the state (or refilled) inside this block: the edits they signal
        are echoes, not the analyst's, and change nothing (no ``_filling`` flag per page)."""
        self._syncing += 1
        try:
            yield
        finally:
            self._syncing -= 1

    def update(self, **changes: Any) -> AnalysisParams:
        """The one way to change the params: ``update(cleaning=…, snapshot_date=…)``.

        A change of what makes the clusters drops the analyst's cluster names, a change by hand
        of the options drops the preset name (unless the change names them too). Emits
        ``paramsChanged(old, new, changed)`` when anything changed.

        Returns
        -------
        AnalysisParams
            The params after the change.

        Raises
        ------
        ParamsError
            A value is out of its limits (the checks the CLI's flags go through).
        RuntimeError
            No file is chosen yet.
        """
        old = self.params
        new = old.replace(**changes)
        changed = changed_fields(old, new)
        if changed & CLUSTER_INPUTS and "cluster_names" not in changes:
            new = new.replace(cluster_names=())
        if changed & PRESET_FIELDS and "preset" not in changes:
            new = new.replace(preset=None)
        self._commit(new)
        return new

    def set(self, key: str, value: Any) -> AnalysisParams:
        """:meth:`update` of one field by its dotted name (``"clustering.k"``)."""
        head, *rest = key.split(".")
        return self.update(
            **{head: _replaced(getattr(self.params, head), rest, value) if rest else value}
        )

    def get(self, key: str) -> Any:
        """The value of a field by its dotted name (the defaults before a file is chosen)."""
        value: Any = self.current
        for name in key.split("."):
            value = getattr(value, name)
        return value

    def _commit(self, new: AnalysisParams) -> None:
        old = self._params
        changed = changed_fields(old, new)
        if not changed:
            return
        self._params = new
        with self.sync():
            self.paramsChanged.emit(old, new, changed)

    def apply_params(self, params: AnalysisParams) -> None:
        """Take the options of a saved analysis (the file itself is loaded separately, with its
        sheet, header row and mapping); without a file yet, take the params as they are."""
        if self.path is None:
            self._open = True
            self._commit(params)
            return
        changes = {
            f.name: getattr(params, f.name)
            for f in dataclasses.fields(params)
            if f.name not in ("input_path", "header_row", "column_map")
        }
        if params.column_map:  # an analysis without a mapping keeps the one found in the file
            changes["column_map"] = column_map(params.mapping)
        self.update(**changes)

    # -- file ----------------------------------------------------------------------------
    def set_file(
        self,
        path: str,
        sheets: list[str],
        chosen: tuple[str, ...],
        preview: pd.DataFrame,
        *,
        sheet: SheetChoice = None,
        default: tuple[str, ...] = (),
        skipped: dict[str, str] | None = None,
        header_row: int | None = None,
        date_order: DateOrder | None = None,
        mapping: dict[str, str] | None = None,
    ) -> None:
        """A file was read: ``chosen`` are the sheets read, ``sheet`` the choice as asked.

        The params keep the choice as the engine reads it: None when the sheets read are the
        default ones (so a saved analysis stacks a sheet added later too), else a name or names;
        a sheet asked for by its 0-based index stays an index (a saved analysis reopens with it).
        """
        self.sheets = list(sheets)
        self.chosen_sheets = tuple(chosen)
        self.default_sheets = tuple(default) or tuple(chosen)
        self.skipped_sheets = dict(skipped or {})
        self.loaded_date_order = date_order
        self.preview = preview
        self.transactions = None
        self.loaded_mapping = {}
        self._open = True
        self._commit(
            self.current.replace(
                input_path=path,
                sheet=sheet
                if isinstance(sheet, int)
                else _named_choice(chosen, self.default_sheets),
                header_row=header_row,
                date_order=date_order,
                column_map=column_map(mapping or {}),
                snapshot_date=None,
            )
        )
        with self.sync():
            self.fileChanged.emit()

    def set_transactions(
        self,
        transactions: Transactions,
        requested: dict[str, str] | None = None,
        date_order: DateOrder | None = None,
    ) -> None:
        """``requested``: the mapping the rows were read with (default: what the engine reports)."""
        self.transactions = transactions
        self.loaded_mapping = dict(
            requested if requested is not None else getattr(transactions, "mapping", None) or {}
        )
        self.loaded_date_order = date_order
        if not self.mapping:
            self.update(column_map=column_map(self.loaded_mapping))
        with self.sync():
            self.transactionsChanged.emit()

    def forget_file(self) -> None:
        """No file is open (its reading failed); the options stay for the next file."""
        self._open = False

    @property
    def has_file(self) -> bool:
        return self.path is not None and self.preview is not None

    @property
    def needs_reload(self) -> bool:
        """The mapping or date order changed since the transactions were read (or nothing was read yet)."""
        return (
            self.transactions is None
            or self.mapping != self.loaded_mapping
            or self.date_order != self.loaded_date_order
        )

    def last_purchase(self) -> pd.Timestamp | None:
        if self.transactions is None:
            return None
        dates = self.transactions.frame["invoice_date"]
        last = dates.max()
        return None if pd.isna(last) else pd.Timestamp(last)
