"""BG/NBD and Gamma-Gamma: published CDNOW fits, parameter recovery from simulated customers,
closed forms for hand-computed cases, and the per-day inputs."""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad
from scipy.special import hyp2f1

from rfm_desktop.core import clv
from rfm_desktop.core.errors import ModelError


def _cdnow_file(name: str) -> Path:
    """A data file shipped with the installed lifetimes package (never copied into this repo)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lifetimes is not installed (pip install -e .[validate])")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / name
    if not path.exists():
        pytest.skip(f"{name} is not in the installed lifetimes package")
    return path


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    # 2,357 customers, calibration 1997-01-01..1997-09-30, weeks; zbar = mean repeat spend
    return pd.read_csv(_cdnow_file("cdnow_customers_summary_with_transactions.csv"))


@pytest.fixture(scope="module")
def cdnow_fit(cdnow) -> clv.BGNBDFit:
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], time_unit="weeks")


def test_cdnow_bgnbd_matches_the_paper(cdnow, cdnow_fit):
    assert len(cdnow) == 2357
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 4
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(cdnow_fit, name) == pytest.approx(value, rel=0.01), name
    assert cdnow_fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert cdnow_fit.converged and cdnow_fit.time_unit == "weeks"


def test_cdnow_gamma_gamma_matches_the_paper(cdnow):
    fit = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert fit.n_customers == 946
    # Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", section "monetary value"
    assert fit.p == pytest.approx(6.25, rel=0.01)
    assert fit.q == pytest.approx(3.74, rel=0.01)
    assert fit.v == pytest.approx(15.44, rel=0.01)
    assert fit.population_mean_spend == pytest.approx(6.25 * 15.44 / 2.74, rel=0.02)


def test_cdnow_predictions_agree_with_lifetimes(cdnow, cdnow_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes touches options pandas 3 deprecates
        fitters = pytest.importorskip("lifetimes")
    theirs = fitters.BetaGeoFitter()
    theirs.params_ = pd.Series(
        {"r": cdnow_fit.r, "alpha": cdnow_fit.alpha, "a": cdnow_fit.a, "b": cdnow_fit.b}
    )
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
    np.testing.assert_allclose(
        clv.p_alive(cdnow_fit, x, t_x, T),
        theirs.conditional_probability_alive(x, t_x, T),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        clv.expected_purchases(cdnow_fit, 39.0, x, t_x, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T),
        rtol=1e-6,
    )
    weeks = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        clv.expected_new_customer_purchases(cdnow_fit, weeks),
        theirs.expected_number_of_purchases_up_to_time(weeks),
        rtol=1e-6,
    )


def _simulate(n: int, r, alpha, a, b, p, q, v, seed: int = 7):
    """Customers drawn from BG/NBD (rate λ ~ Γ(r, α), dropout p ~ B(a, b) after each repeat
    purchase) and Gamma-Gamma (transaction value ~ Γ(p, ν), ν ~ Γ(q, v)), observed for T."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    T = rng.uniform(20.0, 60.0, n)
    # the purchase after which the customer stops (geometric), and the purchase times
    last_allowed = rng.geometric(drop)
    times = np.cumsum(rng.exponential(1.0, (n, 200)), axis=1) / lam[:, None]
    made = (times <= T[:, None]) & (np.arange(1, 201)[None, :] <= last_allowed[:, None])
    x = made.sum(axis=1)
    t_x = np.where(x > 0, times[np.arange(n), np.maximum(x - 1, 0)], 0.0)
    nu = rng.gamma(q, 1.0 / v, n)
    spend_sum = rng.gamma(p * np.maximum(x, 1), 1.0 / nu)
    m = np.where(x > 0, spend_sum / np.maximum(x, 1), np.nan)
    return x, t_x, T, m


def test_simulated_customers_give_back_their_parameters():
    truth = {"r": 0.6, "alpha": 5.0, "a": 1.2, "b": 3.0}
    x, t_x, T, m = _simulate(40_000, **truth, p=4.0, q=5.0, v=20.0)
    fit = clv.fit_bgnbd(x, t_x, T)
    for name, value in truth.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.12), name
    spend = clv.fit_gamma_gamma(x, m)
    assert spend.p == pytest.approx(4.0, rel=0.12)
    assert spend.q == pytest.approx(5.0, rel=0.12)
    assert spend.v == pytest.approx(20.0, rel=0.15)


