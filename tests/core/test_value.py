"""Customer value on a run's rows: per-customer columns, revenue at risk per group, the
frequency-recency matrices, the validation and the warnings, on transactions made here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core import clv, value
from rfm_desktop.core.errors import ModelError, ParamsError
from rfm_desktop.core.params import ValueOptions

START = pd.Timestamp("2011-01-01")


def _rows(n: int = 1500, days: int = 400, seed: int = 3, spend_follows_frequency=False):
    """Transactions of customers who buy at Gamma-distributed rates and stop with a Beta-
    distributed chance after each repeat purchase (BG/NBD in days), first buying in the first
    300 days; spend per purchase Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.8, 1 / 40.0, n)
    drop = rng.beta(1.0, 4.0, n)
    first = rng.integers(0, 300, n)
    nu = rng.gamma(4.0, 1 / 200.0, n)
    ids, dates, amounts = [], [], []
    for i in range(n):
        t, day = 0.0, [first[i]]
        while True:
            t += rng.exponential(1 / lam[i])
            if first[i] + t >= days:
                break
            day.append(first[i] + int(t))
            if rng.random() < drop[i]:
                break
        scale = 1 / nu[i] * (1 + len(day) / 5 if spend_follows_frequency else 1)
        for d in day:
            ids.append(f"C{i:05d}")
            dates.append(START + pd.Timedelta(days=int(d), hours=10))
            amounts.append(rng.gamma(3.0, scale))
    return pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string"),
            "invoice_date": pd.to_datetime(dates),
            "amount": amounts,
        }
    )


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return _rows()


@pytest.fixture(scope="module")
def analysis(rows) -> value.ValueAnalysis:
    snapshot = rows["invoice_date"].max() + pd.Timedelta(days=1)
    return value.analyse(rows, snapshot, ValueOptions(enabled=True, calibration_end="2011-10-01"))


def test_per_customer_values_follow_the_models(rows, analysis):
    inputs = clv.summarise(rows, analysis.end)
    got = analysis.customers.loc[inputs.index]
    x, t_x, T, m = (inputs[c].to_numpy(float) for c in ("x", "t_x", "T", "m"))
    fit, spend_fit = analysis.bgnbd, analysis.gamma_gamma
    np.testing.assert_allclose(got["p_alive"], clv.p_alive(fit, x, t_x, T))
    np.testing.assert_allclose(
        got["expected_purchases"], clv.expected_purchases(fit, 365, x, t_x, T)
    )
    spend = clv.expected_avg_spend(spend_fit, x, m)
    np.testing.assert_allclose(got["predicted_clv"], clv.predicted_clv(fit, spend, x, t_x, T))
    # revenue at risk: active buyers only (repeat buyer, last purchase within the horizon)
    active = (x > 0) & (T - t_x <= 365)
    if_alive = clv.predicted_clv(fit, spend, x, t_x, T, given_alive=True)
    expected = np.where(active, (1 - clv.p_alive(fit, x, t_x, T)) * if_alive, 0.0)
    np.testing.assert_allclose(got["revenue_at_risk"], expected)
    assert (got.loc[x == 0, "revenue_at_risk"] == 0).all()
    assert got["revenue_at_risk"].sum() > 0 and (got["p_alive"] < 0.5).sum() > 50
    # the next order lies after the end of the data, or nowhere within the horizon
    later = got["expected_next_order"].dropna()
    assert (later > analysis.end).all() and (later <= analysis.end + pd.Timedelta(days=365)).all()
    assert analysis.end == pd.Timestamp(rows["invoice_date"].max().normalize()) + pd.Timedelta(
        days=1
    )


def test_group_table_sums_and_ranks_by_revenue_at_risk(analysis):
    customers = analysis.customers.reset_index()
    customers["rfm_segment"] = np.where(customers["p_alive"] < 0.9, "Sleepy", "Awake")
    customers.loc[customers.index[:10], "rfm_segment"] = "Few"
    table = value.group_table(customers, "rfm_segment")
    assert list(table["revenue_at_risk"]) == sorted(table["revenue_at_risk"], reverse=True)
    sleepy = customers[customers["rfm_segment"] == "Sleepy"]
    row = table.set_index("rfm_segment").loc["Sleepy"]
    assert row["customers"] == len(sleepy)
    assert row["predicted_clv_sum"] == pytest.approx(sleepy["predicted_clv"].sum())
    assert row["predicted_clv_mean"] == pytest.approx(sleepy["predicted_clv"].mean())
    assert row["customers_p_alive_below_half"] == int((sleepy["p_alive"] < 0.5).sum())
    assert row["revenue_at_risk"] == pytest.approx(sleepy["revenue_at_risk"].sum())
    assert table["revenue_at_risk"].sum() == pytest.approx(customers["revenue_at_risk"].sum())


