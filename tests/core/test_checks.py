"""Suspicious data gets a warning, not silence (core/checks.py)."""

from __future__ import annotations

import pandas as pd

from rfm_desktop.core import cache, checks, pipeline
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions


def rows(dates: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invoice_date": pd.to_datetime(dates),
            "invoice_id": pd.array([f"inv{i}" for i in range(len(dates))], dtype="string"),
            "customer_id": pd.array([f"c{i % 7}" for i in range(len(dates))], dtype="string"),
        }
    )


def days(start: str, n: int) -> list[str]:
    return [str(d.date()) for d in pd.date_range(start, periods=n, freq="D")]


def test_one_date_years_after_the_others_is_named():
    frame = rows(days("2011-01-01", 200) + ["2031-05-03"])
    [note] = checks.far_dates(frame)
    assert note.startswith(
        "The last date, 2031-05-03 (1 row, e.g. invoice inv200), is 19.8 years after"
    )
    assert "(which end on 2011-07-19)" in note and "moves every recency" in note


def test_one_date_years_before_the_others_is_named():
    frame = rows(["1911-01-01"] + days("2011-01-01", 150))
    [note] = checks.far_dates(frame)
    assert note.startswith(
        "The first date, 1911-01-01 (1 row, e.g. invoice inv0), is 100.0 years before"
    )


def test_a_far_date_whose_first_row_has_no_invoice_id_shows_na_as_in_memory():
    frame = rows(days("2011-01-01", 200) + ["2031-05-03"])
    frame.loc[200, "invoice_id"] = pd.NA
    [memory] = checks.far_dates(frame)
    assert "e.g. invoice <NA>)" in memory
    # an engine's lookup gives None for a missing id (Spark's printed "None")
    counts = frame["invoice_date"].dt.floor("D").value_counts().sort_index()
    [engine] = checks.far_dates_in(
        counts.index.to_numpy().astype("datetime64[D]"), counts.to_numpy(), lambda day: None
    )
    assert engine == memory


def test_dates_in_two_blocks_or_a_steady_run_are_not_suspicious():
    assert checks.far_dates(rows(days("2011-01-01", 300))) == []
    assert checks.far_dates(rows(days("2015-01-01", 50) + days("2018-01-01", 50))) == []


def test_equal_frequency_and_recency_are_named(tmp_path, monkeypatch):
    """Said by the scores' warning (core/scoring.py): a measure that uses one score names the value."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    frame = pd.DataFrame(
        {
            "Invoice": [f"{i}" for i in range(24)],
            "Date": "2023-05-01",
            "Customer": [f"c{i}" for i in range(24)],
            "Amount": [5.0 + i for i in range(24)],
        }
    )
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False)
    result = pipeline.run(
        AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=2, sweep=False))
    )
    notes = " ".join(w.text for w in result.warnings_for("customers"))
    assert "every customer has frequency 1" in notes and "every customer has recency 1" in notes


def test_few_customers_for_clustering():
    assert checks.too_few_to_cluster(19) and "Only 19 customers" in checks.too_few_to_cluster(19)[0]
    assert checks.too_few_to_cluster(20) == []


def test_a_far_date_reaches_the_result_as_a_customers_warning(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    dates = days("2011-01-01", 120) + ["2031-01-05"]
    frame = pd.DataFrame(
        {
            "Invoice": [f"{i}" for i in range(len(dates))],
            "Date": dates,
            "Customer": [f"c{i % 30}" for i in range(len(dates))],
            "Amount": 5.0,
        }
    )
    path = tmp_path / "typo.csv"
    frame.to_csv(path, index=False)
    result = pipeline.run(
        AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=2, sweep=False))
    )
    [note] = [w.text for w in result.warnings_for("customers") if "date" in w.text]
    assert "The last date, 2031-01-05 (1 row, e.g. invoice 120)" in note
    assert result.snapshot_date == pd.Timestamp(
        "2031-01-06"
    )  # the warning says why recencies are huge
