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
