"""Reading a transactions file into :class:`Transactions`.

Two stages:

1. the *raw table*: the file's columns as a pyarrow table, typed as the file has them
   (Excel/ODS through fastexcel, CSV/TSV/TXT (optionally .gz) through pyarrow with all
   columns as text, Parquet through pyarrow). Raw tables of workbooks and text files are
   cached as parquet (see :mod:`rfm_desktop.core.cache`), so a second read of the same
   unchanged file skips the parsing.
2. the *canonical frame*: the mapped columns turned into ids, dates and numbers by
   :mod:`rfm_desktop.core.schema`.

Column headers are stripped of surrounding spaces; blank headers become ``Column C``
(the sheet's column letter) or ``Column 3`` (text files); repeated headers are kept and
numbered the way fastexcel does it: ``Name``, ``Name_1``, ``Name_2`` (the same in every
format, so a saved mapping works whether the data comes as .xlsx or .csv).

Every failure is raised as one of the errors of :mod:`rfm_desktop.core.errors` with a
one-line message; library exceptions are chained, never shown.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rfm_desktop.core import cache, schema
from rfm_desktop.core.errors import DataError, InputFileError, RFMError, SheetError
from rfm_desktop.core.params import ProgressFn, no_progress

FileKind = Literal["excel", "text", "parquet"]

EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
PARQUET_EXTENSIONS = (".parquet",)
SUPPORTED_EXTENSIONS = (
    EXCEL_EXTENSIONS + TEXT_EXTENSIONS + tuple(f"{e}.gz" for e in TEXT_EXTENSIONS) + PARQUET_EXTENSIONS
)
#: File-dialog filter, e.g. for QFileDialog.
FILE_FILTER = "Data files (" + " ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS) + ")"

CANONICAL_COLUMNS = (
    "customer_id", "invoice_id", "invoice_date", "quantity", "unit_price", "amount",
    "stock_code", "description", "country",
)
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
_META_SHEET = b"rfm_desktop.sheet"
_META_FORMAT = b"rfm_desktop.format"
_META_DECIMAL_COMMA = b"rfm_desktop.decimal_comma"
_META_SKIPPED = b"rfm_desktop.skipped_rows"
_META_SKIPPED_TEXT = b"rfm_desktop.first_skipped"


@dataclass(frozen=True)
class BadValue:
    """The first value of a column that could not be read, and how many there were."""

    column: str
    row: int  # row number as the analyst sees it in the file: header = row 1
    value: str
    count: int


@dataclass(frozen=True, eq=False)
class Transactions:
    """The file's rows in canonical columns, plus what the analyst should know about them.

    ``frame`` columns: customer_id (string, ``<NA>`` when missing), invoice_id (string;
    ``customer @ timestamp`` when the file has no invoice column), invoice_date
    (datetime64[ns], NaT when unreadable), quantity, unit_price, amount (float64; NaN when
    unmapped or unreadable; amount = quantity x unit price unless an amount column is
    mapped), stock_code, description, country (string, all ``<NA>`` when unmapped).
    """

    frame: pd.DataFrame
    rows_read: int
    mapping: dict[str, str]
    date_format: str
    bad_dates: int
    bad_numbers: int
    source_path: str
    sheet: str | None
    columns: list[str]
    first_bad_date: BadValue | None = None
    first_bad_number: BadValue | None = None
    rows_skipped: int = 0  # text rows with more or fewer values than headers
    first_skipped: str | None = None
    source_format: str = ""  # e.g. "text, semicolon-separated, Windows-1252, decimal comma"
    from_cache: bool = False

    @property
    def has_invoice_id(self) -> bool:
        return "invoice_id" in self.mapping

    @property
    def has_country(self) -> bool:
        return "country" in self.mapping

    @property
    def has_stock_code(self) -> bool:
        return "stock_code" in self.mapping

    @property
    def warnings(self) -> tuple[str, ...]:
        """Sentences for the analyst about values that were not read."""
        notes = []
        if self.first_bad_date is not None:
            b = self.first_bad_date
            notes.append(f"Column '{b.column}' has {schema.plural(b.count, 'value')} that are not dates, "
                         f"first in row {b.row}: '{b.value}'.")
        if self.first_bad_number is not None:
            b = self.first_bad_number
            total = "" if b.count == self.bad_numbers else f" ({self.bad_numbers} in all columns)"
            notes.append(f"Column '{b.column}' has {schema.plural(b.count, 'value')} that are not numbers"
                         f"{total}, first in row {b.row}: '{b.value}'.")
        if self.rows_skipped:
            notes.append(f"{schema.plural(self.rows_skipped, 'row')} skipped because the number of values "
                         f"does not match the headers, first: '{self.first_skipped}'.")
        if not self.has_invoice_id:
            notes.append("No invoice column: each customer and timestamp counts as one purchase, "
                         "and cancellations cannot be recognised.")
        return tuple(notes)


@dataclass(frozen=True)
class _Raw:
    table: pa.Table
    sheet: str | None
    source_format: str
    decimal_comma: bool = False
    rows_skipped: int = 0
    first_skipped: str | None = None
    from_cache: bool = False


@dataclass
class _Sniffed:
    encoding: str
    delimiter: str
    headers: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- public API


def list_sheets(path: str | Path) -> list[str]:
    """Sheet names of a workbook in file order; ``[]`` for text and parquet files."""
    p = _checked_path(path)
    if _kind(p) != "excel":
        return []
    return list(_open_workbook(p).sheet_names)


def read_preview(path: str | Path, sheet: str | int | None = None, nrows: int = 200) -> pd.DataFrame:
    """The first ``nrows`` rows with the file's own columns, for the column-mapping page.

    Text and parquet files are read only as far as needed. Workbooks cannot be read
    partly any faster than whole, so the whole sheet is read and cached: the real read
    that follows the mapping page is then instant.
    """
    p = _checked_path(path)
    kind = _kind(p)
    try:
        if kind == "excel":
            table = _load_raw(p, sheet, use_cache=True).table.slice(0, nrows)
        elif kind == "text":
            table = _read_text(p, nrows=nrows).table
        else:
            table = _read_parquet(p, nrows=nrows).table
        return table.to_pandas(types_mapper=_string_mapper, ignore_metadata=True)
    except RFMError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc


def read_transactions(
    path: str | Path,
    sheet: str | int | None = None,
    mapping: Mapping[str, str | None] | None = None,
    progress: ProgressFn | None = None,
    *,
    use_cache: bool = True,
) -> Transactions:
    """Read a transactions file into canonical columns.

    ``sheet``: name or 0-based index; the first sheet when None (ignored for text and
    parquet files). ``mapping``: field -> column header; entries override the automatic
    detection, ``None``/``""`` un-maps a field. ``use_cache=False`` neither reads nor
    writes the raw-table cache.
    """
    report = progress or no_progress
    report(0.0, "Reading file")
    p = _checked_path(path)
    try:
        raw = _load_raw(p, sheet, use_cache)
        report(0.75, "Reading file")
        result = _to_transactions(raw, p, mapping)
    except RFMError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc
    report(1.0, "Reading file")
    return result


# --------------------------------------------------------------------------- paths and kinds


def _checked_path(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputFileError(f"File not found: '{p}'.")
    if p.is_dir():
        raise InputFileError(f"'{p.name}' is a folder, not a data file.")
    _kind(p)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputFileError(f"'{p.name}' cannot be opened: {exc.strerror or 'access denied'}.") from exc
    if size == 0:
        raise InputFileError(f"'{p.name}' is empty (0 bytes).")
    return p


def _kind(p: Path) -> FileKind:
    name = p.name.lower()
    if name.endswith(EXCEL_EXTENSIONS):
        return "excel"
    if name.endswith(TEXT_EXTENSIONS) or name.endswith(tuple(f"{e}.gz" for e in TEXT_EXTENSIONS)):
        return "text"
    if name.endswith(PARQUET_EXTENSIONS):
        return "parquet"
    raise InputFileError(
        f"'{p.name}' is not a supported file type: use {', '.join(SUPPORTED_EXTENSIONS)}."
    )


def _kind_name(kind: FileKind) -> str:
    return {"excel": "workbook", "text": "text (CSV) file", "parquet": "Parquet file"}[kind]


def _unreadable(p: Path, exc: Exception) -> InputFileError:
    """Our own one-line message for an unexpected library or system error."""
    if isinstance(exc, MemoryError):
        return InputFileError(f"'{p.name}' is too large to read with the memory available.")
    if isinstance(exc, PermissionError):
        return InputFileError(f"'{p.name}' cannot be opened: permission denied.")
    if isinstance(exc, OSError) and not isinstance(exc, pa.ArrowException):
        return InputFileError(f"'{p.name}' cannot be read: {exc.strerror or 'input/output error'}.")
    return InputFileError(f"'{p.name}' could not be read: it is damaged or not a {_kind_name(_kind(p))}.")


# --------------------------------------------------------------------------- raw tables


def _load_raw(p: Path, sheet: str | int | None, use_cache: bool) -> _Raw:
    kind = _kind(p)
    key = cache.cache_key(p, sheet if kind == "excel" else None) if use_cache and kind != "parquet" else None
    cached = cache.load(key)
    if cached is not None:
        return _from_cached(cached)
    if kind == "excel":
        raw = _read_excel(p, sheet)
    elif kind == "text":
        raw = _read_text(p)
    else:
        raw = _read_parquet(p)
    if key is not None:
        cache.store(key, _for_cache(raw))
    return raw


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


def _open_workbook(p: Path):  # -> fastexcel.ExcelReader (imported lazily: it is a big module)
    import fastexcel

    try:
        return fastexcel.read_excel(p)
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
        raise SheetError(f"There is no sheet number {sheet} (counting from 0) in '{p.name}': "
                         f"its sheets are {listed}.")
    text = str(sheet)
    if text in names:
        return text
    folded = [n for n in names if n.strip().casefold() == text.strip().casefold()]
    if folded:
        return folded[0]
    if text.strip().isdigit() and int(text) < len(names):
        return names[int(text)]
    raise SheetError(f"There is no sheet '{text}' in '{p.name}': its sheets are {listed}.")


def _read_excel(p: Path, sheet: str | int | None) -> _Raw:
    reader = _open_workbook(p)
    name = _sheet_to_load(p, list(reader.sheet_names), sheet)
    try:
        loaded = reader.load_sheet(name)
        batch, errors = loaded.to_arrow_with_errors()
        if errors is not None and errors.errors:
            # fastexcel types each column from its first 1,000 cells; a cell below that does
            # not fit (a 'C536379' cancellation under numeric invoice numbers, 'N/A' under
            # dates, '#DIV/0!') would silently become a null. Read those columns as text.
            as_text = {e.position[1]: "string" for e in errors.errors}
            batch = reader.load_sheet(name, dtypes=as_text).to_arrow()
    except Exception as exc:
        raise InputFileError(f"Sheet '{name}' of '{p.name}' could not be read: the workbook "
                             "is damaged or encrypted.") from exc
    if batch.num_columns == 0:
        raise SheetError(f"Sheet '{name}' of '{p.name}' is empty.")
    if batch.num_rows == 0:
        raise SheetError(f"Sheet '{name}' of '{p.name}' has column headers but no data rows.")
    blank = [f"Column {_column_letter(i)}" for i in range(batch.num_columns)]
    # fastexcel names a blank header "__UNNAMED__<index>" (asking it via available_columns()
    # would cost a tenth of the read)
    names = ["" if col == f"__UNNAMED__{i}" else col for i, col in enumerate(batch.schema.names)]
    table = pa.Table.from_batches([batch]).rename_columns(_tidy_headers(names, blank))
    return _Raw(table, name, f"{p.suffix.lstrip('.').upper()} workbook")


# --------------------------------------------------------------------------- text files


def _read_text(p: Path, nrows: int | None = None) -> _Raw:
    sample = _head_bytes(p)
    sniffed = _sniff(p, sample)
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
                raise InputFileError(f"'{p.name}' could not be read as a table: check that it is "
                                     "a CSV export.") from exc
        except UnicodeDecodeError:
            continue
    if table is None:
        raise InputFileError(f"'{p.name}' has characters that are not text in any known encoding.")
    if table.num_rows == 0 and skipped.count == 0:
        raise InputFileError(f"'{p.name}' has column headers but no data rows.")
    if table.num_rows == 0 or (nrows is None and skipped.count > table.num_rows):
        raise InputFileError(f"'{p.name}' could not be split into columns: most rows have more or "
                             f"fewer values than the {len(sniffed.headers)} headers.")
    return _Raw(table, None, _describe_text(sniffed), _uses_decimal_comma(sniffed),
                skipped.count, skipped.first)


class _SkippedRows:
    """pyarrow's invalid-row handler: skip rows with the wrong number of values, remember the first."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def __call__(self, row: pacsv.InvalidRow) -> str:
        self.count += 1
        if self.first is None:
            self.first = row.text[:80]
        return "skip"


