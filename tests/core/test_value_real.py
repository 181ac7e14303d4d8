"""Customer lifetime value on the complete UCI Online Retail data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rfm_desktop.core import clv, io, pipeline
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ValueOptions

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def result(real_data_path):
    params = AnalysisParams(
        input_path=str(real_data_path),
        clustering=ClusteringOptions(k=4, sweep=False),
        clv=ValueOptions(enabled=True, calibration_end="2011-09-01"),
    )
    return pipeline.run(params, transactions=io.read_transactions(str(real_data_path)))


def test_every_customer_gets_a_value(result):
    customers = result.customers
    assert len(customers) == 4_338
    assert customers[["p_alive", "expected_purchases", "predicted_clv"]].notna().all().all()
    # segments carry the group values; revenue at risk adds up over them
    assert result.segments["revenue_at_risk"].sum() == pytest.approx(
        customers["revenue_at_risk"].sum()
    )
    # the data barely show dropout in one year: the analyst is told
    assert any("almost no customers dropping out" in w.text for w in result.warnings_for("value"))
    v = result.value.validation
    assert v["calibration_end"] == "2011-09-01" and v["holdout_days"] == 100
    assert v["customers"] > 3000 and v["holdout_actual"] > 0


def test_bgnbd_fit_agrees_with_lifetimes_on_the_real_data(result, real_data_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifetimes = pytest.importorskip("lifetimes")
    params = AnalysisParams(input_path=str(real_data_path))
    clean, _ = pipeline.clean_rows(io.read_transactions(str(real_data_path)), params)
    inputs = clv.summarise(clean, result.value.end)
    assert len(inputs) == 4_338
    theirs = lifetimes.BetaGeoFitter().fit(inputs["x"], inputs["t_x"], inputs["T"])
    ours = result.value.bgnbd
    assert ours.r == pytest.approx(theirs.params_["r"], rel=0.01)
    assert ours.alpha == pytest.approx(theirs.params_["alpha"], rel=0.01)
    # a and b sit near the no-dropout limit, where the likelihood is flat: compare the fit itself
    theirs_ll = float(
        clv.bgnbd_log_likelihood(
            theirs.params_[["r", "alpha", "a", "b"]].to_numpy(),
            *(inputs[c].to_numpy(float) for c in ("x", "t_x", "T")),
        ).sum()
    )
    assert ours.log_likelihood >= theirs_ll - 1e-3
    alive = clv.p_alive(ours, *(inputs[c].to_numpy(float) for c in ("x", "t_x", "T")))
    np.testing.assert_allclose(
        result.customers.set_index("customer_id").loc[inputs.index, "p_alive"], alive
    )