def test_validation_counts_holdout_purchase_days(rows, analysis):
    v = analysis.validation
    cut = pd.Timestamp("2011-10-01")
    assert v["calibration_end"] == "2011-10-01"
    assert v["holdout_days"] == (analysis.end - cut).days
    before = rows[rows["invoice_date"] < cut]
    known = set(before["customer_id"])
    after = rows[(rows["invoice_date"] >= cut) & rows["customer_id"].isin(known)]
    days = after.assign(day=after["invoice_date"].dt.normalize())[["customer_id", "day"]]
    assert v["holdout_actual"] == len(days.drop_duplicates())
    assert v["customers"] == len(known)
    assert sum(b["customers"] for b in v["by_frequency"]) == len(known)
    assert [b["repeat_purchases"] for b in v["by_frequency"]][-1] == "7+"
    # the model (right by construction) predicts the holdout within a quarter
    assert v["holdout_predicted"] == pytest.approx(v["holdout_actual"], rel=0.25)
    cumulative = v["cumulative"]
    assert [c["actual"] for c in cumulative] == sorted(c["actual"] for c in cumulative)
    assert cumulative[-1]["expected"] == pytest.approx(cumulative[-1]["actual"], rel=0.25)
    assert cumulative[0]["holdout"] is False and cumulative[-1]["holdout"] is True


def test_matrices_fall_with_silence(analysis):
    m = analysis.matrices
    alive = np.array(m["p_alive"])
    assert alive.shape == (len(m["repeat_purchases"]), len(m["days_since_last_purchase"]))
    assert m["days_since_last_purchase"][0] == 0 and m["repeat_purchases"][0] == 1
    assert np.all(np.diff(alive, axis=1) <= 1e-12)  # longer silence, lower P(alive)
    fit = analysis.bgnbd
    T = m["T_days"]
    since = m["days_since_last_purchase"][3]
    assert alive[2, 3] == pytest.approx(
        clv.p_alive(fit, np.array([3]), np.array([T - since]), np.array([T]))[0]
    )


def test_correlated_spend_and_frequency_warn():
    rows = _rows(n=1200, seed=5, spend_follows_frequency=True)
    got = value.analyse(
        rows, rows["invoice_date"].max() + pd.Timedelta(days=1), ValueOptions(enabled=True)
    )
    assert got.spend_frequency_r > 0.3
    assert any("correlated (r = " in w for w in got.warnings)


def test_a_calibration_end_outside_the_data_is_refused(rows):
    snapshot = rows["invoice_date"].max() + pd.Timedelta(days=1)
    with pytest.raises(ParamsError, match="must leave at least 7 days of data on each side"):
        value.analyse(rows, snapshot, ValueOptions(enabled=True, calibration_end="2012-06-01"))


def test_to_dict_has_the_issue_shape(analysis):
    customers = analysis.customers.reset_index()
    customers["rfm_segment"] = "All"
    customers["cluster_name"] = "C1"
    data = value.to_dict(analysis, customers)
    assert set(data["bgnbd"]) >= {
        "r",
        "alpha",
        "a",
        "b",
        "time_unit",
        "log_likelihood",
        "converged",
    }
    assert data["bgnbd"]["time_unit"] == "days"
    assert set(data["gamma_gamma"]) >= {"p", "q", "v", "converged"}
    assert data["segments"][0]["revenue_at_risk"] == pytest.approx(
        customers["revenue_at_risk"].sum(), rel=1e-6
    )
    assert data["validation"]["by_frequency"] and data["active_buyer"].startswith("a customer")


def test_a_failed_validation_fit_is_a_warning_not_a_lost_run(rows, monkeypatch):
    from rfm_desktop.core.errors import ModelError

    def fails(*args):
        raise ModelError("The purchase model (BG/NBD) did not converge: r=1.")

    monkeypatch.setattr(value, "validate", fails)
    snapshot = rows["invoice_date"].max() + pd.Timedelta(days=1)
    got = value.analyse(rows, snapshot, ValueOptions(enabled=True, calibration_end="2011-10-01"))
    assert got.validation == {
        "calibration_end": "2011-10-01",
        "error": "The purchase model (BG/NBD) did not converge: r=1.",
    }
    assert any(w.startswith("No validation: the models could not be fitted") for w in got.warnings)
    assert len(got.customers) == rows["customer_id"].nunique()


def _one_day_customers(path):
    """12 customers who each bought on one day only: no repeat purchases, no BG/NBD fit."""
    import made_transactions

    rows = [
        (f"C{i}", f"I{i}{j}", f"2011-0{1 + i % 9}-1{i % 9} 1{j}:00", 5.0 * (i + 1) + j)
        for i in range(12)
        for j in range(1 + i % 3)
    ]
    return made_transactions.write_rows(path / "once.csv", rows)


