"""As-of runs: only the transactions before the date, recency counted to it."""

from __future__ import annotations

import json

import made_transactions
import pandas as pd
import pytest

from rfm_desktop.core import pipeline
from rfm_desktop.core.errors import DataError, ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

#: (customer, invoice, date, amount); C buys only on the as-of date, A once before and once after
ROWS = [
    ("A", "1001", "2024-01-10", 10.0),
    ("D", "1002", "2024-01-20", 20.0),
    ("B", "1003", "2024-02-01", 30.0),
    ("D", "1004", "2024-02-15", 25.0),
    ("E", "1005", "2024-02-20", 100.0),
    ("C", "1006", "2024-03-01", 50.0),
    ("A", "1007", "2024-03-05", 70.0),
]


def write_rows(path, rows=ROWS):
    return made_transactions.write_rows(path, rows)


def _params(path, **changes):
    return AnalysisParams(
        input_path=str(path), clustering=ClusteringOptions(k=2, sweep=False), **changes
    )


def test_as_of_keeps_rows_before_the_date_and_counts_recency_to_it(tmp_path):
    path = write_rows(tmp_path / "shop.csv")
    result = pipeline.run(_params(path, as_of="2024-03-01"))
    customers = result.customers.set_index("customer_id")
    assert list(customers.index) == ["A", "B", "D", "E"]  # C's only purchase is on the date
    assert customers["recency"].tolist() == [51, 29, 15, 10]  # 2024 is a leap year
    assert customers["frequency"].tolist() == [1, 1, 2, 1]
    assert customers["monetary"].tolist() == [10.0, 30.0, 45.0, 100.0]  # A's 70 is after
    assert result.snapshot_date == pd.Timestamp("2024-03-01")
    step = result.cleaning.steps[-1]
    assert (step.step, step.before, step.removed, step.after) == ("as_of", 7, 2, 5)
    assert step.example == "invoice 1006 on 2024-03-01"
    assert result.cleaning.rows_clean == 5


def test_without_as_of_every_row_counts(tmp_path):
    path = write_rows(tmp_path / "shop.csv")
    result = pipeline.run(_params(path))
    assert len(result.customers) == 5
    assert "as_of" not in [s.step for s in result.cleaning.steps]
    assert result.snapshot_date == pd.Timestamp("2024-03-06")


def test_as_of_before_every_transaction_is_a_data_error(tmp_path):
    path = write_rows(tmp_path / "shop.csv")
    with pytest.raises(
        DataError, match="No transactions are dated before the as-of date 2024-01-10"
    ):
        pipeline.run(_params(path, as_of="2024-01-10"))


def test_as_of_is_checked_saved_and_read_back():
    params = AnalysisParams(input_path="shop.csv", as_of="2024-03-01")
    assert AnalysisParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    with pytest.raises(ParamsError, match="The as-of date '03/01/2024' is not a date"):
        AnalysisParams(input_path="shop.csv", as_of="03/01/2024")
    with pytest.raises(ParamsError, match="snapshot date 2024-03-05 and the as-of date"):
        AnalysisParams(input_path="shop.csv", as_of="2024-03-01", snapshot_date="2024-03-05")
    same = AnalysisParams(input_path="shop.csv", as_of="2024-03-01", snapshot_date="2024-03-01")
    assert same.as_of == "2024-03-01"
