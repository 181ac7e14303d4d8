"""Backtest: segments made before a date, measured over the days after it."""

from __future__ import annotations

import pandas as pd
import pytest
from made_transactions import write_rows

from rfm_desktop.core import backtest
from rfm_desktop.core.errors import DataError, ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

#: six customers before 2024-03-01; P1 buys twice in March, P2 once in March and once in April
#: (after a 30-day horizon), N1 is new in March; the data end on 2024-04-15
ROWS = [
    ("P1", "10", "2024-01-03", 40.0),
    ("P1", "11", "2024-02-20", 60.0),
    ("P2", "12", "2024-01-15", 500.0),
    ("P3", "13", "2024-01-20", 15.0),
    ("P4", "14", "2024-02-01", 25.0),
    ("P4", "15", "2024-02-25", 35.0),
    ("P5", "16", "2024-02-10", 900.0),
    ("P6", "17", "2024-01-05", 5.0),
    ("P1", "20", "2024-03-01", 50.0),
    ("P1", "21", "2024-03-30", 30.0),
    ("P1", "21", "2024-03-30", 7.0),  # a second line of invoice 21: one order
    ("P2", "22", "2024-03-10", 100.0),
    ("N1", "23", "2024-03-12", 999.0),
    ("P2", "24", "2024-04-15", 80.0),
]


def _params(path):
    return AnalysisParams(
        input_path=str(path), as_of="2024-03-01", clustering=ClusteringOptions(k=2, sweep=False)
    )


def test_outcomes_per_customer_and_per_group_match_a_direct_count(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    result, test = backtest.run_backtest(_params(path), 30)
    assert (test.horizon_days, test.warnings) == (30, ())
    customers = test.customers.set_index("customer_id")
    assert list(customers.index) == ["P1", "P2", "P3", "P4", "P5", "P6"]  # not N1
    assert customers["orders_in_horizon"].tolist() == [2, 1, 0, 0, 0, 0]
    assert customers["spend_in_horizon"].tolist() == [87.0, 100.0, 0, 0, 0, 0]
    assert customers["bought_in_horizon"].tolist() == [True, True, False, False, False, False]
    table = test.table
    everyone = table.iloc[0]
    assert (everyone["grouping"], everyone["segment"], everyone["customers"]) == (
        "all",
        "All customers",
        6,
    )
    assert everyone["bought_again_share"] == pytest.approx(2 / 6, abs=1e-6)
    assert everyone["spend_per_customer"] == pytest.approx(187 / 6, abs=1e-6)
    assert everyone["orders_per_customer"] == pytest.approx(0.5)
    assert (everyone["revenue_share"], everyone["lift"]) == (1.0, 1.0)
    # each group again, from the raw rows
    raw = pd.DataFrame(ROWS, columns=["customer_id", "invoice", "date", "amount"])
    raw = raw[(raw["date"] >= "2024-03-01") & (raw["date"] < "2024-03-31")]
    orders = raw.groupby("customer_id")["invoice"].nunique()
    spend = raw.groupby("customer_id")["amount"].sum()
    groups = result.customers.set_index("customer_id")
    for grouping, column in (("rfm_segment", "rfm_segment"), ("cluster", "cluster_name")):
        rows = table[table["grouping"] == grouping]
        assert rows["customers"].sum() == 6
        for _, row in rows.iterrows():
            ids = groups.index[groups[column] == row["segment"]]
            o = orders.reindex(ids, fill_value=0)
            s = spend.reindex(ids, fill_value=0.0)
            share = float((o > 0).mean())
            assert row["customers"] == len(ids)
            assert row["bought_again_share"] == pytest.approx(share, abs=1e-6)
            assert row["orders_per_customer"] == pytest.approx(o.mean(), abs=1e-6)
            assert row["spend_per_customer"] == pytest.approx(s.mean(), abs=1e-6)
            assert row["revenue_share"] == pytest.approx(s.sum() / 187, abs=1e-6)
            assert row["lift"] == pytest.approx(share / (2 / 6), abs=1e-6)
    named = table[table["grouping"] == "rfm_segment"]["segment"].tolist()
    assert named == [s for s in result.segments["segment"] if s in named]  # best first
    clusters = table[table["grouping"] == "cluster"]["segment"].tolist()
    assert clusters == [c.name for c in result.clusters]


def test_a_horizon_past_the_data_is_shortened_with_a_warning(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    _, test = backtest.run_backtest(_params(path), 90)
    assert (test.horizon_days, test.requested_days) == (46, 90)
    assert [w.text for w in test.warnings] == [
        "The data end on 2024-04-15, 46 days after the as-of date: the horizon is shortened "
        "from 90 to 46 days."
    ]
    customers = test.customers.set_index("customer_id")
    assert customers.loc["P2", "orders_in_horizon"] == 2  # April 15 is the horizon's last day
    assert test.to_dict()["horizon_end"] == "2024-04-16"


def test_bad_backtests_say_why(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    with pytest.raises(ParamsError, match="horizon must be 1 to 3650 days, not 0"):
        backtest.run_backtest(_params(path), 0)
    with pytest.raises(ParamsError, match="needs an as-of date"):
        backtest.run_backtest(_params(path).replace(as_of=None), 30)
    with pytest.raises(DataError, match="No transactions are dated on or after"):
        backtest.run_backtest(_params(path).replace(as_of="2024-04-16"), 30)
