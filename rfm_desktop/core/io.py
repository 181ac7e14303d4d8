"""Reading a transactions file into :class:`Transactions`.

Two stages:

1. the *raw table*: the file's columns as a pyarrow table, typed as the file has them
   (Excel/ODS through fastexcel, CSV/TSV/TXT (optionally .gz) through pyarrow with all
   columns as text, Parquet through pyarrow). Raw tables of workbooks and text files are
   cached as parquet (see :mod:`rfm_desktop.core.cache`), so a second read of the same
   unchanged file skips the parsing. The file's bytes are read once per call (and hashed,
   see :mod:`rfm_desktop.core.source`); every sheet, header-row search and parse of that
   call works on those bytes, so what is analysed is what ``run.json`` records.
2. the *canonical frame*: the mapped columns turned into ids, dates and numbers by
   :mod:`rfm_desktop.core.values` (the columns found by :mod:`rfm_desktop.core.mapping`).

The header row is the first of the top rows under which the column mapping succeeds, so
report-style exports with title lines above the headers read as they are (``header_row``
forces it). A workbook's sheets laid out like the first usable one are stacked (see
:func:`plan_sheets`). Rows that are not sales are left out while reading and reported:
empty rows, and the sum line of a report (``Total`` / ``Grand total`` / ``Subtotal`` in
an id or date cell, or in the first column).

Column headers are stripped of surrounding spaces; blank headers become ``Column C``
(the sheet's column letter) or ``Column 3`` (text files); repeated headers are kept and
numbered the way fastexcel does it: ``Name``, ``Name_1``, ``Name_2`` (the same in every
format, so a saved mapping works whether the data comes as .xlsx or .csv).

Every failure is raised as one of the errors of :mod:`rfm_desktop.core.errors` with a
one-line message; library exceptions are chained, never shown.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rfm_desktop.core import cache, checks, source, workbook_guard
from rfm_desktop.core.errors import DataError, InputFileError, MappingError, RFMError, SheetError
from rfm_desktop.core.file_types import (
    FILE_TYPES_BY_KIND,
    SUPPORTED_EXTENSIONS,
    FileKind,
    kind_of,
)
from rfm_desktop.core.mapping import resolve_mapping
from rfm_desktop.core.params import ALL_SHEETS, ProgressFn, SheetChoice, no_progress
from rfm_desktop.core.values import (
    DECIMAL_COMMA,
    Parsed,
    as_arrow,
    currency_marks,
    plural,
    to_customer_ids,
    to_dates,
    to_ids,
    to_numbers,
    to_text,
    total_labels,
)

CANONICAL_COLUMNS = (
    "customer_id",
    "invoice_id",
    "invoice_date",
    "quantity",
    "unit_price",
    "amount",
    "stock_code",
    "description",
    "country",
    "status",
    "currency",
)
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
#: How far down the header row is looked for (title lines of a report, a blank line).
HEADER_SEARCH_ROWS = 30
_META_SHEET = b"rfm_desktop.sheet"
_META_FORMAT = b"rfm_desktop.format"
_META_DECIMAL_COMMA = b"rfm_desktop.decimal_comma"
_META_SKIPPED = b"rfm_desktop.skipped_rows"
_META_SKIPPED_TEXT = b"rfm_desktop.first_skipped"


@dataclass(frozen=True)
class BadValue:
    """The first value of a column that could not be read, and how many there were."""

    column: str
    row: int  # row number as the analyst sees it in the file (the header row is row 1 unless moved)
    value: str
    count: int
    sheet: str | None = None  # named when several sheets were stacked

    @property
    def where(self) -> str:
        """``"row 8"`` or ``"row 8 of sheet 'Year 2010-2011'"``."""
        return f"row {self.row}" + (f" of sheet '{self.sheet}'" if self.sheet else "")


@dataclass(frozen=True, eq=False)
class Transactions:
    """The file's rows in canonical columns, plus what the analyst should know about them.

    ``frame`` columns: customer_id (string, ``<NA>`` when missing), invoice_id (string;
    ``customer @ timestamp`` when the file has no invoice column), invoice_date
    (datetime64[ns], NaT when unreadable), quantity, unit_price, amount (float64; NaN when
    unmapped or unreadable; amount = quantity x unit price unless an amount column is
    mapped), stock_code, description, country, status, currency (string, all ``<NA>`` when
    unmapped). Empty rows and a report's total lines are not in ``frame`` (see ``notes``).
    Customer ids keep placeholder words (``guest``, ``N/A``) for the cleaning step that counts
    them, and email ids are lower-cased (see ``values.to_customer_ids``).
    """

    frame: pd.DataFrame
    rows_read: int
    mapping: dict[str, str]
    date_format: str
    bad_dates: int
    bad_numbers: int
    source_path: str
    sheet: str | None  # the (first) sheet read
    columns: list[str]
    first_bad_date: BadValue | None = None
    first_bad_number: BadValue | None = None
    rows_skipped: int = 0  # text rows with more or fewer values than headers
    first_skipped: str | None = None
    source_format: str = ""  # e.g. "text, semicolon-separated, Windows-1252, decimal comma"
    from_cache: bool = False
    source_sha256: str = ""  # of the bytes that were read and analysed
    source_size: int = 0  # bytes
    sheets: tuple[str, ...] = ()  # every sheet read, in file order (workbooks)
    header_row: int = 1  # row of the column headers (of the first sheet read), counted from 1
    #: the column the rows' currency comes from: the mapped currency column, else the money
    #: column whose cells carry currency marks (``€12.00``); None when nothing says
    currency_source: str | None = None
    #: what reading decided that the analyst should know: sheets read and skipped, the header
    #: row, rows that are not sales, how dates and order totals were read, and what the checks
    #: of the raw table found (core/checks.py)
    notes: tuple[str, ...] = ()
    date_note: str = (
        ""  # the note on the dates (also in ``notes``): serials, day numbers, a guessed order
    )

    @property
    def has_invoice_id(self) -> bool:
        """True when the file has an invoice column (else each row counts as one order)."""
        return "invoice_id" in self.mapping

    @property
    def has_country(self) -> bool:
        """True when the file has a country column."""
        return "country" in self.mapping

    @property
    def has_stock_code(self) -> bool:
        """True when the file has a stock-code column."""
        return "stock_code" in self.mapping

    @property
    def warnings(self) -> tuple[str, ...]:
        """Sentences for the analyst about how the file was read and values that were not read."""
        notes = list(self.notes)
        if self.first_bad_date is not None:
            b = self.first_bad_date
            notes.append(
                f"Column '{b.column}' has {plural(b.count, 'value')} that are not dates, "
                f"first in {b.where}: '{b.value}'."
            )
        if self.first_bad_number is not None:
            b = self.first_bad_number
            total = "" if b.count == self.bad_numbers else f" ({self.bad_numbers} in all columns)"
            notes.append(
                f"Column '{b.column}' has {plural(b.count, 'value')} that are not numbers"
                f"{total}, first in {b.where}: '{b.value}'."
            )
        if self.rows_skipped:
            notes.append(skipped_rows_note(self.rows_skipped, self.first_skipped))
        if not self.has_invoice_id:
            notes.append(
                "No invoice column: each customer and timestamp counts as one purchase, "
                "and cancellations cannot be recognised."
            )
        return tuple(notes)


@dataclass(frozen=True)
class SheetPlan:
    """Which sheets of a workbook are read by default, and why the others are not."""

    read: tuple[str, ...]  # laid out like the first usable sheet: stacked
    skipped: tuple[tuple[str, str], ...] = ()  # (sheet, why not), e.g. ("Notes", "it is empty")


@dataclass(frozen=True)
class _Raw:
    table: pa.Table
    sheet: str | None
    source_format: str
    decimal_comma: bool = False
    rows_skipped: int = 0
    first_skipped: str | None = None
    from_cache: bool = False
    header_row: int = (
        0  # 0-based row of the headers in the sheet or file: data row i is row header_row + 2 + i
    )
    header_found: bool = False  # the header row was found below the top, not given or on top


@dataclass
class _Sniffed:
    encoding: str
    delimiter: str
    headers: list[str] = field(default_factory=list)
    header_row: int = 0  # 0-based line of the headers


# --------------------------------------------------------------------------- public API


def list_sheets(path: str | Path) -> list[str]:
    """Sheet names of a workbook in file order; ``[]`` for text and parquet files."""
    p = Path(path).expanduser()
    if _input_of(p) is None:  # within a read the bytes are there: the path is not looked at again
        p = _checked_path(p)
    if _kind(p) != "excel":
        return []
    return list(_open_workbook(p).sheet_names)


def plan_sheets(
    path: str | Path,
    mapping: Mapping[str, str | None] | None = None,
    header_row: int | None = None,
    *,
    use_cache: bool = True,
) -> SheetPlan:
    """The sheets that are read when no sheet is named: the first sheet whose columns map,
    and every later sheet whose columns map to the same fields (Online Retail II keeps one
    year per sheet). ``read`` is empty when no sheet maps; text and parquet files give
    ``SheetPlan(())``.

    Parameters
    ----------
    path
        The workbook.
    mapping
        Explicit field -> column entries (as for :func:`read_transactions`).
    header_row
        Row of the headers counted from 1, the same on every sheet; None finds it per sheet.
    """
    p = _checked_path(path)
    if _kind(p) != "excel":
        return SheetPlan(())
    try:
        with _read_once(p):
            parts, skipped, _ = _same_layout_sheets(
                p, list_sheets(p), mapping, header_row, use_cache, no_progress
            )
    except (MappingError, SheetError):
        return SheetPlan((), ())
    return SheetPlan(tuple(str(r.sheet) for r in parts), tuple(skipped))


def read_preview(
    path: str | Path,
    sheet: str | int | None = None,
    nrows: int = 200,
    *,
    header_row: int | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """The first ``nrows`` rows with the file's own columns, for the column-mapping page.

    The header row is found as :func:`read_transactions` finds it (``header_row``, counted
    from 1, forces it). Text and parquet files are read only as far as needed. Workbooks
    cannot be read partly any faster than whole, so the whole sheet is read and cached: the
    real read that follows the mapping page is then instant.

    Parameters
    ----------
    path
        The input file (CSV/TSV/TXT, possibly gzipped, Excel/ODS workbook or parquet).
    sheet
        Workbook sheet by name or 0-based position; None: the first sheet.
    nrows
        How many data rows to return.
    header_row
        1-based row of the header; None: found.
    mapping
        Canonical field -> file column, which helps find the header row.

    Returns
    -------
    pandas.DataFrame
        Up to ``nrows`` rows, the file's own column names, values as text/numbers as read.

    Raises
    ------
    InputFileError
        The file is missing, a folder, unreadable or of an unknown type.
    SheetError
        ``sheet`` is not in the workbook, or it has no sheets.
    RFMError
        Any other project error from reading passes through unchanged.
    """
    p = _checked_path(path)
    kind = _kind(p)
    try:
        if kind == "excel":
            with _read_once(p):
                name = _sheet_to_load(p, list_sheets(p), sheet)
                table = _layout(p, name, mapping, header_row, use_cache=True).table.slice(0, nrows)
        elif kind == "text":
            row = header_row - 1 if header_row else _text_header_row(p, mapping)
            table = _read_text(p, nrows=nrows, header_row=row).table
        else:
            table = _read_parquet(p, nrows=nrows).table
        return table.to_pandas(types_mapper=_string_mapper, ignore_metadata=True)
    except RFMError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc


def read_transactions(
    path: str | Path,
    sheet: SheetChoice = None,
    mapping: Mapping[str, str | None] | None = None,
    progress: ProgressFn | None = None,
    *,
    header_row: int | None = None,
    date_order: str | None = None,
    use_cache: bool = True,
) -> Transactions:
    """Read a transactions file into canonical columns.

    Parameters
    ----------
    path
        Workbook, text (CSV/TSV/TXT, optionally .gz) or Parquet file.
    sheet
        Workbooks only. None or ``"all"``: every sheet laid out like the first usable one,
        stacked (:func:`plan_sheets`); a name or 0-based index: that sheet; a tuple of
        names: those sheets, stacked (each must map like the first).
    mapping
        Field -> column header; entries override the automatic detection, ``None``/``""``
        un-maps a field.
    progress
        ``progress(fraction, step)``.
    header_row
        Row of the column headers, counted from 1; None finds it: the first of the top
        :data:`HEADER_SEARCH_ROWS` rows under which the mapping succeeds.
    date_order
        ``"dmy"``, ``"mdy"`` or ``"ymd"`` forces the order of text dates; None detects it.
    use_cache
        False neither reads nor writes the raw-table cache.

    Raises
    ------
    InputFileError, SheetError, MappingError, DataError
        With a message for the analyst.
    """
    report = progress or no_progress
    report(0.0, "Reading file")
    p = _checked_path(path)
    try:
        with _read_once(p) as read:
            parts, skipped, auto = _read_parts(p, sheet, mapping, header_row, use_cache, report)
        report(0.75, "Reading file")
        result = _to_transactions(parts, p, mapping, date_order)
        notes = _sheet_notes(parts, skipped, auto) + _header_notes(parts)
        result = dataclasses.replace(
            result,
            notes=tuple(notes) + result.notes,
            source_sha256=read.sha256,
            source_size=read.size,
        )
    except RFMError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc
    report(1.0, "Reading file")
    return result


# --------------------------------------------------------------------------- layouts for other engines


@dataclass(frozen=True)
class FileLayout:
    """How the reader would lay out one CSV/text or Parquet file, decided from its head alone
    (for engines that read the rows themselves, core.engines): the same sniffing, header-row
    search and header tidying as :func:`read_transactions`.

    ``header_row``: 0-based line of the headers (text files). ``columns``: the file's own
    column names, as the reader names them (``headers`` is what it shows: stripped, blanks named,
    repeats numbered). ``notes``: what the reader would say about the layout (a header row found
    below a title).
    """

    kind: FileKind
    headers: tuple[str, ...]
    columns: tuple[str, ...]
    source_format: str
    encoding: str = "utf8"
    delimiter: str = ","
    header_row: int = 0
    decimal_comma: bool = False
    notes: tuple[str, ...] = ()


def file_layout(
    path: str | Path,
    mapping: Mapping[str, str | None] | None = None,
    header_row: int | None = None,
) -> FileLayout:
    """The layout :func:`read_transactions` would read ``path`` with (text or Parquet files).

    Parameters
    ----------
    path
        One CSV/TSV/TXT (optionally .gz) or Parquet file.
    mapping
        Explicit field -> column entries, which help find the header row.
    header_row
        Row of the column headers counted from 1; None finds it as the reader does.

    Returns
    -------
    FileLayout
        Headers, delimiter, encoding, header row and decimal-comma choice.

    Raises
    ------
    InputFileError
        The file is missing, empty, binary, a workbook or not a valid Parquet file.
    """
    p = _checked_path(path)
    kind = _kind(p)
    if kind == "excel":
        raise InputFileError(f"'{p.name}' is a workbook: it is read in memory.")
    try:
        if kind == "parquet":
            try:
                names = [str(n) for n in pq.read_schema(p).names]
            except Exception as exc:
                raise InputFileError(f"'{p.name}' is not a valid Parquet file.") from exc
            names = [n for n in names if n != "__index_level_0__"]
            if not names:
                raise InputFileError(f"'{p.name}' has no columns.")
            headers = _tidy_headers(names, [f"Column {i + 1}" for i in range(len(names))])
            return FileLayout(kind, tuple(headers), tuple(names), "Parquet")
        row = header_row - 1 if header_row else _text_header_row(p, mapping)
        sniffed = _sniff(p, _head_bytes(p), row)
    except RFMError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc
    found = header_row is None and row > 0
    raw = _Raw(pa.table({}), None, "", header_row=row, header_found=found)
    return FileLayout(
        kind,
        tuple(sniffed.headers),
        tuple(sniffed.headers),
        _describe_text(sniffed),
        sniffed.encoding,
        sniffed.delimiter,
        row,
        _uses_decimal_comma(sniffed),
        tuple(_header_notes([raw])),
    )


def mapping_for(headers: list[str], mapping: Mapping[str, str | None] | None) -> dict[str, str]:
    """The columns the fields are read from, as :func:`read_transactions` chooses them.

    Raises
    ------
    MappingError
        Required fields stay unmapped or the explicit mapping is not valid (with the reader's
        hint when the headers look like a title line).
    """
    try:
        return resolve_mapping(headers, mapping)
    except MappingError as exc:
        raise _with_header_hint(exc, headers) from None


# --------------------------------------------------------------------------- paths and kinds


def _checked_path(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputFileError(f"File not found: '{p}'.")
    if p.is_dir():
        raise InputFileError(
            f"'{p.name}' is a folder: a folder of CSV or Parquet files is read by the DuckDB "
            "engine, not in memory.",
            hint="Run with --engine duckdb (or auto), or choose one file of the folder.",
        )
    _kind(p)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputFileError(
            f"'{p.name}' cannot be opened: {exc.strerror or 'access denied'}."
        ) from exc
    if size == 0:
        raise InputFileError(f"'{p.name}' is empty (0 bytes).")
    return p


def _kind(p: Path) -> FileKind:
    kind = kind_of(p.name)
    if kind is None:
        raise InputFileError(
            f"'{p.name}' is not a supported file type: use {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    return kind


def _kind_name(kind: FileKind) -> str:
    return FILE_TYPES_BY_KIND[kind].noun


def _unreadable(p: Path, exc: Exception) -> InputFileError:
    """Our own one-line message for an unexpected library or system error."""
    if isinstance(exc, MemoryError):
        return InputFileError(f"'{p.name}' is too large to read with the memory available.")
    if isinstance(exc, PermissionError):
        return InputFileError(f"'{p.name}' cannot be opened: permission denied.")
    if isinstance(exc, OSError) and not isinstance(exc, pa.ArrowException):
        return InputFileError(f"'{p.name}' cannot be read: {exc.strerror or 'input/output error'}.")
    return InputFileError(
        f"'{p.name}' could not be read: it is damaged or not a {_kind_name(_kind(p))}."
    )


# --------------------------------------------------------------------------- the bytes of one read

#: The file being read by the current public call and its bytes. A context variable rather
#: than a parameter of every helper: the sheet plan, header-row search, sniffing and parsing
#: of one call all use the same bytes, read and hashed once (threads each have their own).
_READING: ContextVar[tuple[Path, source.InputBytes] | None] = ContextVar(
    "rfm_reading", default=None
)


@contextlib.contextmanager
def _read_once(p: Path) -> Iterator[source.InputBytes]:
    """The bytes of ``p`` for this call: read (and checked unchanged) on first use."""
    current = _READING.get()
    if current is not None and current[0] == p:
        yield current[1]
        return
    read = source.read_input(p)
    token = _READING.set((p, read))
    try:
        yield read
    finally:
        _READING.reset(token)


def _input_of(p: Path) -> bytes | None:
    """The bytes of ``p`` when a call is reading it, else None (the reader opens the path)."""
    current = _READING.get()
    return current[1].data if current is not None and current[0] == p else None


# --------------------------------------------------------------------------- raw tables


def _load_raw(
    p: Path, sheet: str | int | None, use_cache: bool, header_row: int | None = 0
) -> _Raw:
    """One sheet or file as a raw table; ``header_row`` 0-based (workbooks: 0 = the first row
    with content), None = a workbook sheet's cells without headers (for finding them).
    The cache key is the content hash of the bytes read (plus sheet and header row)."""
    kind = _kind(p)
    with _read_once(p) as read:
        key = None
        if use_cache and kind != "parquet":
            key = cache.cache_key(read.sha256, kind, sheet if kind == "excel" else None, header_row)
        cached = cache.load(key)
        if cached is not None:
            return dataclasses.replace(_from_cached(cached), header_row=header_row or 0)
        if kind == "excel":
            raw = _read_excel(p, sheet, header_row)
        elif kind == "text":
            raw = _read_text(p, header_row=header_row or 0)
        else:
            raw = _read_parquet(p)
    if key is not None:
        cache.store(key, _for_cache(raw))
    return raw


# --------------------------------------------------------------------------- layout: sheets, header row


def _read_parts(
    p: Path,
    sheet: SheetChoice,
    mapping: Mapping[str, str | None] | None,
    header_row: int | None,
    use_cache: bool,
    report: ProgressFn,
) -> tuple[list[_Raw], list[tuple[str, str]], bool]:
    """The raw tables to stack, the sheets left out (name, why), and whether sheets were chosen
    automatically."""
    if _kind(p) != "excel":
        return [_layout(p, None, mapping, header_row, use_cache)], [], False
    names = list_sheets(p)
    if _means_all(sheet, names):
        return _same_layout_sheets(p, names, mapping, header_row, use_cache, report)
    wanted = list(dict.fromkeys(_sheet_to_load(p, names, s) for s in _as_list(sheet)))
    parts = []
    for i, name in enumerate(wanted):
        report(0.7 * i / len(wanted), "Reading file")
        parts.append(_layout(p, name, mapping, header_row, use_cache))
    if len(parts) > 1:
        first = resolve_mapping(parts[0].table.column_names, mapping)
        for part in parts[1:]:
            if _mapping_or_none(part, mapping) != first:
                raise SheetError(
                    f"Sheet '{part.sheet}' of '{p.name}' is not laid out like sheet "
                    f"'{parts[0].sheet}': its columns do not map to the same fields, so "
                    "the two cannot be stacked.",
                    hint="Choose sheets with the same columns, or read them one at a time.",
                )
    return parts, [], False


def _means_all(sheet: SheetChoice, names: list[str]) -> bool:
    if sheet is None:
        return True
    is_all = isinstance(sheet, str) and sheet.strip().casefold() == ALL_SHEETS
    return is_all and not any(
        n.strip().casefold() == ALL_SHEETS for n in names
    )  # a sheet called "all"


def _as_list(sheet: SheetChoice) -> list[str | int]:
    if isinstance(sheet, (tuple, list)):
        if not sheet:
            raise SheetError("No sheet was chosen.")
        return list(sheet)
    return [sheet]  # type: ignore[list-item]


def _mapping_or_none(raw: _Raw, mapping: Mapping[str, str | None] | None) -> dict[str, str] | None:
    try:
        return resolve_mapping(raw.table.column_names, mapping)
    except MappingError:
        return None


def _same_layout_sheets(
    p: Path,
    names: list[str],
    mapping: Mapping[str, str | None] | None,
    header_row: int | None,
    use_cache: bool,
    report: ProgressFn,
) -> tuple[list[_Raw], list[tuple[str, str]], bool]:
    """The first sheet whose columns map, then every sheet whose columns map to the same fields.

    When no sheet maps, raises the first mapping error (it lists that sheet's columns), or
    the first sheet's error when every sheet is empty.
    """
    parts: list[_Raw] = []
    skipped: list[tuple[str, str]] = []
    layout: dict[str, str] | None = None
    errors: list[MappingError] = []
    empty: list[SheetError] = []
    for i, name in enumerate(names):
        report(0.7 * i / len(names), "Reading file")
        try:
            raw = _layout(p, name, mapping, header_row, use_cache)
            chosen = resolve_mapping(raw.table.column_names, mapping)
        except SheetError as exc:
            empty.append(exc)
            skipped.append(
                (name, "it has no data rows" if "no data rows" in str(exc) else "it is empty")
            )
            continue
        except MappingError as exc:
            errors.append(exc)
            skipped.append((name, "its columns do not map to the required fields"))
            continue
        if layout is None or chosen == layout:
            layout = chosen
            parts.append(raw)
        else:
            skipped.append((name, f"its columns are not laid out like sheet '{parts[0].sheet}'"))
    if not parts:  # a mapping error lists the columns: the more useful message
        raise (errors or empty)[0]
    return parts, skipped, True


def _layout(
    p: Path,
    sheet: str | None,
    mapping: Mapping[str, str | None] | None,
    header_row: int | None,
    use_cache: bool,
) -> _Raw:
    """One sheet or file read under its header row: ``header_row`` (from 1) or found.

    The plain read (headers on top) is tried first, so the usual file costs one read; a
    workbook sheet whose top row does not map is read once more as bare cells, to find the
    header row below a title.
    """
    kind = _kind(p)
    if kind == "parquet":
        return _load_raw(p, None, use_cache)
    if kind == "text":
        row = header_row - 1 if header_row else _text_header_row(p, mapping)
        raw = _load_raw(p, None, use_cache, row)
        return dataclasses.replace(raw, header_found=header_row is None and row > 0)
    if header_row is not None:
        return _load_raw(p, sheet, use_cache, header_row - 1)
    raw = _load_raw(p, sheet, use_cache, 0)
    if _maps(raw.table.column_names, mapping):
        return raw
    grid = _load_raw(p, sheet, use_cache, None)
    rows = grid.table.slice(0, HEADER_SEARCH_ROWS).to_pylist()
    for row, cells in enumerate(rows):
        names = ["" if v is None else str(v) for v in cells.values()]
        headers = _tidy_headers(names, [f"Column {_column_letter(i)}" for i in range(len(names))])
        if _maps(headers, mapping):
            table = grid.table.slice(row + 1).rename_columns(headers)
            return dataclasses.replace(grid, table=table, header_row=row, header_found=True)
    return raw


def _maps(headers: list[str], mapping: Mapping[str, str | None] | None) -> bool:
    """The required fields find their columns among these headers."""
    try:
        resolve_mapping(headers, mapping)
    except MappingError:
        return False
    return True


def _text_header_row(p: Path, mapping: Mapping[str, str | None] | None) -> int:
    """0-based line of a text file's headers: the first line under which the mapping succeeds
    (line 0 when none does: the mapping error then names line 0's columns)."""
    lines = _sniff_lines(p, _head_bytes(p))
    for row, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
        delimiter = _sniff_delimiter(lines[row:])
        cells = next(csv.reader(io.StringIO(line + "\n"), delimiter=delimiter), [])
        if len(cells) > 1 and _maps(
            _tidy_headers(cells, [f"Column {i + 1}" for i in range(len(cells))]), mapping
        ):
            return row
    return 0


def _sheet_notes(parts: list[_Raw], skipped: list[tuple[str, str]], auto: bool) -> list[str]:
    """Which sheets were read and which not, when a workbook has more than one."""
    if len(parts) + len(skipped) < 2 or parts[0].sheet is None:
        return []
    read = [f"'{r.sheet}' ({plural(r.table.num_rows, 'row')})" for r in parts]
    listed = read[0] if len(read) == 1 else ", ".join(read[:-1]) + " and " + read[-1]
    notes = [
        f"Read sheet {listed}."
        if len(parts) == 1
        else f"Read sheets {listed}, stacked: their columns map to the same fields."
    ]
    for name, why in skipped:
        notes.append(f"Sheet '{name}' was not read: {why}.")
    if skipped and auto:
        notes.append("Choose the sheets with --sheet NAME (repeatable) or on the File page.")
    return [" ".join(notes)]


def _header_notes(parts: list[_Raw]) -> list[str]:
    notes = []
    for raw in parts:
        if raw.header_found:
            where = f" of sheet '{raw.sheet}'" if raw.sheet is not None else ""
            notes.append(
                f"The column headers are on row {raw.header_row + 1}{where}; the "
                f"{plural(raw.header_row, 'row')} above (a title) were not read. "
                "Give another row with --header-row N (or Header row on the File page)."
            )
    return notes


def _for_cache(raw: _Raw) -> pa.Table:
    meta = {
        _META_SHEET: (raw.sheet or "").encode(),
        _META_FORMAT: raw.source_format.encode(),
        _META_DECIMAL_COMMA: b"1" if raw.decimal_comma else b"0",
        _META_SKIPPED: str(raw.rows_skipped).encode(),
        _META_SKIPPED_TEXT: (raw.first_skipped or "").encode(),
    }
    return raw.table.replace_schema_metadata(meta)


def _from_cached(table: pa.Table) -> _Raw:
    meta = table.schema.metadata or {}
    return _Raw(
        table=table.replace_schema_metadata(None),
        sheet=meta.get(_META_SHEET, b"").decode() or None,
        source_format=meta.get(_META_FORMAT, b"").decode(),
        decimal_comma=meta.get(_META_DECIMAL_COMMA) == b"1",
        rows_skipped=int(meta.get(_META_SKIPPED, b"0") or 0),
        first_skipped=meta.get(_META_SKIPPED_TEXT, b"").decode() or None,
        from_cache=True,
    )


def _tidy_headers(names: list[str], blank: list[str]) -> list[str]:
    """Stripped, blank ones replaced by ``blank[i]``, repeats numbered ``Name_1``, ``Name_2``."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        base = str(name).strip() or blank[i]
        candidate, n = base, 0
        while candidate in seen:
            n += 1
            candidate = f"{base}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------- workbooks


def _open_workbook(p: Path) -> Any:  # fastexcel.ExcelReader (imported lazily: a big module)
    import fastexcel

    workbook_guard.check_workbook(
        p
    )  # before anything is unpacked: a zip bomb would abort the process
    try:
        return fastexcel.read_excel(_input_of(p) or p)
    except Exception as exc:
        raise InputFileError(f"'{p.name}' is encrypted or not a valid workbook.") from exc


def _sheet_to_load(p: Path, names: list[str], sheet: str | int | None) -> str:
    if not names:
        raise SheetError(f"'{p.name}' has no sheets.")
    if sheet is None:
        return names[0]
    listed = ", ".join(f"'{n}'" for n in names)
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
        raise SheetError(
            f"There is no sheet number {sheet} (counting from 0) in '{p.name}': "
            f"its sheets are {listed}."
        )
    text = str(sheet)
    if text in names:
        return text
    folded = [n for n in names if n.strip().casefold() == text.strip().casefold()]
    if folded:
        return folded[0]
    if text.strip().isdigit() and int(text) < len(names):
        return names[int(text)]
    raise SheetError(f"There is no sheet '{text}' in '{p.name}': its sheets are {listed}.")


def _read_excel(p: Path, sheet: str | int | None, header_row: int | None = 0) -> _Raw:
    """``header_row``: 0-based; 0 is the first row with content (fastexcel skips empty rows
    on top), None reads the cells without headers, every row as it is in the sheet."""
    reader = _open_workbook(p)
    name = _sheet_to_load(p, list(reader.sheet_names), sheet)
    rows = (
        {"header_row": header_row}
        if header_row is not None
        else {"header_row": None, "skip_rows": 0}
    )
    try:
        loaded = reader.load_sheet(name, **rows)
        batch, errors = loaded.to_arrow_with_errors()
        if errors is not None and errors.errors:
            # fastexcel types each column from its first 1,000 cells; a cell below that does
            # not fit (a 'C536379' cancellation under numeric invoice numbers, 'N/A' under
            # dates, '#DIV/0!') would silently become a null. Read those columns as text.
            as_text = {e.position[1]: "string" for e in errors.errors}
            batch = reader.load_sheet(name, dtypes=as_text, **rows).to_arrow()
    except Exception as exc:
        raise InputFileError(
            f"Sheet '{name}' of '{p.name}' could not be read: the workbook is damaged or encrypted."
        ) from exc
    if batch.num_columns == 0:
        raise SheetError(f"Sheet '{name}' of '{p.name}' is empty.")
    if batch.num_rows == 0:
        raise SheetError(f"Sheet '{name}' of '{p.name}' has column headers but no data rows.")
    blank = [f"Column {_column_letter(i)}" for i in range(batch.num_columns)]
    # fastexcel names a blank header "__UNNAMED__<index>" (asking it via available_columns()
    # would cost a tenth of the read)
    names = ["" if col == f"__UNNAMED__{i}" else col for i, col in enumerate(batch.schema.names)]
    table = pa.Table.from_batches([batch]).rename_columns(_tidy_headers(names, blank))
    return _Raw(table, name, f"{p.suffix.lstrip('.').upper()} workbook", header_row=header_row or 0)


# --------------------------------------------------------------------------- text files


def _read_text(p: Path, nrows: int | None = None, header_row: int = 0) -> _Raw:
    """``header_row``: 0-based line of the headers; the lines above it are not read."""
    sample = _head_bytes(p)
    sniffed = _sniff(p, sample, header_row)
    skipped = _SkippedRows()
    table = None
    for encoding in _encodings_to_try(sniffed.encoding):
        skipped = _SkippedRows()
        try:
            table = _arrow_csv(p, sniffed, encoding, skipped, nrows)
            sniffed.encoding = encoding
            break
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc) and "decode" not in str(exc).lower():
                raise InputFileError(
                    f"'{p.name}' could not be read as a table: check that it is a CSV export."
                ) from exc
        except UnicodeDecodeError:
            continue
    if table is None:
        raise InputFileError(f"'{p.name}' has characters that are not text in any known encoding.")
    check_split(p.name, table.num_rows, skipped.count, len(sniffed.headers), whole=nrows is None)
    return _Raw(
        table,
        None,
        _describe_text(sniffed),
        _uses_decimal_comma(sniffed),
        skipped.count,
        skipped.first,
        header_row=header_row,
    )


#: How much of the first skipped row the warning quotes (characters).
SKIPPED_TEXT_CHARS = 80


def skipped_rows_note(count: int, first: str | None) -> str:
    """The warning on text rows skipped because their number of values does not match the
    headers (said by every engine that reads text files).

    Parameters
    ----------
    count
        Rows skipped.
    first
        The first skipped row as the file has it, up to :data:`SKIPPED_TEXT_CHARS` characters.
    """
    return (
        f"{plural(count, 'row')} skipped because the number of values "
        f"does not match the headers, first: '{first}'."
    )


def check_split(name: str, kept: int, skipped: int, headers: int, *, whole: bool = True) -> None:
    """Stop on a text file without data rows, or one whose rows mostly do not fit the headers.

    Parameters
    ----------
    name
        The file's name, as the analyst knows it.
    kept, skipped
        Rows read, and rows skipped because their number of values does not match the headers.
    headers
        Number of column headers.
    whole
        False when only the file's first rows were read (a preview): then a majority of
        skipped rows is not a reason to stop.

    Raises
    ------
    InputFileError
        No data rows; no row with as many values as headers; or (``whole``) more rows skipped
        than read.
    """
    if kept == 0 and skipped == 0:
        raise InputFileError(f"'{name}' has column headers but no data rows.")
    if kept == 0 or (whole and skipped > kept):
        raise InputFileError(
            f"'{name}' could not be split into columns: most rows have more or "
            f"fewer values than the {headers} headers."
        )


class _SkippedRows:
    """pyarrow's invalid-row handler: skip rows with the wrong number of values, remember the first."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def __call__(self, row: pacsv.InvalidRow) -> str:
        self.count += 1
        if self.first is None:
            self.first = row.text[:SKIPPED_TEXT_CHARS]
        return "skip"


def _head_bytes(p: Path) -> bytes:
    read = _input_of(p)
    try:
        if p.name.lower().endswith(".gz"):
            with gzip.open(p if read is None else io.BytesIO(read), "rb") as fh:
                data = fh.read(_SNIFF_BYTES)
        elif read is not None:
            data = read[:_SNIFF_BYTES]
        else:
            with open(p, "rb") as fh:
                data = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(
            f"'{p.name}' cannot be opened: it is not a valid gzip file or cannot be read."
        ) from exc
    if not data.strip():
        raise InputFileError(f"'{p.name}' is empty.")
    return data


def _sniff(p: Path, sample: bytes, header_row: int = 0) -> _Sniffed:
    encoding = _sniff_encoding(p, sample)
    lines = _sniff_lines(p, sample, encoding)
    if header_row >= len(lines):
        raise InputFileError(
            f"'{p.name}' has no row {header_row + 1} to take the column headers from."
        )
    lines = lines[header_row:]
    delimiter = _sniff_delimiter(lines)
    first = next(csv.reader(io.StringIO(lines[0] + "\n"), delimiter=delimiter))
    headers = _tidy_headers(first, [f"Column {i + 1}" for i in range(len(first))])
    return _Sniffed(encoding, delimiter, headers, header_row)


def _sniff_lines(p: Path, sample: bytes, encoding: str | None = None) -> list[str]:
    """The complete lines of the file's first bytes, decoded; checked to be text."""
    encoding = encoding or _sniff_encoding(p, sample)
    text = sample.decode(_python_codec(encoding), errors="replace")
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputFileError(f"'{p.name}' is empty.")
    lines = text.splitlines()
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    _check_text(p, text)
    return lines


def _sniff_encoding(p: Path, sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf8"  # the BOM sits in the header row, which is parsed separately
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample or sample.startswith(b"PK\x03\x04"):
        raise InputFileError(
            f"'{p.name}' is not a text file (it looks like a workbook or other "
            "binary data): open the original file or export it as CSV."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf8"
    except UnicodeDecodeError:
        return "cp1252"


def _python_codec(encoding: str) -> str:
    return "utf-8-sig" if encoding == "utf8" else encoding


def _encodings_to_try(first: str) -> list[str]:
    order = [first, "cp1252", "latin-1"]
    return list(dict.fromkeys(order))


def _check_text(p: Path, text: str) -> None:
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n") + text.count("\ufffd")
    if control > max(8, len(text) // 50):
        raise InputFileError(
            f"'{p.name}' is not a text file (it looks like binary data): "
            "open the original file or export it as CSV."
        )


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the header and the following lines into the same, largest count."""
    head = lines[:50]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(io.StringIO("\n".join(head)), delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        rest = counts[1:] or counts
        score = (sum(c == counts[0] for c in rest) / len(rest), counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _arrow_csv(
    p: Path, sniffed: _Sniffed, encoding: str, on_bad_row: _SkippedRows, nrows: int | None
) -> pa.Table:
    names = sniffed.headers
    read = pacsv.ReadOptions(
        column_names=names,
        skip_rows=sniffed.header_row + 1,
        encoding=encoding,
        block_size=1 << 20 if nrows else 1 << 22,
    )
    parse = pacsv.ParseOptions(
        delimiter=sniffed.delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
    )
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    if nrows is None:
        return pacsv.read_csv(
            _text_input(p), read_options=read, parse_options=parse, convert_options=convert
        )
    batches, rows = [], 0
    with pacsv.open_csv(
        p, read_options=read, parse_options=parse, convert_options=convert
    ) as reader:
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows >= nrows:
                break
    schema_ = pa.schema([(n, pa.string()) for n in names])
    return pa.Table.from_batches(batches, schema=schema_).slice(0, nrows)


def _text_input(p: Path) -> Path | pa.NativeFile:
    """What pyarrow reads: the bytes of this read (gzip-decompressed when the name says so), or the path."""
    data = _input_of(p)
    if data is None:
        return p
    stream = pa.BufferReader(data)
    return pa.CompressedInputStream(stream, "gzip") if p.name.lower().endswith(".gz") else stream


def _uses_decimal_comma(sniffed: _Sniffed) -> bool:
    """Semicolon-separated files come from locales that write 2,55."""
    return sniffed.delimiter == ";"


def _describe_text(sniffed: _Sniffed) -> str:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    encodings = {
        "utf8": "UTF-8",
        "utf-16": "UTF-16",
        "cp1252": "Windows-1252",
        "latin-1": "Latin-1",
    }
    return f"text, {names[sniffed.delimiter]}-separated, {encodings[sniffed.encoding]}"


# --------------------------------------------------------------------------- parquet


def _read_parquet(p: Path, nrows: int | None = None) -> _Raw:
    try:
        if nrows is None:
            data = _input_of(p)
            table = pq.read_table(p if data is None else pa.BufferReader(data))
        else:
            parquet = pq.ParquetFile(p)
            batches = list(_first_batches(parquet, nrows))
            table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except Exception as exc:
        raise InputFileError(f"'{p.name}' is not a valid Parquet file.") from exc
    if table.num_columns == 0:
        raise InputFileError(f"'{p.name}' has no columns.")
    if table.num_rows == 0:
        raise InputFileError(f"'{p.name}' has column headers but no data rows.")
    names = _tidy_headers(table.column_names, [f"Column {i + 1}" for i in range(table.num_columns)])
    return _Raw(table.rename_columns(names).replace_schema_metadata(None), None, "Parquet")


def _first_batches(parquet: pq.ParquetFile, nrows: int) -> Iterator[pa.RecordBatch]:
    rows = 0
    for batch in parquet.iter_batches(batch_size=nrows):
        yield batch
        rows += batch.num_rows
        if rows >= nrows:
            return


def _string_mapper(dtype: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype("pyarrow")
    return None


# --------------------------------------------------------------------------- canonical frame


class _Rows:
    """Where a row of the stacked table is in the file: sheet and row number as the analyst sees them."""

    def __init__(self, parts: list[_Raw]):
        self.parts = parts
        self.starts = np.cumsum([0] + [r.table.num_rows for r in parts])[:-1]
        self.kept: np.ndarray | None = None  # stacked-table positions of the rows kept

    def keep(self, mask: np.ndarray) -> None:
        self.kept = np.flatnonzero(mask)

    def locate(self, index: int) -> tuple[str | None, int]:
        position = int(self.kept[index]) if self.kept is not None else index
        part = int(np.searchsorted(self.starts, position, side="right")) - 1
        raw = self.parts[part]
        sheet = raw.sheet if len(self.parts) > 1 else None
        return sheet, raw.header_row + 2 + position - int(self.starts[part])


def _stack(parts: list[_Raw]) -> pa.Table:
    """The parts' rows under the first part's columns (those every part has).

    A column typed differently on two sheets (numbers on one, text on another) is stacked
    as float64 when all are numbers and as text otherwise; the readers of
    :mod:`~rfm_desktop.core.values` read text the same way.
    """
    if len(parts) == 1:
        return parts[0].table
    names = [
        n for n in parts[0].table.column_names if all(n in r.table.column_names for r in parts[1:])
    ]
    columns = {}
    for name in names:
        pieces = [r.table.column(name) for r in parts]
        types = {c.type for c in pieces if not pa.types.is_null(c.type)}
        if len(types) > 1:
            numeric = all(
                pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                for t in types
            )
            target = pa.float64() if numeric else pa.string()
        else:
            target = types.pop() if types else pa.null()
        chunks = [chunk for c in pieces for chunk in c.cast(target).chunks]
        columns[name] = pa.chunked_array(chunks, type=target)
    return pa.table(columns)


def _to_transactions(
    parts: list[_Raw], p: Path, mapping: Mapping[str, str | None] | None, date_order: str | None
) -> Transactions:
    headers = list(parts[0].table.column_names)
    try:
        chosen = resolve_mapping(headers, mapping)
    except MappingError as exc:
        raise _with_header_hint(exc, headers) from None
    table = _stack(parts)
    rows = _Rows(parts)
    table, notes = _drop_non_sales(table, chosen, rows)
    n = table.num_rows

    dates = to_dates(table.column(chosen["invoice_date"]), order=date_order)
    bad_date = _bad_value(dates, chosen["invoice_date"], rows)
    if dates.parsed == 0:
        _no_values(chosen["invoice_date"], bad_date, "dates")
    date_note = f"Column '{chosen['invoice_date']}' {dates.note}" if dates.note else ""
    if date_note:
        notes.append(date_note)
    numbers, bad_numbers, first_bad_number, comma = _numbers(
        table, chosen, parts[0].decimal_comma, rows
    )

    customers = to_customer_ids(table.column(chosen["customer_id"]))
    invoice_dates = dates.values
    orders: np.ndarray | None = None  # invoice codes, computed once when needed
    if "invoice_id" in chosen:
        invoices = to_ids(table.column(chosen["invoice_id"]))
        blank_dates = _blank(table.column(chosen["invoice_date"]))
        if blank_dates.any() or customers.isna().any():
            orders = pd.factorize(invoices, use_na_sentinel=True)[0]
            customers, invoice_dates, filled = _fill_within_orders(
                orders, customers, invoice_dates, blank_dates
            )
            notes += filled
    else:
        invoices = _synthetic_invoices(customers, invoice_dates)
    if "amount" in chosen:
        blank_amounts = _blank(table.column(chosen["amount"]))
        if blank_amounts.any():
            orders = pd.factorize(invoices, use_na_sentinel=True)[0] if orders is None else orders
            notes += _order_level_amount(numbers["amount"], blank_amounts, orders, chosen["amount"])
    frame = pd.DataFrame(
        {
            "customer_id": customers,
            "invoice_id": invoices,
            "invoice_date": invoice_dates,
            "quantity": numbers["quantity"],
            "unit_price": numbers["unit_price"],
            "amount": numbers["amount"],
            "stock_code": _optional(table, chosen, "stock_code", to_ids),
            "description": _optional(table, chosen, "description", to_text),
            "country": _optional(table, chosen, "country", to_text),
            "status": _optional(table, chosen, "status", to_text),
            "currency": _optional(table, chosen, "currency", to_text),
        },
        copy=False,
    )
    currency_source = _currency_from_marks(table, chosen, frame)
    notes += checks.raw_table_notes(table, chosen, frame)
    source_format = parts[0].source_format
    if len(parts) > 1:
        source_format += f", {len(parts)} sheets"
    return Transactions(
        frame=frame,
        rows_read=n,
        mapping=chosen,
        date_format=dates.label,
        bad_dates=dates.bad,
        bad_numbers=bad_numbers,
        source_path=str(p.resolve()),
        sheet=parts[0].sheet,
        columns=headers,
        first_bad_date=bad_date,
        first_bad_number=first_bad_number,
        rows_skipped=sum(r.rows_skipped for r in parts),
        first_skipped=next((r.first_skipped for r in parts if r.first_skipped), None),
        source_format=source_format + (f", {DECIMAL_COMMA}" if comma else ""),
        from_cache=all(r.from_cache for r in parts),
        sheets=tuple(str(r.sheet) for r in parts if r.sheet is not None),
        header_row=parts[0].header_row + 1,
        currency_source=currency_source,
        notes=tuple(notes),
        date_note=date_note,
    )


def _with_header_hint(exc: MappingError, headers: list[str]) -> MappingError:
    """A mapping error on headers that look like a title line says how to give the header row."""
    generated = sum(bool(re.fullmatch(r"Column [A-Z0-9]+", h)) for h in headers)
    if generated * 2 < len(headers):
        return exc
    return MappingError(
        f"{exc.message} The first row does not look like a row of column headers "
        "and none of the rows below it maps either: give the row of the headers with "
        "--header-row N (or Header row on the File page).",
        exc.hint,
    )


def _blank(column: pa.ChunkedArray) -> np.ndarray:
    """Cells with nothing in them: null, or text of spaces only."""
    arr = as_arrow(column)
    blank = pc.is_null(arr)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        blank = pc.or_(blank, pc.equal(pc.utf8_trim_whitespace(arr), "").fill_null(False))
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def _drop_non_sales(
    table: pa.Table, chosen: dict[str, str], rows: _Rows
) -> tuple[pa.Table, list[str]]:
    """Without empty rows and a report's total lines, and a note saying what was left out.

    A total line says Total / Grand total / Subtotal in an id or date cell, or in the first
    column (where reports put the label; the field case puts it under 'Invoice Date').
    """
    blank = _blank(
        table.column(chosen["invoice_date"])
    )  # an empty row has no date: test the rest only then
    if blank.any():
        for column in table.columns:
            blank &= _blank(column)
    label_columns = dict.fromkeys(
        [
            *(chosen[f] for f in ("customer_id", "invoice_id", "invoice_date") if f in chosen),
            table.column_names[0],
        ]
    )
    total = np.zeros(table.num_rows, dtype=bool)
    for name in label_columns:
        total |= total_labels(table.column(name))
    total &= ~blank
    if not (blank.any() or total.any()):
        return table, []
    said = []
    if total.any():
        first = int(np.argmax(total))
        sheet, row = rows.locate(first)
        where = f"row {row}" + (f" of sheet '{sheet}'" if sheet else "")
        label = next(
            str(table.column(c)[first].as_py()).strip()
            for c in label_columns
            if total_labels(table.column(c).slice(first, 1))[0]
        )
        said.append(
            f"{plural(int(total.sum()), 'total line')} of the report (first: {where}, '{label}')"
        )
    if blank.any():
        said.append(f"{plural(int(blank.sum()), 'empty row')}")
    keep = ~(blank | total)
    rows.keep(keep)
    note = f"Not read as sales: {' and '.join(said)}."
    return table.filter(pa.array(keep)), [note]


def _fill_within_orders(
    codes: np.ndarray, customers: pd.Series, dates: np.ndarray, blank_dates: np.ndarray
) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Customer id and date taken from the order where a line of it leaves them blank.

    Order exports (Shopify) write order-level cells on an order's first line only; the
    other lines belong to the same customer and moment. Filled only when the order's
    filled lines agree on one value. ``codes``: the invoice of each row (-1 for none).
    """
    notes = []
    missing_customer = customers.isna().to_numpy() & (codes >= 0)
    if missing_customer.any():
        values = customers.to_numpy(dtype=object, na_value=None)
        filled = _fill_from_group(values, missing_customer, codes)
        if filled.any():
            out = values.copy()
            out[filled] = _group_value(values, ~customers.isna().to_numpy() & (codes >= 0), codes)[
                codes[filled]
            ]
            customers = pd.Series(pd.array(out, dtype=customers.dtype))
            notes.append(
                f"The customer id of {plural(int(filled.sum()), 'line')} was blank and "
                "was taken from another line of the same invoice."
            )
    missing_date = blank_dates & (codes >= 0)
    if missing_date.any():
        filled = _fill_from_group(dates, missing_date, codes)
        if filled.any():
            dates = dates.copy()
            dates[filled] = _group_value(dates, ~np.isnat(dates) & (codes >= 0), codes)[
                codes[filled]
            ]
            notes.append(
                f"The date of {plural(int(filled.sum()), 'line')} was blank and was "
                "taken from another line of the same invoice."
            )
    return customers, dates, notes


def _fill_from_group(values: np.ndarray, missing: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Missing rows whose group has exactly one distinct known value."""
    involved = np.zeros(codes.max() + 1, dtype=bool)
    involved[codes[missing]] = True  # only groups with a missing row are looked at (fast on UCI)
    known = ~missing & (codes >= 0) & involved[np.where(codes >= 0, codes, 0)]
    known[known] = ~pd.isna(values[known])
    distinct = pd.Series(values[known]).groupby(codes[known]).nunique()
    single = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=bool)
    single[distinct.index[distinct.to_numpy() == 1]] = True
    return missing & single[np.where(codes >= 0, codes, 0)]


def _group_value(values: np.ndarray, known: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per group: its first known value."""
    out = np.empty(codes.max() + 1, dtype=values.dtype)
    firsts = pd.Series(np.flatnonzero(known)).groupby(codes[known]).first()
    out[firsts.index] = values[firsts.to_numpy()]
    return out


def _order_level_amount(
    amount: np.ndarray, blank: np.ndarray, codes: np.ndarray, column: str
) -> list[str]:
    """Turn an order-level amount (filled on an order's first line only) into 0 on the other lines.

    Shopify's ``Total`` is the order's total on its first line and blank on the lines after it.
    When every order of two or more lines has exactly one filled amount, on its first line,
    the blank lines are continuation lines: they count 0 (``amount`` is changed in place), so
    each order counts its total once and no line is reported as unreadable. A line-level
    amount column fails the test as soon as one order has two filled lines. ``codes``: the
    invoice of each row (-1 for none).
    """
    grouped = codes >= 0
    if not (blank & grouped).any():
        return []
    n = codes.max() + 1
    lines = np.bincount(codes[grouped], minlength=n)
    filled = np.bincount(codes[grouped & ~blank], minlength=n)
    first_row = np.full(n, len(codes))
    np.minimum.at(first_row, codes[grouped], np.flatnonzero(grouped))
    first_filled = np.full(n, -1)
    rows_filled = np.flatnonzero(grouped & ~blank)
    first_filled[codes[rows_filled]] = rows_filled  # the only filled row where filled == 1
    orders = lines >= 2
    if not (filled[orders] == 1).all() or not (first_filled[orders] == first_row[orders]).all():
        return []
    continuation = blank & grouped & orders[np.where(grouped, codes, 0)]
    amount[continuation] = 0.0
    return [
        f"Column '{column}' is an order total, filled on the first line of each order only: each "
        f"order counts it once, and the {plural(int(continuation.sum()), 'other line')} of orders "
        "count 0. "
        "To use line items instead, map quantity and unit_price."
    ]


def _bad_value(parsed: Parsed, column: str, rows: _Rows) -> BadValue | None:
    if parsed.first_bad_index is None:
        return None
    sheet, row = rows.locate(parsed.first_bad_index)
    return BadValue(column, row, str(parsed.first_bad_value), parsed.bad, sheet)


def _no_values(column: str, bad: BadValue | None, what: str) -> None:
    if bad is None:
        raise DataError(f"Column '{column}' is empty: it has no {what}.")
    raise DataError(
        f"Column '{column}' has no values that are {what}, first in {bad.where}: '{bad.value}'."
    )


def _numbers(
    table: pa.Table, chosen: dict[str, str], decimal_comma: bool, rows: _Rows
) -> tuple[dict[str, np.ndarray], int, BadValue | None, bool]:
    """quantity, unit_price and amount as float64 arrays; bad count, first bad value, comma seen."""
    n = table.num_rows
    required = {"amount"} if "amount" in chosen else {"quantity", "unit_price"}
    out: dict[str, np.ndarray] = {}
    bad_total, first_bad, first_index, comma = 0, None, 0, False
    for name in ("quantity", "unit_price", "amount"):
        if name not in chosen:
            out[name] = np.full(n, np.nan)
            continue
        parsed = to_numbers(table.column(chosen[name]), decimal_comma=decimal_comma)
        bad = _bad_value(parsed, chosen[name], rows)
        if name in required and parsed.parsed == 0:
            _no_values(chosen[name], bad, "numbers")
        out[name] = parsed.values
        comma |= parsed.label == DECIMAL_COMMA
        bad_total += parsed.bad
        if (
            bad is not None
            and parsed.first_bad_index is not None
            and (first_bad is None or parsed.first_bad_index < first_index)
        ):
            first_bad, first_index = bad, parsed.first_bad_index
    if "amount" not in chosen:
        out["amount"] = out["quantity"] * out["unit_price"]
    return out, bad_total, first_bad, comma


def _currency_from_marks(
    table: pa.Table, chosen: dict[str, str], frame: pd.DataFrame
) -> str | None:
    """The column the rows' currency comes from; without a currency column, the money cells' marks.

    ``€12.00`` next to ``$15.00`` in one amount column are two currencies: the marks fill
    ``frame["currency"]`` (in place) so the one-currency check and ``--currency`` treat them
    as they treat a currency column. None when the file says nothing about currency.
    """
    if "currency" in chosen:
        return chosen["currency"]
    money = chosen.get("amount") or chosen.get("unit_price")
    if money is None:
        return None
    marks = currency_marks(table.column(money))
    field = "amount" if "amount" in chosen else "unit_price"
    marks = marks.where(frame[field].notna().to_numpy())  # 'NAN', 'TBD': words, not currencies
    if marks.isna().all():
        return None
    frame["currency"] = marks.to_numpy(dtype=object, na_value=None)
    frame["currency"] = frame["currency"].astype("string")
    return money


def _synthetic_invoices(customers: pd.Series, dates: np.ndarray) -> pd.Series:
    """One purchase per (customer, timestamp): ``"17850 @ 2010-12-01 08:26:00"``."""
    codes, uniques = pd.factorize(dates)
    stamps = np.asarray(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d %H:%M:%S"), dtype=object)
    stamp_text = pa.array(
        np.append(stamps, np.array([None], dtype=object))[codes], type=pa.string()
    )
    customer_text = (
        pa.array(customers.array, type=pa.string()) if len(customers) else pa.array([], pa.string())
    )
    joined = pc.binary_join_element_wise(customer_text, stamp_text, " @ ")
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([joined])), copy=False)


def _optional(
    table: pa.Table,
    chosen: dict[str, str],
    name: str,
    convert: Callable[[pa.ChunkedArray], pd.Series],
) -> pd.Series:
    if name in chosen:
        return convert(table.column(chosen[name]))
    nulls = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
    return pd.Series(pd.arrays.ArrowStringArray(nulls), copy=False)
