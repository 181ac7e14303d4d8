"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model.

Sources
-------
- BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to
  the Pareto/NBD model", Marketing Science 24(2), 275-284 (likelihood eq. 6, E[X(t)] eq. 9,
  E[Y(t) | x, t_x, T] eq. 10, P(alive) from the authors' note "Computing P(alive) using the
  BG/NBD model", 2008).
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
  base analysis", Journal of Marketing Research 42(4), 415-430 (section "Adding monetary
  value"), after Colombo & Jiang (1999); the authors' note "The Gamma-Gamma model of monetary
  value" (2013) gives the likelihood and the conditional expectation used here.

Time unit: **days** for everything this module builds from transactions (``x`` repeat purchase
days, ``t_x`` and ``T`` in days); the fitting and prediction functions accept any unit, as long
as ``t_x``, ``T`` and the horizon share it (the CDNOW validation uses weeks).

Repeat purchases are counted per calendar day, as the models define a transaction: several
invoices on one day are one purchase; the first purchase day is not a repeat purchase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_desktop.core.errors import ModelError

#: Days per month for the monthly discount rate: 365/12, so a 365-day horizon is 12 months.
DAYS_PER_MONTH = 365.0 / 12.0
#: Above this |Pearson r| between repeat frequency and mean spend, Gamma-Gamma's independence
#: assumption is doubtful (Fader, Hardie & Lee 2005, "RFM and CLV", test of independence).
SPEND_FREQUENCY_CORRELATION_LIMIT = 0.3
#: Fitted parameters outside this range mean the optimiser ran off to a boundary.
_PARAM_RANGE = (1e-8, 1e8)
#: Above this many customers the starting points are tried on a sample of this many.
_START_SAMPLE = 50_000
#: Starting points (natural scale) for the fits; the best converged one wins.
_BGNBD_STARTS = ((1.0, 1.0, 1.0, 1.0), (0.5, 10.0, 0.5, 5.0), (2.0, 100.0, 1.5, 3.0))
_GG_STARTS = ((1.0, 1.0, 1.0), (5.0, 3.0, 15.0), (2.0, 5.0, 50.0))


@dataclass(frozen=True)
class BGNBDFit:
    """Fitted BG/NBD parameters: purchase rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float  # in the time unit of the data (days for the app)
    a: float
    b: float
    log_likelihood: float  # summed over customers
    converged: bool
    n_customers: int
    time_unit: str = "days"

    def to_dict(self) -> dict[str, object]:
        """The ``bgnbd`` object of clv.json."""
        return {
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "time_unit": self.time_unit,
            "log_likelihood": self.log_likelihood,
            "converged": self.converged,
            "customers": self.n_customers,
        }


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters: spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, v)."""

    p: float
    q: float
    v: float  # in the file's currency
    log_likelihood: float
    converged: bool
    n_customers: int  # repeat customers the fit used

    @property
    def population_mean_spend(self) -> float:
        """E[spend per transaction] of a customer we know nothing about: p·v / (q − 1)."""
        return self.p * self.v / (self.q - 1.0)

    def to_dict(self) -> dict[str, object]:
        """The ``gamma_gamma`` object of clv.json."""
        return {
            "p": self.p,
            "q": self.q,
            "v": self.v,
            "log_likelihood": self.log_likelihood,
            "converged": self.converged,
            "customers": self.n_customers,
        }


