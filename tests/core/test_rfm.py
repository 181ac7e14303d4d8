from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_desktop.core import rfm


def _frame(rows: list[tuple[str | None, str, str, float]]) -> pd.DataFrame:
    customer, invoice, date, amount = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": pd.array(customer, dtype="string"),
            "invoice_id": pd.array(invoice, dtype="string"),
            "invoice_date": pd.to_datetime(list(date)),
            "amount": np.asarray(amount, dtype=float),
            "country": pd.array(["UK"] * len(rows), dtype="string"),
        }
    )


def test_compute_rfm_counts_distinct_invoices_and_whole_days():
    frame = _frame(
        [
            ("A", "1", "2011-01-01 10:00", 10.0),
            ("A", "1", "2011-01-01 10:00", 5.0),  # same invoice, second line
            ("A", "2", "2011-01-05 09:00", 20.0),
            ("B", "3", "2011-01-09 12:00", 7.5),
        ]
    )
    snapshot = pd.Timestamp("2011-01-10 12:00")
    customers = rfm.compute_rfm(frame, snapshot).set_index("customer_id")
    assert customers.loc["A", "frequency"] == 2
    assert customers.loc["A", "monetary"] == pytest.approx(35.0)
    assert customers.loc["A", "recency"] == 5  # 5 days 3 hours -> 5 whole days
    assert customers.loc["B", "recency"] == 1
    assert customers.loc["A", "tenure_days"] == 9
    assert customers.loc["A", "country"] == "UK"


def test_default_rules_first_match_wins():
    r, f, m = np.array([5, 5, 1, 3, 1]), np.array([5, 1, 5, 3, 1]), np.array([5, 1, 5, 3, 1])
    names = rfm.assign_segments(r, f, m).tolist()
    assert names[0] == "Champions"  # also matches Loyal Customers, which comes later
    assert names[1] == "New Customers"
    assert names[2] == "Can't Lose Them"
    assert names[3] == "Loyal Customers"
    assert names[4] == "Lost"


def test_every_published_segment_can_occur():
    grid = np.array([(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)])
    names = set(rfm.assign_segments(grid[:, 0], grid[:, 1], grid[:, 2]))
    assert names == set(rfm.SEGMENT_ORDER)


def test_unmatched_scores_are_others():
    assert rfm.assign_segments(np.array([5]), np.array([5]), np.array([1])).tolist() == ["Others"]


