"""The DuckDB engine: reading, cleaning and the RFM reduction as SQL, out-of-core.

The input (one CSV/text or Parquet file, a folder of them, or a glob pattern) is laid out as
core.io would read it (the same sniffing, header row and column mapping: ``io.file_layout``,
``io.mapping_for``). The view ``rows`` turns each row into canonical values (customer_id,
invoice_id, invoice_date, amounts, ... as core.values reads them) with each cleaning step's row
test beside them. One streaming aggregation reads the input once into ``orders``: the rows
summed per customer, invoice, timestamp, text the steps read and test bits (row count ``n``,
first row number, amount, units); the order-level text (invoice id, country, status, currency)
is grouped as written and made canonical once per group, above the aggregation. Every count,
example and figure after that is a query over the orders (about a third as many as rows, each
summed again by its key), so no table of rows is ever held;
DuckDB keeps the aggregation within ``memory_limit`` and spills the rest to
``cache.spill_dir()``. Only the examples of the cleaning report and the CLV models' rows read
the input again.

Values only the Python reader understands (dates other than ISO text or date cells, numbers with
currency marks or thousands separators, order-level cells left blank on an order's later lines,
a report's total lines, ...) are found in the same scan; the file then goes to the in-memory
engine with a warning saying why (a folder or pattern cannot: it stops with the reason).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import tempfile
import threading
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rfm_desktop.core import cache, checks, cleaning, io, missing_ids, rfm, values
from rfm_desktop.core.digest import digest_of
from rfm_desktop.core.engines import Reduced, memory
from rfm_desktop.core.engines.snapshot import as_of_day, as_of_label, nothing_before, snapshot_after
from rfm_desktop.core.errors import Cancelled, DataError, InputFileError, RFMError
from rfm_desktop.core.file_types import kind_of
from rfm_desktop.core.params import AnalysisParams, CancelledFn, ProgressFn
from rfm_desktop.core.result import CleaningReport, CleaningStep, RowGroup, RunWarning, as_warnings
from rfm_desktop.core.values import DATE_CELLS, ISO

#: Characters trimmed around text (Unicode white space, as Arrow's utf8_trim_whitespace).
_SPACE = " \t\n\r\x0b\x0c\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_SPACE += "\u2028\u2029\u202f\u205f\u3000"
_SPACE += "\x1c\x1d\x1e\x1f"  # the separators Python's str.strip trims too (ids, currency)
#: the white space DuckDB's trim leaves (:func:`_trim` trims spaces; see :func:`_padded`)
_OTHER_SPACE = _SPACE.replace(" ", "")
#: Plain numbers as the reader's fast path takes them; anything else goes to the Python reader.
_PLAIN_NUMBER = r"-?\d+(\.\d+)?"
_COMMA_NUMBER = r"-?\d+,\d+"
_NUMBER_FIELDS = ("quantity", "unit_price", "amount")
_PLAIN_ISO = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
_DATE_MIN, _DATE_MAX = "1900-01-01", "2200-01-01"
#: the bits of the ``handoff`` column: what the Python reader would do differently
_HANDOFF = {
    1: "values in the date column other than ISO dates (YYYY-MM-DD) or date cells",
    2: "numbers written other than plainly (currency marks, thousands separators, text in a "
    "number column)",
    # (_id_sql: ids with a fraction; id or text columns of another type, such as true/false)
    4: "ids stored as fractional numbers, or id or text columns of another type than text or "
    "numbers",
    8: "empty lines or a report's total lines",
    16: "dates outside 1900-2199 or numbers above 10^12",
    32: "text padded with tabs or non-breaking spaces",
    64: "e-mail ids or currency codes with letters beyond ASCII (DuckDB and the reader fold "
    "their case by different Unicode tables)",
}
#: The bits of ``raw_hits``: each cleaning step's row test, in both forms where the in-memory
#: test picks one by the columns that hold values (cleaning._invalid, _cancellation, _nonpositive);
#: the steps' own bits (2**i for step i of cleaning.STEPS) where the test has one form.
_RAW = {
    "invalid": 1,
    "placeholder_ids": 2,
    "missing_customer": 4,
    "non_sale_status": 8,
    "cancel_quantity": 16,
    "other_currency": 32,
    "nonpositive_line": 64,
    "non_product": 128,
    "no_quantity": 512,
    "no_price": 1024,
    "cancel_amount": 2048,
    "nonpositive_amount": 4096,
}
#: The tests that read the late fields, made once per group of the aggregation (invoice id,
#: status, currency: _Run._load); a row's signs are kept for them in bits above _RAW's
_LATE_TESTS = ("non_sale_status", "cancel_quantity", "other_currency", "cancel_amount")
_NEGATIVE_QUANTITY, _NEGATIVE_AMOUNT = 1 << 13, 1 << 14
#: cleaning._cancellation's invoice test ("C" then digits), the sign of the line apart
_CANCEL_ID = "starts_with(invoice_id, 'C') AND regexp_full_match(invoice_id, 'C\\d+')"
_SIGNS = _NEGATIVE_QUANTITY | _NEGATIVE_AMOUNT
#: Bits of an order's ``flags`` beside the hand-off bits (above): what its rows hold.
_HAS_QUANTITY, _HAS_PRICE, _BLANK_DATE, _BLANK_AMOUNT = 128, 256, 512, 1024
#: first characters of a placeholder id matched by cleaning's pattern (its guards)
_PLACEHOLDER_STARTS = "-–—_.?*0x" + _SPACE
_NULL_TOKENS = values._NULL_TOKENS  # to_ids' null words, none longer than 4 characters
_MACHINE_NULLS = values._MACHINE_NULLS  # to_customer_ids' (machine nulls only)
_EMAIL = values._EMAIL.pattern
_TEXT_FIELDS = ("stock_code", "description", "country", "status", "currency")
_ALL: tuple[str, ...] = ("customer_id", "invoice_id", "invoice_date", "quantity", "unit_price")
_ALL += ("amount", *_TEXT_FIELDS)


class _Handoff(Exception):
    """The input needs the Python reader; the message says why."""


@dataclass(frozen=True)
class Source:
    """The files of one input: a file, the CSV/Parquet files of a folder, or a pattern's."""

    files: tuple[Path, ...]
    kind: str  # "text" or "parquet"
    name: str  # for messages

    @property
    def single(self) -> bool:
        """One file named directly (the in-memory engine can take it over)."""
        return len(self.files) == 1 and self.name == self.files[0].name


def sources(path: str) -> Source:
    """The files ``path`` names, in the order they are read (sorted by name).

    Raises
    ------
    InputFileError
        Nothing to read, or CSV and Parquet files mixed.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        found = [f for f in p.iterdir() if f.is_file()]
        name, where = p.name, f"the folder '{p.name}'"
    elif glob.has_magic(path):
        found = [Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file()]
        name, where = path, f"'{path}'"
    else:
        layout_kind = kind_of(p.name)
        if p.exists() and layout_kind in ("text", "parquet"):
            return Source((p,), layout_kind, p.name)
        if p.exists() and layout_kind == "excel":
            raise _Handoff("the form of a workbook (a sheet holds at most 1,048,576 rows)")
        io.file_layout(p)  # the reader's message: not found, empty, not a supported type
        raise _Handoff("a form only the Python reader reads")
    files = sorted((f for f in found if kind_of(f.name) in ("text", "parquet")), key=str)
    if not files:
        raise InputFileError(
            f"No CSV or Parquet files in {where}.",
            hint="Point at a folder or pattern of .csv/.parquet files.",
        )
    kinds = {kind_of(f.name) for f in files}
    if len(kinds) > 1:
        raise InputFileError(
            f"{where[0].upper() + where[1:]} holds both CSV and Parquet files: they are read as "
            "one table, so they must be of one kind.",
            hint="Use a pattern such as DIR/*.parquet to pick one kind.",
        )
    return Source(tuple(files), str(kinds.pop()), name)


def reduce(params: AnalysisParams, progress: ProgressFn, cancelled: CancelledFn) -> Reduced:
    """Read, clean and reduce ``params.input_path`` to customers with DuckDB.

    Parameters
    ----------
    params
        The run: ``input_path`` (a CSV/Parquet file, a folder of them or a glob pattern),
        the mapping, header row, cleaning options, as-of and snapshot dates, CLV switch and
        ``memory_limit``.
    progress
        Called with (fraction 0..1, label) while the queries run.
    cancelled
        Polled every 0.1 s; True interrupts the running query.

    Returns
    -------
    Reduced
        The same customers, cleaning report, snapshot and warnings as the in-memory engine
        (engine "duckdb"), or, for a file that needs the Python reader, the in-memory engine's
        with a warning saying why.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    InputFileError, MappingError, DataError, ParamsError
        As the in-memory engine raises them.
    """
    try:
        source = sources(params.input_path)
        return _Run(params, source, progress, cancelled).reduce()
    except _Handoff as why:
        single = Path(params.input_path).expanduser()
        if single.is_dir() or glob.has_magic(params.input_path):
            raise InputFileError(
                f"'{Path(params.input_path).name}' cannot be read by the DuckDB engine: it has "
                f"{why}.",
                hint="Convert the files to plain CSV or Parquet, or read them one at a time.",
            ) from None
        return memory.read_and_reduce(params, progress, cancelled, "DuckDB", str(why))


#: Orders (groups of the aggregation: at most as many customers) up to which the customers are
#: reduced before the missing-id comparison and their frame is made in a thread while DuckDB
#: runs the comparison's queries, which leave a core idle (at 10 M rows, 3.5 M orders: the
#: frame's 0.15-0.35 s on one core). Above it, the comparison comes first and the customers
#: last, their frame once DuckDB has closed and let go of its memory: at 100 M rows / 5 M
#: customers, customer tables held through the comparison took the peak from 2.5 to 2.9 GB.
_ALONGSIDE_ORDERS = 5_000_000
_COMPARING, _COMPUTING = (
    "Comparing rows with and without customer id",
    "Computing recency, frequency, monetary",
)

#: The default memory limit's cap, in MB: with the customers the run holds after the
#: reduction, a 100 M-row run stays near 2.5 GB (90.6 s; with 1 GB it took 95.5 s: the
#: aggregation spills in large sequential runs), and a laptop keeps room for the analyst's work.
DEFAULT_MEMORY_MB = 2048


def threads(cores: int) -> int:
    """DuckDB's threads on a machine of ``cores``: one more than the cores below four.

    DuckDB splits an aggregation's hash table into as many partitions as the next power of two
    of its threads, and finishes each partition as one task (``RadixHTConfig::
    InitialSinkRadixBits`` in its radix_partitioned_hashtable.cpp). With two threads the
    3.5 M orders of 10 M rows are two tables too large for the processor's caches, finished one
    per core; with three, four smaller ones: the customers' and the comparison's groupings took
    a fifth less time (0.5 s of 4.3 s for the reduction on 2 cores), the extra thread costing
    nothing measurable while all are busy.
    """
    return cores + 1 if cores < 4 else cores


def memory_limit(params: AnalysisParams) -> str:
    """DuckDB's memory limit: ``params.memory_limit``, else half of the machine's memory up to
    :data:`DEFAULT_MEMORY_MB` (2 GB; that cap alone where the machine's memory cannot be told)."""
    if params.memory_limit:
        return params.memory_limit
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows: no sysconf
        return f"{DEFAULT_MEMORY_MB}MB"
    return f"{max(min(total // 2 // 2**20, DEFAULT_MEMORY_MB), 256)}MB"


#: DuckDB settings that keep the memory one query freed for the next, up to the memory limit
#: (DuckDB 1.3+; older versions go without): by default its allocator gives memory back to the
#: system after each task above 128 MB, and the next query's hash tables take new pages, each
#: zeroed by the system on first touch. Measured on the 10 M-row benchmark's queries: 20 % fewer
#: page faults, half the system time (0.9 -> 0.6 s of CPU). The connection's memory is given
#: back when it closes, before the customers are clustered.
_KEEP_MEMORY = ("allocator_flush_threshold", "block_allocator_memory")


def _keep_memory(con: Any, limit: str) -> None:
    """Set :data:`_KEEP_MEMORY` to the memory limit where this DuckDB has them and takes that
    value (a block allocator larger than about 80 % of the machine's memory is refused, though
    such a memory limit is not): they only save time, so one refused is left as it was."""
    import duckdb

    known = {name for (name,) in con.execute("SELECT name FROM duckdb_settings()").fetchall()}
    for name in _KEEP_MEMORY:
        if name in known:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"SET {name} = '{limit}'")


