"""Do the segments predict anything? Segment on the data before a date, then measure each named
RFM segment and each cluster over the next N days.

For every group: its customers, the share who bought again in the horizon, orders and spend per
customer there, the group's share of the horizon revenue of all analysed customers, and the lift
(the group's repurchase share over that of all analysed customers). Customers who first buy in
the horizon are not part of any group (no segment could have been given to them).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rfm_desktop.core import cleaning, pipeline, writing
from rfm_desktop.core.errors import DataError, ParamsError
from rfm_desktop.core.params import (
    AnalysisParams,
    CancelledFn,
    ProgressFn,
    never_cancelled,
    no_progress,
)
from rfm_desktop.core.result import AnalysisResult, RunWarning

#: Longest horizon: ten years is no longer a test of this month's segments.
HORIZON_MAX_DAYS = 3650
ALL = "All customers"
CUSTOMER_COLUMNS = (
    "customer_id",
    "rfm_segment",
    "cluster_name",
    "bought_in_horizon",
    "orders_in_horizon",
    "spend_in_horizon",
)
TABLE_COLUMNS = (
    "grouping",
    "segment",
    "customers",
    "bought_again_share",
    "orders_per_customer",
    "spend_per_customer",
    "revenue_share",
    "lift",
)


@dataclass(frozen=True)
class Backtest:
    """The outcome of a backtest (written as backtest.csv and backtest_customers.csv)."""

    as_of: pd.Timestamp
    horizon_days: int  # used: the requested days, or fewer when the data end sooner
    requested_days: int
    #: one row per group (TABLE_COLUMNS): grouping "all", "rfm_segment" or "cluster"
    table: pd.DataFrame
    #: one row per analysed customer (CUSTOMER_COLUMNS)
    customers: pd.DataFrame
    warnings: tuple[RunWarning, ...] = ()

    @property
    def horizon_end(self) -> pd.Timestamp:
        """The first day after the horizon."""
        return self.as_of + pd.Timedelta(days=self.horizon_days)

    def to_dict(self) -> dict[str, object]:
        """The backtest as JSON-ready values (its window and warnings), for the backtest's record."""
        return {
            "as_of": self.as_of.date().isoformat(),
            "horizon_days": self.horizon_days,
            "requested_horizon_days": self.requested_days,
            "horizon_end": self.horizon_end.date().isoformat(),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def check_horizon(days: int) -> int:
    """``days`` when it is a horizon of 1 … HORIZON_MAX_DAYS days.

    Raises
    ------
    ParamsError
        Otherwise.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= HORIZON_MAX_DAYS:
        raise ParamsError(
            f"The horizon must be 1 to {HORIZON_MAX_DAYS} days, not {days!r}.",
            hint="For example --horizon-days 90 for the quarter after the as-of date.",
        )
    return days


def run_backtest(
    params: AnalysisParams,
    horizon_days: int,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> tuple[AnalysisResult, Backtest]:
    """Segment the transactions before ``params.as_of`` and measure the groups over the
    ``horizon_days`` days from it (the same cleaning for both periods).

    Parameters
    ----------
    params
        The analysis; ``as_of`` is required.
    horizon_days
        Length of the horizon in days, 1 … HORIZON_MAX_DAYS; shortened (with a warning) to the
        days the data cover after the as-of date.

    Returns
    -------
    The analysis of the period before the date, and the :class:`Backtest`.

    Raises
    ------
    ParamsError
        No as-of date, or a horizon out of range.
    DataError
        No clean transaction on or after the as-of date.
    """
    check_horizon(horizon_days)
    if params.as_of is None:
        raise ParamsError(
            "A backtest needs an as-of date: the segments are made before it and tested after it."
        )
    transactions = pipeline.load(params, lambda f, s: progress(0.2 * f, s), cancelled)
    result = pipeline.run(
        params,
        lambda f, s: progress(0.2 + 0.7 * f, s),
        cancelled,
        transactions=transactions,
    )
    progress(0.9, "Measuring the horizon")
    rows = cleaning.clean(transactions.frame, params.cleaning, count_disabled=False)[0]
    as_of = pd.Timestamp(params.as_of)
    later = rows.loc[(rows["invoice_date"] >= as_of).to_numpy(dtype=bool, na_value=False)]
    if later.empty:
        raise DataError(
            f"No transactions are dated on or after the as-of date {as_of.date()}, so there is "
            "nothing to test the segments against.",
            hint="Choose an earlier as-of date.",
        )
    covered = (later["invoice_date"].max().normalize() - as_of).days + 1
    days, warnings = horizon_days, []
    if covered < horizon_days:
        days = covered
        warnings.append(
            RunWarning(
                "customers",
                f"The data end on {later['invoice_date'].max().date()}, {covered} days after the "
                f"as-of date: the horizon is shortened from {horizon_days} to {covered} days.",
            )
        )
    window = later.loc[later["invoice_date"] < as_of + pd.Timedelta(days=days)]
    customers = horizon_outcomes(window, result.customers)
    progress(1.0, "Done")
    test = Backtest(
        as_of, days, horizon_days, backtest_table(customers), customers, tuple(warnings)
    )
    return result, ordered(test, result)


def horizon_outcomes(window: pd.DataFrame, analysed: pd.DataFrame) -> pd.DataFrame:
    """Each analysed customer's purchases in the horizon: bought (true/false), orders (distinct
    invoices) and spend (the file's currency); customers new in the horizon are left out."""
    rows = window[window["customer_id"].isin(analysed["customer_id"])]
    per = rows.groupby("customer_id", observed=True).agg(
        orders_in_horizon=("invoice_id", "nunique"), spend_in_horizon=("amount", "sum")
    )
    out = analysed[["customer_id", "rfm_segment", "cluster_name"]].copy()
    found = out["customer_id"].map(per["orders_in_horizon"])
    out["orders_in_horizon"] = found.fillna(0).astype(np.int64).to_numpy()
    spend = out["customer_id"].map(per["spend_in_horizon"]).fillna(0.0)
    out["spend_in_horizon"] = spend.astype(np.float64).round(2).to_numpy()
    out["bought_in_horizon"] = out["orders_in_horizon"] > 0
    return out[list(CUSTOMER_COLUMNS)].reset_index(drop=True)


def backtest_table(customers: pd.DataFrame) -> pd.DataFrame:
    """TABLE_COLUMNS for all customers, each named segment and each cluster (in the order they
    first appear in the customer table's categories: best segment first, cluster ids)."""
    total_spend = float(customers["spend_in_horizon"].sum())
    overall = float(customers["bought_in_horizon"].mean())

    def row(grouping: str, name: str, members: pd.DataFrame) -> dict[str, object]:
        n = len(members)
        bought = float(members["bought_in_horizon"].mean()) if n else 0.0
        return {
            "grouping": grouping,
            "segment": name,
            "customers": n,
            "bought_again_share": round(bought, 6),
            "orders_per_customer": round(float(members["orders_in_horizon"].mean()), 6),
            "spend_per_customer": round(float(members["spend_in_horizon"].mean()), 6),
            "revenue_share": round(float(members["spend_in_horizon"].sum()) / total_spend, 6)
            if total_spend
            else 0.0,
            "lift": round(bought / overall, 6) if overall else float("nan"),
        }

    rows = [row("all", ALL, customers)]
    for grouping, column in (("rfm_segment", "rfm_segment"), ("cluster", "cluster_name")):
        for name, members in customers.groupby(column, sort=False, observed=True):
            rows.append(row(grouping, str(name), members))
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def ordered(backtest: Backtest, result: AnalysisResult) -> Backtest:
    """The table with named segments best first and clusters by id (as the result lists them)."""
    rank = {("all", ALL): 0}
    rank.update({("rfm_segment", s): i + 1 for i, s in enumerate(result.segments["segment"])})
    rank.update({("cluster", c.name): 1000 + c.id for c in result.clusters})
    table = backtest.table
    keys = [
        rank.get((g, s), 10**6) for g, s in zip(table["grouping"], table["segment"], strict=True)
    ]
    order = np.argsort(keys, kind="stable")
    return dataclasses.replace(backtest, table=table.iloc[order].reset_index(drop=True))


def backtest_files(result: AnalysisResult, backtest: Backtest) -> dict[str, bytes]:
    """``backtest.csv``, ``backtest_customers.csv`` and ``run.json`` (the run record with the
    backtest's dates and warnings), rendered in memory."""
    from rfm_desktop.core import export

    run = export.run_dict(result)
    run["backtest"] = backtest.to_dict()
    run["warnings"] = [*run["warnings"], *(w.to_dict() for w in backtest.warnings)]
    return {
        "backtest.csv": export.csv_bytes(backtest.table),
        "backtest_customers.csv": export.csv_bytes(
            backtest.customers.sort_values("customer_id", kind="stable")
        ),
        "run.json": export.json_bytes(run),
    }


def write_backtest(
    folder: str | os.PathLike[str],
    result: AnalysisResult,
    backtest: Backtest,
    *,
    lock: writing.FolderLock | None = None,
) -> list[Path]:
    """Write :func:`backtest_files` into ``folder`` as one unit (the CLI and the GUI: same bytes).

    Parameters
    ----------
    folder
        The output folder (created if missing); the files of a previous backtest there are
        replaced.
    result, backtest
        What :func:`run_backtest` returned.
    lock
        The folder's lock when the caller holds it for the whole run (the CLI does).

    Returns
    -------
    list of Path
        The files written, ``run.json`` last.

    Raises
    ------
    ExportError
        ``folder`` is the input file or a file, or cannot be written; the folder is as before.
    """
    from rfm_desktop.core import export

    out = export.check_output_dir(folder, result.params.input_path)
    return writing.write_files(out, backtest_files(result, backtest), replace=True, lock=lock)


def table_text(table: pd.DataFrame) -> str:
    """The table as aligned text for the terminal (shares as %, money with 2 decimals)."""
    shown = pd.DataFrame(
        {
            "group": [
                f"{'cluster ' if g == 'cluster' else ''}{s}"
                for g, s in zip(table["grouping"], table["segment"], strict=True)
            ],
            "customers": table["customers"].map("{:,}".format),
            "bought again": table["bought_again_share"].map("{:.1%}".format),
            "orders/cust": table["orders_per_customer"].map("{:.2f}".format),
            "spend/cust": table["spend_per_customer"].map("{:,.2f}".format),
            "revenue": table["revenue_share"].map("{:.1%}".format),
            "lift": table["lift"].map("{:.2f}".format),
        }
    )
    return shown.to_string(index=False) + "\n"
