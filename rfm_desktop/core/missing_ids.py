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

    Parameters
    ----------
    frame : the rows as ``io.Transactions.frame`` holds them (before cleaning).
    options : the cleaning options; placeholder ids (guest, 0, N/A) count as no id when the
        placeholder step is on, and ``currency`` limits the sales rows to that currency.
    masks : the cleaning steps' row tests kept for ``frame`` (the wizard's preview has them).

    Returns
    -------
    MissingIdCheck, or None when every sales row has a customer id (or there are no sales rows).
    Money in the file's currency; shares 0..1.
    """
    sales = ~cleaning.rows_hit_by(frame, options, NOT_SALES, masks)
    no_id = cleaning.rows_hit_by(frame, options, ("missing_customer",), masks)
    if options.drop_placeholder_ids:
        no_id |= cleaning.rows_hit_by(frame, options, ("placeholder_ids",), masks)
    rows = frame.loc[sales, ["invoice_id", "invoice_date", "amount", "quantity", "unit_price"]]
    rows["country"] = frame.loc[sales, "country"] if "country" in frame.columns else pd.NA
    missing = no_id[sales]
    if not missing.any():
        return None
    total_revenue = float(rows["amount"].sum())
    with_id = _group(rows.loc[~missing], len(rows), total_revenue)
    without_id = _group(rows.loc[missing], len(rows), total_revenue)
    reasons = _differences(with_id, without_id)
    material = max(without_id.row_share, without_id.revenue_share) >= MATERIAL_SHARE
    return MissingIdCheck(
        sales_rows=len(rows),
        with_id=with_id,
        without_id=without_id,
        months=_months(rows, missing),
        differs=material and bool(reasons),
        reasons=tuple(reasons),
        verdict=_verdict(with_id, without_id, reasons, material),
    )


def _group(rows: pd.DataFrame, sales_rows: int, total_revenue: float) -> RowGroup:
    invoices = rows.groupby("invoice_id", sort=False)
    has_units = rows["quantity"].notna().any()
    has_price = rows["unit_price"].notna().any()
    countries = rows["country"].dropna().value_counts(normalize=True).head(TOP_COUNTRIES)
    revenue = float(rows["amount"].sum())
    return RowGroup(
        rows=len(rows),
        row_share=len(rows) / sales_rows,
        revenue=revenue,
        revenue_share=revenue / total_revenue if total_revenue else float("nan"),
        invoices=int(invoices.ngroups),
        invoice_value_mean=float(invoices["amount"].sum().mean()),
        lines_per_invoice=len(rows) / invoices.ngroups,
        units_per_invoice=float(invoices["quantity"].sum().mean()) if has_units else None,
        unit_price_median=float(rows["unit_price"].median()) if has_price else None,
        countries=tuple((str(c), float(s)) for c, s in countries.items()),
    )


def _months(rows: pd.DataFrame, missing: np.ndarray) -> tuple[tuple[str, float, float], ...]:
    # whole months as datetime64[M], named after grouping: strftime on every row held the GIL
    # for 0.25-0.5 s on the real data and stalled the window during a run
    month = rows["invoice_date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    table = pd.DataFrame(
        {"month": month, "missing": missing, "amount": rows["amount"].to_numpy()}
    ).assign(missing_amount=lambda t: t["amount"].where(t["missing"], 0.0))
    by_month = table.groupby("month").agg(
        rows=("missing", "size"),
        missing=("missing", "sum"),
        amount=("amount", "sum"),
        missing_amount=("missing_amount", "sum"),
    )
    names = np.datetime_as_string(by_month.index.to_numpy().astype("datetime64[M]"), unit="M")
    return tuple(
        (
            str(m),
            float(r.missing / r.rows),
            float(r.missing_amount / r.amount) if r.amount else float("nan"),
        )
        for m, r in zip(names, by_month.itertuples(), strict=True)
    )


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
