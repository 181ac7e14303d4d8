"""Benchmark (issue 15): everything after the reduction, at 1 M and 5 M customers.

The reduction (transactions -> one row per customer, core.engines) is measured by
bench_scale.py; this one times what follows it in `segment`: `pipeline.run` (scores, rules, the
K sweep with its four indices and stability, the final fit, assembly) and `export.export_all`
(customers.csv, the per-cluster and per-segment files, summary.json, run.json).

Each size is a generated parquet file (`write_sample`, seed 11, cached in $RFM_BENCH_DIR or
~/.cache/rfm-desktop-bench, as bench_scale.py does) reduced once with `--engine duckdb` and its
`Reduced` pickled next to it; every run is a fresh process that loads the pickle, then runs and
exports with the CLI's defaults. Printed per run: wall and CPU seconds of the run and of the
export, and the process's peak RSS (which includes the loaded customers, as in a real run).
Default sizes: 10 M rows / 1 M customers and 28 M rows / 5 M customers (the generator gives a
customer at most one id per four rows with an id).

    python benchmarks/bench_after_reduction.py [--runs 3] [--rows 10000000 28000000]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median
from bench_scale import CACHE, data_file

CUSTOMERS = {10_000_000: 1_000_000, 28_000_000: 5_000_000}

#: what one run does, in a fresh process: (pickle, output folder) -> figures as JSON
CHILD = """
import json, os, pickle, resource, sys, time
from rfm_desktop.core import clustering, export, pipeline
with open(sys.argv[1], "rb") as handle:
    params, reduced = pickle.load(handle)
clustering.import_models()  # the CLI imports scikit-learn while it reduces the rows
figures = {}
wall, cpu = time.perf_counter(), time.process_time()
result = pipeline.run(params, reduced=reduced)
figures["run"] = (time.perf_counter() - wall, time.process_time() - cpu)
wall, cpu = time.perf_counter(), time.process_time()
export.export_all(result, sys.argv[2])
figures["export"] = (time.perf_counter() - wall, time.process_time() - cpu)
try:  # this process's own high-water mark: ru_maxrss keeps the parent's across fork and exec
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    figures["peak_gb"] = int(hwm.split()[1]) / 1e6
except OSError:
    figures["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
figures["customers"] = result.customer_count
print(json.dumps(figures))
"""


def reduced_file(rows: int, customers: int) -> Path:
    """The pickled (params, Reduced) of the generated file, reduced once with DuckDB."""
    path = CACHE / f"reduced_{rows}_{customers}.pickle"
    if not path.exists():
        from rfm_desktop import cli
        from rfm_desktop.core import pipeline

        source = data_file(rows, customers)
        args = cli.build_parser().parse_args(
            ["segment", str(source), "--out", "unused", "--engine", "duckdb"]
        )
        params = cli.params_from_args(args)
        started = time.perf_counter()
        reduced = pipeline.reduce(params)
        with open(path, "wb") as handle:
            pickle.dump((params, reduced), handle, protocol=5)
        print(f"reduced {source.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def run_once(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), out],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", type=int, default=sorted(CUSTOMERS))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for rows in args.rows:
        path = reduced_file(rows, CUSTOMERS.get(rows, rows // 10))
        runs = []
        for _ in range(args.runs):
            figures = run_once(path)
            runs.append(figures)
            print(
                f"{figures['customers']:,} customers: run {figures['run'][0]:.2f} s "
                f"(CPU {figures['run'][1]:.2f}), export {figures['export'][0]:.2f} s "
                f"(CPU {figures['export'][1]:.2f}), peak {figures['peak_gb']:.2f} GB, "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        total = [r["run"][0] + r["export"][0] for r in runs]
        cpu = [r["run"][1] + r["export"][1] for r in runs]
        print(
            f"{runs[0]['customers']:,} customers: median run + export {median(total):.2f} s "
            f"(CPU {median(cpu):.2f} s), median peak {median([r['peak_gb'] for r in runs]):.2f} GB"
        )


if __name__ == "__main__":
    main()