def summarise(frame: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """The model inputs per customer from cleaned transactions (canonical columns, see core.io).

    Parameters
    ----------
    frame
        Cleaned rows with ``customer_id``, ``invoice_date`` and ``amount`` (the file's currency).
        Rows on or after ``end`` and rows without a customer id are ignored.
    end
        End of the observation period (exclusive; its time of day is dropped), e.g. the day
        after the last purchase or the calibration end.

    Returns
    -------
    DataFrame indexed by ``customer_id`` (string) with ``x`` (repeat purchase days, orders),
    ``t_x`` (days from first to last purchase day), ``T`` (days from the first purchase day to
    ``end``) and ``m`` (mean spend per repeat purchase day, the file's currency; NaN when x = 0).
    The first purchase day's spend is left out of ``m``, as Gamma-Gamma models repeat spend.
    """
    end = end.normalize()  # whole days: the observation ends at midnight
    rows = frame.loc[frame["customer_id"].notna() & (frame["invoice_date"] < end)]
    days = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("string").to_numpy(),
            "day": rows["invoice_date"].dt.normalize().to_numpy(),
            "amount": rows["amount"].to_numpy(dtype=np.float64),
        }
    )
    daily = days.groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index()
    first_day = daily.groupby("customer_id", sort=True)["day"].transform("min")
    repeat = daily["day"] != first_day
    grouped = daily.groupby("customer_id", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    out = pd.DataFrame(
        {
            "x": grouped.size().astype(np.int64) - 1,
            "t_x": (last - first).dt.days.astype(np.float64),
            "T": (end - first).dt.days.astype(np.float64),
        }
    )
    out["m"] = daily.loc[repeat].groupby("customer_id")["amount"].mean().reindex(out.index)
    out.index = out.index.astype("string")
    return out


# --- likelihoods --------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6), in log space.

    ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln[ e^{A} + δ(x>0) e^{B} ] with
    A = ln B(a, b+x) − ln B(a, b) − (r+x) ln(α+T) and
    B = ln B(a+1, b+x−1) − ln B(a, b) − (r+x) ln(α+t_x); the sum of exponentials is taken with
    ``logaddexp`` so large x and T never overflow.

    Parameters
    ----------
    params
        (r, α, a, b), natural scale.
    x, t_x, T
        Repeat purchases (orders), time of the last purchase and length of observation, both
        measured from the first purchase (one time unit).
    """
    return _bgnbd_terms(params, x, t_x, T)[0]


Groups = tuple[np.ndarray, np.ndarray]


def _groups(x: np.ndarray) -> Groups:
    """Distinct repeat counts and, per customer, the index of its own: the special functions
    depend on x alone, so they are evaluated once per distinct x (hundreds), not per customer."""
    distinct, index = np.unique(x, return_inverse=True)
    return distinct, index


def _bgnbd_terms(
    params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    gradient: bool = False,
    groups: Groups | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Log-likelihood per customer and, if asked, its gradient w.r.t. (r, α, a, b) (4 × n)."""
    from scipy.special import digamma, gammaln

    r, alpha, a, b = params
    ux, index = groups if groups is not None else _groups(x)
    repeat = x > 0
    # ln B(a, b+x) − ln B(a, b) and ln B(a+1, b+x−1) − ln B(a, b) per distinct x; for x = 0 the
    # second is switched off (δ = 0, and B(a+1, b−1) may be undefined)
    um1 = np.maximum(ux - 1.0, 0.0)
    lg_ab, lg_abx = gammaln(a + b), gammaln(a + b + ux)
    beta2 = gammaln(b + ux) - lg_abx - gammaln(b) + lg_ab
    beta3 = np.log(a) + gammaln(b + um1) - lg_abx - gammaln(b) + lg_ab
    a1 = (gammaln(r + ux) - gammaln(r))[index] + r * np.log(alpha)
    log_t, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    a2 = beta2[index] - (r + x) * log_t
    a3 = np.where(repeat, beta3[index] - (r + x) * log_tx, -np.inf)
    total = np.logaddexp(a2, a3)
    ll = a1 + total
    if not gradient:
        return ll, None
    w = np.exp(a3 - total)  # share of the "dropped out after the last purchase" term
    ab, abx = digamma(a + b), digamma(a + b + ux)
    d_b = digamma(b) - ab
    g_r = (digamma(r + ux) - digamma(r))[index] + np.log(alpha)
    g_r -= (1 - w) * log_t + w * log_tx
    g_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    g_a = (1 - w) * (ab - abx)[index] + w * (1.0 / a + ab - abx)[index]
    g_b = (1 - w) * (digamma(b + ux) - abx - d_b)[index] + w * np.where(
        repeat, (digamma(b + um1) - abx - d_b)[index], 0.0
    )
    return ll, np.vstack([g_r, g_alpha, g_a, g_b])


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat spend ``m`` over ``x`` repeat
    transactions (x ≥ 1, m > 0): ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m
    + px ln x − (px+q) ln(v + m x) (Fader & Hardie, "The Gamma-Gamma model of monetary value")."""
    return _gamma_gamma_terms(params, x, m)[0]


def _gamma_gamma_terms(
    params: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    gradient: bool = False,
    groups: Groups | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    from scipy.special import digamma, gammaln

    p, q, v = params
    ux, index = groups if groups is not None else _groups(x)
    px = p * x
    log_m, log_x, log_vmx = np.log(m), np.log(x), np.log(v + m * x)
    ll = (
        (gammaln(p * ux + q) - gammaln(p * ux))[index]
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_vmx
    )
    if not gradient:
        return ll, None
    psi = digamma(p * ux + q)
    g_p = x * ((psi - digamma(p * ux))[index] + log_m + log_x - log_vmx)
    g_q = psi[index] - digamma(q) + np.log(v) - log_vmx
    g_v = q / v - (px + q) / (v + m * x)
    return ll, np.vstack([g_p, g_q, g_v])


# --- fitting ------------------------------------------------------------------------------------


def _maximise(
    terms: Callable[..., Any],
    data: tuple[np.ndarray, ...],
    weights: np.ndarray,
    starts: Iterable[Sequence[float]],
    names: str,
) -> tuple[np.ndarray, float, bool]:
    """Maximum likelihood in log-parameter space from several starts (L-BFGS-B with the
    analytic gradient). Returns (params, summed log-likelihood, converged) of the best start.

    ``terms(params, *data, gradient, groups)`` gives per-row log-likelihoods and gradients;
    ``weights``: customers per row. Above _START_SAMPLE customers the starts run on a sample of
    that many customers (drawn with a fixed seed) and the best is then polished on all rows:
    the starts only pick the basin, so a million customers fit in seconds.
    """
    from scipy.optimize import minimize

    Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

    def objective_for(rows: tuple[np.ndarray, ...], counts: np.ndarray) -> Objective:
        groups, total = _groups(rows[0]), float(counts.sum())

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            with np.errstate(all="ignore"):
                ll, grad = terms(params, *rows, gradient=True, groups=groups)
            value = -float(counts @ ll) / total
            if not np.isfinite(value):
                return 1e100, np.zeros_like(theta)
            # chain rule for the log parameters: d/dθ = params · d/dparams
            return value, -(grad @ counts) * params / total

        return objective

    def climb(objective: Objective, theta: np.ndarray) -> Any:  # scipy's OptimizeResult
        return minimize(
            objective,
            theta,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-30.0, 30.0)] * len(theta),
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
        )

    full = objective_for(data, weights)
    explore = full
    total = float(weights.sum())
    if total > _START_SAMPLE:
        drawn = np.random.default_rng(0).choice(len(weights), _START_SAMPLE, p=weights / total)
        rows, counts = np.unique(drawn, return_counts=True)
        explore = objective_for(tuple(d[rows] for d in data), counts.astype(np.float64))
    best = None
    for start in starts:
        fit = climb(explore, np.log(start))
        if np.isfinite(fit.fun) and (best is None or fit.fun < best.fun):
            best = fit
    if best is not None and explore is not full:
        best = climb(full, best.x)
    if best is None or best.fun >= 1e99:
        raise ModelError(f"The {names} model could not be fitted: the likelihood is not finite.")
    params = np.exp(best.x)
    inside = bool(np.all((params > _PARAM_RANGE[0]) & (params < _PARAM_RANGE[1])))
    gradient_small = float(np.max(np.abs(best.jac))) < 1e-4
    return params, float(-best.fun * total), bool((best.success or gradient_small) and inside)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, time_unit: str = "days") -> BGNBDFit:
    """Fit BG/NBD by maximum likelihood.

    Customers with equal (x, t_x, T) share one likelihood term, so data in whole days fits in
    the time of its distinct histories, not of its customers.

    Parameters
    ----------
    x
        Repeat purchases per customer (orders, ≥ 0).
    t_x, T
        Time of the last purchase and end of observation, from the first purchase
        (``time_unit``); 0 ≤ t_x ≤ T, and t_x = 0 when x = 0.
    time_unit
        Name of the unit of t_x and T, reported with the fit.

    Returns
    -------
    BGNBDFit with ``converged`` True.

    Raises
    ------
    ModelError
        Too few repeat customers, or the optimiser did not converge to an interior maximum
        (e.g. no sign of dropout in the data, which sends a or b to a boundary).
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if len(x) < 10 or int((x > 0).sum()) < 5:
        raise ModelError(
            f"Only {int((x > 0).sum())} of {len(x):,} customers bought again; the purchase model "
            "needs at least 5 repeat customers among at least 10.",
            hint="Use a longer purchase history, or run without customer lifetime value.",
        )
    rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    data = (rows[:, 0], rows[:, 1], rows[:, 2])
    params, ll, ok = _maximise(
        _bgnbd_terms, data, counts.astype(np.float64), _BGNBD_STARTS, "BG/NBD"
    )
    if not ok:
        raise ModelError(
            "The purchase model (BG/NBD) did not converge: "
            + ", ".join(
                f"{n}={v:.3g}" for n, v in zip(("r", "alpha", "a", "b"), params, strict=True)
            )
            + ". The data show too little sign of customers stopping or of repeat buying.",
            hint="Use a longer purchase history or a later calibration end, or run without "
            "customer lifetime value.",
        )
    r, alpha, a, b = (float(v) for v in params)
    fit = BGNBDFit(r, alpha, a, b, float(ll), True, len(x), time_unit)
    # a fit near a limit of the model (e.g. a, b → ∞: the same dropout for everyone) can have
    # a maximum the predictions' ₂F₁ cannot evaluate: check them on the data's own histories
    with np.errstate(all="ignore"):
        ahead = expected_purchases(fit, float(T.max()) or 1.0, *data)
    if not np.all(np.isfinite(ahead)):
        raise ModelError(
            f"The purchase model (BG/NBD) reached a limit where it cannot predict (r={r:.3g}, "
            f"alpha={alpha:.3g}, a={a:.3g}, b={b:.3g}): every customer seems to drop out with "
            "the same chance, or none does.",
            hint="Use a longer purchase history or a later calibration end, or run without "
            "customer lifetime value.",
        )
    return fit


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood on the repeat customers (x ≥ 1, m > 0); the others
    are left out.

    Parameters
    ----------
    x
        Repeat purchases per customer (orders).
    m
        Mean spend per repeat purchase (the file's currency).

    Raises
    ------
    ModelError
        Fewer than 5 repeat customers, no convergence, or q ≤ 1 (the mean spend per transaction
        would be infinite, so no customer value can be predicted).
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    use = (x > 0) & np.isfinite(m) & (m > 0)
    if use.sum() < 5:
        raise ModelError(
            f"Only {int(use.sum())} customers bought again with a positive spend; the spend model "
            "needs at least 5.",
            hint="Use a longer purchase history, or run without customer lifetime value.",
        )
    data = (x[use], m[use])
    params, ll, ok = _maximise(
        _gamma_gamma_terms, data, np.ones(int(use.sum())), _GG_STARTS, "Gamma-Gamma"
    )
    p, q, v = (float(value) for value in params)
    if not ok or q <= 1.0:
        raise ModelError(
            f"The spend model (Gamma-Gamma) did not give a usable fit (p={p:.3g}, q={q:.3g}, "
            f"v={v:.3g}; q must be above 1 for a finite mean spend).",
            hint="Spend per order varies too wildly (check outliers and returns), or run without "
            "customer lifetime value.",
        )
    return GammaGammaFit(p, q, v, float(ll), True, int(use.sum()))


# --- predictions --------------------------------------------------------------------------------


def p_alive(fit: BGNBDFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(the customer is still active at T | x, t_x, T) =
    1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)) (Fader, Hardie & Lee 2008 note,
    eq. 2); computed as a logistic of the log odds so it never overflows. 1 when x = 0: the model
    lets customers drop out only after a repeat purchase."""
    from scipy.special import expit

    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(fit.a)
            - np.log(fit.b + x - 1.0)
            + (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + t_x))
        )
    return np.where(x > 0, expit(-log_odds), 1.0)


def expected_purchases(
    fit: BGNBDFit,
    t: float | np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    given_alive: bool = False,
) -> np.ndarray:
    """Expected repeat purchases in (T, T+t] given the history (Fader, Hardie & Lee 2005, eq. 10).

    E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − (1−z)^(a−1) · ₂F₁(a+b−1−r, a−1; a+b+x−1; z)]
    · P(alive), with z = t/(α+T+t). This is eq. 10 after Euler's transformation
    ₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z): the paper's form multiplies
    ((α+T)/(α+T+t))^(r+x), which underflows, by a ₂F₁ that overflows for frequent buyers; this
    form has small upper parameters for every x. With x = t_x = T = 0 it is E[X(t)] of a new
    customer (eq. 9).

    Parameters
    ----------
    t
        Length of the prediction window (same unit as t_x and T; days in the app).
    given_alive
        Leave out the P(alive) factor: the purchases expected if the customer is still active.
    """
    from scipy.special import hyp2f1

    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + T + t)
    body = 1.0 - (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    alive = 1.0 if given_alive else p_alive(fit, x, t_x, T)
    return (a + b + x - 1.0) / (a - 1.0) * body * alive


def expected_new_customer_purchases(fit: BGNBDFit, t: float | np.ndarray) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in (0, t] of a customer who first bought at 0 (eq. 9)."""
    zero = np.zeros_like(np.asarray(t, dtype=np.float64))
    return expected_purchases(fit, t, zero, zero, zero)


