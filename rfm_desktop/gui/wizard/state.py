"""The wizard's single source of truth: every page reads and writes this, not each other."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QObject, Signal

from rfm_desktop.core.fields import FIELD_NAMES
from rfm_desktop.core.params import (
    AnalysisParams,
    CleaningOptions,
    ClusteringOptions,
    ScoringOptions,
    SheetChoice,
)


def column_map(mapping: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Every field, unmapped ones as "" so the engine does not detect them again."""
    return tuple(sorted((field, mapping.get(field) or "") for field in FIELD_NAMES))


class WizardState(QObject):
    """What the analyst chose so far; :meth:`params` turns it into an :class:`AnalysisParams`."""

    fileChanged = (
        Signal()
    )  # a new file (or sheets, or header row) was chosen: preview and transactions reset
    transactionsChanged = Signal()  # the full file was (re)loaded
    optionsChanged = Signal()  # mapping, cleaning, snapshot or clustering options changed

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.path: str | None = None
        self.sheets: list[str] = []  # every sheet of the workbook
        self.default_sheets: tuple[
            str, ...
        ] = ()  # the sheets read when none is chosen (pre-ticked)
        self.chosen_sheets: tuple[str, ...] = ()  # the sheets ticked
        self.skipped_sheets: dict[str, str] = {}  # sheet -> why it is not read by default
        self.header_row: int | None = None  # forced header row (from 1); None = found automatically
        self.date_order: str | None = (
            None  # forced date order ("dmy", "mdy", "ymd"); None = detected
        )
        self.loaded_date_order: str | None = None  # the date order the transactions were read with
        self.preview: pd.DataFrame | None = None
        self.transactions: Any = None  # core.io.Transactions
        self.loaded_mapping: dict[str, str] = {}  # the mapping the transactions were read with
        self.mapping: dict[str, str] = {}
        self.cleaning = CleaningOptions()
        self.clustering = ClusteringOptions()
        self.scoring = (
            ScoringOptions()
        )  # score bins, break points, rule table (kept from a saved analysis)
        self.snapshot_date: str | None = None
        self.preset: str | None = None
        #: the analyst's cluster names (cluster id, name), kept while the settings that made
        #: those clusters stay the same
        self.cluster_names: tuple[tuple[int, str], ...] = ()

    # -- file ----------------------------------------------------------------------------
    def set_file(
        self,
        path: str,
        sheets: list[str],
        chosen: tuple[str, ...],
        preview: pd.DataFrame,
        *,
        default: tuple[str, ...] = (),
        skipped: dict[str, str] | None = None,
        header_row: int | None = None,
        date_order: str | None = None,
    ) -> None:
        self.path = path
        self.sheets = list(sheets)
        self.chosen_sheets = tuple(chosen)
        self.default_sheets = tuple(default) or tuple(chosen)
        self.skipped_sheets = dict(skipped or {})
        self.header_row = header_row
        self.date_order = self.loaded_date_order = date_order
        self.preview = preview
        self.transactions = None
        self.loaded_mapping = {}
        self.mapping = {}
        self.snapshot_date = None
        self.fileChanged.emit()

    @property
    def sheet(self) -> SheetChoice:
        """The sheets as :class:`AnalysisParams` keeps them: None when the ticked ones are the
        default (so a saved analysis stacks a sheet added later too), else a name or names."""
        if not self.chosen_sheets or self.chosen_sheets == self.default_sheets:
            return None
        return self.chosen_sheets[0] if len(self.chosen_sheets) == 1 else self.chosen_sheets

    def set_transactions(
        self,
        transactions: Any,
        requested: dict[str, str] | None = None,
        date_order: str | None = None,
    ) -> None:
        """``requested``: the mapping the rows were read with (default: what the engine reports)."""
        self.transactions = transactions
        self.loaded_mapping = dict(
            requested if requested is not None else getattr(transactions, "mapping", None) or {}
        )
        self.loaded_date_order = date_order
        if not self.mapping:
            self.mapping = dict(self.loaded_mapping)
        self.transactionsChanged.emit()

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

    # -- options -------------------------------------------------------------------------
    def set_mapping(self, mapping: dict[str, str]) -> None:
        if mapping != self.mapping:
            self.mapping = dict(mapping)
            self.optionsChanged.emit()

    def set_date_order(self, order: str | None) -> None:
        if order != self.date_order:
            self.date_order = order
            self.optionsChanged.emit()

    def set_cleaning(
        self, options: CleaningOptions, snapshot_date: str | None, *, preset: str | None = None
    ) -> None:
        """A change by hand clears the preset name; applying a preset passes it."""
        if options != self.cleaning or snapshot_date != self.snapshot_date:
            self.cluster_names = ()  # other customers, other clusters: the names no longer fit
            self.cleaning = options
            self.snapshot_date = snapshot_date
            self.preset = preset
            self.optionsChanged.emit()

    def set_clustering(self, options: ClusteringOptions, *, preset: str | None = None) -> None:
        if options != self.clustering:
            self.cluster_names = ()
            self.clustering = options
            self.preset = preset
            self.optionsChanged.emit()

    def set_scoring(self, options: ScoringOptions) -> None:
        """Number of scores, break points and rule table (from the scores and rules editor)."""
        if options != self.scoring:
            self.scoring = options
            self.preset = None
            self.optionsChanged.emit()

    def params(self) -> AnalysisParams:
        if self.path is None:
            raise RuntimeError("no file chosen")
        return AnalysisParams(
            input_path=self.path,
            sheet=self.sheet,
            column_map=column_map(self.mapping),
            cleaning=self.cleaning,
            clustering=self.clustering,
            scoring=self.scoring,
            snapshot_date=self.snapshot_date,
            preset=self.preset,
            header_row=self.header_row,
            date_order=self.date_order,
            cluster_names=self.cluster_names,
        )

    def apply_params(self, params: AnalysisParams) -> None:
        """Take the options of a saved analysis (the file itself is loaded separately)."""
        if params.column_map:
            self.mapping = {field: column for field, column in params.mapping.items() if column}
        self.cleaning = params.cleaning
        self.clustering = params.clustering
        self.scoring = params.scoring
        self.snapshot_date = params.snapshot_date
        self.preset = params.preset
        self.date_order = params.date_order
        self.cluster_names = params.cluster_names
        self.optionsChanged.emit()