def _head_bytes(p: Path) -> bytes:
    try:
        if p.name.lower().endswith(".gz"):
            with gzip.open(p, "rb") as fh:
                data = fh.read(_SNIFF_BYTES)
        else:
            with open(p, "rb") as fh:
                data = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(f"'{p.name}' cannot be opened: it is not a valid gzip file or "
                             "cannot be read.") from exc
    if not data.strip():
        raise InputFileError(f"'{p.name}' is empty.")
    return data


def _sniff(p: Path, sample: bytes) -> _Sniffed:
    encoding = _sniff_encoding(p, sample)
    text = sample.decode(_python_codec(encoding), errors="replace")
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputFileError(f"'{p.name}' is empty.")
    lines = text.splitlines()
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    _check_text(p, text)
    delimiter = _sniff_delimiter(lines)
    first = next(csv.reader(io.StringIO(lines[0] + "\n"), delimiter=delimiter))
    headers = _tidy_headers(first, [f"Column {i + 1}" for i in range(len(first))])
    return _Sniffed(encoding, delimiter, headers)


def _sniff_encoding(p: Path, sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf8"  # the BOM sits in the header row, which is parsed separately
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample or sample.startswith(b"PK\x03\x04"):
        raise InputFileError(f"'{p.name}' is not a text file (it looks like a workbook or other "
                             "binary data): open the original file or export it as CSV.")
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
        raise InputFileError(f"'{p.name}' is not a text file (it looks like binary data): "
                             "open the original file or export it as CSV.")


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
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding,
                             block_size=1 << 20 if nrows else 1 << 22)
    parse = pacsv.ParseOptions(delimiter=sniffed.delimiter, newlines_in_values=True,
                               invalid_row_handler=on_bad_row)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                   strings_can_be_null=True, null_values=[""],
                                   quoted_strings_can_be_null=True)
    if nrows is None:
        return pacsv.read_csv(p, read_options=read, parse_options=parse, convert_options=convert)
    batches, rows = [], 0
    with pacsv.open_csv(p, read_options=read, parse_options=parse, convert_options=convert) as reader:
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows >= nrows:
                break
    schema_ = pa.schema([(n, pa.string()) for n in names])
    return pa.Table.from_batches(batches, schema=schema_).slice(0, nrows)


