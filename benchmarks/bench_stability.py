"""What the stability check (core.stability) adds to the K sweep and the final fit.

Real data: the default analysis's features (log1p, standard, 4,338 customers), the sweep K=2..10
plus the final K's per-cluster check, with 0 and with 20 resamples, alternating runs.
1 M customers: the real customers' scaled features drawn a million times with a little noise
(the subsamples are capped at core.stability.SAMPLE_LIMIT, so the check's cost does not grow
with the customers; the sweep's does). Prints wall and CPU seconds (the machine is shared, CPU
time is the steadier figure) and their medians.

    python benchmarks/bench_stability.py [--runs 3] [--resamples N (default: the product default)]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import median, require_real_data

from rfm_desktop.core import clustering, io, pipeline, stability
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions


def sweep_and_final(x: np.ndarray, options: ClusteringOptions) -> tuple[float, float]:
    """Wall and CPU seconds of the sweep (with its per-K check) and the final K's check."""
    wall, cpu = time.perf_counter(), time.process_time()
    basis = clustering.SilhouetteBasis.build(x, options.seed)
    stability_of = None
    refits: dict = {}  # as the pipeline does: the final K reuses the sweep's refits of that K
    if options.stability_resamples:

        def stability_of(x, labels, k):
            return stability.check_k(
                x, labels, k, options.seed, options.stability_resamples, refits=refits
            )

    sweep = clustering.evaluate(x, options, basis, stability_of=stability_of)
    labels, _, _ = clustering.fit_kmeans(x, sweep.suggested_k, options.seed)
    if options.stability_resamples:
        stability.check_k(
            x,
            labels,
            sweep.suggested_k,
            options.seed,
            options.stability_resamples,
            per_cluster=True,
            refits=refits,
        )
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(name: str, x: np.ndarray, runs: int, resamples: int) -> None:
    figures: dict[int, list[tuple[float, float]]] = {0: [], resamples: []}
    for _ in range(runs):
        for b in figures:
            figures[b].append(sweep_and_final(x, ClusteringOptions(stability_resamples=b)))
    for b, values in figures.items():
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        print(
            f"{name}: {len(x):,} customers, {b:>2} resamples: wall median {median(walls):.2f} s "
            f"({', '.join(f'{w:.2f}' for w in walls)}), CPU median {median(cpus):.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=ClusteringOptions().stability_resamples)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    path = str(require_real_data())
    prepared = pipeline.prepare(io.read_transactions(path), AnalysisParams(input_path=path))
    x = prepared.features.scaled
    compare("real data", x, args.runs, args.resamples)
    if not args.skip_million:
        rng = np.random.default_rng(1)
        big = x[rng.integers(0, len(x), 1_000_000)] + rng.normal(0, 0.05, (1_000_000, x.shape[1]))
        compare("1 M", np.ascontiguousarray(big), args.runs, args.resamples)


if __name__ == "__main__":
    main()
