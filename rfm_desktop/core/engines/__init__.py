"""The engines that reduce transactions to one row per customer, and the choice among them.

Only this reduction grows with the rows; everything after it (scores, outliers, k-means, CLV)
works on customers. Each engine returns the same :class:`Reduced`: ``memory`` (pandas, the file
read whole by core.io; :mod:`.memory`), ``duckdb`` (embedded, streaming and out-of-core;
``duckdb_engine``) and ``spark`` (a cluster; ``spark_engine``). Their results are identical:
tests hold each engine against the in-memory one.
"""

from __future__ import annotations

import glob
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.file_types import kind_of
from rfm_desktop.core.params import ENGINES, AnalysisParams, CancelledFn, ProgressFn
from rfm_desktop.core.result import CleaningReport, RunWarning

#: ``engine "auto"`` reduces a single CSV/text file this large (bytes) or larger with DuckDB:
#: about 10 M rows of a typical export (~100 bytes a row). Below it the in-memory engine is as
#: fast or faster on this 2-core machine (2 M rows: 13 s in memory, 18 s with DuckDB, both under
#: load) and holds less than ~3.4 GB (some 340 bytes a row, measured at 10 M rows); above it its
#: memory keeps growing with the rows while DuckDB stays within its limit and spills.
AUTO_TEXT_BYTES = 1_000_000_000
#: ... and a Parquet file with this many rows or more (from its footer; Parquet compresses
#: 5-30 times, so its size in bytes says little about the rows). Measured on generated files
#: with `segment` defaults (2 cores, quiet): 100,000 and 300,000 rows take the same time with
#: either engine (2.3-2.6 s); at 1 M rows DuckDB takes 4.5 s and 0.39 GB against 5.4 s and
#: 0.70 GB in memory. (A CSV of 1 M rows, 101 MB: 6.1 s against 6.3 s, so its threshold stays
#: where a file that only the Python reader reads costs DuckDB's scan in vain least often.)
AUTO_PARQUET_ROWS = 1_000_000

#: Engines that are built in, by name -> module under ``rfm_desktop.core.engines`` whose
#: ``reduce(params, progress, cancelled) -> Reduced`` reads ``params.input_path`` itself.
#: The in-memory engine is not here: it reduces rows core.io has read (:mod:`.memory`).
READERS: dict[str, str] = {"duckdb": "duckdb_engine", "spark": "spark_engine"}


@dataclass(frozen=True)
class Reduced:
    """What an engine gives: the run's customers and everything known about the rows.

    ``customers`` is exactly what :func:`rfm_desktop.core.rfm.compute_rfm` returns for the clean
    rows (columns, dtypes, row order, values); ``report`` the cleaning report with every step's
    counts and examples and the missing-id comparison (outlier fields not yet set); ``warnings``
    the read and cleaning warnings, in the in-memory engine's order.
    """

    customers: pd.DataFrame
    report: CleaningReport
    snapshot: pd.Timestamp
    warnings: tuple[RunWarning, ...]
    #: the clean rows the CLV models need (customer_id, invoice_date, amount in the file's
    #: currency), when ``params.clv.enabled``; None otherwise
    value_rows: pd.DataFrame | None
    #: the engine that made it: "memory", "duckdb" or "spark"
    engine: str
    rows_read: int
    date_format: str
    input_sha256: str = ""  # of the bytes that were read
    input_size: int = 0  # bytes read


def is_many_files(path: str) -> bool:
    """True when ``path`` names a folder or a glob pattern (``sales/*.parquet``) rather than one
    file: only the DuckDB and Spark engines read those."""
    return Path(path).expanduser().is_dir() or glob.has_magic(path)


def choose(params: AnalysisParams, path: str | None = None) -> str:
    """The engine that reduces ``path`` (default ``params.input_path``) in this run.

    Parameters
    ----------
    params
        The run; ``params.engine`` is "auto", "memory", "duckdb" or "spark".
    path
        The input to decide for (a file, a folder or a glob pattern).

    Returns
    -------
    str
        ``params.engine`` when it names an engine; for "auto": "duckdb" for a folder or glob
        and for a CSV/text file of :data:`AUTO_TEXT_BYTES` or more or a Parquet file of
        :data:`AUTO_PARQUET_ROWS` rows or more (when the DuckDB engine is built in), "memory"
        otherwise. Workbooks are always "memory": a sheet holds at most 1,048,576 rows.

    Raises
    ------
    ParamsError
        An explicit engine that is not built in.
    """
    target = params.input_path if path is None else path
    if params.engine != "auto":
        if params.engine != "memory" and params.engine not in READERS:
            raise ParamsError(
                f"The {params.engine} engine is not available in this version.",
                hint="Run with --engine memory or --engine auto.",
            )
        return params.engine
    if "duckdb" not in READERS:
        return "memory"
    if is_many_files(target):
        return "duckdb"
    kind = kind_of(target)
    return "duckdb" if kind is not None and _large(Path(target), kind) else "memory"


def _large(path: Path, kind: str) -> bool:
    """Is this one file above the auto threshold of its kind (False when it cannot be told)?"""
    try:
        if kind == "text":
            return path.stat().st_size >= AUTO_TEXT_BYTES
        if kind == "parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(path).num_rows) >= AUTO_PARQUET_ROWS
    except (OSError, ValueError):  # unreadable: the in-memory reader says why, in its words
        return False
    return False


def reduce(
    name: str, params: AnalysisParams, progress: ProgressFn, cancelled: CancelledFn
) -> Reduced:
    """Reduce ``params.input_path`` with the engine ``name`` (one of :data:`READERS`).

    Parameters
    ----------
    name
        What :func:`choose` returned, not "memory" (that engine reduces rows read by core.io).
    params, progress, cancelled
        As in ``pipeline.run``.

    Returns
    -------
    Reduced
        The customers, cleaning report, snapshot and warnings.

    Raises
    ------
    ParamsError
        ``name`` is not a built-in reading engine.
    InputFileError, MappingError, DataError, Cancelled
        From the engine, as the in-memory path raises them.
    """
    if name not in READERS:
        raise ParamsError(f"The {name} engine is not available in this version.")
    module = importlib.import_module(f"{__name__}.{READERS[name]}")
    run: Callable[[AnalysisParams, ProgressFn, CancelledFn], Reduced] = module.reduce
    return run(params, progress, cancelled)


__all__ = ["ENGINES", "Reduced", "choose", "is_many_files", "reduce"]
