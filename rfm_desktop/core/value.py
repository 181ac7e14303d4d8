"""Customer value next to the segments: the CLV models (core.clv) fitted on a run's cleaned
rows, their per-customer predictions, revenue at risk per segment and cluster, the
frequency-recency matrices and the calibration/holdout validation.

Revenue at risk
---------------
For each *active buyer* — a customer with at least one repeat purchase day whose last purchase
lies within the horizon (``horizon_days``) before the end of the data — the value at risk is
(1 − P(alive)) × the discounted value the customer would bring over the horizon if still active
(:func:`core.clv.predicted_clv` with ``given_alive``). Other customers carry none: one-time buyers
cannot have dropped out in BG/NBD (P(alive) = 1), and customers silent for longer than the
horizon are lost already rather than at risk. A segment's revenue at risk is the sum over its
customers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rfm_desktop.core import clv
from rfm_desktop.core.errors import ModelError, ParamsError
from rfm_desktop.core.params import ValueOptions

#: Per-customer columns added to the customer table (customers.csv, the GUI's customer table).
CUSTOMER_COLUMNS = (
    "p_alive",
    "expected_purchases",
    "expected_avg_spend",
    "predicted_clv",
    "revenue_at_risk",
    "expected_next_order",
)
#: Per-group columns, for segments and clusters.
GROUP_COLUMNS = (
    "customers",
    "predicted_clv_sum",
    "predicted_clv_mean",
    "customers_p_alive_below_half",
    "revenue_at_risk",
)
ACTIVE_BUYER = (
    "a customer with at least one repeat purchase day whose last purchase is within the "
    "horizon before the end of the data"
)
#: Repeat purchases per frequency bucket in the validation: 0 … 6 and "7+", as in the paper.
_BUCKETS = 7
#: Largest repeat count shown in the frequency-recency matrices, and their recency steps.
_MATRIX_MAX_X, _MATRIX_STEPS = 30, 16
#: Below this mean dropout chance per purchase, a/(a+b), the data barely show dropout (CDNOW:
#: 0.25); the fit is then close to its no-dropout limit (NBD) and the analyst is told so.
LOW_DROPOUT = 0.005
#: Fewest holdout days for a validation worth reading.
_MIN_HOLDOUT_DAYS = 7


@dataclass
class ValueAnalysis:
    """The fitted models, per-customer values (indexed by customer_id), matrices and validation."""

    bgnbd: clv.BGNBDFit
    gamma_gamma: clv.GammaGammaFit
    options: ValueOptions
    end: pd.Timestamp  # end of the observation (midnight, exclusive)
    customers: pd.DataFrame  # CUSTOMER_COLUMNS, index customer_id
    spend_frequency_r: float  # Pearson r of repeat purchases and mean repeat spend
    matrices: dict[str, object]
    validation: dict[str, object] | None
    seconds: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


def observation_end(rows: pd.DataFrame, snapshot: pd.Timestamp) -> pd.Timestamp:
    """The end of the data for the models: midnight after the snapshot day or after the last
    purchase day, whichever is later (a snapshot on the last purchase day keeps that day)."""
    last = rows["invoice_date"].max().normalize() + pd.Timedelta(days=1)
    return max(snapshot.normalize(), last)


#: The longest history the models take, in days: their day counts are differences of
#: nanosecond timestamps, which overflow past 292 years (a file's dates may lie anywhere in
#: 1900-2199, where RFM still works: core.rfm.whole_days).
_MAX_SPAN_DAYS = 290 * 365


def _check_span(rows: pd.DataFrame, snapshot: pd.Timestamp) -> None:
    """Raise ModelError when the purchases and the snapshot span more than
    :data:`_MAX_SPAN_DAYS` (a stray date such as 1900-01-01 beside this decade's orders)."""
    days = rows["invoice_date"].dropna().to_numpy().astype("datetime64[D]")
    if not len(days):
        return
    first = days.min()
    latest = max(days.max(), pd.Timestamp(snapshot).to_datetime64().astype("datetime64[D]"))
    if int((latest - first).astype(np.int64)) > _MAX_SPAN_DAYS:
        raise ModelError(
            f"Customer lifetime value needs purchases within 290 years; these run from "
            f"{first} to {latest}.",
            hint="Check the date column for stray dates (the far-dates warning names them), "
            "or run without customer lifetime value.",
        )


def analyse(rows: pd.DataFrame, snapshot: pd.Timestamp, options: ValueOptions) -> ValueAnalysis:
    """Fit BG/NBD and Gamma-Gamma on the cleaned rows and predict each customer's value.

    Parameters
    ----------
    rows
        Cleaned transactions: customer_id, invoice_date, amount (the file's currency).
    snapshot
        The run's snapshot date (see :func:`observation_end`).
    options
        Horizon (days), monthly discount rate, calibration end.

    Returns
    -------
    ValueAnalysis; per-customer values are in days and the file's currency, expected_next_order
    a date (NaT when less than one purchase is expected within the horizon).

    Raises
    ------
    ModelError
        A model cannot be fitted (core.clv), or the purchases span more than 290 years.
    ParamsError
        The calibration end is not inside the data.
    """
    started = time.perf_counter()
    _check_span(rows, snapshot)
    end = observation_end(rows, snapshot)
    inputs = clv.summarise(rows, end)
    x, t_x, T, m = (inputs[c].to_numpy(np.float64) for c in ("x", "t_x", "T", "m"))
    bgnbd = clv.fit_bgnbd(x, t_x, T)
    spend_fit = clv.fit_gamma_gamma(x, m)
    horizon, rate = float(options.horizon_days), options.discount_rate
    spend = clv.expected_avg_spend(spend_fit, x, m)
    alive = clv.p_alive(bgnbd, x, t_x, T)
    # E[Y(t) | ·] = P(alive) · E[Y(t) | alive] for every t, so CLV is P(alive) · CLV if alive
    if_alive = clv.predicted_clv(bgnbd, spend, x, t_x, T, horizon, rate, given_alive=True)
    value = alive * if_alive
    active = (x > 0) & (T - t_x <= horizon)
    next_days = clv.days_to_next_order(bgnbd, x, t_x, T, horizon)
    customers = pd.DataFrame(
        {
            "p_alive": alive,
            "expected_purchases": clv.expected_purchases(bgnbd, horizon, x, t_x, T),
            "expected_avg_spend": spend,
            "predicted_clv": value,
            "revenue_at_risk": np.where(active, (1.0 - alive) * if_alive, 0.0),
            "expected_next_order": end + pd.to_timedelta(np.ceil(next_days), unit="D"),
        },
        index=inputs.index,
    )
    repeat = (x > 0) & np.isfinite(m) & (m > 0)
    r = float(np.corrcoef(x[repeat], m[repeat])[0, 1]) if repeat.sum() > 2 else float("nan")
    warnings = []
    dropout = bgnbd.a / (bgnbd.a + bgnbd.b)
    if dropout < LOW_DROPOUT:
        warnings.append(
            f"The purchase model finds almost no customers dropping out (mean chance "
            f"{dropout:.2%} after each purchase): P(alive) stays near 1 and revenue at risk near "
            "0, and long-silent customers count as slow buyers. A longer purchase history tells "
            "lapsed from slow customers apart."
        )
    if abs(r) > clv.SPEND_FREQUENCY_CORRELATION_LIMIT:
        warnings.append(
            f"Spend per order and number of orders are correlated (r = {r:.2f}); the spend model "
            "assumes they are not, so predicted CLV is less reliable."
        )
    validation = None
    if options.calibration_end:
        try:
            validation = validate(rows, end, pd.Timestamp(options.calibration_end))
        except ModelError as exc:  # the predictions stand; only their check is missing
            validation = {"calibration_end": options.calibration_end, "error": exc.message}
            warnings.append(
                f"No validation: the models could not be fitted on the purchases before "
                f"{options.calibration_end}. {exc.message}"
            )
    return ValueAnalysis(
        bgnbd,
        spend_fit,
        options,
        end,
        customers,
        r,
        matrices(bgnbd, float(T.max()), int(x.max()), horizon),
        validation,
        time.perf_counter() - started,
        tuple(warnings),
    )


def group_table(customers: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per ``by`` (``rfm_segment`` or ``cluster_name``): customers, predicted CLV sum and mean,
    customers with P(alive) < 0.5 and revenue at risk (the file's currency), ranked by revenue
    at risk, highest first."""
    grouped = customers.groupby(by, observed=True, sort=False)
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "predicted_clv_sum": grouped["predicted_clv"].sum(),
            "predicted_clv_mean": grouped["predicted_clv"].mean(),
            "customers_p_alive_below_half": grouped["p_alive"].apply(
                lambda p: int((p < 0.5).sum())
            ),
            "revenue_at_risk": grouped["revenue_at_risk"].sum(),
        }
    )
    table = table.sort_values(["revenue_at_risk", "predicted_clv_sum"], ascending=False)
    return table.rename_axis(by).reset_index()


def matrices(fit: clv.BGNBDFit, T: float, max_x: int, horizon: float) -> dict[str, object]:
    """P(alive) and expected purchases over the horizon for a customer observed for ``T`` days,
    by repeat purchases (rows, 1 … min(max_x, 30)) and days since the last purchase (columns,
    0 … T). One-time buyers are not shown: the model gives them P(alive) = 1."""
    xs = np.arange(1, max(1, min(max_x, _MATRIX_MAX_X)) + 1, dtype=np.float64)
    since = np.unique(np.round(np.linspace(0.0, T, _MATRIX_STEPS)))
    grid_x, grid_since = np.meshgrid(xs, since, indexing="ij")
    t_x, t_all = T - grid_since, np.full(grid_x.shape, T)
    alive = clv.p_alive(fit, grid_x.ravel(), t_x.ravel(), t_all.ravel()).reshape(grid_x.shape)
    expected = clv.expected_purchases(
        fit, horizon, grid_x.ravel(), t_x.ravel(), t_all.ravel()
    ).reshape(grid_x.shape)
    return {
        "T_days": T,
        "repeat_purchases": xs.astype(int).tolist(),
        "days_since_last_purchase": since.astype(int).tolist(),
        "p_alive": np.round(alive, 6).tolist(),
        "expected_purchases": np.round(expected, 6).tolist(),
    }


def validate(
    rows: pd.DataFrame, end: pd.Timestamp, calibration_end: pd.Timestamp
) -> dict[str, object]:
    """Fit on the purchases before ``calibration_end`` and compare with the repeat purchase days
    from it to ``end`` of the customers first seen before it (Fader, Hardie & Lee 2005, figs. 2-3).

    Returns
    -------
    dict with the calibration fit, holdout length (days), the totals, ``by_frequency`` (mean
    actual and predicted holdout purchases per calibration repeat count 0 … 6, "7+") and
    ``cumulative`` (per week from the first purchase: actual and expected cumulative repeat
    purchases of those customers, calibration and holdout).

    Raises
    ------
    ParamsError
        The calibration end leaves fewer than 7 days on either side.
    ModelError
        A model cannot be fitted on the calibration purchases.
    """
    first_day = rows["invoice_date"].min().normalize()
    holdout = (end - calibration_end).days
    if (calibration_end - first_day).days < _MIN_HOLDOUT_DAYS or holdout < _MIN_HOLDOUT_DAYS:
        raise ParamsError(
            f"The calibration end {calibration_end.date()} must leave at least "
            f"{_MIN_HOLDOUT_DAYS} days of data on each side ({first_day.date()} … "
            f"{(end - pd.Timedelta(days=1)).date()}).",
            hint="Choose a calibration end inside the data, e.g. two thirds of the way through.",
        )
    calibration = clv.summarise(rows, calibration_end)
    x, t_x, T = (calibration[c].to_numpy(np.float64) for c in ("x", "t_x", "T"))
    fit = clv.fit_bgnbd(x, t_x, T)
    spend_fit = clv.fit_gamma_gamma(x, calibration["m"].to_numpy(np.float64))

    known = rows.loc[rows["customer_id"].astype("string").isin(calibration.index)]
    days = (
        pd.DataFrame(
            {
                "customer_id": known["customer_id"].astype("string").to_numpy(),
                "day": known["invoice_date"].dt.normalize().to_numpy(),
            }
        )
        .drop_duplicates()
        .loc[lambda d: d["day"] < end]
    )
    later = days.loc[days["day"] >= calibration_end].groupby("customer_id").size()
    actual = later.reindex(calibration.index, fill_value=0).to_numpy(np.float64)
    predicted = clv.expected_purchases(fit, float(holdout), x, t_x, T)
    bucket = np.minimum(x, _BUCKETS).astype(int)
    by_frequency = [
        {
            "repeat_purchases": str(b) if b < _BUCKETS else f"{_BUCKETS}+",
            "customers": int((bucket == b).sum()),
            "actual_mean": float(actual[bucket == b].mean()),
            "predicted_mean": float(predicted[bucket == b].mean()),
        }
        for b in range(_BUCKETS + 1)
        if (bucket == b).any()
    ]
    return {
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_days": holdout,
        "customers": len(calibration),
        "bgnbd": fit.to_dict(),
        "gamma_gamma": spend_fit.to_dict(),
        "holdout_actual": float(actual.sum()),
        "holdout_predicted": float(predicted.sum()),
        "by_frequency": by_frequency,
        "cumulative": _cumulative(fit, days, calibration, first_day, end, calibration_end),
    }


def _cumulative(
    fit: clv.BGNBDFit,
    days: pd.DataFrame,
    calibration: pd.DataFrame,
    first_day: pd.Timestamp,
    end: pd.Timestamp,
    calibration_end: pd.Timestamp,
) -> list[dict[str, object]]:
    """Weekly actual and expected cumulative repeat purchases since ``first_day``: expected =
    Σ over customers of E[X(d − first purchase)] (eq. 9), grouped by first purchase day."""
    start = days.groupby("customer_id")["day"].transform("min")
    repeat_days = np.sort(((days["day"] - first_day).dt.days).to_numpy()[days["day"] > start])
    # first purchase day of each calibration customer, in days from first_day
    cohort = ((calibration_end - first_day).days - calibration["T"]).to_numpy(np.int64)
    offsets, counts = np.unique(cohort, return_counts=True)
    total = (end - first_day).days
    points = np.unique(np.append(np.arange(7, total, 7), total))
    rows = []
    for d in points:
        ages = np.maximum(d - offsets, 0).astype(np.float64)
        expected = float(counts @ clv.expected_new_customer_purchases(fit, ages))
        rows.append(
            {
                "day": int(d),
                "date": (first_day + pd.Timedelta(days=int(d))).date().isoformat(),
                "actual": int(np.searchsorted(repeat_days, d, side="left")),
                "expected": round(expected, 3),
                "holdout": bool(first_day + pd.Timedelta(days=int(d)) > calibration_end),
            }
        )
    return rows


def to_dict(analysis: ValueAnalysis, customers: pd.DataFrame) -> dict[str, object]:
    """clv.json: the fits, the options, revenue at risk per segment and cluster (ranked), the
    matrices and the validation. ``customers``: the result's table with the value columns."""

    def records(by: str) -> list[dict[str, object]]:
        table = group_table(customers, by)
        return [
            {k: (v if isinstance(v, str) else _num(v)) for k, v in row.items()}
            for row in table.to_dict("records")
        ]

    options = analysis.options
    return {
        "bgnbd": analysis.bgnbd.to_dict(),
        "gamma_gamma": analysis.gamma_gamma.to_dict(),
        "horizon_days": options.horizon_days,
        "monthly_discount_rate": options.discount_rate,
        "observation_end": analysis.end.date().isoformat(),
        "active_buyer": ACTIVE_BUYER,
        "spend_frequency_correlation": _num(analysis.spend_frequency_r),
        "seconds": round(analysis.seconds, 3),
        "totals": {
            "predicted_clv": _num(customers["predicted_clv"].sum()),
            "revenue_at_risk": _num(customers["revenue_at_risk"].sum()),
            "customers_p_alive_below_half": int((customers["p_alive"] < 0.5).sum()),
        },
        "segments": records("rfm_segment"),
        "clusters": records("cluster_name"),
        "matrices": analysis.matrices,
        "validation": analysis.validation,
    }


def _num(value: object) -> float | int | None:
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)  # type: ignore[arg-type]
    return round(number, 6) if np.isfinite(number) else None
