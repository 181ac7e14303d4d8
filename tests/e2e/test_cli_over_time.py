"""`segment --as-of`, `--compare` and `backtest` end to end, in a real subprocess."""

from __future__ import annotations

import json

import pandas as pd
import pytest
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


def _clean_raw(path):
    """The Online Retail rows the default cleaning keeps, computed here from the raw file."""
    raw = pd.read_parquet(path)
    raw = raw[raw["CustomerID"].notna() & ~raw["InvoiceNo"].astype(str).str.startswith("C")]
    raw = raw[(raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)].copy()
    raw["customer_id"] = raw["CustomerID"].astype("int64").astype(str)
    raw["date"] = pd.to_datetime(raw["InvoiceDate"])
    raw["spend"] = raw["Quantity"] * raw["UnitPrice"]
    return raw


def _read_customers(folder):
    return pd.read_csv(folder / "customers.csv", dtype={"customer_id": str}).set_index(
        "customer_id"
    )


def test_as_of_then_compare_on_real_data(real_data_path, tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    done = rfm("segment", str(real_data_path), "--out", str(a), "--as-of", "2011-06-01", "--quiet")
    assert done.returncode == 0, done.stderr
    done = rfm("segment", str(real_data_path), "--out", str(b), "--compare", str(a), "--quiet")
    assert done.returncode == 0, done.stderr
    raw = _clean_raw(real_data_path)
    first = raw.groupby("customer_id")["date"].min()
    customers_a, customers_b = _read_customers(a), _read_customers(b)
    assert len(customers_b) == 4338
    assert len(customers_a) == int((first < "2011-06-01").sum())
    for name in ("migration_rfm.csv", "migration_clusters.csv"):
        table = pd.read_csv(b / name).set_index("from")
        assert table.columns.is_unique and table.index.is_unique
        # every customer of B once; nobody of A is missing from the whole file
        assert int(table.drop(columns="(gone)").to_numpy().sum()) == len(customers_b)
        assert int(table["(gone)"].sum()) == 0
        assert int(table.loc["(new)"].sum()) == int((first >= "2011-06-01").sum())
    both = customers_a.index.intersection(customers_b.index)
    changed = (customers_a.loc[both, "rfm_segment"] != customers_b.loc[both, "rfm_segment"]) | (
        customers_a.loc[both, "cluster_name"] != customers_b.loc[both, "cluster_name"]
    )
    movers = pd.read_csv(b / "movers.csv", dtype={"customer_id": str})
    assert sorted(movers["customer_id"]) == sorted(both[changed.to_numpy()])
    summary_a = json.loads((a / "summary.json").read_text())
    summary_b = json.loads((b / "summary.json").read_text())
    names_a = {c["id"]: c["name"] for c in summary_a["clusters"]}
    names_b = {c["id"]: c["name"] for c in summary_b["clusters"]}
    matched = [c for c in summary_b["matching"]["clusters"] if c["old_cluster"] is not None]
    assert matched and all(names_b[c["cluster"]] == names_a[c["old_cluster"]] for c in matched)


def test_segment_compare_writes_the_migration_files_and_prints_the_matching(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    done = rfm(
        "segment", str(path), "--out", str(tmp_path / "A"), "--as-of", "2024-03-01", "--k", "2"
    )
    assert done.returncode == 0, done.stderr
    done = rfm(
        "segment",
        str(path),
        "--out",
        str(tmp_path / "B"),
        "--k",
        "2",
        "--compare",
        str(tmp_path / "A"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("matching: C") == 2 and "drift" in done.stderr
    clusters = pd.read_csv(tmp_path / "B" / "migration_clusters.csv").set_index("from")
    assert clusters.loc["(new)"].sum() == 1  # C first buys on the as-of date
    assert clusters.to_numpy().sum() == 5 and clusters["(gone)"].sum() == 0
    summary = json.loads((tmp_path / "B" / "summary.json").read_text())
    assert summary["matching"]["compared_with"] == str(tmp_path / "A")
    assert {"movers.csv", "migration_rfm.csv"} <= {p.name for p in (tmp_path / "B").iterdir()}


def test_segment_compare_with_a_folder_that_is_no_result_is_one_line(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    (tmp_path / "empty").mkdir()
    done = rfm(
        "segment", str(path), "--out", str(tmp_path / "B"), "--compare", str(tmp_path / "empty")
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: '") and "is not a result folder" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "B").exists()


def test_backtest_writes_its_tables_and_run_record(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    done = rfm(
        "backtest",
        str(path),
        "--as-of",
        "2024-03-01",
        "--horizon-days",
        "30",
        "--k",
        "2",
        "--out",
        str(tmp_path / "T"),
    )
    assert done.returncode == 0, done.stderr
    # the data end on 2024-03-05: 5 days of the 30 are there
    assert (
        "warning: The data end on 2024-03-05, 5 days after the as-of date: the horizon is shortened from 30 to 5 days."
        in done.stderr
    )
    customers = pd.read_csv(tmp_path / "T" / "backtest_customers.csv", dtype={"customer_id": str})
    assert customers["customer_id"].tolist() == ["A", "B", "D", "E"]
    assert customers["orders_in_horizon"].tolist() == [1, 0, 0, 0]
    assert customers["spend_in_horizon"].tolist() == [70.0, 0.0, 0.0, 0.0]
    table = pd.read_csv(tmp_path / "T" / "backtest.csv")
    assert table.iloc[0]["bought_again_share"] == 0.25 and "All customers" in done.stdout
    run = json.loads((tmp_path / "T" / "run.json").read_text())
    assert run["backtest"]["horizon_days"] == 5 and run["params"]["as_of"] == "2024-03-01"
    assert run["backtest"]["requested_horizon_days"] == 30


def test_backtest_without_as_of_is_one_line(tmp_path):
    path = write_rows(tmp_path / "shop.csv", ROWS)
    done = rfm("backtest", str(path), "--horizon-days", "30", "--out", str(tmp_path / "T"))
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "rfm-desktop backtest: --as-of YYYY-MM-DD is required (see --help)"
    )


def test_backtest_on_real_data_matches_the_raw_rows(real_data_path, tmp_path):
    out = tmp_path / "T"
    done = rfm(
        "backtest",
        str(real_data_path),
        "--as-of",
        "2011-09-01",
        "--horizon-days",
        "90",
        "--out",
        str(out),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    raw = _clean_raw(real_data_path)
    before = raw[raw["date"] < "2011-09-01"]
    window = raw[(raw["date"] >= "2011-09-01") & (raw["date"] < "2011-11-30")]
    customers = pd.read_csv(out / "backtest_customers.csv", dtype={"customer_id": str})
    assert sorted(customers["customer_id"]) == sorted(before["customer_id"].unique())
    ids = customers["customer_id"]
    orders = window.groupby("customer_id")["InvoiceNo"].nunique().reindex(ids, fill_value=0)
    spend = window.groupby("customer_id")["spend"].sum().reindex(ids, fill_value=0.0)
    assert customers["orders_in_horizon"].tolist() == orders.tolist()
    assert customers["spend_in_horizon"].to_numpy() == pytest.approx(spend.to_numpy(), abs=0.006)
    table = pd.read_csv(out / "backtest.csv")
    total = spend.sum()
    for grouping, column in (("rfm_segment", "rfm_segment"), ("cluster", "cluster_name")):
        for _, row in table[table["grouping"] == grouping].iterrows():
            members = (customers[column] == row["segment"]).to_numpy()
            o, s = orders.to_numpy()[members], spend.to_numpy()[members]
            assert row["customers"] == members.sum()
            assert row["bought_again_share"] == pytest.approx((o > 0).mean(), abs=1e-6)
            assert row["orders_per_customer"] == pytest.approx(o.mean(), abs=1e-6)
            assert row["spend_per_customer"] == pytest.approx(s.mean(), abs=1e-4)
            assert row["revenue_share"] == pytest.approx(s.sum() / total, abs=1e-6)
            assert row["lift"] == pytest.approx((o > 0).mean() / (orders > 0).mean(), abs=1e-5)


def test_a_monthly_job_is_one_line_with_renames_and_rule_edits(tmp_path):
    """A saved analysis with a cluster renamed and a rule edited runs as this month's job and
    compares with last month's folder: both edits apply, and the rename follows the cluster."""
    import dataclasses

    from rfm_desktop.core.analysis_file import save_analysis
    from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ScoringOptions
    from rfm_desktop.core.rules import RFM_02

    path = write_rows(tmp_path / "shop.csv", ROWS)
    top = dataclasses.replace(RFM_02.rules[0], name="Best buyers", recency=(3, 5))
    rules = dataclasses.replace(
        RFM_02,
        name="ours",
        rules=(top, *RFM_02.rules[1:]),
        order=("Best buyers", *RFM_02.order[1:]) if RFM_02.order else (),
    )
    saved = save_analysis(
        AnalysisParams(
            input_path=str(path),
            clustering=ClusteringOptions(k=2, sweep=False),
            scoring=ScoringOptions(rules=rules),
            cluster_names=((0, "Whales"),),
        ),
        tmp_path / "shop.rfm.json",
    )
    may = rfm(
        "segment",
        "--params",
        str(saved),
        "--as-of",
        "2024-03-01",
        "--out",
        str(tmp_path / "may"),
        "--quiet",
    )
    assert may.returncode == 0, may.stderr
    june = rfm(
        "segment",
        "--params",
        str(saved),
        "--out",
        str(tmp_path / "june"),
        "--compare",
        str(tmp_path / "may"),
        "--quiet",
    )
    assert june.returncode == 0, june.stderr
    for month in ("may", "june"):
        summary = json.loads((tmp_path / month / "summary.json").read_text())
        assert [c["name"] for c in summary["clusters"]][0] == "Whales"
        assert summary["rules"]["table"][0] == {
            **summary["rules"]["table"][0],
            "segment": "Best buyers",
            "r_min": 3,
        }
        assert summary["params"]["cluster_names"] == {"0": "Whales"}
        segments = set(pd.read_csv(tmp_path / month / "customers.csv")["rfm_segment"])
        assert "Champions" not in segments
    june_customers = pd.read_csv(tmp_path / "june" / "customers.csv").set_index("customer_id")
    assert june_customers.loc["A", "rfm_segment"] == "Best buyers"  # Champions without the edit
    summary = json.loads((tmp_path / "june" / "summary.json").read_text())
    assert summary["matching"]["clusters"][0]["name"] == "Whales"
    clusters = pd.read_csv(tmp_path / "june" / "migration_clusters.csv").set_index("from")
    assert "Whales" in clusters.index and "Whales" in clusters.columns


def test_backtest_takes_every_segment_flag_but_the_output_ones():
    """params_from_args reads every segment flag, so the backtest parser must have them all."""
    from rfm_desktop.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    dests = {name: {a.dest for a in commands[name]._actions} for name in ("segment", "backtest")}
    assert dests["segment"] - dests["backtest"] == {"compare", "xlsx"}
    assert dests["backtest"] - dests["segment"] == {"horizon_days"}
