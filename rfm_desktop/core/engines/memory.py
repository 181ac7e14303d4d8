"""The in-memory engine: the rows core.io has read, cleaned and reduced with pandas."""

from __future__ import annotations

import dataclasses

import pandas as pd

from rfm_desktop.core import checks, cleaning, io, missing_ids, rfm
from rfm_desktop.core.engines import Reduced
from rfm_desktop.core.engines.snapshot import as_of_day, as_of_label, nothing_before, snapshot_after
from rfm_desktop.core.errors import Cancelled
from rfm_desktop.core.params import (
    AnalysisParams,
    CancelledFn,
    ProgressFn,
    never_cancelled,
    no_progress,
)
from rfm_desktop.core.result import CleaningReport, CleaningStep, RunWarning, as_warnings


def snapshot_for(frame: pd.DataFrame, params: AnalysisParams) -> pd.Timestamp:
    """The date recency is counted to: the chosen one, or the day after the last purchase.

    Raises
    ------
    ParamsError
        The chosen date is before the last purchase or more than SNAPSHOT_MAX_YEARS_AFTER years after it.
    """
    return snapshot_after(frame["invoice_date"].max(), params)


def before_as_of(
    frame: pd.DataFrame, report: CleaningReport, params: AnalysisParams
) -> tuple[pd.DataFrame, CleaningReport]:
    """The clean rows dated before ``params.as_of`` (all of them without an as-of date), and the
    report with the step "as_of" that counts the later rows it removed.

    Raises
    ------
    DataError
        No clean row is dated before the as-of date.
    """
    day = as_of_day(params)
    if day is None:
        return frame, report
    later = (frame["invoice_date"] >= day).to_numpy(dtype=bool, na_value=False)
    kept = int((~later).sum())
    if kept == 0:
        raise nothing_before(day, frame["invoice_date"].min())
    example = None
    if later.any():
        row = frame.loc[later].iloc[0]
        example = f"invoice {row['invoice_id']} on {pd.Timestamp(row['invoice_date']).date()}"
    step = CleaningStep(
        step="as_of",
        label=as_of_label(day),
        before=len(frame),
        removed=len(frame) - kept,
        after=kept,
        would_remove=len(frame) - kept,
        example=example,
    )
    rows = frame.loc[~later].reset_index(drop=True) if later.any() else frame
    return rows, dataclasses.replace(report, steps=(*report.steps, step))


def kept_without_id(rows: int) -> RunWarning:
    """The warning for clean rows kept without a customer id (the step switched off)."""
    return RunWarning(
        "cleaning",
        f"{rows:,} rows without customer id were kept but cannot be part of any customer's RFM values.",
    )


def reduce(
    transactions: io.Transactions,
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    *,
    cleaned: tuple[pd.DataFrame, CleaningReport] | None = None,
    masks: cleaning.StepMasks | None = None,
) -> Reduced:
    """Clean the rows read and reduce them to one row per customer.

    Parameters
    ----------
    transactions
        What ``pipeline.load`` read.
    params
        The run (cleaning options, as-of date, snapshot, CLV switch).
    progress
        Called with (fraction 0..1 of ``pipeline.prepare``, label): 0 and 0.3 here.
    cancelled
        Polled between steps; True ends the run.
    cleaned
        What ``cleaning.clean`` gave for ``transactions`` with ``params.cleaning`` (the wizard's
        preview); None: clean here.
    masks
        The cleaning steps' row tests kept for the file (see ``cleaning.StepMasks``).

    Returns
    -------
    Reduced
        Customers as ``rfm.compute_rfm`` gives them (recency in days, frequency in orders,
        monetary in the file's currency), the cleaning report with the missing-id comparison,
        the snapshot, the read and cleaning warnings, and the clean rows for CLV when asked.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    DataError
        No customer is left, no row is before the as-of date, or the cleaned amounts are in
        more than one currency.
    ParamsError
        The snapshot date does not fit the data.
    """
    progress(0.0, "Cleaning rows")
    if masks is None or masks.frame is not transactions.frame:
        # the steps' row tests made once for cleaning and the missing-id comparison (which
        # reads the switched-off steps too): placeholder ids alone cost 1.2 s at 10 M rows
        masks = cleaning.StepMasks(transactions.frame)
    if cleaned is None:
        cleaned = cleaning.clean(
            transactions.frame, params.cleaning, count_disabled=False, masks=masks
        )
    clean_frame, report = cleaned
    clean_frame, report = before_as_of(clean_frame, report, params)
    cleaning.check_one_currency(clean_frame, params.cleaning, transactions.currency_source)
    _check(cancelled)
    warnings = [
        *as_warnings(transactions.warnings, "read"),
        *as_warnings(report.warnings, "cleaning"),
    ]
    if not params.cleaning.drop_missing_customer and clean_frame["customer_id"].isna().any():
        warnings.append(kept_without_id(int(clean_frame["customer_id"].isna().sum())))
    missing = missing_ids.compare(transactions.frame, params.cleaning, masks)
    report = dataclasses.replace(report, missing_ids=missing)
    if missing is not None and missing.differs:
        warnings.append(RunWarning("cleaning", missing.verdict))
    warnings += as_warnings(checks.far_dates(clean_frame), "customers")
    progress(0.3, "Computing recency, frequency, monetary")
    snapshot = snapshot_for(clean_frame, params)
    customers = rfm.compute_rfm(clean_frame, snapshot)
    value_rows = (
        clean_frame[["customer_id", "invoice_date", "amount"]] if params.clv.enabled else None
    )
    return Reduced(
        customers=customers,
        report=report,
        snapshot=snapshot,
        warnings=tuple(warnings),
        value_rows=value_rows,
        engine="memory",
        rows_read=transactions.rows_read,
        date_format=transactions.date_format,
        input_sha256=transactions.source_sha256,
        input_size=transactions.source_size,
    )


def _check(cancelled: CancelledFn) -> None:
    if cancelled():
        raise Cancelled()


def read_and_reduce(
    params: AnalysisParams,
    progress: ProgressFn,
    cancelled: CancelledFn,
    engine: str,
    why: str,
) -> Reduced:
    """Read ``params.input_path`` with core.io and reduce it here, for a file another engine
    hands over because it needs what only the Python reader does.

    Parameters
    ----------
    params, progress, cancelled
        As in ``pipeline.run``.
    engine
        The engine that handed it over ("DuckDB", "Spark"), named in the warning.
    why
        What the file has, as the end of "the file has ...".

    Returns
    -------
    Reduced
        The in-memory engine's, with a first "read" warning saying so and why.

    Raises
    ------
    Cancelled, InputFileError, SheetError, MappingError, DataError, ParamsError
        As :func:`io.read_transactions` and :func:`reduce` raise them.
    """
    if cancelled():
        raise Cancelled()
    transactions = io.read_transactions(
        params.input_path,
        params.sheet,
        params.mapping or None,
        progress=lambda f, s: progress(0.8 * f, s),
        header_row=params.header_row,
        date_order=params.date_order,
    )
    if cancelled():
        raise Cancelled()
    reduced = reduce(transactions, params, lambda f, s: progress(0.8 + 0.2 * f, s), cancelled)
    note = RunWarning("read", f"Read in memory, not by the {engine} engine: the file has {why}.")
    return dataclasses.replace(reduced, warnings=(note, *reduced.warnings))