def test_analytic_gradients_match_finite_differences():
    x, t_x, T, m = _simulate(300, 0.6, 5.0, 1.2, 3.0, 4.0, 5.0, 20.0)
    params = np.array([0.7, 4.0, 0.9, 2.5])
    error = check_grad(
        lambda p: clv._bgnbd_terms(p, x, t_x, T)[0].sum(),
        lambda p: clv._bgnbd_terms(p, x, t_x, T, gradient=True)[1].sum(axis=1),
        params,
    )
    assert error < 1e-4 * np.abs(clv._bgnbd_terms(params, x, t_x, T, True)[1].sum(axis=1)).max()
    rep = x > 0
    gg = np.array([3.0, 4.0, 15.0])
    error = check_grad(
        lambda p: clv._gamma_gamma_terms(p, x[rep], m[rep])[0].sum(),
        lambda p: clv._gamma_gamma_terms(p, x[rep], m[rep], gradient=True)[1].sum(axis=1),
        gg,
    )
    assert error < 1e-3


# r = 2, a = 2, b = 1 make ₂F₁(a+b−1−r, …) = 1, so E[Y(t)] = (2+x) · t/(α+T+t) · P(alive)
HAND = clv.BGNBDFit(
    r=2.0, alpha=4.0, a=2.0, b=1.0, log_likelihood=0.0, converged=True, n_customers=1
)


def test_p_alive_by_hand():
    # x=3, t_x=6, T=10: odds = a/(b+x−1) · ((α+T)/(α+t_x))^(r+x) = 2/3 · (14/10)^5
    odds = 2.0 / 3.0 * 1.4**5
    got = clv.p_alive(HAND, np.array([3, 0]), np.array([6.0, 0.0]), np.array([10.0, 10.0]))
    assert got[0] == pytest.approx(1.0 / (1.0 + odds), rel=1e-12)
    assert got[1] == 1.0  # no repeat purchase: cannot have dropped out in BG/NBD


def test_expected_purchases_by_hand():
    alive = 1.0 / (1.0 + 2.0 / 3.0 * 1.4**5)
    got = clv.expected_purchases(HAND, 20.0, np.array([3]), np.array([6.0]), np.array([10.0]))
    assert got[0] == pytest.approx(5 * 20.0 / 34.0 * alive, rel=1e-12)
    # new customer, eq. 9 in the paper's own form: (a+b−1)/(a−1)·[1 − (α/(α+t))^r ₂F₁(r,b;a+b−1;z)]
    # with ₂F₁(2, 1; 2; z) = 1/(1−z): 2·[1 − α/(α+t)] = 2t/(α+t)
    assert clv.expected_new_customer_purchases(HAND, 12.0) == pytest.approx(2 * 12.0 / 16.0)


def test_euler_form_equals_the_papers_equation_10():
    fit = clv.BGNBDFit(0.4, 6.0, 0.8, 2.5, 0.0, True, 1)
    x, t_x, T, t = np.array([0, 1, 4, 9]), np.array([0.0, 3.0, 20.0, 30.0]), 35.0, 52.0
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    z = t / (alpha + T + t)
    paper = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
        * clv.p_alive(fit, x, t_x, np.full(4, T))
    )
    np.testing.assert_allclose(
        clv.expected_purchases(fit, t, x, t_x, np.full(4, T)), paper, rtol=1e-10
    )
    # a buyer far beyond the paper form's float range still gets a finite, sensible value
    heavy = clv.expected_purchases(
        fit, 365.0, np.array([3000]), np.array([365.0]), np.array([365.0])
    )
    assert 2000 < heavy[0] < 4000


