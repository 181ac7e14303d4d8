"""Per-customer recency, frequency and monetary value, quintile scores and named segments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rfm_desktop.core.errors import DataError


@dataclass(frozen=True)
class SegmentRule:
    name: str
    recency: tuple[int, int]  # inclusive score bounds, 1..5
    frequency: tuple[int, int]
    monetary: tuple[int, int]

    def matches(self, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        return (
            (r >= self.recency[0]) & (r <= self.recency[1])
            & (f >= self.frequency[0]) & (f <= self.frequency[1])
            & (m >= self.monetary[0]) & (m <= self.monetary[1])
        )

    def distance(self, r: float, f: float, m: float) -> tuple[float, float]:
        """(score points outside this rule's box, squared distance to the box centre)."""
        outside = centre = 0.0
        for value, (low, high) in ((r, self.recency), (f, self.frequency), (m, self.monetary)):
            outside += max(low - value, 0.0) + max(value - high, 0.0)
            centre += (value - (low + high) / 2) ** 2
        return outside, centre


# Source: the default table of the R package `rfm` (Aravind Hebbali, rsquaredacademy),
# documented in the example of `rfm_segment()` (rfm 0.2.x, CRAN; R/rfm-segment.R):
#   segment_names   Champions, Loyal Customers, Potential Loyalist, New Customers, Promising,
#                   Need Attention, About To Sleep, At Risk, Can't Lose Them, Lost
#   recency_lower   4 2 3 4 3 2 2 1 1 1      recency_upper   5 5 5 5 4 3 3 2 1 2
#   frequency_lower 4 3 1 1 1 2 1 2 4 1      frequency_upper 5 5 3 1 1 3 2 5 5 2
#   monetary_lower  4 3 1 1 1 2 1 2 4 1      monetary_upper  5 5 3 1 1 3 2 5 5 2
# A customer takes the FIRST rule that matches, as in the package's current `rfm_segment()`.
# The boxes are the published ones; the evaluation order puts each narrow box before the
# broad box that contains it (New Customers and Promising before Potential Loyalist, Can't
# Lose Them before At Risk). In the published order those three segments could never occur.
DEFAULT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", (4, 5), (4, 5), (4, 5)),
    SegmentRule("Loyal Customers", (2, 5), (3, 5), (3, 5)),
    SegmentRule("New Customers", (4, 5), (1, 1), (1, 1)),
    SegmentRule("Promising", (3, 4), (1, 1), (1, 1)),
    SegmentRule("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
    SegmentRule("Need Attention", (2, 3), (2, 3), (2, 3)),
    SegmentRule("About To Sleep", (2, 3), (1, 2), (1, 2)),
    SegmentRule("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
    SegmentRule("At Risk", (1, 2), (2, 5), (2, 5)),
    SegmentRule("Lost", (1, 2), (1, 2), (1, 2)),
)
OTHERS = "Others"
#: display order: the published table's order
SEGMENT_ORDER: tuple[str, ...] = (
    "Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
    "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them", "Lost", OTHERS,
)

STRATEGIES: dict[str, str] = {
    "Champions": "Reward them: early access, loyalty perks, ask for reviews and referrals.",
    "Loyal Customers": "Upsell higher-value lines; invite to a loyalty programme.",
    "Potential Loyalist": "Offer membership or a second-purchase incentive to build the habit.",
    "New Customers": "Onboard well: welcome series, how-to content, a first-repeat offer.",
    "Promising": "Build awareness of the range with targeted recommendations; small free-shipping offers.",
    "Need Attention": "Limited-time offers based on past purchases to win back momentum.",
    "About To Sleep": "Reconnect with popular products and a modest discount before they lapse.",
    "At Risk": "Personalised win-back emails with strong offers; ask what went wrong.",
    "Can't Lose Them": "Win them back urgently: personal contact, best offers, new-product previews.",
    "Lost": "Low-cost reactivation campaign only; otherwise exclude from paid campaigns.",
    "Others": "Monitor; include in general newsletters.",
    "Outliers": "Review by hand: wholesale or unusual accounts that need a tailored approach.",
}


def compute_rfm(frame: pd.DataFrame, snapshot: pd.Timestamp) -> pd.DataFrame:
    """One row per customer from cleaned transactions (canonical columns, see core.io).

    recency = whole days from the customer's last purchase to ``snapshot``;
    frequency = distinct invoices; monetary = sum of amount.
    Text columns are turned into integer codes first: grouping 10 M rows on integers is several
    times faster than on strings.
    """
    rows = frame[frame["customer_id"].notna()] if frame["customer_id"].hasnans else frame
    if rows.empty:
        raise DataError("No rows with a customer id are left, so there are no customers to segment.")
    codes, ids = _sorted_codes(rows["customer_id"])
    n = len(ids)
    grouped = pd.DataFrame({"c": codes, "d": rows["invoice_date"].to_numpy(), "a": rows["amount"].to_numpy()})
    grouped = grouped.groupby("c", sort=True)
    last = grouped["d"].max().to_numpy()
    first = grouped["d"].min().to_numpy()
    monetary = grouped["a"].sum().to_numpy(dtype=np.float64)
    invoice_codes, invoices = pd.factorize(rows["invoice_id"])
    pair_keys = pd.unique(codes.astype(np.int64) * (len(invoices) + 1) + invoice_codes)
    frequency = np.bincount(pair_keys // (len(invoices) + 1), minlength=n)

    customers = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string"),
            "recency": (snapshot - pd.DatetimeIndex(last)).days.to_numpy(dtype=np.int64),
            "frequency": frequency.astype(np.int64),
            "monetary": monetary.round(2),
            "first_purchase": first,
            "last_purchase": last,
        }
    )
    customers["tenure_days"] = (snapshot - pd.DatetimeIndex(first)).days.to_numpy()
    if "country" in rows.columns and rows["country"].notna().any():
        customers["country"] = _most_frequent(codes, rows["country"], n)
    return customers


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes numbered in sorted order of the values (so customers come out sorted by id)."""
    codes, uniques = pd.factorize(values)
    order = pc.sort_indices(pa.array(np.asarray(uniques, dtype=object), type=pa.string())).to_numpy()
    uniques = np.asarray(uniques, dtype=object)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _most_frequent(codes: np.ndarray, values: pd.Series, n: int) -> pd.Series:
    """Each customer's most frequent value (ties: the alphabetically first)."""
    value_codes, uniques = _sorted_codes(values.fillna(""))
    width = len(uniques) + 1
    keys, counts = np.unique(codes.astype(np.int64) * width + value_codes, return_counts=True)
    customer, value = keys // width, keys % width
    # sort by customer, then count descending, then value ascending; the first row per customer wins
    order = np.lexsort((value, -counts, customer))
    first = order[np.r_[True, customer[order][1:] != customer[order][:-1]]]
    out = np.full(n, None, dtype=object)
    out[customer[first]] = uniques[value[first]]
    result = pd.Series(pd.array(out, dtype="string"))
    return result.mask(result == "")


def quintile_scores(values: pd.Series | np.ndarray, *, reverse: bool = False) -> np.ndarray:
    """Scores 1..5 by quintiles; ties broken by rank so all five scores are used.

    ``reverse`` gives 5 to the smallest values (recency: recent buyers score high).
    """
    values = pd.Series(np.asarray(values, dtype=np.float64))
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    ranks = values.rank(method="first").to_numpy()  # 1..n, ties by order of appearance
    scores = np.ceil(ranks * 5 / n).astype(np.int8)
    scores = np.clip(scores, 1, 5)
    return (6 - scores).astype(np.int8) if reverse else scores


def score_customers(customers: pd.DataFrame, rules: Sequence[SegmentRule] = DEFAULT_RULES) -> pd.DataFrame:
    out = customers.copy()
    out["r_score"] = quintile_scores(out["recency"], reverse=True)
    out["f_score"] = quintile_scores(out["frequency"])
    out["m_score"] = quintile_scores(out["monetary"])
    out["rfm_score"] = (
        out["r_score"].astype(int) * 100 + out["f_score"].astype(int) * 10 + out["m_score"].astype(int)
    )
    out["rfm_segment"] = assign_segments(
        out["r_score"].to_numpy(), out["f_score"].to_numpy(), out["m_score"].to_numpy(), rules
    )
    return out


def assign_segments(
    r: np.ndarray, f: np.ndarray, m: np.ndarray, rules: Sequence[SegmentRule] = DEFAULT_RULES
) -> pd.Series:
    names = np.full(len(r), OTHERS, dtype=object)
    unassigned = np.ones(len(r), dtype=bool)
    for rule in rules:  # first matching rule wins
        hit = unassigned & rule.matches(r, f, m)
        names[hit] = rule.name
        unassigned &= ~hit
    return pd.Series(pd.array(names, dtype="string"))


def score_value(population: np.ndarray, value: float, *, reverse: bool = False) -> float:
    """The score a value would get within ``population`` on a continuous 1..5 scale (for centroids).

    The share of customers below a value is the mid-rank share (half the ties count as below),
    interpolated linearly between the population's distinct values, so a centroid of 1.01 orders
    sits next to "1 order" and not above every one-order customer.
    """
    population = np.asarray(population, dtype=np.float64)
    if not len(population):
        return 3.0
    distinct, counts = np.unique(population, return_counts=True)
    at_or_below = np.cumsum(counts)
    mid_share = (at_or_below - counts / 2) / len(population)
    share = float(np.interp(value, distinct, mid_share))
    score = float(np.clip(0.5 + 5 * share, 1.0, 5.0))
    return 6.0 - score if reverse else score


def segment_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """The named RFM segment table: counts, shares and means, in the rule table's order."""
    total_customers = len(customers)
    total_revenue = float(customers["monetary"].sum())
    grouped = customers.groupby("rfm_segment", observed=True)
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["monetary"].sum(),
            "recency_mean": grouped["recency"].mean(),
            "frequency_mean": grouped["frequency"].mean(),
            "monetary_mean": grouped["monetary"].mean(),
        }
    )
    table["share"] = table["customers"] / max(total_customers, 1)
    table["revenue_share"] = table["revenue"] / total_revenue if total_revenue else 0.0
    order = [s for s in SEGMENT_ORDER if s in table.index] + [s for s in table.index if s not in SEGMENT_ORDER]
    table = table.loc[order].rename_axis("segment").reset_index()
    return table[
        ["segment", "customers", "share", "revenue", "revenue_share", "recency_mean", "frequency_mean", "monetary_mean"]
    ]


def score_heatmap(customers: pd.DataFrame) -> pd.DataFrame:
    """R score x F score grid with customer counts and mean monetary (all 25 cells)."""
    grouped = customers.groupby(["r_score", "f_score"])["monetary"].agg(["size", "mean"])
    full = pd.MultiIndex.from_product([range(1, 6), range(1, 6)], names=["r_score", "f_score"])
    grid = grouped.reindex(full)
    grid["size"] = grid["size"].fillna(0).astype(int)
    return grid.rename(columns={"size": "customers", "mean": "monetary_mean"}).reset_index()
