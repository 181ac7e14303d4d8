"""Benchmark 1: open the 541,909-row Online Retail workbook.

Generates the .xlsx once from ``shared/data/online_retail.parquet`` (with real date
cells, written with xlsxwriter) into ``~/.cache/rfm-desktop-bench/`` - outside the repo -
then times ``read_transactions`` (read cache disabled) against
``pandas.read_excel(engine="openpyxl")`` on the same file, alternating the two.
Goal: ours takes at most 0.07x the openpyxl time. Also prints the warm (cached) re-read.

Run: ``python benchmarks/bench_load_xlsx.py [--ours-runs 5] [--openpyxl-runs 2]``
(needs ``pip install xlsxwriter`` for the one-off generation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARQUET = ROOT.parent / "shared" / "data" / "online_retail.parquet"
BENCH_DIR = Path.home() / ".cache" / "rfm-desktop-bench"
XLSX = BENCH_DIR / "online_retail.xlsx"


def bench_xlsx_path() -> Path:
    """The benchmark workbook, written on first use."""
    if XLSX.exists():
        return XLSX
    import pandas as pd
    import xlsxwriter  # bench-only dependency

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    df = pd.read_parquet(PARQUET)
    dates = pd.to_datetime(df["InvoiceDate"]).dt.to_pydatetime()
    columns = list(df.columns)
    values = {c: df[c].tolist() for c in columns}
    tmp = XLSX.with_suffix(".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    sheet = book.add_worksheet("Online Retail")
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, columns)
    date_col = columns.index("InvoiceDate")
    for i in range(len(df)):
        for j, c in enumerate(columns):
            v = dates[i] if j == date_col else values[c][i]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, dt.datetime):
                sheet.write_datetime(i + 1, j, v, date_fmt)
            elif isinstance(v, str):
                sheet.write_string(i + 1, j, v)
            else:
                sheet.write_number(i + 1, j, v)
    book.close()
    tmp.replace(XLSX)
    return XLSX


def _time(fn) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds of one call; CPU time is steadier on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours-runs", type=int, default=5)
    parser.add_argument("--openpyxl-runs", type=int, default=2)
    args = parser.parse_args()

    path = bench_xlsx_path()
    with tempfile.TemporaryDirectory() as cache_dir:
        os.environ["RFM_DESKTOP_CACHE_DIR"] = cache_dir  # keep the bench out of the user's cache
        import fastexcel  # noqa: F401 - import time is not part of a read
        import pandas as pd

        from rfm_desktop.core.io import read_transactions

        print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        rows: list[int] = []
        for i in range(max(args.ours_runs, args.openpyxl_runs)):
            if i < args.ours_runs:
                ours.append(
                    _time(lambda: rows.append(read_transactions(path, use_cache=False).rows_read))
                )
                print(
                    f"  read_transactions (no cache) run {i + 1}: {ours[-1][0]:.2f} s (cpu {ours[-1][1]:.2f} s)"
                )
            if i < args.openpyxl_runs:
                theirs.append(
                    _time(lambda: rows.append(len(pd.read_excel(path, engine="openpyxl"))))
                )
                print(
                    f"  pandas.read_excel(openpyxl) run {i + 1}: {theirs[-1][0]:.2f} s (cpu {theirs[-1][1]:.2f} s)"
                )

        read_transactions(path)  # fills the cache
        warm = [_time(lambda: read_transactions(path)) for _ in range(5)]

    (ours_wall, ours_cpu), (theirs_wall, theirs_cpu) = _medians(ours), _medians(theirs)
    print(f"rows: {sorted(set(rows))}")
    print(
        f"read_transactions, cold (no cache), median of {len(ours)}: {ours_wall:.2f} s (cpu {ours_cpu:.2f} s)"
    )
    print(
        f"pandas.read_excel(engine='openpyxl'), median of {len(theirs)}: {theirs_wall:.2f} s "
        f"(cpu {theirs_cpu:.2f} s)"
    )
    ratio = ours_wall / theirs_wall
    print(
        f"ratio: {ratio:.3f}x wall, {ours_cpu / theirs_cpu:.3f}x cpu (goal <= 0.07x) -> "
        f"{'OK' if ratio <= 0.07 else 'TOO SLOW'}"
    )
    warm_wall, warm_cpu = _medians(warm)
    print(
        f"read_transactions, warm (cached), median of {len(warm)}: {warm_wall:.3f} s (cpu {warm_cpu:.3f} s)"
    )


if __name__ == "__main__":
    main()