def test_expected_spend_and_clv_by_hand():
    spend_fit = clv.GammaGammaFit(
        p=2.0, q=3.0, v=10.0, log_likelihood=0.0, converged=True, n_customers=1
    )
    # p(v + x m)/(px + q − 1) = 2·(10 + 80)/10 = 18; no repeat: p v/(q − 1) = 10
    got = clv.expected_avg_spend(spend_fit, np.array([4, 0]), np.array([20.0, np.nan]))
    np.testing.assert_allclose(got, [18.0, 10.0])

    month = 365.0 / 12.0
    x, t_x, T = np.array([3]), np.array([6.0]), np.array([10.0])
    alive = 1.0 / (1.0 + 2.0 / 3.0 * 1.4**5)
    e1, e2 = (5 * t / (14.0 + t) * alive for t in (month, 2 * month))
    value = clv.predicted_clv(HAND, np.array([18.0]), x, t_x, T, 2 * month, monthly_discount=0.01)
    assert value[0] == pytest.approx(18.0 * (e1 / 1.01 + (e2 - e1) / 1.01**2), rel=1e-12)
    # a horizon that is not whole months: the last step is discounted for its fraction
    half = clv.predicted_clv(HAND, np.array([1.0]), x, t_x, T, 1.5 * month, monthly_discount=0.01)
    e15 = 5 * 1.5 * month / (14.0 + 1.5 * month) * alive
    assert half[0] == pytest.approx(e1 / 1.01 + (e15 - e1) / 1.01**1.5, rel=1e-12)


def test_days_to_next_order_is_where_one_purchase_is_expected():
    x, t_x, T = np.array([3, 3]), np.array([9.0, 0.5]), np.array([10.0, 10.0])
    days = clv.days_to_next_order(HAND, x, t_x, T, horizon_days=365.0)
    alive = clv.p_alive(HAND, x, t_x, T)[0]
    # 5 · t/(14+t) · P = 1  ⇒  t = 14 / (5P − 1)
    assert days[0] == pytest.approx(14.0 / (5 * alive - 1.0), abs=0.25)
    assert math.isnan(days[1])  # long silent: less than one purchase expected in a year


def test_summarise_counts_days_not_invoices():
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "A", "A", "A", "B", "C", None], dtype="string"),
            "invoice_date": pd.to_datetime(
                [
                    "2011-01-01 09:00",  # first day: not a repeat, not in m
                    "2011-01-04 10:00",
                    "2011-01-04 16:00",  # same day, second invoice: one purchase of 30
                    "2011-01-08 08:00",
                    "2011-01-05 12:00",
                    "2011-01-20 12:00",  # after the end: ignored
                    "2011-01-02 12:00",
                ]
            ),
            "amount": [100.0, 10.0, 20.0, 50.0, 7.0, 9.0, 1.0],
        }
    )
    got = clv.summarise(frame, pd.Timestamp("2011-01-11"))
    assert list(got.index) == ["A", "B"]
    assert got.loc["A"].tolist() == [2, 7.0, 10.0, 40.0]  # x, t_x, T, mean of 30 and 50
    assert got.loc["B", "x"] == 0 and got.loc["B", "t_x"] == 0 and got.loc["B", "T"] == 6
    assert math.isnan(got.loc["B", "m"])


def test_no_sign_of_dropout_fails_clearly():
    # everyone buys every day to the end: the dropout model runs to a boundary
    n = 200
    x = np.full(n, 30.0)
    with pytest.raises(ModelError, match="did not converge|not give a usable fit"):
        clv.fit_bgnbd(x, np.full(n, 30.0), np.full(n, 30.0))


def test_too_few_repeat_customers_fail_clearly():
    with pytest.raises(ModelError, match="bought again"):
        clv.fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    with pytest.raises(ModelError, match="positive spend"):
        clv.fit_gamma_gamma(np.array([1, 2, 0]), np.array([5.0, -1.0, np.nan]))


def test_starts_on_a_sample_then_polished_on_all_give_the_full_fit(monkeypatch):
    x, t_x, T, m = _simulate(8_000, 0.6, 5.0, 1.2, 3.0, 4.0, 5.0, 20.0, seed=11)
    full = clv.fit_bgnbd(x, t_x, T)
    spend = clv.fit_gamma_gamma(x, m)
    monkeypatch.setattr(clv, "_START_SAMPLE", 1_000)
    sampled = clv.fit_bgnbd(x, t_x, T)
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(sampled, name) == pytest.approx(getattr(full, name), rel=1e-4), name
    sampled_spend = clv.fit_gamma_gamma(x, m)
    for name in ("p", "q", "v"):
        assert getattr(sampled_spend, name) == pytest.approx(getattr(spend, name), rel=1e-4), name
