"""Do the customers analysed look like the whole business? Sales rows with and without a
customer id, side by side.

RFM only sees rows with a customer id. When the rows without one are many and different (the
UCI Online Retail file: a quarter of the rows, larger invoices, nearly all UK), segment sizes and
revenue shares describe the identified customers, not the shop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfm_desktop.core import cleaning
from rfm_desktop.core.params import CleaningOptions
from rfm_desktop.core.result import MissingIdCheck, RowGroup

#: Steps whose rows are not sales: a sale is readable, completed, not a cancellation, in the chosen
#: currency, with quantity and price > 0 (the masks of core.cleaning, switched on or not).
NOT_SALES = ("invalid", "non_sale_status", "cancellations", "other_currency", "nonpositive")

#: Thresholds of the verdict (our choice; the issue leaves them open).
#: Rows without an id matter when they are at least this share of the sales rows or revenue...
MATERIAL_SHARE = 0.05
#: ...and differ when a per-invoice or price figure of one group is this many times the other's
#: (invoice value, lines per invoice, units per invoice, median unit price)...
RATIO_LIMIT = 1.5
#: ...or when the share of the main country differs by this much (0.05 = 5 percentage points;
#: UCI: 98.9 % UK without an id against 89.1 % with one, so ten times the share abroad).
COUNTRY_GAP = 0.05
#: Countries listed per group.
TOP_COUNTRIES = 5


def compare(
    frame: pd.DataFrame, options: CleaningOptions, masks: cleaning.StepMasks | None = None
) -> MissingIdCheck | None:
    """Compare the sales rows with a customer id to those without one.

    Works on the frame's column arrays (per-invoice and per-month sums by ``np.bincount`` over
    integer codes), never on a copy of the sales rows: at 10,000,000 rows copying them by a
    boolean mask took 6 s and a gigabyte.

    Parameters
    ----------
    frame : the rows as ``io.Transactions.frame`` holds them (before cleaning).
    options : the cleaning options; placeholder ids (guest, 0, N/A) count as no id when the
        placeholder step is on, and ``currency`` limits the sales rows to that currency.
    masks : the cleaning steps' row tests kept for ``frame`` (the wizard's preview has them).

    Returns
    -------
    MissingIdCheck, or None when every sales row has a customer id, or none has (or there are
    no sales rows).
    Money in the file's currency; shares 0..1.
    """
    sales = ~cleaning.rows_hit_by(frame, options, NOT_SALES, masks)
    no_id = cleaning.rows_hit_by(frame, options, ("missing_customer",), masks)
    if options.drop_placeholder_ids:
        no_id |= cleaning.rows_hit_by(frame, options, ("placeholder_ids",), masks)
    missing = no_id & sales
    present = sales & ~no_id
    if not missing.any() or not present.any():  # nothing to compare with
        return None
    sales_rows = int(sales.sum())
    amount = frame["amount"].to_numpy(dtype=np.float64)
    total_revenue = float(amount[sales].sum())
    # group of each row: 0 with an id, 1 without, 2 not a sales row
    group = np.where(sales, missing.view(np.int8), np.int8(2))
    invoices, has_invoice = _invoices(frame, group)
    countries = _codes(frame["country"]) if "country" in frame.columns else None
    with_id, without_id = (
        _group(frame, rows, invoices[g], has_invoice, countries, sales_rows, total_revenue)
        for g, rows in enumerate((present, missing))
    )
    reasons = _differences(with_id, without_id)
    material = max(without_id.row_share, without_id.revenue_share) >= MATERIAL_SHARE
    return MissingIdCheck(
        sales_rows=sales_rows,
        with_id=with_id,
        without_id=without_id,
        months=_months(frame, missing, sales),
        differs=material and bool(reasons),
        reasons=tuple(reasons),
        verdict=_verdict(with_id, without_id, reasons, material),
    )


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column (-1 for a missing value) and the distinct values they stand for."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _invoices(frame: pd.DataFrame, group: np.ndarray) -> tuple[tuple[int, int], np.ndarray]:
    """Distinct invoice ids among the rows of group 0 and of group 1 (see :func:`compare`), and
    the rows that have an invoice id (a groupby by invoice leaves the others out)."""
    codes, uniques = _codes(frame["invoice_id"])
    has_invoice = codes >= 0
    key = codes * 2 + group  # pair (invoice, group)
    key[~has_invoice | (group > 1)] = 2 * len(uniques)  # one bin for the rows in no pair
    seen = np.bincount(key, minlength=2 * len(uniques) + 1)[:-1] > 0
    return (int(seen[0::2].sum()), int(seen[1::2].sum())), has_invoice


def _group(
    frame: pd.DataFrame,
    rows: np.ndarray,
    invoices: int,
    has_invoice: np.ndarray,
    countries: tuple[np.ndarray, pd.Index] | None,
    sales_rows: int,
    total_revenue: float,
) -> RowGroup:
    """The figures of one group, ``rows`` its rows (mask over ``frame``) with ``invoices``
    distinct invoice ids. A per-invoice mean is the sum over the rows with an invoice id divided
    by the invoices (the mean of the invoices' sums, without summing per invoice)."""
    count = int(rows.sum())
    amount = frame["amount"].to_numpy(dtype=np.float64)
    quantity = frame["quantity"].to_numpy(dtype=np.float64)
    price = frame["unit_price"].to_numpy(dtype=np.float64)[rows]
    price = price[~np.isnan(price)]
    revenue = float(amount[rows].sum())
    in_invoice = rows & has_invoice
    invoiced = float(amount[in_invoice].sum())
    has_units = bool((~np.isnan(quantity[rows])).any())
    units = float(np.nansum(quantity[in_invoice])) if has_units else 0.0
    return RowGroup(
        rows=count,
        row_share=count / sales_rows,
        revenue=revenue,
        revenue_share=revenue / total_revenue if total_revenue else float("nan"),
        invoices=invoices,
        invoice_value_mean=invoiced / invoices if invoices else float("nan"),
        lines_per_invoice=count / invoices if invoices else float("nan"),
        # NaN quantities add nothing, as in a pandas sum
        units_per_invoice=(units / invoices if invoices else float("nan")) if has_units else None,
        unit_price_median=float(np.median(price)) if len(price) else None,
        countries=_top_countries(countries, rows),
    )


def _top_countries(
    countries: tuple[np.ndarray, pd.Index] | None, rows: np.ndarray
) -> tuple[tuple[str, float], ...]:
    """The TOP_COUNTRIES most frequent countries of the rows with their share of the rows that
    name one; ties in the order the countries first appear (as pandas' value_counts)."""
    if countries is None:
        return ()
    codes, names = countries
    codes = codes[rows]
    codes = codes[codes >= 0]
    if not len(codes):
        return ()
    counts = np.bincount(codes, minlength=len(names))
    ranked = sorted(pd.unique(codes), key=lambda c: -counts[c])[:TOP_COUNTRIES]
    return tuple((str(names[c]), float(counts[c] / len(codes))) for c in ranked)


def _months(
    frame: pd.DataFrame, missing: np.ndarray, sales: np.ndarray | None = None
) -> tuple[tuple[str, float, float], ...]:
    """Per month of ``frame``'s ``invoice_date`` (rows in ``sales``, all when None; unreadable
    dates left out): the share of rows and of ``amount`` that are ``missing`` an id."""
    # sums per day by bincount, then per month: converting every row's date to a month
    # (datetime64[M]) took 1 s at 10 M rows, and strftime held the GIL and stalled the window
    dates = frame["invoice_date"].to_numpy(dtype="datetime64[ns]")
    use = ~np.isnat(dates)
    day = dates.view(np.int64) // 86_400_000_000_000  # floor: days before 1970 stay whole
    if sales is not None:
        use &= sales
    if not use.any():
        return ()
    first = int(day[use].min())
    days = int(day[use].max()) - first + 1
    index = day - first
    index[~use] = days  # one bin for the rows left out
    amount = frame["amount"].to_numpy(dtype=np.float64)
    missing = np.asarray(missing, dtype=bool)
    per_day = np.stack(
        [
            np.bincount(index, minlength=days + 1)[:days],
            np.bincount(index, weights=missing, minlength=days + 1)[:days],
            np.bincount(index, weights=amount, minlength=days + 1)[:days],
            np.bincount(index, weights=np.where(missing, amount, 0.0), minlength=days + 1)[:days],
        ]
    )
    month = (np.arange(first, first + days).astype("datetime64[D]")).astype("datetime64[M]")
    names, month_code = np.unique(month, return_inverse=True)
    per_month = np.stack(
        [np.bincount(month_code, weights=row, minlength=len(names)) for row in per_day]
    )
    out = []
    for name, (rows, without, amount_all, amount_without) in zip(
        np.datetime_as_string(names, unit="M"), per_month.T, strict=True
    ):
        if rows:
            share = amount_without / amount_all if amount_all else float("nan")
            out.append((str(name), float(without / rows), float(share)))
    return tuple(out)


def _ratio_differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None or not (a > 0 and b > 0):
        return False
    return max(a, b) / min(a, b) >= RATIO_LIMIT


def _differences(with_id: RowGroup, without_id: RowGroup) -> list[str]:
    """One phrase per figure in which the rows without an id differ (see the thresholds)."""
    reasons = []
    figures = (
        ("invoice_value_mean", "their invoices average {b:,.0f} against {a:,.0f}"),
        ("lines_per_invoice", "{b:,.1f} lines per invoice against {a:,.1f}"),
        ("units_per_invoice", "{b:,.0f} units per invoice against {a:,.0f}"),
        ("unit_price_median", "a median unit price of {b:,.2f} against {a:,.2f}"),
    )
    for field, text in figures:
        a, b = getattr(with_id, field), getattr(without_id, field)
        if _ratio_differs(a, b):
            reasons.append(text.format(a=a, b=b))
    if with_id.countries:
        main = with_id.countries[0][0]
        share_with = with_id.countries[0][1]
        share_without = dict(without_id.countries).get(main, 0.0)
        if abs(share_with - share_without) >= COUNTRY_GAP:
            reasons.append(f"{share_without:.1%} of them are from {main} against {share_with:.1%}")
    return reasons


def _verdict(with_id: RowGroup, without_id: RowGroup, reasons: list[str], material: bool) -> str:
    share = (
        f"Rows without a customer id are {without_id.row_share:.1%} of the sales rows and "
        f"{without_id.revenue_share:.1%} of the sales revenue"
    )
    if not material:
        return f"{share}: too few to matter, the customers analysed stand for nearly the whole business."
    if not reasons:
        return (
            f"{share}; they look like the rows with an id (invoice value, basket size, prices and "
            "countries within the thresholds), so the customers analysed look like the whole business."
        )
    listed = ", ".join(reasons[:-1]) + (" and " if len(reasons) > 1 else "") + reasons[-1]
    return (
        f"The customers analysed differ from the whole business. {share}; {listed}. Segment sizes "
        "and revenue shares describe the customers with an id only."
    )


def check_of(
    sales_rows: int,
    with_id: RowGroup,
    without_id: RowGroup,
    months: tuple[tuple[str, float, float], ...],
) -> MissingIdCheck:
    """The comparison from figures another engine computed (same definitions as :func:`compare`).

    Parameters
    ----------
    sales_rows : all sales rows.
    with_id, without_id : the figures of the two groups (see :class:`RowGroup`).
    months : per month ("2011-01"), the share of rows and of revenue without an id.

    Returns
    -------
    MissingIdCheck with the reasons and verdict of the thresholds above.
    """
    reasons = _differences(with_id, without_id)
    material = max(without_id.row_share, without_id.revenue_share) >= MATERIAL_SHARE
    return MissingIdCheck(
        sales_rows=sales_rows,
        with_id=with_id,
        without_id=without_id,
        months=months,
        differs=material and bool(reasons),
        reasons=tuple(reasons),
        verdict=_verdict(with_id, without_id, reasons, material),
    )
