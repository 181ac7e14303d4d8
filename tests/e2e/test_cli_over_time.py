"""`segment --as-of`, `--compare` and `backtest` end to end, in a real subprocess."""

from __future__ import annotations

import json

import pandas as pd
from made_transactions import write_rows
from test_cli import rfm

#: (customer, invoice, date, amount), as in tests/core/test_as_of.py
ROWS = [
    ("A", "1001", "2024-01-10", 10.0),
    ("D", "1002", "2024-01-20", 20.0),
    ("B", "1003", "2024-02-01", 30.0),
    ("D", "1004", "2024-02-15", 25.0),
    ("E", "1005", "2024-02-20", 100.0),
    ("C", "1006", "2024-03-01", 50.0),
    ("A", "1007", "2024-03-05", 70.0),
]


def test_segment_as_of_writes_the_date_into_summary_and_run(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    done = rfm(
        "segment", str(path), "--out", str(tmp_path / "A"), "--as-of", "2024-03-01", "--k", "2"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "A" / "summary.json").read_text())
    run = json.loads((tmp_path / "A" / "run.json").read_text())
    assert (summary["as_of"], summary["snapshot_date"]) == ("2024-03-01", "2024-03-01T00:00:00")
    assert run["params"]["as_of"] == "2024-03-01" and run["customers"] == 4
    customers = pd.read_csv(tmp_path / "A" / "customers.csv", dtype={"customer_id": str})
    assert customers["customer_id"].tolist() == ["A", "B", "D", "E"]


def test_segment_bad_as_of_is_one_line_and_exit_2(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    done = rfm("segment", str(path), "--out", str(tmp_path / "A"), "--as-of", "2024-13-01")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: The as-of date '2024-13-01' is not a date: use YYYY-MM-DD."
    )
    assert not (tmp_path / "A").exists()
