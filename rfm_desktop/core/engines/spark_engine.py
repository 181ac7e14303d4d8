"""The Spark engine: transactions that live on a cluster (local paths, ``hdfs://``, ``s3a://``;
one file, a folder or a glob of Parquet or CSV files) reduced to one row per customer with
Spark DataFrame operations, then collected (Arrow) as the customer table.

Rows stay in Spark; what the in-memory engine decides per *value* (how a date or number is
written, which ids are placeholders, which status words are not a sale) is decided by the same
functions of :mod:`rfm_desktop.core.values` and :mod:`rfm_desktop.core.cleaning`, run on each
column's distinct values with their row counts and joined back (:func:`_lookup`). What grows
with the rows (filtering, the cleaning steps' counts, duplicates, the per-customer aggregation)
runs in Spark. Sums of money are taken in DECIMAL(38, 18) and converted once, so the result does
not depend on how the rows are split among tasks.

CSV files are read as the in-memory reader reads them: rows with more or fewer values than
headers are counted and skipped with its warning (Spark sets them aside as corrupt records), and
a quoted value may hold line breaks (``multiLine``).

Limits (said in README.md): CSV files are read with their header on the first line (a title
block above the headers needs ``--engine memory``); a CR LF line break within a quoted value is
read as LF; the order of day and month, when every date reads both ways, weighs the first
occurrence of each date.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
import warnings as pywarnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rfm_desktop.core import checks, cleaning, io, missing_ids, rfm, values
from rfm_desktop.core.engines import Reduced, memory
from rfm_desktop.core.engines.memory import kept_without_id
from rfm_desktop.core.engines.snapshot import as_of_day, as_of_label, nothing_before, snapshot_after
from rfm_desktop.core.errors import (
    Cancelled,
    DataError,
    InputFileError,
    MappingError,
    ParamsError,
    RFMError,
)
from rfm_desktop.core.file_types import kind_of
from rfm_desktop.core.mapping import resolve_mapping
from rfm_desktop.core.params import AnalysisParams, CancelledFn, ProgressFn
from rfm_desktop.core.result import CleaningReport, CleaningStep, RunWarning, as_warnings
from rfm_desktop.core.values import plural

#: The master when none is given: every core of this machine.
DEFAULT_MASTER = "local[*]"
#: Shuffle partitions of a local session (Spark's 200 are made for clusters: on a laptop each
#: costs scheduling time and a task for nearly no rows).
LOCAL_SHUFFLE_PARTITIONS = 8
#: Money is summed as this DECIMAL: exact for amounts of up to 20 digits before the point.
_MONEY = "decimal(38,18)"
_ROW = "_row"
_STAMP = "yyyy-MM-dd HH:mm:ss"  # a synthetic invoice's timestamp, as io._synthetic_invoices  # the row's place in the input (file name order, then row order within a file)
#: The column Spark puts a CSV row's text in when its number of values does not match the
#: headers (its corrupt-record column); such rows are skipped as the in-memory reader skips them.
_UNSPLIT = "_rfm_unsplit_row"

_session_lock = threading.Lock()
_session: Any = None  # pyspark.sql.SparkSession, one per process (Spark allows one context)
_session_master: str | None = None


class _Handoff(Exception):
    """The input needs what only the Python reader does (the reason, as "the file has ...")."""


# --------------------------------------------------------------------------- session


def _spark_modules() -> tuple[Any, Any]:
    """pyspark.sql and pyspark.sql.functions, or a ParamsError that says how to install them."""
    try:
        with pywarnings.catch_warnings():
            # pyspark warns at import that pandas 3 is newer than it was tested with; the engine
            # exchanges Arrow tables and plain values with it, not pandas objects
            pywarnings.simplefilter("ignore", FutureWarning)
            import pyspark.sql as sql
            import pyspark.sql.functions as functions
    except ImportError as exc:
        raise ParamsError(
            "The Spark engine needs PySpark, which is not installed.",
            hint="Install the extra: python -m pip install 'rfm-desktop[spark]' (and a Java 17+ "
            "runtime), or run with --engine memory or --engine duckdb.",
        ) from exc
    return sql, functions


def session(master: str = DEFAULT_MASTER) -> Any:
    """The process's SparkSession for ``master`` (started on first use, reused afterwards).

    Parameters
    ----------
    master
        ``local[*]``, ``local[2]``, ``spark://host:7077``, ``yarn``, ... (Spark's master URL).

    Returns
    -------
    pyspark.sql.SparkSession
        With UTC as the session time zone, quiet logs, no web UI, Arrow transfers and, for a
        local master, :data:`LOCAL_SHUFFLE_PARTITIONS` shuffle partitions.

    Raises
    ------
    ParamsError
        PySpark is not installed, no Java runtime is found, or the master cannot be reached.
    """
    global _session, _session_master
    sql, _ = _spark_modules()
    with _session_lock:
        if _session is not None and _session_master == master:
            return _session
        if shutil.which("java") is None and not _java_home():
            raise ParamsError(
                "The Spark engine needs a Java runtime (17 or later), and none was found.",
                hint="Install one (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless) or "
                "set JAVA_HOME, or run with --engine memory or --engine duckdb.",
            )
        if _session is not None:  # one SparkContext per process: the old master's goes
            _session.stop()
            _session = None
        builder = (
            sql.SparkSession.builder.appName("rfm-desktop")
            .master(master)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
            # parse every CSV column: with pruning, a row with too few or too many values is
            # not set aside as corrupt when a query reads only some columns
            .config("spark.sql.csv.parser.columnPruning.enabled", "false")
            # read CSV files in every encoding Java knows (Spark 4 accepts only UTF and ISO
            # 8859-1 by default; the reader finds Windows-1252 in many exports)
            .config("spark.sql.legacy.javaCharsets", "true")
        )
        if master.startswith("local"):
            builder = builder.config("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS)
            submit = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
            if "spark.driver.memory" not in submit and "--driver-memory" not in submit:
                # locally the driver JVM does the work: Spark's 1 GB default fails at 10 M rows
                builder = builder.config("spark.driver.memory", _local_driver_memory())
        try:
            spark = builder.getOrCreate()
        except Exception as exc:
            raise ParamsError(
                f"Spark could not start with the master '{master}': {_first_line(exc)}",
                hint="Check --spark-master (e.g. local[*], spark://host:7077, yarn) and that "
                "Java 17+ is installed.",
            ) from exc
        spark.sparkContext.setLogLevel("ERROR")
        _session, _session_master = spark, master
        return spark


def _local_driver_memory() -> str:
    """The local driver's heap: 4 GB, or half of this machine's memory when that is less.

    Measured at 10 M rows / 1 M customers (local[2]): 1 GB (Spark's default) fails; 4 GB
    completes with 6.1 GB peak RSS for Python and the JVM together; half of 24 GB (12 GB)
    is as fast but the JVM grows to 13.7 GB before it collects.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on every system (Windows)
        return "4g"
    return f"{max(1, min(4, total // 2 // 2**30))}g"


def _java_home() -> bool:
    home = os.environ.get("JAVA_HOME")
    return home is not None and (Path(home) / "bin" / "java").exists()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@contextmanager
def _cancel_watch(spark: Any, cancelled: CancelledFn) -> Iterator[None]:
    """Poll ``cancelled`` while Spark works; when it says so, cancel every running job."""
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            if cancelled():
                spark.sparkContext.cancelAllJobs()
                return

    watcher = threading.Thread(target=poll, name="spark-cancel", daemon=True)
    watcher.start()
    try:
        yield
    except (RFMError, _Handoff):
        raise
    except Exception as exc:
        if cancelled():
            raise Cancelled() from exc
        raise InputFileError(
            f"Spark could not read or reduce the input: {_first_line(exc)}"
        ) from exc
    finally:
        done.set()
        watcher.join()
    if cancelled():
        raise Cancelled()


# --------------------------------------------------------------------------- reading


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _input_kind(path: str) -> str:
    """ "parquet" or "text" by the name (of the glob or of the folder's files)."""
    kind = kind_of(path.rstrip("/*"))
    if kind is None and not _is_remote(path):
        local = Path(path).expanduser()
        names = sorted(local.iterdir()) if local.is_dir() else sorted(local.parent.glob(local.name))
        kinds = {kind_of(p.name) for p in names if kind_of(p.name) is not None}
        kind = kinds.pop() if len(kinds) == 1 else None
    if kind is None and _is_remote(path):
        kind = "parquet"  # a data-lake folder: parquet part files
    if kind not in ("parquet", "text"):
        raise InputFileError(
            f"'{path}' is not Parquet or CSV: the Spark engine reads Parquet and CSV files "
            "(one file, a folder or a glob).",
            hint="Use --engine memory for workbooks.",
        )
    return str(kind)


def _local_files(path: str) -> list[Path]:
    local = Path(path).expanduser()
    if local.is_dir():
        return sorted(p for p in local.iterdir() if kind_of(p.name) is not None)
    if local.exists():
        return [local]
    return sorted(local.parent.glob(local.name))


def _read(spark: Any, params: AnalysisParams, kind: str) -> tuple[Any, bool]:
    """The raw rows with the file's tidied headers, and whether numbers use a decimal comma.

    CSV rows carry :data:`_UNSPLIT`: the row's text when its number of values does not match
    the headers, else null."""
    path = params.input_path
    if not _is_remote(path):
        files = _local_files(path)
        if not files:
            raise InputFileError(f"File not found: '{Path(path).expanduser()}'.")
    if kind == "parquet":
        frame = spark.read.parquet(path)
        names = io._tidy_headers(
            frame.columns, [f"Column {i + 1}" for i in range(len(frame.columns))]
        )
        return frame.toDF(*names), False
    if _is_remote(path):
        head = "\n".join(
            r.value for r in spark.read.text(path).limit(io.HEADER_SEARCH_ROWS).collect()
        )
        sample, where = head.encode("utf-8"), Path(path.rsplit("/", 1)[-1])
    else:
        where = files[0]
        sample = io._head_bytes(where)
        if params.header_row not in (None, 1) or io._text_header_row(where, params.mapping or None):
            raise _Handoff("its column headers below the first line")
    sniffed = io._sniff(where, sample, 0)
    encoding = {"utf8": "UTF-8", "cp1252": "windows-1252", "latin-1": "ISO-8859-1"}.get(
        sniffed.encoding, sniffed.encoding
    )
    sql, _ = _spark_modules()
    schema = ", ".join(f"`{n.replace('`', '``')}` STRING" for n in [*sniffed.headers, _UNSPLIT])
    frame = spark.read.csv(
        path,
        schema=schema,
        header=True,
        sep=sniffed.delimiter,
        encoding=encoding,
        quote='"',
        escape='"',
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=_UNSPLIT,
        # a quoted value may hold line breaks, as the in-memory reader allows; Spark then reads
        # each file in one task (measured in README.md)
        multiLine=True,
        enforceSchema=True,
    )
    return frame, io._uses_decimal_comma(sniffed)


# --------------------------------------------------------------------------- values


@dataclasses.dataclass
class _Column:
    """A raw column turned into a canonical one: what reading it found."""

    parsed: Any  # pyspark Column expression name in the frame
    bad: int = 0
    first_bad: tuple[int, str] | None = None  # (_row, value as the file has it)
    label: str = ""
    note: str = ""


def _distinct(frame: Any, column: str) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The column's distinct non-null values in the order of their first row, their row counts
    and first rows."""
    _, F = _spark_modules()
    table = (
        frame.where(F.col(column).isNotNull())
        .groupBy(column)
        .agg(F.count(F.lit(1)).alias("_n"), F.min(_ROW).alias("_first"))
        .orderBy("_first")
        .toArrow()
    )
    rows = table.column("_n").to_numpy().astype(np.int64)
    first = table.column("_first").to_numpy().astype(np.int64)
    return table, rows, first


def _distinct_all(
    frame: Any, columns: list[str]
) -> dict[str, tuple[pa.Table, np.ndarray, np.ndarray]]:
    """:func:`_distinct` of several columns, one Spark job per column type (each job costs
    planning and scheduling time; the values of a type are stacked and grouped together)."""
    _, F = _spark_modules()
    types = dict(frame.dtypes)
    by_type: dict[str, list[str]] = {}
    for column in dict.fromkeys(columns):
        by_type.setdefault(types[column], []).append(column)
    out = {}
    for group in by_type.values():
        if len(group) == 1:
            out[group[0]] = _distinct(frame, group[0])
            continue
        cells = F.array(
            *(F.struct(F.lit(i).alias("k"), F.col(c).alias("v")) for i, c in enumerate(group))
        )
        table = (
            frame.select(F.explode(cells).alias("s"), F.col(_ROW).alias("r"))
            .select("s.k", "s.v", "r")
            .where(F.col("v").isNotNull())
            .groupBy("k", "v")
            .agg(F.count(F.lit(1)).alias("_n"), F.min("r").alias("_first"))
            .orderBy("k", "_first")
            .toArrow()
        )
        for i, column in enumerate(group):
            part = table.filter(pc.equal(table.column("k"), i))
            part = pa.table(
                {column: part.column("v"), "_n": part.column("_n"), "_first": part.column("_first")}
            )
            out[column] = (
                part,
                part.column("_n").to_numpy().astype(np.int64),
                part.column("_first").to_numpy().astype(np.int64),
            )
    return out


def _lookup(
    spark: Any,
    frame: Any,
    column: str,
    out: str,
    convert: Callable[[pa.ChunkedArray, np.ndarray], tuple[pa.Array, np.ndarray]],
    out_type: str,
    known: dict[str, tuple[pa.Table, np.ndarray, np.ndarray]] | None = None,
) -> tuple[Any, np.ndarray, pa.Table, np.ndarray, np.ndarray]:
    """``frame`` with ``out``: ``convert`` applied to the distinct values of ``column`` and joined
    back on the value (null stays null). ``convert(values, rows)`` gives the converted values
    and a per-value flag (e.g. bad); returned with the distinct values, rows and first rows.
    ``known``: the distinct values already collected (:func:`_distinct_all`)."""
    _, F = _spark_modules()
    if known is not None and column in known:
        table, rows, first = known[column]
    else:
        table, rows, first = _distinct(frame, column)
    raw = table.column(column)
    converted, flags = convert(raw, rows)
    key = f"_{out}_key"
    # several outputs: ``converted`` a dict of arrays, ``out_type`` "name type, name type"
    outputs = converted if isinstance(converted, dict) else {out: converted}
    lookup = pa.table({key: raw.combine_chunks(), **outputs})
    types = out_type if isinstance(converted, dict) else f"`{out}` {out_type}"
    schema = f"`{key}` {frame.schema[column].dataType.simpleString()}, {types}"
    joined_lookup = spark.createDataFrame(lookup, schema=schema)
    if len(lookup) < 200_000:
        joined_lookup = F.broadcast(joined_lookup)
    joined = frame.join(joined_lookup, frame[column] == joined_lookup[key], "left").drop(key)
    return joined, flags, table, rows, first


def _present(raw: pa.ChunkedArray, *, nan_present: bool = True) -> np.ndarray:
    """Values that are there (not blank): text not only spaces; NaN counts for numbers only."""
    arr = values._plain(values.as_arrow(raw))
    present = values._bools(arr.is_valid())
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        present &= ~values._bools(pc.equal(pc.utf8_trim_whitespace(arr), ""))
    elif pa.types.is_floating(arr.type) and not nan_present:
        present &= ~np.isnan(arr.to_numpy(zero_copy_only=False))
    return present


def _as_text(series: pd.Series) -> pa.Array:
    return pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())


# --------------------------------------------------------------------------- the engine


class _Run:
    """One reduction: the Spark frame of canonical rows and what was found on the way."""

    def __init__(self, spark: Any, params: AnalysisParams, progress: ProgressFn):
        self.spark = spark
        self.params = params
        self.progress = progress
        self.notes: list[str] = []
        self.filled: dict[str, int] = {}  # canonical field -> rows with a value
        self.skipped: tuple[int, str] | None = None  # CSV rows skipped, the first one's text
        self.F = _spark_modules()[1]

    # ---- reading into canonical columns

    def canonical(self) -> None:
        F = self.F
        kind = _input_kind(self.params.input_path)
        raw, comma = _read(self.spark, self.params, kind)
        headers = [c for c in raw.columns if c != _UNSPLIT]
        # internal names: a header may be a canonical name already ("country")
        self.internal = {h: f"_c{i}" for i, h in enumerate(headers)}
        raw = raw.toDF(*self.internal.values(), *raw.columns[len(headers) :])
        # in file order: a file is split in byte order and its parts numbered in that order
        raw = self._skip_unsplit(raw.withColumn(_ROW, F.monotonically_increasing_id()))
        try:
            chosen = resolve_mapping(headers, self.params.mapping or None)
        except MappingError as exc:
            raise io._with_header_hint(exc, headers) from None
        self.chosen = chosen
        inner = {f: self.internal[c] for f, c in chosen.items()}
        self.raw = raw
        raw = self._drop_non_sales(raw, inner, headers)
        self.progress(0.15, "Reading values")
        wanted = list(inner.values())
        self.known = _distinct_all(raw, wanted)
        frame, self.dates = self._dates(raw, inner["invoice_date"])
        frame, self.numbers, comma_used = self._numbers(frame, inner, comma)
        self.comma_used = comma_used
        frame = self._text_fields(frame, inner)
        frame = self._currency_marks(frame, inner)
        # a checkpoint ends the plan here: every later job starts from these rows, not from
        # the file and a dozen joins (planning those took longer than the work)
        flags = [f"_flag_{name}" for name in _VALUE_TESTS]
        self.rows = frame.select(*self._canonical_columns(), *flags, _ROW).localCheckpoint(
            eager=True
        )
        self.rows_read = self.rows.count()
        self._python_only(headers)

    def _skip_unsplit(self, raw: Any) -> Any:
        """io._SkippedRows in Spark: the CSV rows whose number of values does not match the
        headers are counted and left out, and the file stops as in io.check_split."""
        if _UNSPLIT not in raw.columns:
            return raw
        F = self.F
        unsplit = F.col(_UNSPLIT).isNotNull()
        found = raw.agg(
            F.sum(unsplit.cast("long")).alias("skipped"),
            F.count(F.lit(1)).alias("rows"),
            F.min_by(F.col(_UNSPLIT), F.when(unsplit, F.col(_ROW))).alias("first"),
            # not used: Spark refuses a query that reads the corrupt-record column alone
            F.count(raw.columns[0]),
        ).first()
        skipped = int(found["skipped"] or 0)
        name = Path(self.params.input_path.rstrip("/")).name
        io.check_split(name, int(found["rows"]) - skipped, skipped, len(raw.columns) - 2)
        if not skipped:
            return raw.drop(_UNSPLIT)
        self.skipped = (skipped, str(found["first"])[: io.SKIPPED_TEXT_CHARS])
        return raw.where(~unsplit).drop(_UNSPLIT)

    def _python_only(self, headers: list[str]) -> None:
        """Hand over what io._to_transactions does beyond reading values: blank customer ids,
        dates or amounts within an order (taken from, or counted once for, the order), and a
        customer column whose ids never repeat while another column might be the customer
        (checks.raw_table_notes). Without an invoice column, an order is a customer's
        timestamp (io._synthetic_invoices): an order total may still be blank on its later
        lines."""
        F = self.F
        if "invoice_id" in self.chosen or "amount" in self.chosen:
            mixed = (
                self.rows.where(F.col("invoice_id").isNotNull())
                .groupBy("invoice_id")
                .agg(
                    *(
                        (
                            F.max(F.col(c).isNull().cast("int"))
                            * F.max(F.col(c).isNotNull().cast("int"))
                        ).alias(c)
                        for c in ("customer_id", "invoice_date", "amount")
                    )
                )
                .agg(*(F.max(c).alias(c) for c in ("customer_id", "invoice_date", "amount")))
                .first()
            )
            if mixed["customer_id"] or mixed["invoice_date"]:
                raise _Handoff("order lines without customer id or date next to lines with them")
            if mixed["amount"] and "amount" in self.chosen:
                raise _Handoff("blank amounts (an order total on the order's first line only)")
        used = set(self.chosen.values())
        if any(h not in used and checks._looks_like_customer_key(h) for h in headers):
            most = (
                self.rows.where(F.col("customer_id").isNotNull() & F.col("invoice_id").isNotNull())
                .groupBy("customer_id")
                .agg(F.countDistinct("invoice_id").alias("n"))
                .agg(F.max("n"))
                .first()[0]
            )
            if most is not None and most <= 1:
                raise _Handoff(
                    "one order per customer (the reader looks for another customer column)"
                )

    def _currency_marks(self, frame: Any, inner: dict[str, str]) -> Any:
        """io._currency_from_marks: without a currency column, the marks in the money cells
        (``€12.00``) are the rows' currency."""
        F = self.F
        self.currency_source = self.chosen.get("currency")
        if "currency" in inner:
            return frame
        money = inner.get("amount") or inner.get("unit_price")
        if money is None:
            return frame

        def convert(raw: pa.ChunkedArray, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
            marks = values.currency_marks(raw)
            return _as_text(marks), marks.notna().to_numpy(dtype=bool)

        frame, marked, *_ = _lookup(
            self.spark, frame, money, "_mark", convert, "string", self.known
        )
        if not marked.any():
            return frame.drop("_mark")
        field = "amount" if "amount" in inner else "unit_price"
        mark = F.when(F.col(field).isNotNull(), F.col("_mark"))
        if frame.where(mark.isNotNull()).limit(1).count() == 0:
            return frame.drop("_mark")
        self.currency_source = self.chosen.get("amount") or self.chosen.get("unit_price")
        self.filled["currency"] = -1  # not known here: counted when needed
        frame = frame.withColumn("currency", mark).drop("_mark", "_flag_currency")
        return self._value_flag(
            frame,
            "currency",
            "_flag_currency",
            lambda v: _VALUE_TESTS["currency"](v, self.params.cleaning),
        )

    def _drop_non_sales(self, raw: Any, chosen: dict[str, str], headers: list[str]) -> Any:
        F = self.F
        columns = raw.columns[:-1]

        def blank(name: str) -> Any:
            col = F.col(f"`{name}`")
            if dict(raw.dtypes)[name] == "string":
                return col.isNull() | (F.trim(col) == "")
            return col.isNull()

        is_blank = F.lit(True)
        for name in columns:
            is_blank = is_blank & blank(name)
        labels = dict.fromkeys(
            [*(chosen[f] for f in ("customer_id", "invoice_id", "invoice_date") if f in chosen)]
            + [columns[0]]
        )
        pattern = values._TOTAL_LABEL
        total = F.lit(False)
        for name in labels:
            if dict(raw.dtypes)[name] == "string":
                trimmed = F.regexp_replace(F.col(f"`{name}`"), r"^\s+|\s+$", "")
                total = total | F.coalesce(trimmed.rlike(pattern), F.lit(False))
        total = total & ~is_blank
        flagged = raw.withColumn("_blank", is_blank).withColumn("_total", total)
        found = flagged.agg(
            F.sum(F.col("_blank").cast("long")).alias("blank"),
            F.sum(F.col("_total").cast("long")).alias("total"),
            F.min(F.when(F.col("_total"), F.col(_ROW))).alias("first"),
        ).first()
        blank_rows, total_rows = int(found["blank"] or 0), int(found["total"] or 0)
        if not (blank_rows or total_rows):
            return raw
        said = []
        if total_rows:
            row = flagged.where(F.col(_ROW) == found["first"]).first()
            label = next(
                str(row[c]).strip()
                for c in labels
                if row[c] is not None
                and values.total_labels(pa.array([str(row[c])]))[0]
                and dict(raw.dtypes)[c] == "string"
            )
            said.append(
                f"{plural(total_rows, 'total line')} of the report "
                f"(first: row {self.line(int(found['first']))}, '{label}')"
            )
        if blank_rows:
            said.append(plural(blank_rows, "empty row"))
        self.notes.append(f"Not read as sales: {' and '.join(said)}.")
        return flagged.where(~F.col("_blank") & ~F.col("_total")).drop("_blank", "_total")

    def line(self, row: int) -> int:
        """The line number the analyst sees for the row ``row`` (the headers are line 1)."""
        F = self.F
        before = self.raw.where(F.col(_ROW) < row)
        # the count names a column of the file: Spark refuses a query that reads the
        # corrupt-record column alone (which the filter of skipped rows reads)
        return 2 + int(before.agg(F.count(F.lit(1)), F.count(self.raw.columns[0])).first()[0])

    def _dates(self, frame: Any, column: str) -> tuple[Any, _Column]:
        order = self.params.date_order
        found: dict[str, str] = {}

        def convert(raw: pa.ChunkedArray, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
            parsed = values.to_dates(raw, order=order, rows=rows)
            found["label"], found["note"] = parsed.label, parsed.note
            ns = parsed.values.astype("datetime64[ns]").astype(np.int64)
            ok = ~np.isnat(parsed.values)
            bad = _present(raw, nan_present=False) & ~ok
            return pa.array(np.where(ok, ns, 0), pa.int64(), mask=~ok), bad

        frame, bad, table, rows, first = _lookup(
            self.spark, frame, column, "invoice_date", convert, "bigint", self.known
        )
        info = _Column("invoice_date", label=found.get("label", ""), note=found.get("note", ""))
        header = self.chosen["invoice_date"]
        info.bad = int(rows[bad].sum())
        if bad.any():
            i = int(np.flatnonzero(bad)[np.argmin(first[bad])])
            info.first_bad = (int(first[i]), str(table.column(column)[i].as_py()))
        if info.bad == int(rows.sum()) or len(rows) == 0:
            io._no_values(header, self._bad_value(header, info), "dates")
        if info.note:
            self.notes.append(f"Column '{header}' {info.note}")
        return frame, info

    def _numbers(
        self, frame: Any, chosen: dict[str, str], comma: bool
    ) -> tuple[Any, dict[str, _Column], bool]:
        F = self.F
        required = {"amount"} if "amount" in chosen else {"quantity", "unit_price"}
        out: dict[str, _Column] = {}
        comma_used = False
        for name in ("quantity", "unit_price", "amount"):
            if name not in chosen:
                frame = frame.withColumn(name, F.lit(None).cast("double"))
                continue
            found: dict[str, str] = {}

            def convert(
                raw: pa.ChunkedArray, rows: np.ndarray, found: dict[str, str] = found
            ) -> tuple[pa.Array, np.ndarray]:
                parsed = values.to_numbers(raw, decimal_comma=comma, rows=rows)
                found["label"] = parsed.label
                ok = ~np.isnan(parsed.values)
                return pa.array(parsed.values, pa.float64(), from_pandas=True), _present(raw) & ~ok

            frame, bad, table, rows, first = _lookup(
                self.spark, frame, chosen[name], name, convert, "double", self.known
            )
            self.filled[name] = int(rows.sum() - rows[bad].sum())
            info = _Column(name, label=found.get("label", ""))
            info.bad = int(rows[bad].sum())
            if bad.any():
                i = int(np.flatnonzero(bad)[np.argmin(first[bad])])
                info.first_bad = (int(first[i]), str(table.column(chosen[name])[i].as_py()))
            if name in required and (len(rows) == 0 or info.bad == int(rows.sum())):
                header = self.chosen[name]
                io._no_values(header, self._bad_value(header, info), "numbers")
            comma_used |= info.label == values.DECIMAL_COMMA
            out[name] = info
        if "amount" not in chosen:
            frame = frame.withColumn("amount", F.col("quantity") * F.col("unit_price"))
        return frame, out, comma_used

    def _text_fields(self, frame: Any, chosen: dict[str, str]) -> Any:
        F = self.F
        readers: dict[str, Callable[[pa.ChunkedArray], pd.Series]] = {
            "customer_id": values.to_customer_ids,
            "invoice_id": values.to_ids,
            "stock_code": values.to_ids,
            "description": values.to_text,
            "country": values.to_text,
            "status": values.to_text,
            "currency": values.to_text,
        }
        for name, reader in readers.items():
            if name not in chosen:
                frame = frame.withColumn(name, F.lit(None).cast("string"))
                continue

            def convert(
                raw: pa.ChunkedArray, rows: np.ndarray, reader: Any = reader, name: str = name
            ) -> tuple[Any, np.ndarray]:
                text = reader(raw)
                filled = text.notna().to_numpy(dtype=bool)
                self.filled[name] = int(rows[filled].sum())
                test = _VALUE_TESTS.get(name)
                if test is None:
                    return _as_text(text), filled
                flag = test(text, self.params.cleaning)
                return {name: _as_text(text), f"_flag_{name}": pa.array(flag)}, filled

            types = f"`{name}` string, `_flag_{name}` boolean"
            frame = _lookup(
                self.spark,
                frame,
                chosen[name],
                name,
                convert,
                types if name in _VALUE_TESTS else "string",
                self.known,
            )[0]
            if name in _VALUE_TESTS:
                frame = frame.withColumn(f"_flag_{name}", F.coalesce(f"_flag_{name}", F.lit(False)))
        for name in _VALUE_TESTS:
            if name not in chosen:
                frame = frame.withColumn(f"_flag_{name}", F.lit(False))
        if "invoice_id" not in chosen:
            stamp = F.date_format(F.expr("timestamp_micros(invoice_date div 1000)"), _STAMP)
            frame = frame.withColumn(
                "invoice_id",
                F.when(
                    F.col("customer_id").isNotNull() & F.col("invoice_date").isNotNull(),
                    F.concat_ws(" @ ", "customer_id", stamp),
                ),
            )
        return frame

    @staticmethod
    def _canonical_columns() -> list[str]:
        return list(io.CANONICAL_COLUMNS)

    def _bad_value(self, column: str, info: _Column) -> io.BadValue | None:
        if info.first_bad is None:
            return None
        row, value = info.first_bad
        return io.BadValue(column, self.line(row), value, info.bad)

    def read_warnings(self) -> list[str]:
        """What ``io.Transactions.warnings`` says for this input."""
        notes = list(self.notes)
        date_bad = self._bad_value(self.chosen["invoice_date"], self.dates)
        if date_bad is not None:
            notes.append(
                f"Column '{date_bad.column}' has {plural(date_bad.count, 'value')} that are not "
                f"dates, first in {date_bad.where}: '{date_bad.value}'."
            )
        firsts = [(i.first_bad, n, i) for n, i in self.numbers.items() if i.first_bad is not None]
        if firsts:
            _, name, info = min(firsts, key=lambda t: t[0][0] if t[0] else 0)
            bad = self._bad_value(self.chosen[name], info)
            total_bad = sum(i.bad for i in self.numbers.values())
            assert bad is not None
            total = "" if bad.count == total_bad else f" ({total_bad} in all columns)"
            notes.append(
                f"Column '{bad.column}' has {plural(bad.count, 'value')} that are not numbers"
                f"{total}, first in {bad.where}: '{bad.value}'."
            )
        if self.skipped is not None:
            notes.append(io.skipped_rows_note(*self.skipped))
        if "invoice_id" not in self.chosen:
            notes.append(
                "No invoice column: each customer and timestamp counts as one purchase, "
                "and cancellations cannot be recognised."
            )
        return notes

    # ---- cleaning

    def _order_level(
        self, frame: Any, column: str, out: str, filled: int | None = None, rows: int = 0
    ) -> Any:
        """``column`` on every line of an order: blank lines take the value (and the value's
        flag ``_flag_<column>``) of the order's first line that has one (as
        cleaning._order_level does). ``filled`` of ``rows`` lines have a value (None: count)."""
        F = self.F
        flag = f"_flag_{column}"
        if filled is None or filled < 0:
            known = frame.agg(F.count(column).alias("n"), F.count(F.lit(1)).alias("all")).first()
            filled, rows = int(known["n"]), int(known["all"])
        if filled in (0, rows):
            return frame.withColumn(out, F.col(column)).withColumn(f"{out}_flag", F.col(flag))
        firsts = (
            frame.where(F.col(column).isNotNull() & F.col("invoice_id").isNotNull())
            .groupBy("invoice_id")
            .agg(F.min_by(F.struct(column, flag), _ROW).alias("_order_value"))
        )
        joined = frame.join(firsts, "invoice_id", "left")
        have = F.col(column).isNotNull()
        return (
            joined.withColumn(
                out, F.when(have, F.col(column)).otherwise(F.col(f"_order_value.{column}"))
            )
            .withColumn(
                f"{out}_flag",
                F.when(have, F.col(flag)).otherwise(
                    F.coalesce(F.col(f"_order_value.{flag}"), F.lit(False))
                ),
            )
            .drop("_order_value")
        )

    def _value_flag(
        self, frame: Any, column: str, out: str, test: Callable[[pd.Series], np.ndarray]
    ) -> Any:
        """``out``: ``test`` on the distinct values of ``column`` (null: False)."""
        F = self.F

        def convert(raw: pa.ChunkedArray, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
            series = pd.Series(raw.to_pylist(), dtype="string")
            hits = np.asarray(test(series), dtype=bool)
            return pa.array(hits, pa.bool_()), hits

        joined = _lookup(self.spark, frame, column, out, convert, "boolean")[0]
        return joined.withColumn(out, F.coalesce(F.col(out), F.lit(False)))

    def clean(self) -> None:
        """Every cleaning step's row test as a column, then the counts in one pass."""
        F = self.F
        options = self.params.cleaning
        rows = self.rows
        filled = self.filled
        has_q, has_p = filled.get("quantity", 0) > 0, filled.get("unit_price", 0) > 0
        self.has_status = filled.get("status", 0) > 0
        invalid = F.col("invoice_date").isNull() | F.col("amount").isNull()
        if has_q:
            invalid = invalid | F.col("quantity").isNull()
        if has_p:
            invalid = invalid | F.col("unit_price").isNull()
        rows = rows.withColumn("f_invalid", invalid)
        rows = rows.withColumn("f_placeholder_ids", F.col("_flag_customer_id"))
        rows = rows.withColumn("f_missing_customer", F.col("customer_id").isNull())
        if self.has_status:
            rows = self._order_level(rows, "status", "_status", filled["status"], self.rows_read)
            rows = rows.withColumn("f_non_sale_status", F.col("_status_flag"))
        else:
            rows = rows.withColumn("f_non_sale_status", F.lit(False))
        money = F.col("quantity") if has_q else F.col("amount")
        cancel = (
            F.col("invoice_id").startswith("C") & (money < 0) & F.col("invoice_id").rlike(r"^C\d+$")
        )
        rows = rows.withColumn("f_cancellations", F.coalesce(cancel, F.lit(False)))
        if options.currency is not None:
            rows = self._order_level(
                rows, "currency", "_currency", filled.get("currency", 0), self.rows_read
            )
            rows = rows.withColumn("f_other_currency", F.col("_currency_flag"))
        else:
            rows = rows.withColumn("f_other_currency", F.lit(False))
        if has_q and has_p:
            nonpositive = (F.col("quantity") <= 0) | (F.col("unit_price") <= 0)
        else:
            nonpositive = F.col("amount") <= 0
        rows = rows.withColumn("f_nonpositive", F.coalesce(nonpositive, F.lit(False)))
        rows = rows.withColumn("f_non_product", F.col("_flag_stock_code"))
        keep = F.lit(True)
        for step in cleaning.STEPS[:-1]:
            if cleaning.is_on(step, options):
                keep = keep & ~F.col(f"f_{step.name}")
        if options.drop_duplicates:
            from pyspark.sql import Window

            twins = Window.partitionBy(F.col("_keep"), *io.CANONICAL_COLUMNS).orderBy(_ROW)
            rows = rows.withColumn("_keep", keep)
            rows = rows.withColumn(
                "f_duplicates", F.col("_keep") & (F.row_number().over(twins) > 1)
            ).drop("_keep")
        else:
            rows = rows.withColumn("f_duplicates", F.lit(False))
        self.flagged = rows.localCheckpoint(eager=True)
        self._count_steps()

    def _count_steps(self) -> None:
        F = self.F
        options = self.params.cleaning
        keep = F.lit(True)
        sums = []
        for step in cleaning.STEPS:
            if not cleaning.is_on(step, options):
                continue
            hit = keep & F.col(f"f_{step.name}")
            sums += [
                F.sum(hit.cast("long")).alias(f"n_{step.name}"),
                F.min(F.when(hit, F.col(_ROW))).alias(f"e_{step.name}"),
            ]
            keep = keep & ~F.col(f"f_{step.name}")
        self.keep = keep
        counts = self.flagged.agg(*sums).first() if sums else None
        examples = {
            int(counts[f"e_{s.name}"])
            for s in cleaning.STEPS
            if counts is not None
            and cleaning.is_on(s, options)
            and counts[f"e_{s.name}"] is not None
        }
        rows = self.examples(examples)
        removed = {
            step.name: (
                int(counts[f"n_{step.name}"] or 0),
                rows.get(int(counts[f"e_{step.name}"]))
                if counts[f"e_{step.name}"] is not None
                else None,
            )
            for step in cleaning.STEPS
            if counts is not None and cleaning.is_on(step, options)
        }
        steps = cleaning.counted_steps(self.rows_read, options, removed)
        self.report = CleaningReport(
            rows_read=self.rows_read,
            steps=tuple(steps),
            outlier_mode=options.outliers,
            warnings=tuple(
                cleaning.cancellation_notes(steps, self.rows_read) + self._frame_notes()
            ),
        )
        self.remaining = steps[-1].after

    def examples(self, wanted: set[int]) -> dict[int, pd.Series]:
        """The rows ``wanted`` (by ``_ROW``) as the in-memory frame holds them."""
        if not wanted:
            return {}
        F = self.F
        table = self.rows.where(F.col(_ROW).isin(sorted(wanted))).toArrow()
        out = {}
        for record in table.to_pylist():
            row = {c: record[c] for c in io.CANONICAL_COLUMNS}
            for c in ("quantity", "unit_price", "amount"):
                row[c] = np.nan if row[c] is None else float(row[c])
            date = row["invoice_date"]
            row["invoice_date"] = pd.NaT if date is None else pd.Timestamp(int(date), unit="ns")
            for c in io.CANONICAL_COLUMNS:
                if row[c] is None:
                    row[c] = pd.NA
            out[int(record[_ROW])] = pd.Series(row, dtype=object)
        return out

    def _frame_notes(self) -> list[str]:
        """cleaning._frame_notes: kept 'C' invoice ids, unknown status words."""
        F = self.F
        notes = []
        invoice = F.col("invoice_id")
        c_kept = (
            invoice.startswith("C")
            & invoice.rlike(r"^C(\d|[A-Z]{0,3}[-_/ .]?\d)")
            & ~invoice.contains(" @ ")
            & ~F.col("f_cancellations")
        )
        found = self.flagged.agg(
            F.sum(F.coalesce(c_kept, F.lit(False)).cast("long")).alias("n"),
            F.min_by(invoice, F.when(c_kept, F.col(_ROW))).alias("first"),
        ).first()
        if found["n"]:
            notes.append(
                f"{plural(int(found['n']), 'row')} have invoice ids that start with 'C' but do not "
                f"mark a cancellation (e.g. '{found['first']}'); they are not removed "
                "as cancellations. A cancellation is 'C' followed by digits, with a negative quantity."
            )
        if self.has_status:
            table = (
                self.flagged.where(F.col("_status").isNotNull())
                .groupBy("_status")
                .agg(F.count(F.lit(1)).alias("n"), F.min(_ROW).alias("first"))
                .orderBy("first")
                .toArrow()
                .to_pandas()
            )
            status = table["_status"].astype("string")
            words = cleaning._status_words(status)
            known = cleaning.SALE_STATUSES | cleaning.NOT_SALE_STATUSES
            unknown = (words.notna() & ~words.isin(known).fillna(False)).to_numpy(dtype=bool)
            if unknown.any():
                counts = (
                    pd.DataFrame({"v": status[unknown].str.strip(), "n": table["n"][unknown]})
                    .groupby("v", sort=False)["n"]
                    .sum()
                    .sort_values(ascending=False, kind="stable")
                )
                listed = ", ".join(
                    f"'{value}' ({plural(int(n), 'row')})" for value, n in counts.head(5).items()
                )
                notes.append(
                    f"Status values that say neither sale nor not-a-sale were kept: {listed}."
                )
        return notes

    # ---- after cleaning

    def clean_rows(self) -> Any:
        """The clean rows before the as-of date, with the as-of step in the report."""
        F = self.F
        clean = self.flagged.where(self.keep)
        day = as_of_day(self.params)
        if day is None:
            return clean
        cut = int(day.value)
        later = F.col("invoice_date") >= cut
        found = clean.agg(
            F.sum(later.cast("long")).alias("n"),
            F.min(F.when(later, F.col(_ROW))).alias("first"),
            F.min("invoice_date").alias("first_date"),
        ).first()
        removed = int(found["n"] or 0)
        kept = self.remaining - removed
        if kept == 0:
            raise nothing_before(day, _timestamp(found["first_date"]))
        example = None
        if removed:
            row = self.examples({int(found["first"])})[int(found["first"])]
            example = f"invoice {row['invoice_id']} on {pd.Timestamp(row['invoice_date']).date()}"
        step = CleaningStep(
            step="as_of",
            label=as_of_label(day),
            before=self.remaining,
            removed=removed,
            after=kept,
            would_remove=removed,
            example=example,
        )
        self.report = dataclasses.replace(self.report, steps=(*self.report.steps, step))
        return clean.where(~later)

    def check_currency(self, clean: Any) -> None:
        """cleaning.check_one_currency on the clean rows."""
        F = self.F
        column = self.currency_source
        if column is None:
            cleaning.check_one_currency(pd.DataFrame(), self.params.cleaning, None)
            return
        clean = self._order_level(
            clean.drop("_currency", "_currency_flag"), "currency", "_currency"
        )
        table = (
            clean.where(F.col("_currency").isNotNull())
            .groupBy("_currency")
            .agg(F.count(F.lit(1)).alias("n"), F.min(_ROW).alias("first"))
            .orderBy("first")
            .toArrow()
            .to_pandas()
        )
        codes = table["_currency"].astype("string").str.strip().str.upper()
        counts = (
            pd.Series(table["n"].to_numpy(), index=codes)
            .groupby(level=0, sort=False)
            .sum()
            .sort_values(ascending=False, kind="stable")
        )
        cleaning.check_currency_counts(counts, column)


def _placeholder(ids: pd.Series, options: Any) -> np.ndarray:
    return cleaning.is_placeholder_id(ids)


def _not_sale(status: pd.Series, options: Any) -> np.ndarray:
    words = cleaning._status_words(status)
    return words.isin(cleaning.NOT_SALE_STATUSES).fillna(False).to_numpy(dtype=bool)


def _other_currency(codes: pd.Series, options: Any) -> np.ndarray:
    if options.currency is None:
        return np.zeros(len(codes), dtype=bool)
    other = codes.astype("string").str.strip().str.upper() != options.currency
    return other.fillna(False).to_numpy(dtype=bool)


_NON_PRODUCT = {c.upper() for c in cleaning.NON_PRODUCT_CODES}


def _non_product(codes: pd.Series, options: Any) -> np.ndarray:
    upper = codes.astype("string").str.strip().str.upper()
    return upper.isin(_NON_PRODUCT).fillna(False).to_numpy(dtype=bool)


#: The cleaning steps' tests of one value (the same expressions as core.cleaning's row tests),
#: run on each field's distinct values: field -> test(values, cleaning options) -> bool per value.
_VALUE_TESTS: dict[str, Callable[[pd.Series, Any], np.ndarray]] = {
    "customer_id": _placeholder,
    "status": _not_sale,
    "currency": _other_currency,
    "stock_code": _non_product,
}


def _timestamp(ns: int | None) -> pd.Timestamp:
    return pd.NaT if ns is None else pd.Timestamp(int(ns), unit="ns")


def _missing_ids(run: _Run) -> Any:
    """missing_ids.compare in Spark: the sales rows with and without a customer id."""
    from rfm_desktop.core.result import MissingIdCheck, RowGroup

    F = run.F
    options = run.params.cleaning
    frame = run.flagged
    not_sale = F.lit(False)
    for name in missing_ids.NOT_SALES:
        not_sale = not_sale | F.col(f"f_{name}")
    no_id = F.col("f_missing_customer")
    if options.drop_placeholder_ids:
        no_id = no_id | F.col("f_placeholder_ids")
    sales = frame.where(~not_sale).withColumn("_missing", no_id)
    money = F.col("amount").cast(_MONEY)
    groups = {
        bool(r["_missing"]): r
        for r in sales.groupBy("_missing")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(money).alias("revenue"),
            F.count("quantity").alias("units_known"),
            F.count("unit_price").alias("prices_known"),
        )
        .collect()
    }
    if True not in groups or False not in groups:  # nothing to compare with
        return None
    invoices = {
        bool(r["_missing"]): r
        for r in sales.where(F.col("invoice_id").isNotNull())
        .groupBy("_missing", "invoice_id")
        .agg(
            F.sum(money).alias("value"),
            F.coalesce(F.sum(F.col("quantity").cast(_MONEY)), F.lit(0)).alias("units"),
        )
        .groupBy("_missing")
        .agg(
            F.count(F.lit(1)).alias("invoices"),
            F.avg(F.col("value").cast("double")).alias("value_mean"),
            F.avg(F.col("units").cast("double")).alias("units_mean"),
        )
        .collect()
    }
    prices = sales.where(F.col("unit_price").isNotNull()).groupBy("_missing", "unit_price").count()
    prices_pd = prices.toArrow().to_pandas()
    countries = (
        sales.where(F.col("country").isNotNull())
        .groupBy("_missing", "country")
        .agg(F.count(F.lit(1)).alias("n"), F.min(_ROW).alias("first"))
        .toArrow()
        .to_pandas()
    )
    sales_rows = sum(int(r["rows"]) for r in groups.values())
    total = float(sum(Decimal(r["revenue"] or 0) for r in groups.values()))

    def group(missing: bool) -> RowGroup:
        r = groups.get(missing)
        n = int(r["rows"]) if r is not None else 0
        inv = invoices.get(missing)
        count = int(inv["invoices"]) if inv is not None else 0
        revenue = float(r["revenue"] or 0) if r is not None else 0.0
        price = prices_pd[prices_pd["_missing"] == missing]
        known = countries[countries["_missing"] == missing].sort_values(
            ["n", "first"], ascending=[False, True], kind="stable"
        )
        return RowGroup(
            rows=n,
            row_share=n / sales_rows,
            revenue=revenue,
            revenue_share=revenue / total if total else float("nan"),
            invoices=count,
            invoice_value_mean=float(inv["value_mean"]) if inv is not None else float("nan"),
            lines_per_invoice=n / count if count else float("nan"),
            units_per_invoice=(
                float(inv["units_mean"])
                if inv is not None and r is not None and r["units_known"]
                else None
            ),
            unit_price_median=_median(price) if r is not None and r["prices_known"] else None,
            countries=tuple(
                (str(c), int(k) / int(known["n"].sum()))
                for c, k in zip(
                    known["country"][: missing_ids.TOP_COUNTRIES],
                    known["n"][: missing_ids.TOP_COUNTRIES],
                    strict=True,
                )
            ),
        )

    with_id, without_id = group(False), group(True)
    reasons = missing_ids._differences(with_id, without_id)
    material = max(without_id.row_share, without_id.revenue_share) >= missing_ids.MATERIAL_SHARE
    return MissingIdCheck(
        sales_rows=sales_rows,
        with_id=with_id,
        without_id=without_id,
        months=_months(run, sales),
        differs=material and bool(reasons),
        reasons=tuple(reasons),
        verdict=missing_ids._verdict(with_id, without_id, reasons, material),
    )


def _median(counts: pd.DataFrame) -> float:
    """The median of values given as (unit_price, count) rows, as pandas computes it."""
    ordered = counts.sort_values("unit_price")
    values_, n = ordered["unit_price"].to_numpy(), ordered["count"].to_numpy()
    ends = np.cumsum(n)
    total = int(ends[-1])
    low = values_[np.searchsorted(ends, (total - 1) // 2, side="right")]
    high = values_[np.searchsorted(ends, total // 2, side="right")]
    return float(np.median(np.array([low, high])))


def _months(run: _Run, sales: Any) -> tuple[tuple[str, float, float], ...]:
    F = run.F
    month = F.date_format(F.expr("timestamp_micros(invoice_date div 1000)"), "yyyy-MM")
    money = F.col("amount").cast(_MONEY)
    table = (
        sales.where(F.col("invoice_date").isNotNull())
        .groupBy(month.alias("month"))
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.col("_missing").cast("long")).alias("missing"),
            F.sum(money).alias("amount"),
            F.sum(F.when(F.col("_missing"), money).otherwise(0)).alias("missing_amount"),
        )
        .orderBy("month")
        .collect()
    )
    out = []
    for r in table:
        amount = float(r["amount"] or 0)
        out.append(
            (
                str(r["month"]),
                float(int(r["missing"]) / int(r["rows"])),
                float(float(r["missing_amount"] or 0) / amount) if amount else float("nan"),
            )
        )
    return tuple(out)


def _customers(run: _Run, clean: Any, snapshot: pd.Timestamp | None) -> tuple[pd.DataFrame, Any]:
    """rfm.compute_rfm on the clean rows: the per-customer table, and the last purchase."""
    F = run.F
    rows = clean.where(F.col("customer_id").isNotNull())
    per_customer = rows.groupBy("customer_id").agg(
        F.max("invoice_date").alias("last"),
        F.min("invoice_date").alias("first"),
        F.sum(F.col("amount").cast(_MONEY)).cast("double").alias("monetary"),
        (F.countDistinct("invoice_id") + F.max(F.col("invoice_id").isNull().cast("int"))).alias(
            "frequency"
        ),
    )
    has_country = rows.where(F.col("country").isNotNull()).limit(1).count() > 0
    if has_country:
        from pyspark.sql import Window

        counted = rows.groupBy("customer_id", F.coalesce("country", F.lit("")).alias("c")).count()
        best = Window.partitionBy("customer_id").orderBy(F.desc("count"), F.asc("c"))
        top = (
            counted.withColumn("_rank", F.row_number().over(best))
            .where(F.col("_rank") == 1)
            .select("customer_id", F.col("c").alias("country"))
        )
        per_customer = per_customer.join(top, "customer_id", "left")
    table = per_customer.toArrow()
    if table.num_rows == 0:
        raise DataError(
            "No rows with a customer id are left, so there are no customers to segment."
        )
    table = table.take(pc.sort_indices(table.column("customer_id").cast(pa.string())))
    last = pd.DatetimeIndex(table.column("last").to_numpy().astype("datetime64[ns]"))
    first = pd.DatetimeIndex(table.column("first").to_numpy().astype("datetime64[ns]"))
    if snapshot is None:
        return pd.DataFrame(), last.max()
    ids = np.asarray(table.column("customer_id").to_pylist(), dtype=object)
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string"),
            "recency": rfm.whole_days(snapshot, last.to_numpy()),
            "frequency": table.column("frequency").to_numpy().astype(np.int64),
            "monetary": table.column("monetary").to_numpy().astype(np.float64).round(2),
            "first_purchase": first.to_numpy(),
            "last_purchase": last.to_numpy(),
        }
    )
    customers["tenure_days"] = rfm.whole_days(snapshot, first.to_numpy())
    if has_country:
        country = pd.Series(
            pd.array(np.asarray(table.column("country").to_pylist(), dtype=object), dtype="string")
        )
        customers["country"] = country.mask(country == "")
    return customers, last.max()


def _far_dates(run: _Run, clean: Any) -> list[str]:
    """checks.far_dates on the clean rows (rows per day counted in Spark)."""

    F = run.F
    day = F.expr("invoice_date div 86400000000000")  # whole days since 1970 (after 1970 only)
    table = (
        clean.where(F.col("invoice_date").isNotNull())
        .groupBy(day.alias("day"))
        .agg(F.count(F.lit(1)).alias("n"), F.min_by("invoice_id", _ROW).alias("invoice"))
        .orderBy("day")
        .toArrow()
        .to_pandas()
    )
    if table.empty:
        return []
    days = table["day"].to_numpy().astype("datetime64[D]")
    invoices = dict(zip(days, table["invoice"], strict=True))
    # a first row without an invoice id: None, shown as <NA> (str() would print "None")
    return checks.far_dates_in(
        days,
        table["n"].to_numpy(),
        lambda d: None if pd.isna(invoices[d]) else str(invoices[d]),
    )


def reduce(params: AnalysisParams, progress: ProgressFn, cancelled: CancelledFn) -> Reduced:
    """Read ``params.input_path`` with Spark and reduce it to one row per customer.

    Parameters
    ----------
    params
        The run: input path (a local file, folder or glob, or a path the cluster reads such as
        ``s3a://bucket/sales/`` or ``hdfs:///data/sales/*.parquet``), mapping, date order,
        cleaning options, as-of and snapshot dates, ``spark_master``.
    progress, cancelled
        As in ``pipeline.run``; a cancel stops the running Spark jobs.

    Returns
    -------
    Reduced
        The same customers, cleaning report (counts and examples), snapshot and warnings as the
        in-memory engine; ``value_rows`` (collected to this machine) only when CLV is asked for.

    Raises
    ------
    ParamsError
        PySpark or Java missing, a master that cannot be reached, options that do not fit.
    InputFileError, MappingError, DataError
        As the in-memory engine raises them.
    Cancelled
        ``cancelled()`` returned True.
    """
    try:
        return _reduce(params, progress, cancelled)
    except _Handoff as why:
        path = params.input_path
        if _is_remote(path) or len(_local_files(path)) != 1 or Path(path).expanduser().is_dir():
            raise InputFileError(
                f"'{path}' cannot be read by the Spark engine: it has {why}.",
                hint="Convert the files to plain CSV or Parquet, or read them one at a time.",
            ) from None
        return memory.read_and_reduce(params, progress, cancelled, "Spark", str(why))


def _reduce(params: AnalysisParams, progress: ProgressFn, cancelled: CancelledFn) -> Reduced:
    progress(0.0, "Starting Spark")
    spark = session(getattr(params, "spark_master", DEFAULT_MASTER) or DEFAULT_MASTER)
    run = _Run(spark, params, progress)
    try:
        with _cancel_watch(spark, cancelled):
            progress(0.05, "Reading file")
            run.canonical()
            progress(0.4, "Cleaning rows")
            run.clean()
            clean = run.clean_rows()
            run.check_currency(clean)
            warnings = [
                *as_warnings(tuple(run.read_warnings()), "read"),
                *as_warnings(run.report.warnings, "cleaning"),
            ]
            if not params.cleaning.drop_missing_customer:
                kept = clean.where(run.F.col("customer_id").isNull()).count()
                if kept:
                    warnings.append(kept_without_id(kept))
            progress(0.6, "Comparing rows without customer id")
            missing = _missing_ids(run)
            run.report = dataclasses.replace(run.report, missing_ids=missing)
            if missing is not None and missing.differs:
                warnings.append(RunWarning("cleaning", missing.verdict))
            warnings += as_warnings(tuple(_far_dates(run, clean)), "customers")
            progress(0.75, "Computing recency, frequency, monetary")
            last = clean.agg(run.F.max("invoice_date")).first()[0]
            snapshot = snapshot_after(_timestamp(last), params)
            customers, _ = _customers(run, clean, snapshot)
            value_rows = None
            if params.clv.enabled:
                value_rows = _value_rows(run, clean)
    finally:
        for frame in (getattr(run, "flagged", None), getattr(run, "rows", None)):
            if frame is not None:
                frame.unpersist()  # the local checkpoints' blocks
    progress(1.0, "Customers ready")
    return Reduced(
        customers=customers,
        report=run.report,
        snapshot=snapshot,
        warnings=tuple(warnings),
        value_rows=value_rows,
        engine="spark",
        rows_read=run.rows_read,
        date_format=run.dates.label,
    )


def _value_rows(run: _Run, clean: Any) -> pd.DataFrame:
    """The clean rows' customer_id, invoice_date and amount, in file order (for CLV)."""
    table = clean.orderBy(_ROW).select("customer_id", "invoice_date", "amount").toArrow()
    return pd.DataFrame(
        {
            "customer_id": pd.array(
                np.asarray(table.column("customer_id").to_pylist(), dtype=object), dtype="string"
            ),
            "invoice_date": table.column("invoice_date").to_numpy().astype("datetime64[ns]"),
            "amount": table.column("amount").to_numpy().astype(np.float64),
        }
    )