def test_a_model_that_cannot_be_fitted_stops_the_cli_run_or_warns_in_the_app(tmp_path):
    from rfm_desktop.core import pipeline
    from rfm_desktop.core.errors import ModelError
    from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

    params = AnalysisParams(
        input_path=str(_one_day_customers(tmp_path)),
        clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=0),
        clv=ValueOptions(enabled=True),
    )
    with pytest.raises(ModelError, match="bought again"):
        pipeline.run(params)
    result = pipeline.run(params, value_failure="warn")
    assert result.value is None and result.customer_count == 12
    assert "predicted_clv" not in result.customers.columns
    (warning,) = result.warnings_for("value")
    assert warning.text.startswith("Customer lifetime value was not computed: ")
    assert "bought again" in warning.text and ModelError.hint in warning.text


@pytest.fixture(scope="module")
def sample_result(sample_path):
    from rfm_desktop.core import pipeline
    from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

    return pipeline.run(
        AnalysisParams(
            input_path=str(sample_path),
            clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=0),
            clv=ValueOptions(enabled=True),
        )
    )


def test_each_cluster_carries_its_customers_value(sample_result):
    result = sample_result
    customers = result.customers
    for profile in result.clusters:
        own = customers.loc[customers["cluster"] == profile.id]
        assert profile.predicted_clv_sum == pytest.approx(own["predicted_clv"].sum())
        assert profile.predicted_clv_mean == pytest.approx(own["predicted_clv"].mean())
        assert profile.revenue_at_risk == pytest.approx(own["revenue_at_risk"].sum())
        assert profile.customers_p_alive_below_half == int((own["p_alive"] < 0.5).sum())
    assert sum(p.revenue_at_risk for p in result.clusters) == pytest.approx(
        customers["revenue_at_risk"].sum()
    )
    assert customers["revenue_at_risk"].sum() > 0
    renamed = result.rename_cluster(result.clusters[0].id, "Renamed")
    assert renamed.clusters[0].revenue_at_risk == result.clusters[0].revenue_at_risk


def test_the_report_ranks_revenue_at_risk_and_states_the_models(sample_result):
    import re

    from rfm_desktop.core import report

    page = report.build_report_html(sample_result, {})
    section = page[page.index("<h2>Customer value</h2>") : page.index("<h2>RFM score grid</h2>")]
    customers = sample_result.customers
    assert f"revenue at risk <b>{customers['revenue_at_risk'].sum():,.0f}</b>" in section
    segments = section[section.index("per named segment") : section.index("per cluster")]
    names = re.findall(r"<tr><td>([^<]+)</td>", segments)
    assert names == value.group_table(customers, "rfm_segment")["rfm_segment"].tolist()
    top = value.group_table(customers, "rfm_segment").iloc[0]
    assert f"<td class='num'>{top['revenue_at_risk']:,.0f}</td>" in segments
    clusters = section[section.index("per cluster") : section.index("<h3>Models")]
    assert re.findall(r"<tr><td>([^<]+)</td>", clusters) == [
        p.name for p in sorted(sample_result.clusters, key=lambda p: -p.revenue_at_risk)
    ]
    bg, gg = sample_result.value.bgnbd, sample_result.value.gamma_gamma
    assert f"r = {bg.r:.4g}, α = {bg.alpha:.4g}, a = {bg.a:.4g}, b = {bg.b:.4g}" in section
    assert "(time unit: days)" in section and f"p = {gg.p:.4g}, q = {gg.q:.4g}" in section
    assert section.count("<td>yes</td>") == 2  # both fits converged


def test_a_report_without_value_has_no_value_section_or_says_why(tmp_path, sample_path):
    from rfm_desktop.core import pipeline, report
    from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

    options = ClusteringOptions(k=3, sweep=False, stability_resamples=0)
    plain = pipeline.run(AnalysisParams(input_path=str(sample_path), clustering=options))
    assert "Customer value" not in report.build_report_html(plain, {})
    failed = pipeline.run(
        AnalysisParams(
            input_path=str(_one_day_customers(tmp_path)),
            clustering=options,
            clv=ValueOptions(enabled=True),
        ),
        value_failure="warn",
    )
    page = report.build_report_html(failed, {})
    section = page[page.index("<h2>Customer value</h2>") : page.index("<h2>RFM score grid</h2>")]
    assert "Customer lifetime value was not computed" in section and "bought again" in section


def test_purchases_three_centuries_apart_stop_the_models_with_a_reason(rows):
    # a stray 1900-01-01 beside this decade's orders: the models' day counts would overflow
    # (the run stopped with an OverflowError); they say what is wrong instead
    stray = rows.copy()
    stray.loc[0, "invoice_date"] = pd.Timestamp("1900-01-01")
    stray.loc[1, "invoice_date"] = pd.Timestamp("2199-12-31")
    with pytest.raises(ModelError, match="within 290 years; these run from 1900-01-01"):
        value.analyse(stray, pd.Timestamp("2200-01-01"), ValueOptions(enabled=True))
    near = rows.copy()
    near.loc[0, "invoice_date"] = pd.Timestamp("1900-01-01")  # 111 years: the models run
    assert len(
        value.analyse(near, near["invoice_date"].max(), ValueOptions(enabled=True)).customers
    )
