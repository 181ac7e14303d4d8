"""The engine on the complete UCI Online Retail data, held against the published facts."""

from __future__ import annotations

import pytest

from rfm_desktop.core import io, pipeline
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, seed_preset

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def transactions(real_data_path):
    return io.read_transactions(str(real_data_path))


def test_rows_and_missing_ids(transactions):
    assert transactions.rows_read == 541_909
    share_missing = transactions.frame["customer_id"].isna().mean()
    assert round(share_missing * 100, 2) == 24.93


def test_missing_ids_and_cancellations_leave_397924_rows(transactions):
    params = AnalysisParams(input_path="x", cleaning=CleaningOptions(drop_nonpositive=False))
    report = pipeline.preview_cleaning(transactions, params)
    steps = {s.step: s for s in report.steps}
    assert steps["missing_customer"].removed == 135_080
    assert steps["cancellations"].after == 397_924


def test_seed_preset_reproduces_the_write_up(transactions, real_data_path):
    result = pipeline.run(seed_preset(str(real_data_path)), transactions=transactions)
    assert result.customer_count == 4_338
    assert result.k == 4
    assert result.silhouette == pytest.approx(0.616, abs=0.01)
    assert sum(c.size for c in result.clusters) == 4_338
    assert len({c.name for c in result.clusters}) == 4
    assert sum(c.revenue_share for c in result.clusters) == pytest.approx(1.0)


def test_log_standard_k4_matches_reference(transactions, real_data_path):
    params = AnalysisParams(input_path=str(real_data_path)).replace(
        clustering=seed_preset("x").clustering.__class__(
            transform="log1p", scaler="standard", k=4, sweep=False
        )
    )
    result = pipeline.run(params, transactions=transactions)
    assert result.customer_count == 4_338
    assert result.silhouette == pytest.approx(0.337, abs=0.01)
    assert result.sweep is None


def test_same_input_same_numbers(transactions, real_data_path):
    params = seed_preset(str(real_data_path))
    a = pipeline.run(params, transactions=transactions)
    b = pipeline.run(params, transactions=transactions)
    assert a.customers["cluster"].tolist() == b.customers["cluster"].tolist()
    assert [c.name for c in a.clusters] == [c.name for c in b.clusters]
    assert a.sweep.scores == b.sweep.scores


def test_equal_values_get_equal_scores_on_the_real_data(transactions, real_data_path):
    prepared = pipeline.prepare(transactions, AnalysisParams(input_path=str(real_data_path)))
    customers = prepared.customers
    assert len(customers) == 4_338
    for measure, score in (
        ("recency", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        assert customers.groupby(measure)[score].nunique().max() == 1, measure
    # identical customers share one named segment (the issue found 164 of 856 such groups split)
    assert (
        customers.groupby(["recency", "frequency", "monetary"])["rfm_segment"].nunique().max() == 1
    )
    one_time = customers["frequency"] == 1
    assert one_time.sum() == 1_493 and (customers.loc[one_time, "f_score"] == 1).all()
    assert (customers.loc[~one_time, "f_score"] > 1).all()
    frequency = {s.measure: s for s in prepared.scales}["frequency"]
    assert frequency.breaks == (1.0, 2.0, 3.0, 6.0)
    assert [b.customers for b in frequency.bands] == [1_493, 835, 508, 802, 700]
