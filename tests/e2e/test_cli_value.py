"""`rfm-desktop segment --clv`: customer lifetime value in customers.csv, summary.json, clv.json."""

from __future__ import annotations

import json

import pandas as pd
from test_cli import rfm

VALUE_COLUMNS = [
    "p_alive",
    "expected_purchases",
    "expected_avg_spend",
    "predicted_clv",
    "revenue_at_risk",
    "expected_next_order",
]


def test_clv_flags_write_values_per_customer_segment_and_cluster(sample_path, tmp_path):
    out = tmp_path / "out"
    done = rfm(
        "segment", str(sample_path), "--out", str(out), "--k", "3", "--clv",
        "--clv-horizon-days", "180", "--discount-rate", "0.02",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "customer value over 180 days: predicted CLV" in done.stderr
    # the bundled sample's spend grows with frequency: the Gamma-Gamma assumption is flagged
    assert "warning: Spend per order and number of orders are correlated" in done.stderr
    customers = pd.read_csv(out / "customers.csv")
    assert list(customers.columns[-6:]) == VALUE_COLUMNS
    assert customers["p_alive"].between(0, 1).all()
    assert (customers.loc[customers["frequency"] == 1, "p_alive"] == 1).all()
    data = json.loads((out / "clv.json").read_text())
    assert data["horizon_days"] == 180 and data["monthly_discount_rate"] == 0.02
    assert data["bgnbd"]["converged"] and data["bgnbd"]["time_unit"] == "days"
    assert data["validation"] is None
    at_risk = [s["revenue_at_risk"] for s in data["segments"]]
    assert at_risk == sorted(at_risk, reverse=True) and at_risk[0] > 0
    assert sum(at_risk) == __import__("pytest").approx(customers["revenue_at_risk"].sum(), rel=1e-3)
    assert {c["cluster_name"] for c in data["clusters"]} == set(customers["cluster_name"])
    summary = json.loads((out / "summary.json").read_text())
    segment = summary["rfm_segments"][0]
    assert {"predicted_clv_sum", "revenue_at_risk", "customers_p_alive_below_half"} <= set(segment)
    assert any(w["stage"] == "value" for w in summary["warnings"])
    run = json.loads((out / "run.json").read_text())
    assert run["params"]["clv"] == {
        "enabled": True, "horizon_days": 180, "discount_rate": 0.02, "calibration_end": None,
    }  # fmt: skip


def test_without_clv_nothing_changes(sample_path, tmp_path):
    done = rfm("segment", str(sample_path), "--out", str(tmp_path), "--k", "3", "--quiet")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "clv.json").exists()
    assert "p_alive" not in pd.read_csv(tmp_path / "customers.csv").columns


def test_bad_clv_options_are_one_line_and_exit_2(sample_path, tmp_path):
    for flags, text in [
        (["--discount-rate", "0.02"], "need --clv"),
        (["--clv", "--clv-horizon-days", "0"], "horizon must be a whole number of days"),
        (["--clv", "--calibration-end", "2030-01-01"], "must leave at least 7 days"),
    ]:
        done = rfm("segment", str(sample_path), "--out", str(tmp_path), "--k", "3", *flags)
        assert done.returncode == 2, (flags, done.stderr)
        assert "Traceback" not in done.stderr
        assert text in done.stderr.strip().splitlines()[-1]  # one line, after the progress bar
