"""Customer lifetime value: fit and predict on the real data and on 1,000,000 simulated customers.

    python benchmarks/bench_clv.py [--customers 1000000] [--runs 3]

Real data: the models on the cleaned rows of the run (``core.value.analyse``: per-day inputs,
BG/NBD and Gamma-Gamma fits from three starts each, every per-customer value, the matrices),
and lifetimes' BetaGeoFitter on the same inputs when it is installed (reference). Scale:
customers drawn from known BG/NBD and Gamma-Gamma parameters in whole days (the app's unit),
fitted and predicted.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import median, require_real_data

from rfm_desktop.core import clv, io, pipeline, value
from rfm_desktop.core.params import AnalysisParams, ValueOptions


def simulate(n: int, seed: int = 1) -> tuple[np.ndarray, ...]:
    """x, t_x, T (whole days) and mean repeat spend of ``n`` BG/NBD + Gamma-Gamma customers.

    The customer stops after the K-th repeat purchase (K geometric with the customer's dropout
    chance); with N purchases of the Poisson process in (0, T], x = min(N, K) and t_x is the x-th
    of N uniform times on (0, T] (a Beta order statistic), so nothing is drawn per purchase.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.8, 1 / 60.0, n)
    stops = rng.geometric(rng.beta(1.0, 5.0, n))
    T = rng.integers(1, 730, n).astype(np.float64)
    made = rng.poisson(lam * T)
    x = np.minimum(made, stops)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(made - x, 0) + 1.0), 0.0)
    nu = rng.gamma(3.0, 1 / 150.0, n)
    m = np.where(x > 0, rng.gamma(2.0 * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    return x.astype(np.float64), np.floor(t_x), T, m


def timed(fn) -> tuple[float, float]:
    """Wall-clock and CPU seconds of fn(): the machine is shared, so CPU time says more."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def shown(runs: list[tuple[float, float]]) -> str:
    return f"median {median([w for w, _ in runs]):.2f} s wall, {median([c for _, c in runs]):.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    path = require_real_data()
    params = AnalysisParams(input_path=str(path), clv=ValueOptions(enabled=True))
    clean, _ = pipeline.clean_rows(io.read_transactions(str(path)), params)
    snapshot = clean["invoice_date"].max() + np.timedelta64(1, "D")
    rows = clean[["customer_id", "invoice_date", "amount"]]
    seconds = [timed(lambda: value.analyse(rows, snapshot, params.clv)) for _ in range(args.runs)]
    print(f"real data, {rows['customer_id'].nunique():,} customers: analyse {shown(seconds)}")
    inputs = clv.summarise(rows, value.observation_end(rows, snapshot))
    x, t_x, T = (inputs[c].to_numpy(float) for c in ("x", "t_x", "T"))
    ours = [timed(lambda: clv.fit_bgnbd(x, t_x, T)) for _ in range(args.runs)]
    print(f"  BG/NBD fit {shown(ours)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes import BetaGeoFitter
    except ImportError:
        print("  lifetimes not installed: no reference")
    else:
        theirs = [timed(lambda: BetaGeoFitter().fit(x, t_x, T)) for _ in range(args.runs)]
        print(f"  lifetimes BetaGeoFitter {shown(theirs)}")

    x, t_x, T, m = simulate(args.customers)
    rows_unique = len(np.unique(np.column_stack([x, t_x, T]), axis=0))
    print(f"{args.customers:,} simulated customers ({rows_unique:,} distinct histories)")
    fits, spends, predictions = [], [], []
    for _ in range(args.runs):
        fits.append(timed(lambda: clv.fit_bgnbd(x, t_x, T)))
        spends.append(timed(lambda: clv.fit_gamma_gamma(x, m)))
    fit, spend_fit = clv.fit_bgnbd(x, t_x, T), clv.fit_gamma_gamma(x, m)

    def predict() -> None:
        spend = clv.expected_avg_spend(spend_fit, x, m)
        clv.p_alive(fit, x, t_x, T)
        clv.expected_purchases(fit, 365.0, x, t_x, T)
        clv.predicted_clv(fit, spend, x, t_x, T, given_alive=True)  # × P(alive): the CLV
        clv.days_to_next_order(fit, x, t_x, T)

    predictions = [timed(predict) for _ in range(args.runs)]
    print(
        f"  BG/NBD fit {shown(fits)}: r={fit.r:.3f} alpha={fit.alpha:.1f} a={fit.a:.3f} b={fit.b:.3f} (true 0.8, 60, 1, 5)"
    )
    print(
        f"  Gamma-Gamma fit {shown(spends)}: p={spend_fit.p:.2f} q={spend_fit.q:.2f} v={spend_fit.v:.1f} (true 2, 3, 150)"
    )
    print(f"  every per-customer value {shown(predictions)}")


if __name__ == "__main__":
    main()