def expected_avg_spend(fit: GammaGammaFit, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per transaction | x, m] = (q−1)/(px+q−1) · p·v/(q−1) + px/(px+q−1) · m: a weighted
    mean of the population mean and the customer's own mean (Fader, Hardie & Lee 2005, "RFM and
    CLV", eq. 5). Customers without a usable repeat spend (x = 0, or m ≤ 0 after returns) get the
    population mean p·v/(q−1). The file's currency."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    known = (x > 0) & np.isfinite(m) & (m > 0)
    px = fit.p * np.where(known, x, 0.0)
    own = np.where(known, m, 0.0)
    return (fit.q - 1.0) / (px + fit.q - 1.0) * fit.population_mean_spend + px / (
        px + fit.q - 1.0
    ) * own


def predicted_clv(
    bgnbd: BGNBDFit,
    spend: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    horizon_days: float = 365.0,
    monthly_discount: float = 0.01,
    given_alive: bool = False,
) -> np.ndarray:
    """Discounted expected revenue over the horizon (the file's currency).

    CLV = E[spend] · Σ_{i=1..N} (E[Y(t_i) | ·] − E[Y(t_{i−1}) | ·]) / (1 + d)^(t_i / M),
    with M = 365/12 days, t_i = min(i·M, H), N = ⌈H/M⌉ and d the monthly discount rate: the
    discounted expected transactions (DET) of Fader, Hardie & Lee (2005, "RFM and CLV",
    eq. 2 ff.) in monthly steps, as in lifetimes' ``customer_lifetime_value``; multiplying by the
    expected spend per transaction relies on Gamma-Gamma's independence of spend and frequency.

    Parameters
    ----------
    spend
        Expected spend per transaction per customer (:func:`expected_avg_spend`).
    x, t_x, T
        The customer histories, in days.
    horizon_days
        H, the prediction window after T (days).
    monthly_discount
        d, e.g. 0.01 for 1 % per month.
    given_alive
        The value if the customer is still active (P(alive) left out).
    """
    steps = np.minimum(
        np.arange(1, int(np.ceil(horizon_days / DAYS_PER_MONTH)) + 1) * DAYS_PER_MONTH, horizon_days
    )
    det = np.zeros(len(np.asarray(x)))
    previous = np.zeros_like(det)
    for t in steps:
        current = expected_purchases(bgnbd, t, x, t_x, T, given_alive)
        det += (current - previous) / (1.0 + monthly_discount) ** (t / DAYS_PER_MONTH)
        previous = current
    return np.asarray(spend, dtype=np.float64) * det


def days_to_next_order(
    fit: BGNBDFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, horizon_days: float = 365.0
) -> np.ndarray:
    """Days after T by which one repeat purchase is expected: the t with E[Y(t) | ·] = 1.

    NaN when fewer than one purchase is expected within the horizon (a likely lapsed or very
    rare buyer). E[Y(t)] grows with t, so a vectorised bisection to a quarter of a day finds t.
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    out = np.full(len(x), np.nan)
    reach = expected_purchases(fit, horizon_days, x, t_x, T) >= 1.0
    if not reach.any():
        return out
    xs, txs, Ts = x[reach], t_x[reach], T[reach]
    low, high = np.zeros(len(xs)), np.full(len(xs), float(horizon_days))
    while np.max(high - low) > 0.25:
        mid = (low + high) / 2.0
        above = expected_purchases(fit, mid, xs, txs, Ts) >= 1.0
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    out[reach] = high
    return out
