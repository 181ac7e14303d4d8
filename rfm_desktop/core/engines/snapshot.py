"""The dates every engine decides the same way: the snapshot recency is counted to, and the
as-of cut (only rows before it are analysed)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from rfm_desktop.core.errors import DataError, ParamsError
from rfm_desktop.core.params import SNAPSHOT_LATEST, AnalysisParams, parse_snapshot

#: A snapshot this many years after the last purchase is a typing error, not an analysis.
SNAPSHOT_MAX_YEARS_AFTER = 50


def latest_snapshot(last: pd.Timestamp) -> dt.date:
    """The latest snapshot date for data whose last purchase is ``last``: SNAPSHOT_MAX_YEARS_AFTER
    years on, at most SNAPSHOT_LATEST (plain dates: pandas cannot go past 2262)."""
    day = last.date()
    try:
        later = day.replace(year=day.year + SNAPSHOT_MAX_YEARS_AFTER)
    except ValueError:  # 29 February
        later = day.replace(year=day.year + SNAPSHOT_MAX_YEARS_AFTER, day=28)
    return min(later, SNAPSHOT_LATEST)


def snapshot_after(last: pd.Timestamp, params: AnalysisParams) -> pd.Timestamp:
    """The date recency is counted to: the as-of date, the chosen snapshot date, or the day
    after ``last`` (the last clean purchase, NaT when unknown).

    Raises
    ------
    ParamsError
        The chosen date is before the last purchase or more than SNAPSHOT_MAX_YEARS_AFTER years after it.
    """
    if params.as_of:  # only rows before it are left (as_of_day), so it is after the last one
        return pd.Timestamp(parse_snapshot(params.as_of, "as-of date"))
    if params.snapshot_date:
        snapshot = pd.Timestamp(parse_snapshot(params.snapshot_date))
        if pd.notna(last) and snapshot < last.normalize():
            raise ParamsError(
                f"The snapshot date {snapshot.date()} is before the last purchase in the data ({last.date()}).",
                hint="Use a snapshot date on or after the last purchase, or leave it empty for the default.",
            )
        if pd.notna(last) and snapshot.date() > latest_snapshot(last):
            raise ParamsError(
                f"The snapshot date {snapshot.date()} is more than {SNAPSHOT_MAX_YEARS_AFTER} years after the "
                f"last purchase in the data ({last.date()}).",
                hint="Use a snapshot date close to the data, or leave it empty for the default.",
            )
        return snapshot
    return last + pd.Timedelta(days=1)


def as_of_day(params: AnalysisParams) -> pd.Timestamp | None:
    """The as-of date as a timestamp (rows on or after it are left out), None without one."""
    if params.as_of is None:
        return None
    return pd.Timestamp(parse_snapshot(params.as_of, "as-of date"))


def as_of_label(day: pd.Timestamp) -> str:
    """The cleaning report's label of the as-of step."""
    return f"Rows on or after the as-of date {day.date()}"


def nothing_before(day: pd.Timestamp, first: pd.Timestamp) -> DataError:
    """The error of an as-of date before every clean row (``first``: the first clean date)."""
    return DataError(
        f"No transactions are dated before the as-of date {day.date()}"
        + (f" (the first is on {first.date()})." if pd.notna(first) else "."),
        hint="Choose a later as-of date.",
    )
