"""Shared helpers for the benchmark scripts: the real data path and robust timing."""

from __future__ import annotations

import compileall
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


def compile_package() -> None:
    """Compile the package's modules to bytecode (``__pycache__``, ignored by git), as an
    installed app has them: pip writes them on install, PyInstaller bundles them, and Python
    writes them on the first run. A machine with PYTHONDONTWRITEBYTECODE set (this one) would
    otherwise compile every module from source in every measured process (some 0.1 s)."""
    compileall.compile_dir(ROOT / "rfm_desktop", quiet=1)
