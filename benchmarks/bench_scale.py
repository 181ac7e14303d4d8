"""Benchmark 3: 1,000,000 customers / 10,000,000 rows end to end (goal <= 60 s, peak RSS <= 4 GB).

Generates the data once with the project's own generator (cached outside the repo), then runs
`rfm-desktop segment` with defaults in a fresh process under `/usr/bin/time -v` and prints the
wall time and peak RSS of each run, and their medians.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median

CACHE = Path(os.environ.get("RFM_BENCH_DIR", Path.home() / ".cache" / "rfm-desktop-bench"))


def data_file(rows: int, customers: int) -> Path:
    path = CACHE / f"sample_{rows}_{customers}.parquet"
    if not path.exists():
        from rfm_desktop.core.sample import write_sample

        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_sample(path, rows=rows, seed=11, customers=customers)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s")
    return path


def run_once(path: Path, extra: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            "/usr/bin/time",
            "-v",
            sys.executable,
            "-m",
            "rfm_desktop",
            "segment",
            str(path),
            "--out",
            out,
            "--quiet",
            *extra,
        ]
        started = time.perf_counter()
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"segment failed ({done.returncode}): {done.stderr[-2000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return wall, rss_kb / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = data_file(args.rows, args.customers)
    walls, peaks = [], []
    for i in range(args.runs):
        wall, peak = run_once(path, [])
        walls.append(wall)
        peaks.append(peak)
        print(f"run {i + 1}: {wall:.1f} s, peak RSS {peak:.2f} GB")
    print(f"{args.rows:,} rows / {args.customers:,} customers, segment defaults (K sweep 2..10)")
    print(
        f"median wall {median(walls):.1f} s (goal <= 60 s); max peak RSS {max(peaks):.2f} GB (goal <= 4 GB)"
    )


if __name__ == "__main__":
    main()