@contextlib.contextmanager
def connection(params: AnalysisParams, ordered: bool = True) -> Iterator[Any]:
    """A DuckDB connection with the run's memory limit, every core (see :func:`threads`) and a
    spill folder of its own under ``cache.spill_dir()`` (removed afterwards). ``ordered``:
    results keep the scan's order where no query sorts them (a CSV's row numbers come from
    it, see ``_Run._rownum``); Parquet rows are numbered by the reader, and without that order
    kept the queries take 0.1 s less at 10 M rows."""
    import duckdb

    base = cache.spill_dir()
    base.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    config: dict[str, Any] = {
        "threads": threads(os.cpu_count() or 1),
        "temp_directory": str(spill),
        "preserve_insertion_order": ordered,
        "memory_limit": memory_limit(params),
    }
    con = duckdb.connect(config=config)
    try:
        con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        _keep_memory(con, config["memory_limit"])
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


class _Watch:
    """Polls ``cancelled`` and DuckDB's progress every 0.1 s while queries run; a cancel
    interrupts the running query."""

    def __init__(self, con: Any, progress: ProgressFn, cancelled: CancelledFn):
        self.con, self.progress, self.cancelled = con, progress, cancelled
        self.stage = (0.0, 0.0, "Reading file")
        self.stopped = threading.Event()
        self.interrupted = False
        self.thread = threading.Thread(target=self._poll, name="duckdb-watch", daemon=True)

    def _poll(self) -> None:
        while not self.stopped.wait(0.1):
            if self.cancelled():
                self.interrupted = True
                self.con.interrupt()
                continue
            start, end, label = self.stage
            try:
                done = float(self.con.query_progress())
            except Exception:  # no query running
                continue
            if done >= 0:
                self.progress(start + (end - start) * min(done / 100.0, 1.0), label)


#: Words of DuckDB errors about its own writing (spill, temp files, disk space), not the input.
_NOT_THE_FILE = ("could not write", "no space left", "temp_directory", "temporary file", "disk")