def test_heatmap_has_all_cells_and_counts_sum():
    customers = pd.DataFrame(
        {"r_score": [1, 1, 5], "f_score": [1, 1, 2], "monetary": [10.0, 30.0, 5.0]}
    )
    grid = rfm.score_heatmap(customers)
    assert len(grid) == 25
    assert grid["customers"].sum() == 3
    cell = grid[(grid.r_score == 1) & (grid.f_score == 1)].iloc[0]
    assert cell["customers"] == 2 and cell["monetary_mean"] == pytest.approx(20.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(min_value=0, max_value=20),
            st.integers(min_value=0, max_value=300),
            st.floats(min_value=0.01, max_value=1000),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_rfm_invariants(lines):
    frame = _frame(
        [
            (c, f"{c}{inv}", str(pd.Timestamp("2011-01-01") + pd.Timedelta(days=day)), amount)
            for c, inv, day, amount in lines
        ]
    )
    snapshot = frame["invoice_date"].max() + pd.Timedelta(days=1)
    customers = rfm.compute_rfm(frame, snapshot)
    assert customers["customer_id"].is_unique
    assert set(customers["customer_id"]) == {c for c, *_ in lines}
    assert (customers["recency"] >= 1).all()
    assert (customers["frequency"] >= 1).all()
    assert customers["monetary"].sum() == pytest.approx(frame["amount"].sum(), rel=1e-6, abs=0.05)
    assert (
        customers["frequency"].sum()
        == frame[["customer_id", "invoice_id"]].drop_duplicates().shape[0]
    )


def test_score_value_uses_mid_ranks_for_ties():
    population = np.array([1] * 40 + [2] * 30 + [5] * 20 + [20] * 10, dtype=float)
    assert rfm.score_value(population, 1) == pytest.approx(1.5)  # 0.5 + 5 * 0.2
    assert rfm.score_value(population, 100) == 5.0
    assert rfm.score_value(population, 1, reverse=True) == pytest.approx(4.5)


def test_centroids_are_scored_in_one_pass_as_one_by_one():
    """profiles.centroid_scores sorts each measure once for all centroids: the scores are
    exactly (not approximately) those score_value gives each centroid alone."""
    from rfm_desktop.core import profiles

    rng = np.random.default_rng(5)
    population = pd.DataFrame(
        {
            "recency": rng.integers(0, 400, 2_000),
            "frequency": rng.geometric(0.4, 2_000),
            "monetary": rng.lognormal(4, 1, 2_000).round(2),
        }
    )
    centroids = [
        {"recency": 12.5, "frequency": 4.2, "monetary": 310.0},
        {"recency": 380.0, "frequency": 1.0, "monetary": 25.5},
        {"recency": -3.0, "frequency": 99.0, "monetary": 1e9},  # outside the population
    ]
    for bins in (5, 7):
        one_by_one = [
            tuple(
                rfm.score_value(population[m].to_numpy(), c[m], reverse=m == "recency", bins=bins)
                for m in ("recency", "frequency", "monetary")
            )
            for c in centroids
        ]
        assert profiles.centroid_scores(centroids, population, bins) == one_by_one
    assert one_by_one[2] == (7.0, 7.0, 7.0)  # the top score of 7 on every measure
    assert rfm.continuous_scores(np.array([]), [1.0, 2.0], bins=5).tolist() == [3.0, 3.0]


def test_score_value_interpolates_between_distinct_values():
    population = np.array([1] * 50 + [2] * 50, dtype=float)
    assert rfm.score_value(population, 1.0000001) == pytest.approx(rfm.score_value(population, 1.0))
    assert (
        rfm.score_value(population, 1.0)
        < rfm.score_value(population, 1.5)
        < rfm.score_value(population, 2.0)
    )


def test_customer_table_takes_the_ids_as_arrow_text_as_it_takes_python_strings():
    """The DuckDB engine hands its ids over as Arrow text (through Python strings they cost
    0.16 s at 1,000,000 customers): the same table, ids in the same text dtype."""
    import pyarrow as pa

    ids = ["100", "12345", "A-7", "Ünïcode"]
    last = np.array(["2011-12-01", "2011-11-02", "2011-10-03", "2011-01-04"], "datetime64[ns]")
    first = last - np.timedelta64(30, "D")
    args = (last, first, np.array([10.005, 2.0, 3.333, 4.0]), np.array([3, 1, 2, 1]))
    snapshot = pd.Timestamp("2011-12-10")
    from_python = rfm.customer_table(np.array(ids, dtype=object), *args, snapshot)
    from_arrow = rfm.customer_table(pa.array(ids, pa.string()), *args, snapshot)
    pd.testing.assert_frame_equal(from_arrow, from_python)
    assert from_arrow["customer_id"].tolist() == ids
    assert from_arrow["recency"].tolist() == [9, 38, 68, 340]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(pd.Timestamp("1900-01-01").value, pd.Timestamp("2200-01-01").value),
    st.lists(
        st.integers(pd.Timestamp("1900-01-01").value, pd.Timestamp("2199-12-31").value),
        min_size=1,
        max_size=20,
    ),
)
def test_whole_days_are_the_days_of_the_difference_without_its_overflow(snapshot, stamps):
    # the exact difference in whole days (rounded down), by Python's integers: no nanosecond
    # difference, which overflows past 292 years (pandas' snapshot - stamps raised there)
    stamps = [min(s, snapshot) for s in stamps]
    got = rfm.whole_days(pd.Timestamp(snapshot), np.array(stamps, dtype="datetime64[ns]"))
    assert got.tolist() == [(snapshot - s) // (86_400 * 10**9) for s in stamps]
    assert got.dtype == np.int64


def test_dates_three_centuries_apart_give_their_days_in_both_engines(tmp_path):
    """A stray 1900-01-01 beside a 2199 date: recency and tenure are counted (the run stopped
    with an overflow in either engine), the same in both."""
    from rfm_desktop.core import pipeline
    from rfm_desktop.core.params import AnalysisParams

    rows = [
        {
            "InvoiceNo": str(500000 + i),
            "InvoiceDate": f"2011-0{1 + i % 9}-1{i % 9} 10:00",
            "Quantity": 2,
            "UnitPrice": 3.5,
            "CustomerID": str(10000 + i % 7),
        }
        for i in range(60)
    ]
    rows[0]["InvoiceDate"], rows[1]["InvoiceDate"] = "1900-01-01 00:00", "2199-12-31 23:59:59"
    path = tmp_path / "far.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    runs = [
        pipeline.reduce(AnalysisParams(input_path=str(path), engine=engine))
        for engine in ("memory", "duckdb")
    ]
    assert runs[1].engine == "duckdb"
    pd.testing.assert_frame_equal(runs[0].customers, runs[1].customers)
    customers = runs[0].customers.set_index("customer_id")
    snapshot = runs[0].snapshot.to_pydatetime()
    assert customers.loc["10000", "tenure_days"] == (snapshot - datetime(1900, 1, 1)).days
    assert customers.loc["10000", "tenure_days"] > 109_000  # 300 years
    assert customers.loc["10001", "recency"] == (snapshot - datetime(2199, 12, 31, 23, 59, 59)).days


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=300),
    st.sampled_from([np.int64, np.int32, np.int8, np.uint16, np.uint64, np.float64]),
)
def test_value_counts_are_the_sorted_distinct_values_and_their_counts(values, dtype):
    # whole numbers of a small range are counted in one pass (recency in days, frequency in
    # orders at a million customers), others sorted: the same as np.unique either way
    population = np.array(values)
    if dtype is np.uint16:
        population = np.abs(population) % 2**16
    elif dtype is np.uint64:
        population = np.abs(population)
    elif dtype is np.int32:
        population = population % 2**31
    elif dtype is np.int8:  # a narrow type over its whole range
        population = population % 256 - 128
    population = population.astype(dtype)
    distinct, counts = rfm._value_counts(population)
    expected = np.unique(population.astype(np.float64), return_counts=True)
    assert distinct.dtype == np.float64
    np.testing.assert_array_equal(distinct, expected[0])
    np.testing.assert_array_equal(counts, expected[1])


def test_continuous_scores_of_days_are_those_of_the_same_days_as_floats():
    # the counting path (integers) and the sorting path (floats) give the same scores
    days = np.random.default_rng(4).integers(0, 700, 50_000)
    centroids = [0.0, 3.5, 120.25, 699.0, 900.0]
    np.testing.assert_array_equal(
        rfm.continuous_scores(days, centroids, reverse=True),
        rfm.continuous_scores(days.astype(np.float64), centroids, reverse=True),
    )
