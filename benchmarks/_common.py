"""Shared helpers for the benchmark scripts: the real data path and robust timing."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "data" / "online_retail.parquet"


def require_real_data() -> Path:
    if not REAL_DATA.exists():
        sys.exit(f"real data not found at {REAL_DATA}; this benchmark needs it")
    return REAL_DATA


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cpu_timed(fn: Callable[[], object]) -> float:
    """CPU seconds of the process (all its threads) while ``fn`` runs."""
    started = time.process_time()
    fn()
    return time.process_time() - started


def median(values: list[float]) -> float:
    return statistics.median(values)