class _Run:
    """One reduction: the queries over one connection, in order."""

    def __init__(
        self, params: AnalysisParams, source: Source, progress: ProgressFn, cancelled: CancelledFn
    ):
        self.params, self.source = params, source
        self.progress, self.cancelled = progress, cancelled
        self.options = params.cleaning

    # ------------------------------------------------------------------ driving
    def reduce(self) -> Reduced:
        import duckdb

        layout = self._layout()
        digest = digest_of(self.source.files)  # hashed in a thread while DuckDB reads
        self.frame: Future[pd.DataFrame] | None = None
        with ThreadPoolExecutor(1) as self.frames:  # its thread waited for, also on a failure
            with connection(self.params, ordered=self.source.kind != "parquet") as con:
                self.con = con
                watch = _Watch(con, self.progress, self.cancelled)
                watch.thread.start()
                self.watch = watch
                try:
                    reduced = self._reduce(layout)
                except duckdb.InterruptException:
                    raise Cancelled() from None
                except duckdb.OutOfMemoryException as exc:
                    raise DataError(
                        f"The DuckDB engine needs more memory than its limit "
                        f"({memory_limit(self.params)}) for this input.",
                        hint="Raise the limit with --memory-limit (e.g. 4GB); the rest spills to disk.",
                    ) from exc
                except duckdb.Error as exc:
                    if watch.interrupted:
                        raise Cancelled() from None
                    raise self._failed(exc) from exc
                except RuntimeError as exc:
                    # Ctrl-C while a query runs: DuckDB's client stops the query and raises this
                    # in place of the KeyboardInterrupt (the CLI then says "interrupted", exit 130)
                    if str(exc) != "Query interrupted":
                        raise
                    if watch.interrupted:
                        raise Cancelled() from None
                    raise KeyboardInterrupt from None
                finally:
                    watch.stopped.set()
                    watch.thread.join()
            if watch.interrupted:  # asked to stop after the last query ran
                raise Cancelled()
            if self.frame is not None:
                customers = self.frame.result()
            else:  # made once DuckDB has let go of its memory (see _ALONGSIDE_ORDERS)
                table, top = self.customer_tables
                customers = _customer_frame(table, top, reduced.snapshot)
        sha256, size = digest.result()
        return dataclasses.replace(
            reduced, customers=customers, input_sha256=sha256, input_size=size
        )

    def _failed(self, exc: Exception) -> RFMError:
        """A DuckDB error other than running out of memory or a cancel.

        A CSV whose rows do not split like its headers goes to the Python reader (it skips such
        rows and says so). An error about writing (the spill folder's disk full, temp files) is
        not the file's fault: saying "damaged" there would send the analyst to re-export a good
        file. Anything else is read as a damaged file. Both messages carry DuckDB's own first
        line, so a wrong guess still shows the cause.
        """
        text = str(exc)
        if self.source.kind == "text" and ("CSV" in text or "csv" in text):
            raise _Handoff("rows that do not split into the columns of the header")
        said = next(
            (line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__
        )
        said = said if len(said) <= 300 else said[:297] + "..."
        lowered = text.lower()
        if not any(word in lowered for word in _NOT_THE_FILE):
            files = self.source.files
            named = next((f for f in files if str(f) in text or f.name in text), files[0])
            noun = "Parquet file" if self.source.kind == "parquet" else "text (CSV) file"
            return InputFileError(
                f"'{named.name}' could not be read: it is damaged or not a {noun} (DuckDB: {said})."
            )
        return DataError(
            f"The DuckDB engine stopped: {said}",
            hint=(
                f"Check the free disk space of the spill folder ({cache.spill_dir()}), raise "
                "--memory-limit, or run with --engine memory if the data fit in memory."
            ),
        )

    def _stage(self, start: float, end: float, label: str) -> None:
        if self.watch.interrupted or self.cancelled():  # a cancel seen between two queries
            raise Cancelled()
        self.watch.stage = (start, end, label)
        self.progress(start, label)

    def sql(self, query: str, params: list[Any] | None = None) -> Any:
        return self.con.execute(query, params or [])

    def _layout(self) -> io.FileLayout:
        """The first file's layout; every other file must have the same headers."""
        files = self.source.files
        first = io.file_layout(files[0], self.params.mapping or None, self.params.header_row)
        for other in files[1:]:
            layout = io.file_layout(other, self.params.mapping or None, self.params.header_row)
            if layout.headers != first.headers or layout.delimiter != first.delimiter:
                raise InputFileError(
                    f"'{other.name}' is not laid out like '{files[0].name}': their columns "
                    "differ, so the two cannot be read as one table.",
                    hint="Put files with the same columns in the folder.",
                )
        if first.headers != first.columns:
            raise _Handoff("blank or repeated column names")
        if first.kind == "text" and first.encoding != "utf8":
            raise _Handoff(f"text that is not UTF-8 ({first.source_format})")
        return first

    def _reduce(self, layout: io.FileLayout) -> Reduced:
        chosen = io.mapping_for(list(layout.headers), self.params.mapping or None)
        self.chosen = chosen
        self._stage(0.0, 0.6, "Reading file")
        types = self._scan(layout)
        date_format = self._load(layout, types)
        self._stage(0.6, 0.7, "Cleaning rows")
        facts = self._facts()
        rows_read = int(facts["rows"])
        if rows_read == 0:
            raise InputFileError(
                f"'{self.source.files[0].name}' has column headers but no data rows."
            )
        if facts["handoff"]:
            bits = int(facts["handoff"])
            raise _Handoff("; ".join(t for b, t in _HANDOFF.items() if bits & b))
        self._check_empty(facts)
        self._check_commas()
        self._check_order_level(facts)
        self.has_qty = bool(facts["has_qty"])
        self.has_price = bool(facts["has_price"])
        self.has_status = bool(facts["has_status"])
        if self.has_status and facts["status_unknown"]:
            raise _Handoff("status words that say neither sale nor not-a-sale")
        report = self._clean(rows_read)
        self._stage(0.7, 0.8, "Cleaning rows")
        report = self._as_of(report)
        self._check_currency()
        transactions = io.Transactions(
            frame=pd.DataFrame(),
            rows_read=rows_read,
            mapping=chosen,
            date_format=date_format,
            bad_dates=0,
            bad_numbers=0,
            source_path=str(self.source.files[0].resolve()),
            sheet=None,
            columns=list(layout.headers),
            notes=layout.notes,
        )
        warnings = [
            *as_warnings(transactions.warnings, "read"),
            *as_warnings(report.warnings, "cleaning"),
        ]
        kept, last = self.sql(
            "SELECT coalesce(sum(n) FILTER (customer_id IS NULL), 0), max(invoice_date) FROM clean"
        ).fetchall()[0]
        if not self.options.drop_missing_customer and kept:
            warnings.append(memory.kept_without_id(int(kept)))
        snapshot = snapshot_after(pd.Timestamp(last) if last is not None else pd.NaT, self.params)
        alongside = int(facts["orders"]) <= _ALONGSIDE_ORDERS
        first, then = (0.8, 0.9), (0.9, 1.0)
        if alongside:  # the customers first, their frame made while DuckDB compares
            self._stage(*first, _COMPUTING)
            self._reduce_customers(snapshot, alongside)
        self._stage(*(then if alongside else first), _COMPARING)
        missing = self._missing_ids()
        report = dataclasses.replace(report, missing_ids=missing)
        if missing is not None and missing.differs:
            warnings.append(RunWarning("cleaning", missing.verdict))
        warnings += as_warnings(self._far_dates(), "customers")
        if not alongside:  # the customers last: their tables are not held while DuckDB compares
            self._stage(*then, _COMPUTING)
            self._reduce_customers(snapshot, alongside)
        value_rows = None
        if self.params.clv.enabled:
            value_rows = self._value_rows()
        self.progress(1.0, _COMPARING if alongside else _COMPUTING)
        return Reduced(
            customers=pd.DataFrame(),  # made by reduce() once the connection is closed
            report=report,
            snapshot=snapshot,
            warnings=tuple(warnings),
            value_rows=value_rows,
            engine="duckdb",
            rows_read=rows_read,
            date_format=date_format,
        )

    # ------------------------------------------------------------------ reading
    def _scan_sql(self, layout: io.FileLayout, numbered: bool = False) -> str:
        """The input as a DuckDB table function; ``numbered``: with the Parquet readers' own
        row numbers (``file_row_number``, ``filename``) for :meth:`_rownum`."""
        files = "[" + ", ".join(_quote_text(str(f)) for f in self.source.files) + "]"
        if self.source.kind == "parquet":
            extra = ", file_row_number = true, filename = true" if numbered else ""
            return f"read_parquet({files}, binary_as_string = true{extra})"
        columns = ", ".join(f"{_quote_text(h)}: 'VARCHAR'" for h in layout.headers)
        return (
            f"read_csv({files}, delim = {_quote_text(layout.delimiter)}, quote = '\"', "
            f"escape = '\"', header = false, skip = {layout.header_row + 1}, "
            f"columns = {{{columns}}}, auto_detect = false, compression = 'auto', "
            "null_padding = false, strict_mode = true)"
        )

    def _scan(self, layout: io.FileLayout) -> dict[str, str]:
        """The DuckDB type of every column of the input."""
        self.scan = self._scan_sql(layout)
        described = self.sql(f"DESCRIBE SELECT * FROM {self.scan}").fetchall()
        return {str(row[0]): str(row[1]) for row in described}

    def _rownum(self, layout: io.FileLayout) -> tuple[str, str]:
        """The row number (in file order) and the scan it reads from. Parquet readers number
        their rows in parallel (the row in the file; with several files, file index << 40 |
        row in file); a CSV's rows are numbered by a streaming ``row_number()``, in the order
        the reader keeps. One file's numbers are the reader's own column, unchanged, so that
        a filter on them reaches the scan (the examples' rows: 0.03 s instead of 3.5 s at
        100 M rows)."""
        if self.source.kind != "parquet":
            return "row_number() OVER ()", self.scan
        files = "[" + ", ".join(_quote_text(str(f)) for f in self.source.files) + "]"
        number = "file_row_number"
        if len(self.source.files) > 1:
            number = f"(CAST(list_position({files}, filename) AS BIGINT) << 40) + {number}"
        return number, self._scan_sql(layout, numbered=True)

    def _load(self, layout: io.FileLayout, types: dict[str, str]) -> str:
        """The view ``rows`` (canonical values, the cleaning steps' row tests, the hand-off bits)
        and the input read once into the tables behind ``orders`` and ``prices``. Returns the
        date format label.

        Turning text into canonical values costs more than reading it (at 10 M rows: 3.7 s
        against 0.9 s for a plain grouping), so the aggregation groups the *raw* cells of the
        order-level columns (the "late" fields: invoice id, country, status, currency, and a
        customer id stored as a number), with everything that differs from row to row
        (numbers, dates, the tests on them, ids stored as text) made per row; the late fields'
        canonical values, hand-off bits and tests are made once per group, above it. Raw
        spellings of one value ('536365', '536365.0') stay separate groups, which every later
        query sums again by its key. With duplicates dropped, rows are compared on every
        canonical column, so nothing is late."""
        chosen = self.chosen
        # stock codes and descriptions matter only to the steps that read them (the other
        # queries never do): left out otherwise, the table is smaller and the scan faster
        needed = {"country", "status", "currency"}
        needed |= {"stock_code"} if self.options.drop_non_product else set()
        needed |= {"stock_code", "description"} if self.options.drop_duplicates else set()
        text = [f for f in ("country", "status", "currency") if f in chosen and f in needed]

        def column(field: str) -> tuple[str, str]:
            name = chosen[field]
            return _ident(name), types[name]

        late: tuple[str, ...] = ()
        if not self.options.drop_duplicates:
            late = tuple(f for f in ("invoice_id", *text) if f in chosen)
        # a customer id stored as a number is grouped as that number; its tests per row read
        # the number (_Customer), the text is made once per group (not for made-up invoice ids,
        # which are made of it per row)
        if late and "invoice_id" in chosen and _present_number_id(*column("customer_id")):
            late = ("customer_id", *late)
        late_columns = {chosen[f]: _ident(f"raw_{f}") for f in late}

        def canonical(field: str, ident: str, kind: str) -> tuple[str, list[str]]:
            if field == "customer_id":
                return _customer_sql(ident, kind)
            if field in ("invoice_id", "stock_code"):
                return _id_sql(ident, kind)
            if field in _NUMBER_FIELDS:
                return _number_sql(ident, kind)
            if field == "currency":
                return _currency_sql(ident, kind)
            return _text_sql(ident, kind)

        fields: dict[str, str] = {}  # each field's canonical value, made from the raw cell
        early: dict[str, str] = {}  # what the aggregation reads: late fields raw
        late_values: dict[str, str] = {}  # a late field's canonical value, from its raw cell
        handoff: list[str] = []  # hand-off bits made per row
        late_handoff: list[str] = []  # ... and once per group of the aggregation
        for field in _ALL:
            if field == "invoice_date":
                ident, kind = column(field)
                fields[field], bits, label = _date_sql(ident, kind)
            elif field in chosen and (field not in _TEXT_FIELDS or field in needed):
                ident, kind = column(field)
                fields[field], bits = canonical(field, ident, kind)
            else:
                empty = "DOUBLE" if field in _NUMBER_FIELDS else "VARCHAR"
                fields[field], bits = f"CAST(NULL AS {empty})", []
            if field in late:
                early[f"raw_{field}"] = _ident(chosen[field])
                late_values[field], bits = canonical(
                    field, _ident(f"raw_{field}"), types[chosen[field]]
                )
                if field == "country" and _text_kind(types[chosen[field]]):
                    # its only bit, padded text, is tested on its few names once the customers
                    # are reduced (_customers), not once per order (3.5 M at 10 M rows: 0.15 s
                    # of CPU)
                    bits = []
                late_handoff += bits
            else:
                early[field] = fields[field]
                handoff += bits
        if "amount" not in chosen:
            fields["amount"] = early["amount"] = (
                f"({fields['quantity']}) * ({fields['unit_price']})"
            )
        # io._drop_non_sales: 'total' in an id or date cell or the first column, and rows with
        # nothing in them, are left out by the reader (and said): handed over
        for name in _total_columns(chosen, types, layout.headers[0]):
            bit = _total_sql(late_columns.get(name, _ident(name)))
            (late_handoff if name in late_columns else handoff).append(bit)
        handoff.append(_blank_line_sql(chosen, types))
        forms = (
            " | ".join(
                _number_forms(_ident(chosen[f]), types[chosen[f]], k)
                for k, f in enumerate(_NUMBER_FIELDS)
                if f in chosen
            )
            or "0"
        )
        self.decimal_comma = layout.decimal_comma
        blank_dates = (
            f"({_blank_sql(_ident(chosen['invoice_date']), types[chosen['invoice_date']])})"
        )
        blank_amount = (
            f"({_blank_sql(_ident(chosen['amount']), types[chosen['amount']])})"
            if "amount" in chosen
            else "false"
        )
        number, scan = self._rownum(layout)
        made_ids = ""
        if "invoice_id" not in chosen:  # one purchase per customer and timestamp
            made_ids = (
                " REPLACE (customer_id || ' @ ' || strftime(CAST(invoice_date AS TIMESTAMP), "
                "'%Y-%m-%d %H:%M:%S') AS invoice_id)"
            )
        row_flags = (
            f"{' | '.join(handoff)} | CASE WHEN {blank_dates} THEN {_BLANK_DATE} ELSE 0 END"
            f" | CASE WHEN {blank_amount} THEN {_BLANK_AMOUNT} ELSE 0 END"
        )

        def view(name: str, values: dict[str, str], tests: str) -> None:
            listed = ", ".join(f"{sql} AS {f}" for f, sql in values.items())
            self.sql(
                f"""CREATE TEMP VIEW {name} AS
                SELECT *, CAST({tests} AS INTEGER) AS raw_hits FROM (
                    SELECT *{made_ids} FROM (
                        SELECT {number} AS rownum, {listed}, {forms} AS forms,
                               {row_flags} AS flags
                        FROM {scan}))"""
            )

        # canonical rows with every cleaning step's row test (bits: see _RAW), for the
        # examples' rows and the CLV rows; the aggregation reads the same scan through
        # ``early``: the late fields raw, the tests on them (_LATE_TESTS) made above it
        view("rows", {f: fields[f] for f in _ALL}, self._raw_hits(_RAW))
        early_tests = {name: bit for name, bit in _RAW.items() if name not in _LATE_TESTS}
        customer = _Customer()
        if "customer_id" in late:  # the tests read the raw number, as ``early`` names it
            raw_id, kind = _ident("raw_customer_id"), types[chosen["customer_id"]]
            present = _present_number_id(raw_id, kind)
            customer = _Customer(
                late_values["customer_id"],
                f"NOT coalesce({present}, false)",
                f"{raw_id} >= 1 AND {present}",
            )
        view("early", early, self._raw_hits(early_tests, customer, signs=True))
        twin = "false"
        if self.options.drop_duplicates:  # a row equal to an earlier one in every column
            twin = f"row_number() OVER (PARTITION BY {', '.join(_ALL)} ORDER BY rownum) > 1"
        self.twin = twin
        # how the text number columns write their numbers (_check_commas): a count per form bit
        self.form_bits = [
            b << 4 * k
            for k, f in enumerate(_NUMBER_FIELDS)
            if f in chosen and _text_kind(types[chosen[f]])
            for b in (1, 2, 4)
        ]
        # The one streaming pass: rows summed per customer, invoice, timestamp, the text the
        # steps read (the late fields raw) and the steps' bits; as a second grouping set, unit
        # prices counted by the bits and the text their tests read (for the median price of
        # the missing-id comparison). Only columns that can hold values are grouped by (the
        # key's width is the cost). Hash aggregation spills to disk under the memory limit.
        # Then, once per group, the late fields' canonical values, hand-off bits and tests.
        # Raw spellings of one value ('536365', '536365.0') stay apart: an order may be split
        # over groups, which every query sums again (no query counts groups as orders).
        names = {f: f"raw_{f}" if f in late else f for f in ("customer_id", "invoice_id", *text)}
        key = [names["customer_id"], names["invoice_id"], "invoice_date"]
        key += [names[f] for f in text]
        key += ["raw_hits"] + (["twin"] if self.options.drop_duplicates else [])
        price_key = ["raw_hits", *(names[f] for f in text if f != "country"), "unit_price"]
        counts = [f"count(*) FILTER (forms & {bit} <> 0) AS form_{bit}" for bit in self.form_bits]
        made = [f"{sql} AS {f}" for f, sql in late_values.items()]
        made += [
            f"CAST(NULL AS VARCHAR) AS {f}"
            for f in ("country", "status", "currency")
            if f not in text
        ]
        raw = (
            f"EXCLUDE ({', '.join(f'raw_{f}' for f in late)}, flags)" if late else "EXCLUDE (flags)"
        )
        # a price row's cancellation bits stay unset (it has no invoice id): a cancelled line
        # (negative quantity or amount) is not a sale by its non-positive test either, so the
        # sales prices and their groups do not depend on them (_missing_ids)
        self.sql(
            f"""CREATE TEMP TABLE grouped AS
            SELECT * EXCLUDE (raw_hits),
                   CAST(raw_hits & ~{_SIGNS} | {self._late_hits(text)} AS INTEGER) AS raw_hits
            FROM (
              SELECT * {raw}, {"".join(m + ", " for m in made)}
                     flags | {" | ".join(late_handoff) or "0"} AS flags
              FROM (
                SELECT {", ".join(dict.fromkeys(key + price_key))},
                       CAST(GROUPING({names["customer_id"]}) AS BOOLEAN) AS price_set,
                       count(*) AS n, min(rownum) AS first, fsum(amount) AS amount,
                       sum(coalesce(quantity, 0)) AS units,
                       bit_or(flags | CASE WHEN quantity IS NOT NULL THEN {_HAS_QUANTITY} ELSE 0 END
                              | CASE WHEN unit_price IS NOT NULL THEN {_HAS_PRICE} ELSE 0 END)
                       AS flags{"".join(", " + c for c in counts)}
                FROM (SELECT *, {twin} AS twin FROM early)
                GROUP BY GROUPING SETS (({", ".join(key)}), ({", ".join(price_key)}))))"""
        )
        no_twins = "" if self.options.drop_duplicates else ", false AS twin"
        self.sql(
            "CREATE TEMP VIEW orders AS SELECT * EXCLUDE (unit_price, price_set)"
            f"{no_twins} FROM grouped WHERE NOT price_set"
        )
        self.sql(
            "CREATE TEMP VIEW prices AS SELECT raw_hits, unit_price, n FROM grouped "
            "WHERE price_set AND unit_price IS NOT NULL"
        )
        return label

    def _facts(self) -> dict[str, Any]:
        # a status or currency the file does not have is NULL in every order: its figures are
        # known (their tests cost 0.2 s of CPU at 3.5 M orders)
        status = (
            f"""bool_or(status IS NOT NULL) AS has_status,
                bool_or(status IS NOT NULL AND NOT ({_status_sql("status")} IN
                    {_listed(cleaning.SALE_STATUSES | cleaning.NOT_SALE_STATUSES)})) AS status_unknown,
                bool_or(status IS NULL) AND bool_or(status IS NOT NULL) AS status_gaps"""
            if "status" in self.chosen
            else "false AS has_status, false AS status_unknown, false AS status_gaps"
        )
        currency = (
            "bool_or(currency IS NULL) AND bool_or(currency IS NOT NULL) AS currency_gaps"
            if "currency" in self.chosen
            else "false AS currency_gaps"
        )
        row = self.sql(
            f"""SELECT coalesce(sum(n), 0) AS rows, count(*) AS orders,
                bit_or(flags) & {sum(_HANDOFF)} AS handoff,
                bool_or(invoice_date IS NOT NULL) AS has_date,
                bool_or(flags & {_HAS_QUANTITY} <> 0) AS has_qty,
                bool_or(flags & {_HAS_PRICE} <> 0) AS has_price,
                sum(n) FILTER (customer_id IS NULL AND invoice_id IS NOT NULL) AS no_customer,
                sum(n) FILTER (flags & {_BLANK_DATE} <> 0 AND invoice_id IS NOT NULL) AS no_date,
                bool_or(flags & {_BLANK_AMOUNT} <> 0) AS no_amount,
                {status}, {currency}
            FROM orders"""
        ).fetchall()[0]
        names = [d[0] for d in self.con.description]
        return dict(zip(names, row, strict=True))

    def _check_empty(self, facts: dict[str, Any]) -> None:
        """The reader's error for a date column or a needed number column without any value
        (unreadable values are handed over before this: only blank cells are left)."""
        if not facts["has_date"]:
            io._no_values(self.chosen["invoice_date"], None, "dates")
        # without an amount column the amount needs both (blank amounts are handed over)
        if "amount" not in self.chosen:
            for field, held in (("quantity", "has_qty"), ("unit_price", "has_price")):
                if not facts[held]:
                    io._no_values(self.chosen[field], None, "numbers")

    def _check_commas(self) -> None:
        """values._text_numbers' choice for a column with decimal commas: the comma when it
        reads more rows than the point (or as many, in a semicolon-separated file); read with
        the comma in the scan, so any other outcome is handed over."""
        if not self.form_bits:  # no number column is text (Parquet numbers): nothing to count
            return
        counts = ", ".join(
            f"coalesce(sum(form_{b << 4 * k}), 0)" if b << 4 * k in self.form_bits else "0"
            for k in range(len(_NUMBER_FIELDS))
            for b in (1, 2, 4)
        )
        row = self.sql(f"SELECT {counts} FROM orders").fetchall()[0]
        for k in range(len(_NUMBER_FIELDS)):
            comma, point, grouped = row[3 * k : 3 * k + 3]
            if not comma:
                continue  # every value has a point or none: the reader's fast path
            if point:
                raise _Handoff(
                    "numbers with a decimal point and with a decimal comma in one column"
                )
            # point reading: whole numbers and thousands groups; comma reading: every row
            if not (comma > grouped or self.decimal_comma):
                raise _Handoff("commas that group thousands")

    def _check_order_level(self, facts: dict[str, Any]) -> None:
        """Order-level cells blank on an order's later lines are filled from the order by the
        Python reader (Shopify); hand those files over."""
        if facts["no_amount"]:
            raise _Handoff("blank amounts (an order total on the order's first line only)")
        for field, count in (("customer_id", facts["no_customer"]), ("date", facts["no_date"])):
            if not count:
                continue
            # customer ids compared by their 64-bit hash: min/max of text keep a copy of each
            # invoice's text outside the memory limit (2.3 GB over it at 100 M rows); two ids
            # of one invoice colliding is a 1 in 2^64 chance
            value = "invoice_date"
            if field == "customer_id":  # (hash(NULL) is a number: NULL kept NULL)
                value = "CASE WHEN customer_id IS NOT NULL THEN hash(customer_id) END"
            blank = (
                "customer_id IS NULL" if field == "customer_id" else f"flags & {_BLANK_DATE} <> 0"
            )
            # invoices with a blank line and one value on the others (min = max: one distinct
            # value, where count(DISTINCT) held each invoice's values outside the memory
            # limit); only the invoices with a blank line are grouped (a semi-join: at 10 M
            # rows 0.2 s of CPU against 0.85 s grouping every invoice)
            fillable = self.sql(
                f"""SELECT count(*) FROM (
                    SELECT invoice_id FROM orders WHERE invoice_id IN (
                        SELECT invoice_id FROM orders WHERE {blank} AND invoice_id IS NOT NULL)
                    GROUP BY invoice_id HAVING bool_or({blank}) AND min({value}) = max({value}))"""
            ).fetchall()[0][0]
            if fillable:
                raise _Handoff(
                    f"a blank {field.replace('_', ' ')} on lines of an order that has one"
                )
        if (facts["status_gaps"] and self._order_gaps("status")) or (
            facts["currency_gaps"] and self._order_gaps("currency")
        ):
            raise _Handoff("status or currency given on an order's first line only")

    def _order_gaps(self, field: str) -> bool:
        return bool(
            self.sql(
                f"""SELECT count(*) FROM (
                    SELECT invoice_id FROM orders WHERE invoice_id IS NOT NULL GROUP BY invoice_id
                    HAVING bool_or({field} IS NULL) AND bool_or({field} IS NOT NULL))"""
            ).fetchall()[0][0]
        )

    # ------------------------------------------------------------------ cleaning
    def _tests(
        self, negative_quantity: str, negative_amount: str, customer: _Customer | None = None
    ) -> dict[str, str]:
        """Each cleaning step's row test (:data:`_RAW`) on the canonical values; the tests that
        depend on which columns hold values come in both forms. The cancellation tests take
        their sign tests as given (a column test per row, or a bit kept by the
        aggregation: :meth:`_late_hits`), the customer tests the customer id as ``customer``
        reads it (the canonical column unless given)."""
        options = self.options
        customer = customer or _Customer()
        placeholder = f"lower({customer.value})"  # canonical ids are trimmed already
        cancelled = "{} AND " + _CANCEL_ID
        return {
            "invalid": "invoice_date IS NULL OR amount IS NULL",
            "placeholder_ids": f"{placeholder} IN {_listed(cleaning.PLACEHOLDER_IDS)} OR "
            f"(ord({placeholder}) IN ({_first_codes()}) AND "
            f"regexp_full_match({placeholder}, {_quote_text(cleaning._PLACEHOLDER_PATTERN)}))",
            "missing_customer": customer.missing,
            "non_sale_status": f"{_status_sql('status')} IN {_listed(cleaning.NOT_SALE_STATUSES)}",
            "cancel_quantity": cancelled.format(negative_quantity),
            "other_currency": (
                f"upper(currency) <> {_quote_text(options.currency)}"
                if options.currency is not None
                else "false"
            ),
            "nonpositive_line": "quantity <= 0 OR unit_price <= 0",
            "non_product": "upper(stock_code) IN "
            f"{_listed({c.upper() for c in cleaning.NON_PRODUCT_CODES})}",
            "no_quantity": "quantity IS NULL",
            "no_price": "unit_price IS NULL",
            "cancel_amount": cancelled.format(negative_amount),
            "nonpositive_amount": "amount <= 0",
        }

    def _raw_hits(
        self, bits: dict[str, int], customer: _Customer | None = None, signs: bool = False
    ) -> str:
        """The named tests' bits (:data:`_RAW`) of a row of canonical values, as one number
        (the customer id read as ``customer`` says); with ``signs``, a negative quantity and
        amount as bits too (:data:`_SIGNS`, for the cancellation tests made above the
        aggregation: :meth:`_late_hits`).

        Written for the usual row, on which no test holds (10 M rows: 0.5 s of CPU less than
        each test on its own, most of it the nested CASEs of the customer tests): the tests
        of the numbers and the date are made only where :func:`_number_guard` does not rule
        them all out, and the two customer tests are one CASE that stops at the first that
        holds (an id that is missing is no placeholder), skipping both for an id that is
        present and starts with a digit 1-9 (no placeholder does:
        :func:`_digits_lead_no_placeholder`)."""
        customer = customer or _Customer()
        tests = self._tests("quantity < 0", "amount < 0", customer)
        named = [(tests[name], bit, name) for name, bit in bits.items()]
        if signs:
            named += [("quantity < 0", _NEGATIVE_QUANTITY, "sign_quantity")]
            named += [("amount < 0", _NEGATIVE_AMOUNT, "sign_amount")]
        guard, guarded = _number_guard(
            [name for _, _, name in named], "quantity" in self.chosen, "unit_price" in self.chosen
        )
        parts = []
        if guarded:
            inner = _bits([(test, bit) for test, bit, name in named if name in guarded])
            parts.append(f"CASE WHEN {guard} THEN 0 ELSE {inner} END")
        who = {"placeholder_ids", "missing_customer"}
        if who <= set(bits):
            placeholder = tests["placeholder_ids"]
            usual = customer.usual if _digits_lead_no_placeholder() else "false"
            parts.append(
                f"CASE WHEN {usual} THEN 0 "
                f"WHEN {customer.missing} THEN {bits['missing_customer']} "
                f"WHEN coalesce({placeholder}, false) THEN {bits['placeholder_ids']} ELSE 0 END"
            )
            guarded |= who
        parts.append(_bits([(test, bit) for test, bit, name in named if name not in guarded]))
        return " | ".join(p for p in parts if p != "0") or "0"

    def _late_hits(self, present: Collection[str]) -> str:
        """The bits of the tests on the late fields (:data:`_LATE_TESTS`), made once per group
        of the aggregation from the canonical values and the kept sign bits.

        The tests are those of :meth:`_tests`, written for 3.5 M orders at 10 M rows (0.2 s of
        CPU less than each test on its own): a test of a text field that is not in ``present``
        (the status and currency the file has) is left out, as it never holds on NULL; the two
        cancellation tests test the invoice id once, then each its sign."""
        tests = self._tests("false", "false")
        kept = [
            (tests[name], _RAW[name])
            for name, field in (("non_sale_status", "status"), ("other_currency", "currency"))
            if field in present and tests[name] != "false"
        ]
        signs = _bits(
            [
                (f"raw_hits & {_NEGATIVE_QUANTITY} <> 0", _RAW["cancel_quantity"]),
                (f"raw_hits & {_NEGATIVE_AMOUNT} <> 0", _RAW["cancel_amount"]),
            ]
        )
        return " | ".join([_bits(kept), f"CASE WHEN {_CANCEL_ID} THEN {signs} ELSE 0 END"])

    def _hits(self) -> str:
        """The steps' bits (step i of cleaning.STEPS: 2**i) from ``raw_hits``, with the forms
        this file's columns call for (as the in-memory tests choose them)."""
        invalid = _RAW["invalid"]
        invalid |= _RAW["no_quantity"] if self.has_qty else 0
        invalid |= _RAW["no_price"] if self.has_price else 0
        cancel = _RAW["cancel_quantity"] if self.has_qty else _RAW["cancel_amount"]
        both = self.has_qty and self.has_price
        nonpositive = _RAW["nonpositive_line"] if both else _RAW["nonpositive_amount"]
        step = {s.name: 1 << i for i, s in enumerate(cleaning.STEPS)}
        same = sum(_RAW[name] for name in ("placeholder_ids", "missing_customer", "other_currency"))
        same += _RAW["non_sale_status"] + _RAW["non_product"]  # the same bit in both layouts
        # a step's bit as a product, not a CASE: a third less time per scan of the orders,
        # which most of the later queries are
        return (
            f"((raw_hits & {same}) "
            f"| CAST(raw_hits & {invalid} <> 0 AS INTEGER) * {step['invalid']} "
            f"| CAST(raw_hits & {cancel} <> 0 AS INTEGER) * {step['cancellations']} "
            f"| CAST(raw_hits & {nonpositive} <> 0 AS INTEGER) * {step['nonpositive']})"
        )

    def _switched_on(self) -> list[int]:
        """The indexes in cleaning.STEPS of the switched-on steps told by a bit of ``hits``
        (every one but duplicates, told by ``twin``), in order."""
        return [
            i
            for i, s in enumerate(cleaning.STEPS)
            if cleaning.is_on(s, self.options) and s.name != "duplicates"
        ]

    def _step(self) -> str:
        """The step that removes a row or order (its index in cleaning.STEPS, NULL when kept):
        the first switched-on step whose test it fails, then duplicates (a ``twin``)."""
        cases = " ".join(f"WHEN hits & {1 << i} <> 0 THEN {i}" for i in self._switched_on())
        if self.options.drop_duplicates:
            dup = next(i for i, s in enumerate(cleaning.STEPS) if s.name == "duplicates")
            cases += f" WHEN twin THEN {dup}"
        return f"CAST(CASE {cases} END AS TINYINT)"

    def _kept(self) -> str:
        """The condition under which :meth:`_step` is NULL: no switched-on step's bit in
        ``hits``, and no ``twin`` when duplicates are dropped."""
        kept = f"coalesce(hits & {sum(1 << i for i in self._switched_on())}, 0) = 0"
        return kept + (" AND NOT coalesce(twin, false)" if self.options.drop_duplicates else "")

    def _clean(self, rows_read: int) -> CleaningReport:
        """The step each order's rows are removed by (views ``steps`` and ``clean``) and the
        report."""
        self.sql(
            f"""CREATE TEMP VIEW steps AS SELECT *, {self._step()} AS step
            FROM (SELECT *, {self._hits()} AS hits FROM orders)"""
        )
        # the rows no step removes (step NULL), told by the switched-on steps' bits: the scans
        # of the clean rows (six or more) skip the first-step CASE (0.02 s each at 3.5 M orders)
        self.sql(
            f"""CREATE TEMP VIEW clean_rows AS SELECT *, CAST(NULL AS TINYINT) AS step
            FROM (SELECT *, {self._hits()} AS hits FROM orders) WHERE {self._kept()}"""
        )
        self.sql("CREATE TEMP VIEW clean AS SELECT * FROM clean_rows")
        counted = dict(
            (int(step), (int(n), int(first)))
            for step, n, first in self.sql(
                "SELECT step, sum(n), min(first) FROM steps WHERE step IS NOT NULL GROUP BY step"
            ).fetchall()
        )
        examples = self._rows_at([first for _, first in counted.values()])
        steps = cleaning.counted_steps(
            rows_read,
            self.options,
            {cleaning.STEPS[i].name: (n, examples[first]) for i, (n, first) in counted.items()},
        )
        notes = cleaning.cancellation_notes(steps, rows_read) + self._c_ids_note()
        return CleaningReport(
            rows_read=rows_read,
            steps=tuple(steps),
            outlier_mode=self.options.outliers,
            warnings=tuple(notes),
        )

    def _rows_at(self, rownums: list[int]) -> dict[int, pd.Series]:
        """Rows of the input by number, as the in-memory frame holds them (for examples; the
        numbers are written out so that the filter reaches the scan)."""
        if not rownums:
            return {}
        listed = ", ".join(str(int(n)) for n in rownums)
        found = self.sql(
            f"SELECT rownum, {', '.join(_ALL)} FROM rows WHERE rownum IN ({listed})"
        ).df()
        for column in ("customer_id", "invoice_id", *_TEXT_FIELDS):  # <NA>, as io's frame has it
            found[column] = found[column].astype("string")
        return {int(r["rownum"]): r for _, r in found.iterrows()}

    def _value_rows(self) -> pd.DataFrame:
        """The clean rows the CLV models read (customer_id, invoice_date, amount), in file
        order: the input read once more, row by row, through the same steps."""
        rows = self.sql(
            f"""SELECT customer_id, invoice_date, amount FROM (
                  SELECT *, {self._step()} AS step FROM (
                    SELECT *, {self._hits()} AS hits, {self.twin} AS twin FROM rows))
               WHERE step IS NULL AND {self.before} ORDER BY rownum"""
        ).df()
        rows["customer_id"] = rows["customer_id"].astype("string")
        rows["invoice_date"] = rows["invoice_date"].astype("datetime64[ns]")
        return rows

    def _c_ids_note(self) -> list[str]:
        """Invoice ids starting with 'C' that are no cancellation mark (cleaning._frame_notes)."""
        # a cancellation mark: the cancellation test of the money column the file has (_RAW)
        cancel = _RAW["cancel_quantity"] if self.has_qty else _RAW["cancel_amount"]
        count, first = self.sql(
            f"""SELECT coalesce(sum(n), 0), arg_min(invoice_id, first) FROM orders
            WHERE starts_with(invoice_id, 'C')
              AND regexp_matches(invoice_id, {_quote_text(cleaning.C_PREFIX_ID)})
              AND NOT contains(invoice_id, ' @ ') AND raw_hits & {cancel} = 0"""
        ).fetchall()[0]
        return [cleaning.kept_c_ids_note(int(count), str(first))] if count else []

    def _as_of(self, report: CleaningReport) -> CleaningReport:
        day = as_of_day(self.params)
        self.before = "true"  # every clean row is before the as-of day
        if day is None:
            return report
        stamp = day.to_pydatetime()
        # arg_min_null: the first later row's id even when missing (arg_min skips missing ids)
        later, kept, invoice, date, first = self.sql(
            """SELECT coalesce(sum(n) FILTER (invoice_date >= ?), 0),
                      coalesce(sum(n) FILTER (NOT coalesce(invoice_date >= ?, false)), 0),
                      arg_min_null(invoice_id, first) FILTER (invoice_date >= ?),
                      arg_min(invoice_date, first) FILTER (invoice_date >= ?), min(invoice_date)
               FROM clean_rows""",
            [stamp, stamp, stamp, stamp],
        ).fetchall()[0]
        if kept == 0:
            raise nothing_before(day, pd.Timestamp(first) if first is not None else pd.NaT)
        example = None
        if later:  # the first later row's invoice and day
            shown = "<NA>" if invoice is None else invoice
            example = f"invoice {shown} on {pd.Timestamp(date).date()}"
        before = report.rows_clean
        step = CleaningStep(
            "as_of", as_of_label(day), before, int(later), int(kept), True, int(later), example
        )
        self.before = f"NOT coalesce(invoice_date >= {_quote_ts(stamp)}, false)"
        self.sql(
            f"CREATE OR REPLACE TEMP VIEW clean AS SELECT * FROM clean_rows WHERE {self.before}"
        )
        return dataclasses.replace(report, steps=(*report.steps, step))

    def _check_currency(self) -> None:
        column = self.chosen.get("currency")
        if column is None:
            cleaning.check_one_currency(pd.DataFrame(), self.options, None)
            return
        counts = self.sql(
            """SELECT upper(currency) AS code, sum(n) AS n,
                min(first) AS first FROM clean WHERE currency IS NOT NULL
                GROUP BY code ORDER BY n DESC, first"""
        ).df()
        cleaning.check_currency_counts(
            pd.Series(counts["n"].to_numpy(), index=counts["code"].to_numpy()), column
        )

    def _reduce_customers(self, snapshot: pd.Timestamp, alongside: bool) -> None:
        """The customer tables (:meth:`_customers`) into ``customer_tables``; ``alongside``:
        their frame begun in a thread, into ``frame`` (see :data:`_ALONGSIDE_ORDERS`).

        Raises
        ------
        _Handoff
            Every customer has one order (the reader looks for another customer column).
        """
        table, top = self._customers()
        frequency = table.column("frequency")
        if len(frequency) >= checks.MIN_ORDERS and pc.max(frequency).as_py() <= 1:
            raise _Handoff("one order per customer (the reader looks for another customer column)")
        self.customer_tables = table, top
        if alongside:
            self.frame = self.frames.submit(_customer_frame, table, top, snapshot)

    # ------------------------------------------------------------------ figures
    def _missing_ids(self) -> Any:
        """core.missing_ids.compare's figures as queries (same definitions)."""
        index = {s.name: 1 << i for i, s in enumerate(cleaning.STEPS)}
        not_sales = sum(index[name] for name in missing_ids.NOT_SALES)
        no_id = index["missing_customer"]
        if self.options.drop_placeholder_ids:
            no_id |= index["placeholder_ids"]

        def sales(table: str) -> str:  # a table's sales rows, g = 1 those without a customer id
            return f"""SELECT *, CAST(hits & {no_id} <> 0 AS INTEGER) AS g
                FROM (SELECT *, {self._hits()} AS hits FROM {table}) WHERE hits & {not_sales} = 0"""

        self.sql(f"CREATE TEMP VIEW sales AS {sales('orders')}")
        # each group's sums and, as the grouping set (), all sales' (g NULL): one scan
        sums = self.sql(
            f"""SELECT g, coalesce(sum(n), 0) AS rows, fsum(amount) AS revenue,
                  bool_or(flags & {_HAS_QUANTITY} <> 0) AS has_qty,
                  fsum(amount) FILTER (invoice_id IS NOT NULL) AS value,
                  sum(units) FILTER (invoice_id IS NOT NULL) AS units
               FROM sales GROUP BY GROUPING SETS ((g), ())"""
        ).df()
        whole = sums["g"].isna()
        sales_rows, total = sums.loc[whole, "rows"].iloc[0], sums.loc[whole, "revenue"].iloc[0]
        per_group = sums[~whole].astype({"g": int, "rows": int}).set_index("g")
        if not {0, 1} <= set(per_group.index):  # no rows with, or none without, a customer id
            return None
        total = float(total)
        prices = self.sql(
            f"""SELECT g, unit_price, sum(n) AS n FROM ({sales("prices")})
               GROUP BY g, unit_price ORDER BY g, unit_price"""
        ).df()
        per_group["price"] = [
            _weighted_median(mine["unit_price"].to_numpy(), mine["n"].to_numpy())
            for mine in (prices[prices["g"] == g] for g in per_group.index)
        ]
        # a per-invoice mean is the sum over the rows with an invoice id (made with the sums
        # above) divided by the distinct invoices, as core.missing_ids takes it: the invoices
        # counted by a grouping without sums (it spills; count(DISTINCT) would hold them
        # outside the memory limit)
        counted = (
            self.sql(
                """SELECT g, count(*) AS invoices FROM (
                     SELECT g, invoice_id FROM sales WHERE invoice_id IS NOT NULL
                     GROUP BY g, invoice_id) GROUP BY g"""
            )
            .df()
            .astype({"g": int})
            .set_index("g")
        )
        # only the groups with an invoice id (none at all: no rows)
        invoices = counted.join(per_group[["value", "units"]], how="left")
        invoices["value"] = invoices["value"] / invoices["invoices"]
        invoices["units"] = invoices["units"] / invoices["invoices"]
        countries = self.sql(
            """SELECT g, country, sum(n) AS n, min(first) AS first FROM sales
               WHERE country IS NOT NULL GROUP BY g, country ORDER BY g, n DESC, first"""
        ).df()

        def group(g: int) -> RowGroup:
            rows = int(per_group.loc[g, "rows"])
            revenue = float(per_group.loc[g, "revenue"])
            count = int(invoices.loc[g, "invoices"]) if g in invoices.index else 0
            mine = countries[countries["g"] == g]
            named = int(mine["n"].sum())
            price = per_group.loc[g, "price"]
            return RowGroup(
                rows=rows,
                row_share=rows / sales_rows,
                revenue=revenue,
                revenue_share=revenue / total if total else float("nan"),
                invoices=count,
                invoice_value_mean=float(invoices.loc[g, "value"]) if count else float("nan"),
                lines_per_invoice=rows / count if count else float("nan"),
                units_per_invoice=(float(invoices.loc[g, "units"]) if count else float("nan"))
                if bool(per_group.loc[g, "has_qty"])
                else None,
                unit_price_median=None if pd.isna(price) else float(price),
                countries=tuple(
                    (str(c), float(n / named))
                    for c, n in zip(
                        mine["country"].head(missing_ids.TOP_COUNTRIES),
                        mine["n"].head(missing_ids.TOP_COUNTRIES),
                        strict=True,
                    )
                ),
            )

        months = self.sql(  # the month's label made per month, not per order
            """SELECT strftime(month, '%Y-%m'), rows, without, amount, amount_without FROM (
                 SELECT date_trunc('month', invoice_date) AS month,
                        sum(n) AS rows, coalesce(sum(n) FILTER (g = 1), 0) AS without,
                        fsum(amount) AS amount,
                        coalesce(fsum(amount) FILTER (g = 1), 0) AS amount_without
                 FROM sales WHERE invoice_date IS NOT NULL GROUP BY month) ORDER BY month"""
        ).fetchall()
        shares = tuple(
            (
                str(month),
                float(without / rows),
                float(amount_without / amount) if amount else float("nan"),
            )
            for month, rows, without, amount, amount_without in months
            if rows
        )
        return missing_ids.check_of(int(sales_rows), group(0), group(1), shares)

    def _far_dates(self) -> list[str]:
        per_day = self.sql(
            """SELECT CAST(invoice_date AS DATE) AS day, sum(n) FROM clean
               WHERE invoice_date IS NOT NULL GROUP BY day ORDER BY day"""
        ).fetchall()
        if not per_day:
            return []
        days = np.array([d for d, _ in per_day], dtype="datetime64[D]")
        counts = np.array([n for _, n in per_day], dtype=np.int64)

        def first_invoice(day: np.datetime64) -> str | None:
            found = self.sql(
                # the first row's id even when missing (arg_min would skip to a later row's)
                "SELECT arg_min_null(invoice_id, first) FROM clean "
                "WHERE CAST(invoice_date AS DATE) = ?",
                [pd.Timestamp(day).date()],
            ).fetchall()[0][0]
            return None if found is None else str(found)

        return checks.far_dates_in(days, counts, first_invoice)

    def _frequency(self, ids: Any, groups: Any) -> Any:
        """Each customer's distinct invoices (a missing invoice id is one), from ``groups``:
        the clean order groups of each customer of ``ids`` (Arrow, sorted as DuckDB sorts).

        An order's lines fall in several groups when they differ in their timestamp, country
        or the steps' bits, or spell the order's ids apart. The groups are counted per customer
        (one aggregation) and those of one order found by a grouping on the 64-bit hash of the
        customer and invoice ids alone: at 3.5 M groups 0.3 s, where grouping every group by
        the two texts first (to count the invoices) took 0.55 s. Groups of a shared hash are
        counted exactly, by their ids (a collision of two orders only costs that count). The
        groupings spill; count(DISTINCT invoice_id) held every customer's invoices outside the
        memory limit.
        """
        self.sql(
            """CREATE OR REPLACE TEMP TABLE shared_orders AS SELECT h FROM (
                 SELECT hash(customer_id, invoice_id) AS h FROM clean
                 WHERE customer_id IS NOT NULL) GROUP BY h HAVING count(*) > 1"""
        )
        surplus = self.con.sql(
            """SELECT customer_id, CAST(sum(n - 1) AS BIGINT) AS surplus FROM (
                 SELECT customer_id, invoice_id, count(*) AS n FROM clean
                 WHERE customer_id IS NOT NULL
                   AND hash(customer_id, invoice_id) IN (SELECT h FROM shared_orders)
                 GROUP BY customer_id, invoice_id)
               GROUP BY customer_id HAVING sum(n - 1) > 0"""
        ).to_arrow_table()
        self.sql("DROP TABLE shared_orders")
        if surplus.num_rows == 0:
            return groups
        where = pc.index_in(surplus.column("customer_id"), value_set=ids)
        counts = groups.to_numpy().copy()
        np.subtract.at(counts, where.to_numpy(), surplus.column("surplus").to_numpy())
        return pa.array(counts)

    def _customers(self) -> tuple[Any, Any]:
        """rfm.compute_rfm's sums of the clean rows by DuckDB (Kahan sums, as pandas), as Arrow
        tables sorted by customer id: recency's dates, monetary and frequency, and each
        customer's most frequent country (null for a customer without one; no table when the
        file names none)."""
        # The countries go along as the least and greatest hash of their names (text min/max
        # would keep copies outside the limit): equal, the customer has one country.
        table = self.con.sql(
            """SELECT customer_id, max(invoice_date) AS last, min(invoice_date) AS first,
                      fsum(amount) AS monetary, count(*) AS frequency,
                      min(hash(coalesce(country, ''))) AS low,
                      max(hash(coalesce(country, ''))) AS high
               FROM clean WHERE customer_id IS NOT NULL GROUP BY customer_id
               ORDER BY customer_id"""
        ).to_arrow_table()
        if table.num_rows == 0:
            raise DataError(
                "No rows with a customer id are left, so there are no customers to segment."
            )
        table = table.set_column(
            table.schema.get_field_index("frequency"),
            "frequency",
            self._frequency(table.column("customer_id"), table.column("frequency")),
        )
        # every name of the orders (a few): more than the clean customers' is no harm
        hashed = self.sql(
            "SELECT hash(c), c FROM (SELECT coalesce(country, '') AS c FROM orders) GROUP BY c"
        ).fetchall()
        names = dict(hashed)
        if any(map(_padded_text, names.values())):
            raise _Handoff(_HANDOFF[32])
        low, high = (table.column(c).to_numpy() for c in ("low", "high"))
        table = table.drop_columns(["low", "high"])
        named = np.array([h for h, name in names.items() if name], dtype=low.dtype)
        # a customer with a name has one at the least or the greatest hash ('' is one value)
        if not (np.isin(low, named).any() or np.isin(high, named).any()):
            return table, None
        # each customer's name by its hash, as Arrow text taken from the few names (through
        # a Python string per customer this took 0.3 s at 1 M customers); '' is no country
        hashes = np.fromiter(names, dtype=low.dtype, count=len(names))
        order = np.argsort(hashes)
        spelled = [names[h] or None for h in hashes[order]]
        codes = np.searchsorted(hashes, low, sorter=order)  # a place in ``spelled``
        several = np.flatnonzero(low != high)
        if len(names) < len(hashed):  # two names of one hash: every customer counted
            several = np.arange(len(low))
        if len(several):  # the most rows; a tie to the first name in order
            ids = table.column("customer_id").take(pa.array(several))
            self.con.register("several", pa.table({"customer_id": ids}))
            top = self.sql(
                """SELECT arg_min(c, (-n, c)) AS country FROM (
                     SELECT customer_id, coalesce(country, '') AS c, sum(n) AS n FROM clean
                     WHERE customer_id IN (SELECT customer_id FROM several)
                     GROUP BY customer_id, c)
                   GROUP BY customer_id ORDER BY customer_id"""
            ).fetchall()
            self.con.unregister("several")
            codes[several] = len(spelled) + np.arange(len(several))
            spelled += [c or None for (c,) in top]
        country = pa.array(spelled, pa.string()).take(pa.array(codes))
        return table, pa.table({"country": country})


# ---------------------------------------------------------------------- SQL of the readers


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_text(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _quote_ts(stamp: Any) -> str:
    return f"TIMESTAMP_NS '{pd.Timestamp(stamp).isoformat(sep=' ')}'"


def _text_kind(kind: str) -> bool:
    return kind.upper() in ("VARCHAR", "STRING", "TEXT")


def _number_kind(kind: str) -> bool:
    upper = kind.upper()
    return (
        upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL") or _integer_kind(kind)
    )


def _integer_kind(kind: str) -> bool:
    return kind.upper() in (
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
        "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    )  # fmt: skip


def _trim(ident: str) -> str:
    """Spaces trimmed (trimming every Unicode space is ten times slower in DuckDB; values padded
    with other spaces are handed over, see :func:`_padded`). DuckDB's trim() takes the space
    separators (' ', no-break and the other Unicode Zs spaces) off both ends; it makes a new
    string of every value (3.5 M invoice ids and countries: 0.2 s of CPU), so only values
    that could change go through it: those starting or ending with ' ', and those with any
    non-ASCII character (the other Zs spaces are all non-ASCII); the tests cost a third."""
    return (
        f"CASE WHEN starts_with({ident}, ' ') OR ends_with({ident}, ' ') "
        f"OR strlen({ident}) <> length({ident}) THEN trim({ident}) ELSE {ident} END"
    )


def _padded(ident: str) -> str:
    """Hand-off bit 32: text that, its spaces trimmed as :func:`_trim` trims them, starts or
    ends with other white space (a tab, a line break, ...), which the reader's strip takes off
    too: " \tUK" is "UK" to the reader, and "\tUK" to DuckDB's trim."""
    text = _trim(ident)
    codes = ", ".join(str(ord(c)) for c in _OTHER_SPACE)
    # A value whose first and last characters are printable ASCII (the usual id) has none at
    # its ends, trimmed or not: told without trimming (at 3.5 M orders 0.2 s of CPU less).
    # reverse() puts the last grapheme first; a trailing space or control character is one of
    # its own (or "\r\n"), so its first code point is not printable.
    usual = f"ord({ident}) BETWEEN 33 AND 126 AND ord(reverse({ident})) BETWEEN 33 AND 126"
    return (
        f"CASE WHEN {usual} THEN 0 WHEN ord({text}) IN ({codes}) "
        f"OR ord(right({text}, 1)) IN ({codes}) THEN 32 ELSE 0 END"
    )


def _padded_text(text: str) -> bool:
    """:func:`_padded` of a value already trimmed by :func:`_trim`, in Python."""
    return bool(text) and (text[0] in _OTHER_SPACE or text[-1] in _OTHER_SPACE)


def _blank_sql(ident: str, kind: str) -> str:
    if _text_kind(kind):
        return f"({ident} IS NULL OR {_trim(ident)} = '')"
    return f"({ident} IS NULL)"


@dataclass(frozen=True)
class _Customer:
    """How the row tests read the customer id (_Run._tests): its canonical value, whether it
    is missing, and whether it is present and starts with a digit 1-9 (then it is no
    placeholder either). By default the canonical column; for an id stored as a number,
    grouped as that number, the tests read the number (:func:`_present_number_id`, ``>= 1``)
    and make the text only for the rest."""

    value: str = "customer_id"
    missing: str = "customer_id IS NULL"
    #: the usual id, on which neither test holds: present and led by a digit 1-9
    usual: str = "customer_id >= '1' AND customer_id < ':'"


def _whole_number(ident: str) -> str:
    """A float that values._float_ids reads as an integer id."""
    return f"(isfinite({ident}) AND {ident} = floor({ident}) AND abs({ident}) < 9007199254740992)"


def _present_number_id(ident: str, kind: str) -> str | None:
    """Where an id column stored as numbers gives an id (:func:`_id_sql` not NULL); None for
    other kinds."""
    if kind.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return _whole_number(ident)
    if _integer_kind(kind):
        return f"({ident} IS NOT NULL)"
    return None


def _float_id(ident: str) -> tuple[str, list[str]]:
    """values._float_ids: whole finite numbers as integers; fractional ones go to the reader."""
    finite = f"isfinite({ident})"
    whole = _whole_number(ident)
    sql = f"CASE WHEN {whole} THEN CAST(CAST({ident} AS BIGINT) AS VARCHAR) END"
    return sql, [f"CASE WHEN {finite} AND NOT {whole} THEN 4 ELSE 0 END"]


def _id_sql(ident: str, kind: str) -> tuple[str, list[str]]:
    """values.to_ids."""
    if _text_kind(kind):
        text = _whole(_trim(ident))
        return (  # every null token is at most 4 characters: lower() only for those
            f"CASE WHEN length({text}) <= 4 AND lower({text}) IN "
            f"({', '.join(map(_quote_text, _NULL_TOKENS))}) THEN NULL ELSE {text} END",
            [_padded(ident)],
        )
    if kind.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return _float_id(ident)
    if _integer_kind(kind):
        return f"CAST({ident} AS VARCHAR)", []
    return "CAST(NULL AS VARCHAR)", [f"CASE WHEN {ident} IS NOT NULL THEN 4 ELSE 0 END"]


def _customer_sql(ident: str, kind: str) -> tuple[str, list[str]]:
    """values.to_customer_ids: machine nulls only, e-mail addresses lower-cased."""
    if not _text_kind(kind):
        return _id_sql(ident, kind)
    text = _whole(_trim(ident))
    return (
        f"CASE WHEN length({text}) <= 4 AND lower({text}) IN "
        f"({', '.join(map(_quote_text, _MACHINE_NULLS))}) THEN NULL "
        f"WHEN contains({text}, '@') AND regexp_full_match({text}, {_quote_text(_EMAIL)}) "
        f"THEN lower({text}) ELSE {text} END",
        [
            _padded(ident),
            # an e-mail id beyond ASCII: the reader lower-cases it by Arrow's tables (the
            # cheap tests first: most ids have no '@')
            f"CASE WHEN contains({ident}, '@') AND {_beyond_ascii(ident)} THEN "
            f"CASE WHEN {_beyond_ascii(text)} AND regexp_full_match({text}, "
            f"{_quote_text(_EMAIL)}) THEN 64 ELSE 0 END ELSE 0 END",
        ],
    )


def _currency_sql(ident: str, kind: str) -> tuple[str, list[str]]:
    """values.to_text of a currency code, whose tests upper-case it: a code beyond ASCII goes
    to the reader (hand-off bit 64), which upper-cases it by Arrow's Unicode tables."""
    sql, bits = _text_sql(ident, kind)
    if _text_kind(kind):
        bits += [f"CASE WHEN {_beyond_ascii(_trim(ident))} THEN 64 ELSE 0 END"]
    return sql, bits


def _beyond_ascii(text: str) -> str:
    """Text with a character beyond ASCII (more bytes than characters)."""
    return f"strlen({text}) <> length({text})"


def _whole(text: str) -> str:
    """'17850.0' -> '17850' (an id column saved as floats), the regex only where a '.' is."""
    return (
        f"CASE WHEN contains({text}, '.') THEN "
        f"regexp_replace({text}, '^([+-]?\\d+)\\.0+$', '\\1') ELSE {text} END"
    )


def _text_sql(ident: str, kind: str) -> tuple[str, list[str]]:
    """values.to_text: trimmed, blanks missing; numbers as ids."""
    if _text_kind(kind):
        return f"nullif({_trim(ident)}, '')", [_padded(ident)]
    return _id_sql(ident, kind)


def _number_sql(ident: str, kind: str) -> tuple[str, list[str]]:
    """values.to_numbers for plain numbers, with a decimal point or a decimal comma ("2,55":
    read with the comma here; :meth:`_Run._check_commas` hands the column over where the reader
    would not take the comma, see :func:`_number_forms`); the rest goes to the reader."""
    if _number_kind(kind):
        value = f"CAST({ident} AS DOUBLE)"
        usable = f"(isfinite({value}) AND abs({value}) <= 1e12)"
        return (
            f"CASE WHEN {usable} THEN {value} END",
            [f"CASE WHEN {ident} IS NOT NULL AND NOT {usable} THEN 16 ELSE 0 END"],
        )
    if _text_kind(kind):
        present = f"({ident} IS NOT NULL AND {_trim(ident)} <> '')"
        dot = f"regexp_full_match({ident}, {_quote_text(_PLAIN_NUMBER)})"
        comma = f"regexp_full_match({ident}, {_quote_text(_COMMA_NUMBER)})"
        value = (
            f"CASE WHEN {dot} THEN TRY_CAST({ident} AS DOUBLE) "
            f"WHEN {comma} THEN TRY_CAST(replace({ident}, ',', '.') AS DOUBLE) END"
        )
        return (
            f"CASE WHEN abs({value}) <= 1e12 THEN {value} END",
            [
                f"CASE WHEN {present} AND NOT ({dot} OR {comma}) THEN 2 ELSE 0 END",
                f"CASE WHEN abs({value}) > 1e12 THEN 16 ELSE 0 END",
            ],
        )
    return "CAST(NULL AS DOUBLE)", [f"CASE WHEN {ident} IS NOT NULL THEN 2 ELSE 0 END"]


def _number_forms(ident: str, kind: str, field: int) -> str:
    """Bits of how a text number is written (field k: bits 4k..4k+2): a decimal comma ("2,55"),
    a decimal point ("2.55"), and a comma that could group thousands ("1,234")."""
    if not _text_kind(kind):
        return "0"
    comma = f"regexp_full_match({ident}, {_quote_text(_COMMA_NUMBER)})"
    grouped = f"regexp_full_match({ident}, '-?\\d{{1,3}}(,\\d{{3}})+')"
    return (
        f"(CASE WHEN {comma} THEN {1 << 4 * field} ELSE 0 END"
        f" | CASE WHEN contains({ident}, '.') THEN {2 << 4 * field} ELSE 0 END"
        f" | CASE WHEN {comma} AND {grouped} THEN {4 << 4 * field} ELSE 0 END)"
    )


def _date_sql(ident: str, kind: str) -> tuple[str, list[str], str]:
    """values.to_dates for date cells and ISO text; the rest goes to the reader."""
    upper = kind.upper()
    in_range = f"BETWEEN TIMESTAMP_NS '{_DATE_MIN}' AND TIMESTAMP_NS '{_DATE_MAX}' - INTERVAL 1 MICROSECOND"
    if upper.startswith("TIMESTAMP") and "TIME ZONE" not in upper or upper == "DATE":
        value = f"CAST({ident} AS TIMESTAMP_NS)"
        return (
            f"CASE WHEN {value} {in_range} THEN {value} END",
            [f"CASE WHEN {ident} IS NOT NULL AND NOT ({value} {in_range}) THEN 16 ELSE 0 END"],
            DATE_CELLS,
        )
    if _text_kind(kind):
        text = _trim(ident)
        plain = f"regexp_full_match({text}, {_quote_text(_PLAIN_ISO)})"
        value = f"TRY_CAST({text} AS TIMESTAMP_NS)"
        return (
            f"CASE WHEN {plain} AND {value} {in_range} THEN {value} END",
            [
                f"CASE WHEN {ident} IS NOT NULL AND {text} <> '' AND NOT coalesce({plain} AND "
                f"{value} {in_range}, false) THEN 1 ELSE 0 END"
            ],
            ISO,
        )
    return "CAST(NULL AS TIMESTAMP_NS)", [f"CASE WHEN {ident} IS NOT NULL THEN 1 ELSE 0 END"], ""


def _total_columns(chosen: dict[str, str], types: dict[str, str], first: str) -> list[str]:
    """The text columns io._drop_non_sales looks for a report's 'total' in: the id and date
    columns and the first column."""
    labels = dict.fromkeys(
        [*(chosen[f] for f in ("customer_id", "invoice_id", "invoice_date") if f in chosen), first]
    )
    return [c for c in labels if _text_kind(types[c])]


def _total_sql(ident: str) -> str:
    """Hand-off bit 8: 'total' in the cell, in any case (a report's total line); ILIKE, not
    lower() of every cell (a new string each: at 3.5 M invoice ids twice the time)."""
    return f"CASE WHEN {ident} ILIKE '%total%' THEN 8 ELSE 0 END"


def _blank_line_sql(chosen: dict[str, str], types: dict[str, str]) -> str:
    """Hand-off bit 8: a row with nothing in it (io._drop_non_sales)."""
    every = " AND ".join(_blank_sql(_ident(c), k) for c, k in types.items())
    date = chosen["invoice_date"]
    # the other cells tested only where the date is blank (a CASE evaluates its branch on those
    # rows only: testing every text column of every row cost a fifth of the scan)
    return (
        f"CASE WHEN {_blank_sql(_ident(date), types[date])} THEN "
        f"CASE WHEN {every} THEN 8 ELSE 0 END ELSE 0 END"
    )


def _bits(tests: list[tuple[str, int]]) -> str:
    """SQL of a number with each test's bit set where the test holds (NULL: not set)."""
    return (
        " | ".join(
            f"CASE WHEN coalesce({test}, false) THEN {bit} ELSE 0 END" for test, bit in tests
        )
        or "0"
    )


def _status_sql(ident: str) -> str:
    """cleaning._status_words: lower case, single spaces, no ``wc-`` prefix or qualifier."""
    words = f"regexp_replace(lower(trim({ident})), '[\\s_-]+', ' ', 'g')"
    words = f"regexp_replace({words}, '^wc ', '')"
    return f"regexp_replace({words}, '\\s*\\(.*\\)$| by .*$', '')"


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """The median of ``values`` (sorted, distinct) each taken ``counts`` times, as numpy's: the
    middle value, or the mean of the two middle values; NaN when there are none."""
    total = int(counts.sum())
    if total == 0:
        return float("nan")
    ends = np.cumsum(counts)  # 1-based position of each value's last copy
    low = values[np.searchsorted(ends, (total - 1) // 2 + 1)]
    high = values[np.searchsorted(ends, total // 2 + 1)]
    return float(np.mean([low, high]))


def _customer_frame(table: Any, top: Any, snapshot: pd.Timestamp) -> pd.DataFrame:
    """rfm.customer_table of :meth:`_Run._customers`' Arrow tables."""
    country = None
    if top is not None:
        country = pd.Series(pd.array(top.column("country").combine_chunks(), dtype="string"))
    return rfm.customer_table(
        # the ids stay Arrow text: through Python strings they cost 0.16 s at 1 M customers
        table.column("customer_id").combine_chunks(),
        _ns(table.column("last")),
        _ns(table.column("first")),
        table.column("monetary").to_numpy(),
        table.column("frequency").to_numpy(),
        snapshot,
        country,
    )


def _ns(column: Any) -> np.ndarray:
    """A DuckDB timestamp column as datetime64[ns]."""
    return np.asarray(column.to_numpy(zero_copy_only=False)).astype("datetime64[ns]")


def _digits_lead_no_placeholder() -> bool:
    """No placeholder id starts with a digit 1-9, nor does cleaning's pattern match one that
    does (see :func:`_first_codes`): an id led by one is then no placeholder, and most ids are
    numbers (:meth:`_Run._raw_hits` skips the test on them)."""
    starts = {p[:1] for p in cleaning.PLACEHOLDER_IDS} | set(_PLACEHOLDER_STARTS)
    return not starts & set("123456789")


#: Each row test on the numbers and the date (:meth:`_Run._tests`; the sign bits by their names
#: in :meth:`_Run._raw_hits`): the conditions that rule it out together, on canonical values
#: (finite numbers: no NaN compares).
_RULED_OUT = {
    "invalid": ("invoice_date IS NOT NULL", "amount > 0"),
    "nonpositive_line": ("quantity > 0", "unit_price > 0"),
    "no_quantity": ("quantity > 0",),
    "no_price": ("unit_price > 0",),
    "nonpositive_amount": ("amount > 0",),
    "cancel_quantity": ("quantity > 0",),
    "cancel_amount": ("amount > 0",),
    "sign_quantity": ("quantity > 0",),
    "sign_amount": ("amount > 0",),
}


def _number_guard(names: list[str], has_quantity: bool, has_price: bool) -> tuple[str, set[str]]:
    """The condition of the usual row (a dated line with a positive quantity, price and
    amount) under which none of the tests ``names`` of :data:`_RULED_OUT` holds, and those
    tests; a test whose condition reads a column the file does not map (its test then holds
    on every row, or on none) is left to be made on every row."""
    unmapped = {"quantity > 0": not has_quantity, "unit_price > 0": not has_price}
    covered = {
        name
        for name in names
        if name in _RULED_OUT and not any(unmapped.get(c) for c in _RULED_OUT[name])
    }
    atoms = dict.fromkeys(c for name in names if name in covered for c in _RULED_OUT[name])
    return " AND ".join(atoms), covered


def _first_codes() -> str:
    """First characters of a placeholder id matched by cleaning's pattern (a cheap guard)."""
    return ", ".join(str(ord(c)) for c in _PLACEHOLDER_STARTS)


def _listed(values: Any) -> str:
    """A SQL list of text literals: ``('a', 'b')``."""
    return "(" + ", ".join(_quote_text(v) for v in sorted(values)) + ")"
