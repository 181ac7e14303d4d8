"""Checks for data that reads fine but would give wrong numbers without a word: warnings only.

Each check returns sentences for the analyst (empty when all is well). They run where the data
they need is at hand: :func:`raw_table_notes` once on the raw table at read time (it needs the
columns that were not mapped), the others on the cleaned rows or the customers in the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from rfm_desktop.core.values import plural, to_customer_ids

#: Fewer customers than this make k-means clusters that say little (a handful per cluster).
MIN_CUSTOMERS_FOR_CLUSTERING = 20
#: A date this far from every other date (in days) is taken for a typo.
FAR_DATE_DAYS = 365
#: ...when the dates beyond the gap hold at most this share of the rows.
FAR_DATE_SHARE = 0.01
#: One customer id with at least this share of the orders and this many times the orders of the
#: next customer is not a customer but a placeholder (a till's "walk-in", a guest account).
DOMINANT_SHARE = 0.10
DOMINANT_RATIO = 5.0
#: Checks on how customers repeat need at least this many orders to mean anything.
MIN_ORDERS = 10
_HEAD_ROWS = 50_000

# Header words of a column that names a person, and of one that is a key rather than a
# description (a customer's city or zip code repeats too, but is not the customer).
_PERSON_WORDS = {
    "customer",
    "customers",
    "client",
    "buyer",
    "user",
    "member",
    "person",
    "shopper",
    "account",
    "contact",
    "email",
    "mail",
    "kunde",
    "cliente",
}
_KEY_WORDS = {"id", "key", "unique", "uid", "uuid", "email", "mail", "no", "nr", "number", "num"}


def _words(header: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(header))
    return set(re.findall(r"[a-z0-9]+", spaced.casefold()))


def _looks_like_customer_key(header: str) -> bool:
    words = _words(header)
    return bool(words & _PERSON_WORDS) and (bool(words & _KEY_WORDS) or len(words) == 1)


def _orders_per(ids: pd.Series, invoices: pd.Series) -> pd.Series:
    """Distinct invoices per id, most first (ids without a value left out)."""
    id_codes, id_values = pd.factorize(ids)
    invoice_codes, invoice_values = pd.factorize(invoices)
    known = (id_codes >= 0) & (invoice_codes >= 0)
    pairs = np.unique(
        id_codes[known].astype(np.int64) * (len(invoice_values) + 1) + invoice_codes[known]
    )
    counts = np.bincount(pairs // (len(invoice_values) + 1), minlength=len(id_values))
    return (
        pd.Series(counts, index=id_values)
        .loc[lambda c: c > 0]
        .sort_values(ascending=False, kind="stable")
    )


def raw_table_notes(
    table: pa.Table, mapping: Mapping[str, str], frame: pd.DataFrame
) -> tuple[str, ...]:
    """Warnings that need the file's unmapped columns: a customer column that never repeats.

    Some exports (Olist) give each order a new ``customer_id`` and keep the person in another
    column (``customer_unique_id``). Keyed on the per-order id, every customer has one order and
    frequency means nothing. When every customer of the mapped column has exactly one order and
    another column whose header names a customer key repeats across orders, that column is named.

    Parameters
    ----------
    table : the raw table as read (all columns).
    mapping : field -> column header used for the canonical frame.
    frame : the canonical frame (customer_id and invoice_id are used).
    """
    customers, invoices = frame["customer_id"], frame["invoice_id"]
    # a customer with two orders among the first rows settles it cheaply (UCI: at once)
    head = slice(0, _HEAD_ROWS)
    if (_orders_per(customers[head], invoices[head]) > 1).any():
        return ()
    orders = _orders_per(customers, invoices)
    n_customers = len(orders)
    if n_customers < MIN_ORDERS or (orders > 1).any():
        return ()
    used = set(mapping.values())
    for header in table.column_names:
        if header in used or not _looks_like_customer_key(header):
            continue
        orders = _orders_per(to_customer_ids(table.column(header)), invoices)
        repeat = int((orders > 1).sum())
        if repeat:
            column = mapping["customer_id"]
            return (
                f"Every customer in '{column}' has exactly one order ({n_customers:,} customers), "
                f"but '{header}' repeats across orders ({len(orders):,} values, {repeat:,} with two "
                f"or more orders): if '{header}' is the customer, map it as the customer id "
                f"(--map customer_id={header}).",
            )
    return ()


def dominant_customer(customers: pd.DataFrame) -> list[str]:
    """A customer id that holds far more orders than every other one (a placeholder in disguise).

    Parameters
    ----------
    customers : one row per customer: customer_id, frequency (distinct orders).
    """
    orders = customers["frequency"].to_numpy()
    if len(orders) < 3:
        return []
    first = int(np.argmax(orders))
    top, total = int(orders[first]), int(orders.sum())
    second = int(np.partition(orders, -2)[-2])
    share = top / total
    if top < MIN_ORDERS or share < DOMINANT_SHARE or top < DOMINANT_RATIO * second:
        return []
    return [
        f"Customer id '{customers['customer_id'].iloc[first]}' has {top:,} of {total:,} orders ({share:.1%}), "
        f"{top / second:.0f} times as many as any other customer (the next has {second:,}): if it "
        "stands for guests or unknown buyers it is not one customer; remove those rows or map "
        "another customer column."
    ]


def far_dates(frame: pd.DataFrame) -> list[str]:
    """A date years away from all the others (a typo such as 2031 for 2011).

    The last date sets the default snapshot, so one such date moves every recency. A date counts
    when at least :data:`FAR_DATE_DAYS` days separate it from the rest and the dates beyond that
    gap hold at most :data:`FAR_DATE_SHARE` of the rows.

    Parameters
    ----------
    frame : cleaned rows (invoice_date, invoice_id).
    """
    dates = frame["invoice_date"].dropna()
    if dates.empty:
        return []
    days, counts = np.unique(dates.to_numpy().astype("datetime64[D]"), return_counts=True)

    def first_invoice(day: np.datetime64) -> str:
        on_day = frame["invoice_date"].to_numpy().astype("datetime64[D]") == day
        return str(frame["invoice_id"].to_numpy()[np.argmax(on_day)])

    return far_dates_in(days, counts, first_invoice)


def far_dates_in(
    days: np.ndarray, counts: np.ndarray, first_invoice: Callable[[np.datetime64], str | None]
) -> list[str]:
    """:func:`far_dates` from the clean rows per day (any engine's).

    Parameters
    ----------
    days : the distinct days of the clean rows, increasing (datetime64[D]).
    counts : rows per day.
    first_invoice : the invoice id of the first clean row on a day (for the example); None
        when that row has none (shown as <NA>, as the in-memory frame prints it).
    """
    if len(days) < 3:
        return []
    limit = max(1, int(FAR_DATE_SHARE * counts.sum()))
    gaps = np.diff(days).astype(np.int64)  # gaps[i] lies between days[i] and days[i + 1]
    notes = []
    above = np.cumsum(counts[::-1])[::-1]  # rows on days[i] and later
    top = [i for i in range(len(gaps)) if above[i + 1] <= limit]
    if top:
        i = max(top, key=lambda j: gaps[j])
        if gaps[i] >= FAR_DATE_DAYS:
            notes.append(
                _far_text(
                    first_invoice, days[i + 1], int(above[i + 1]), gaps[i], days[i], late=True
                )
            )
    below = np.cumsum(counts)  # rows on days[i] and earlier
    bottom = [i for i in range(len(gaps)) if below[i] <= limit]
    if bottom:
        i = max(bottom, key=lambda j: gaps[j])
        if gaps[i] >= FAR_DATE_DAYS:
            notes.append(
                _far_text(first_invoice, days[i], int(below[i]), gaps[i], days[i + 1], late=False)
            )
    return notes


def _far_text(
    first_invoice: Callable[[np.datetime64], str | None],
    day: np.datetime64,
    rows: int,
    gap: int,
    edge: np.datetime64,
    *,
    late: bool,
) -> str:
    invoice = first_invoice(day)
    invoice = "<NA>" if invoice is None else invoice
    years = gap / 365.25
    span = f"{years:.1f} years" if years >= 1.5 else f"{gap:,} days"
    if late:
        return (
            f"The last date, {day} ({plural(rows, 'row')}, e.g. invoice {invoice}), is "
            f"{span} after all the other dates (which end on {edge}): it sets the snapshot "
            "date, so it moves every recency. If it is a typo, correct it in the file."
        )
    return (
        f"The first date, {day} ({plural(rows, 'row')}, e.g. invoice {invoice}), is "
        f"{span} before all the other dates (which start on {edge}): if it is a typo, correct "
        "it in the file."
    )


def too_few_to_cluster(clustered: int) -> list[str]:
    """Fewer than :data:`MIN_CUSTOMERS_FOR_CLUSTERING` customers in k-means.

    Parameters
    ----------
    clustered : customers that take part in k-means.
    """
    if clustered >= MIN_CUSTOMERS_FOR_CLUSTERING:
        return []
    return [
        f"Only {clustered:,} customers take part in the clustering: segments of so few customers "
        f"say little (about {MIN_CUSTOMERS_FOR_CLUSTERING} or more are needed)."
    ]