def _uses_decimal_comma(sniffed: _Sniffed) -> bool:
    """Semicolon-separated files come from locales that write 2,55."""
    return sniffed.delimiter == ";"


def _describe_text(sniffed: _Sniffed) -> str:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    encodings = {"utf8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
    return f"text, {names[sniffed.delimiter]}-separated, {encodings[sniffed.encoding]}"


# --------------------------------------------------------------------------- parquet


def _read_parquet(p: Path, nrows: int | None = None) -> _Raw:
    try:
        if nrows is None:
            table = pq.read_table(p)
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


def _to_transactions(raw: _Raw, p: Path, mapping: Mapping[str, str | None] | None) -> Transactions:
    table = raw.table
    headers = list(table.column_names)
    chosen = schema.resolve_mapping(headers, mapping)
    n = table.num_rows

    dates = schema.to_dates(table.column(chosen["invoice_date"]))
    bad_date = _bad_value(dates, chosen["invoice_date"])
    if dates.parsed == 0:
        _no_values(chosen["invoice_date"], bad_date, "dates")
    numbers, bad_numbers, first_bad_number, comma = _numbers(table, chosen, raw.decimal_comma)

    customers = schema.to_ids(table.column(chosen["customer_id"]))
    if "invoice_id" in chosen:
        invoices = schema.to_ids(table.column(chosen["invoice_id"]))
    else:
        invoices = _synthetic_invoices(customers, dates.values)
    frame = pd.DataFrame(
        {
            "customer_id": customers,
            "invoice_id": invoices,
            "invoice_date": dates.values,
            "quantity": numbers["quantity"],
            "unit_price": numbers["unit_price"],
            "amount": numbers["amount"],
            "stock_code": _optional(table, chosen, "stock_code", schema.to_ids),
            "description": _optional(table, chosen, "description", schema.to_text),
            "country": _optional(table, chosen, "country", schema.to_text),
        },
        copy=False,
    )
    return Transactions(
        frame=frame,
        rows_read=n,
        mapping=chosen,
        date_format=dates.label,
        bad_dates=dates.bad,
        bad_numbers=bad_numbers,
        source_path=str(p.resolve()),
        sheet=raw.sheet,
        columns=headers,
        first_bad_date=bad_date,
        first_bad_number=first_bad_number,
        rows_skipped=raw.rows_skipped,
        first_skipped=raw.first_skipped,
        source_format=raw.source_format + (f", {schema.DECIMAL_COMMA}" if comma else ""),
        from_cache=raw.from_cache,
    )


def _bad_value(parsed: schema.Parsed, column: str) -> BadValue | None:
    if parsed.first_bad_index is None:
        return None
    return BadValue(column, parsed.first_bad_index + 2, str(parsed.first_bad_value), parsed.bad)


def _no_values(column: str, bad: BadValue | None, what: str) -> None:
    if bad is None:
        raise DataError(f"Column '{column}' is empty: it has no {what}.")
    raise DataError(f"Column '{column}' has no values that are {what}, first in row {bad.row}: "
                    f"'{bad.value}'.")


def _numbers(
    table: pa.Table, chosen: dict[str, str], decimal_comma: bool
) -> tuple[dict[str, np.ndarray], int, BadValue | None, bool]:
    """quantity, unit_price and amount as float64 arrays; bad count, first bad value, comma seen."""
    n = table.num_rows
    required = {"amount"} if "amount" in chosen else {"quantity", "unit_price"}
    out: dict[str, np.ndarray] = {}
    bad_total, first_bad, comma = 0, None, False
    for name in ("quantity", "unit_price", "amount"):
        if name not in chosen:
            out[name] = np.full(n, np.nan)
            continue
        parsed = schema.to_numbers(table.column(chosen[name]), decimal_comma=decimal_comma)
        bad = _bad_value(parsed, chosen[name])
        if name in required and parsed.parsed == 0:
            _no_values(chosen[name], bad, "numbers")
        out[name] = parsed.values
        comma |= parsed.label == schema.DECIMAL_COMMA
        bad_total += parsed.bad
        if bad is not None and (first_bad is None or bad.row < first_bad.row):
            first_bad = bad
    if "amount" not in chosen:
        out["amount"] = out["quantity"] * out["unit_price"]
    return out, bad_total, first_bad, comma


def _synthetic_invoices(customers: pd.Series, dates: np.ndarray) -> pd.Series:
    """One purchase per (customer, timestamp): ``"17850 @ 2010-12-01 08:26:00"``."""
    codes, uniques = pd.factorize(dates)
    stamps = np.asarray(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d %H:%M:%S"), dtype=object)
    stamp_text = pa.array(np.append(stamps, None)[codes], type=pa.string())
    customer_text = pa.array(customers.array, type=pa.string()) if len(customers) else pa.array([], pa.string())
    joined = pc.binary_join_element_wise(customer_text, stamp_text, " @ ")
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([joined])), copy=False)


def _optional(
    table: pa.Table, chosen: dict[str, str], name: str, convert: Callable[[pa.ChunkedArray], pd.Series]
) -> pd.Series:
    if name in chosen:
        return convert(table.column(chosen[name]))
    nulls = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
    return pd.Series(pd.arrays.ArrowStringArray(nulls), copy=False)


