"""Reading the values of one raw column (a pyarrow array as the file had it) as ids,
text, numbers or dates (:func:`to_ids`, :func:`to_customer_ids`, :func:`to_text`,
:func:`to_numbers`, :func:`to_dates`).

These work on the distinct values of a column and spread the result back with the codes, so
a 541,909-row column with 23,000 distinct timestamps parses 23,000 strings. Nothing here
knows the canonical fields (:mod:`rfm_desktop.core.fields`) or opens files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: the label of numbers read with a decimal comma (``1.234,56``)
DECIMAL_COMMA = "decimal comma"
# Text that means "no value" in an id column (e.g. a pandas export of a float column).
_NULL_TOKENS = ("", "nan", "none", "null", "na", "n/a", "#n/a", "nat", "<na>")
# What software writes for a missing value (not what a person types): missing customer ids.
_MACHINE_NULLS = ("", "nan", "nat", "<na>")
_MAX_NUMBER = 1e12  # bigger magnitudes are treated as bad values (typos, ids in a price column)
_DATE_MIN = np.datetime64("1900-01-01", "ns")
_DATE_MAX = np.datetime64("2200-01-01", "ns")
_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")


def plural(n: int, noun: str) -> str:
    """``"1 value"``, ``"1,234 values"``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def as_arrow(values: pa.Array | pa.ChunkedArray | pd.Series) -> pa.ChunkedArray:
    """Any column (arrow, or a pandas Series from a preview) as one arrow chunked array."""
    if isinstance(values, pa.ChunkedArray):
        return values
    if isinstance(values, pa.Array):
        return pa.chunked_array([values])
    try:
        return pa.chunked_array([pa.array(values, from_pandas=True)])
    except (pa.ArrowException, TypeError, ValueError):  # mixed object column
        text = values.map(lambda v: None if pd.isna(v) else str(v), na_action="ignore")
        return pa.chunked_array([pa.array(text.astype(object), type=pa.string(), from_pandas=True)])


def _plain(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary columns decoded; large strings kept as they are."""
    if pa.types.is_dictionary(arr.type):
        return arr.cast(arr.type.value_type)
    return arr


def _encode(arr: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes (``-1`` for null) and the distinct values of a column."""
    encoded = pc.dictionary_encode(arr.combine_chunks())
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


def _spread(unique_values: np.ndarray, codes: np.ndarray, missing: object) -> np.ndarray:
    """Per-row values from per-distinct-value results; code -1 gets ``missing``."""
    table = np.append(unique_values, np.array([missing], dtype=unique_values.dtype))
    return table[codes]


def _first_bad(bad: np.ndarray, raw: pa.ChunkedArray) -> tuple[int | None, str | None]:
    if not bad.any():
        return None, None
    index = int(np.argmax(bad))
    return index, str(raw[index].as_py())


def to_ids(values: pa.Array | pa.ChunkedArray | pd.Series) -> pd.Series:
    """Ids as text (string dtype, ``<NA>`` for missing).

    ``"00017"`` stays ``"00017"``; the float ``17850.0`` and the text ``"17850.0"`` (a float
    column saved as text) become ``"17850"``; blanks and null words (``nan``, ``N/A``) are missing.
    """
    return _string_series(_id_text(_plain(as_arrow(values))))


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def to_customer_ids(values: pa.Array | pa.ChunkedArray | pd.Series) -> pd.Series:
    """Customer ids as :func:`to_ids` reads ids, with two differences.

    * Only blanks and machine nulls (``nan``, ``NaT``, ``<NA>``) are missing here: words a person
      typed for "no customer" (``N/A``, ``none``, ``guest``) stay, so the cleaning step for
      placeholder ids can count them (see ``cleaning.is_placeholder_id``).
    * Email addresses are one customer however they are typed: ``" Ava.K@Example.com "`` is
      ``"ava.k@example.com"`` (the lower-cased address is what the customer table shows).
    """
    arr = _plain(as_arrow(values))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return to_ids(arr)
    return _string_series(_on_distinct(arr, _customer_text))


def _customer_text(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(arr)
    text = pc.replace_substring_regex(text, r"^([+-]?\d+)\.0+$", r"\1")
    is_null = pc.is_in(pc.utf8_lower(text), value_set=pa.array(_MACHINE_NULLS, text.type))
    email = pc.match_substring_regex(text, f"^{_EMAIL.pattern}$")
    text = pc.if_else(email, pc.utf8_lower(text), text)
    return pc.if_else(is_null, pa.scalar(None, text.type), text)


def _string_series(text: pa.ChunkedArray) -> pd.Series:
    """Zero-copy pandas ``string`` Series (``<NA>`` for missing) over arrow text."""
    return pd.Series(pd.arrays.ArrowStringArray(text), copy=False)


def _id_text(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_floating(arr.type):
        return _float_ids(arr)
    if pa.types.is_null(arr.type):
        return pa.chunked_array([pa.nulls(len(arr), pa.string())])
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return _on_distinct(arr, _text_ids)
    return arr.cast(pa.string())


def _on_distinct(
    arr: pa.ChunkedArray, fn: Callable[[pa.ChunkedArray], pa.ChunkedArray]
) -> pa.ChunkedArray:
    """``fn`` applied to the distinct values only, then spread over the rows (2-4x faster)."""
    encoded = pc.dictionary_encode(arr.combine_chunks())
    done = fn(pa.chunked_array([encoded.dictionary])).combine_chunks()
    return pa.chunked_array([pc.take(done, encoded.indices)])


def _float_ids(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    finite = pc.is_finite(arr)
    whole = pc.and_(finite, pc.and_(pc.equal(arr, pc.floor(arr)), pc.less(pc.abs(arr), 2.0**53)))
    as_int = pc.cast(pc.if_else(whole, arr, 0.0), pa.int64()).cast(pa.string())
    text = pc.if_else(whole, as_int, arr.cast(pa.string()))
    return pc.if_else(finite, text, pa.scalar(None, pa.string()))


def _text_ids(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(arr)
    text = pc.replace_substring_regex(text, r"^([+-]?\d+)\.0+$", r"\1")
    is_null = pc.is_in(pc.utf8_lower(text), value_set=pa.array(_NULL_TOKENS, text.type))
    return pc.if_else(is_null, pa.scalar(None, text.type), text)


# "Total", "TOTAL:", "Grand total", "Sub-total", "Totals", "Total for March", "Total (GBP)":
# the label of a report's sum row; a customer called "Total Fitness Ltd" does not match.
_TOTAL_LABEL = r"(?i)^(?:grand|sub)?[ -]?totals?(?:\s*:|\s+for\b.*|\s*\(.*\))?[\s:.=-]*$"


def total_labels(values: pa.Array | pa.ChunkedArray | pd.Series) -> np.ndarray:
    """Rows whose cell is the label of a sum row (Total / Grand total / Subtotal) as a bool mask.

    Used on id and date columns, where such a label marks a report's total line, not a sale.
    Non-text columns have no labels.
    """
    arr = _plain(as_arrow(values))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return np.zeros(len(arr), dtype=bool)
    if not pc.any(
        pc.match_substring(arr, "total", ignore_case=True)
    ).as_py():  # the usual case, fast
        return np.zeros(len(arr), dtype=bool)
    hits = _on_distinct(
        arr, lambda t: pc.match_substring_regex(pc.utf8_trim_whitespace(t), _TOTAL_LABEL)
    )
    return _bools(hits)


def to_text(values: pa.Array | pa.ChunkedArray | pd.Series) -> pd.Series:
    """Free text (descriptions, countries): trimmed, blanks missing, string dtype."""
    arr = _plain(as_arrow(values))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return _string_series(_id_text(arr))  # numbers as clean text
    return _string_series(_on_distinct(arr, _trimmed))


def _trimmed(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


@dataclass(frozen=True)
class Parsed:
    """A parsed column with the bookkeeping the analyst is told about."""

    values: np.ndarray  # float64 or datetime64[ns]
    present: int  # non-blank values in the column
    bad: int  # non-blank values that could not be read (NaN / NaT now)
    first_bad_index: int | None  # 0-based data row
    first_bad_value: str | None
    label: str = ""  # dates: the reading used (see to_dates); numbers: DECIMAL_COMMA or ""
    #: dates: what the analyst should know about the reading (serial numbers, day numbers, an
    #: ambiguous order), as the end of a sentence that starts with "Column 'X' "; "" when nothing
    note: str = ""

    @property
    def parsed(self) -> int:
        """Values read successfully: present minus bad."""
        return self.present - self.bad


def to_numbers(
    values: pa.Array | pa.ChunkedArray | pd.Series,
    decimal_comma: bool = False,
    rows: np.ndarray | None = None,
) -> Parsed:
    """Numbers as float64; text that is no number, inf and magnitudes above 1e12 are bad (NaN).

    Text is read with a decimal point (``1,234.5``) or a decimal comma (``1.234,5``),
    whichever reads more rows; ``decimal_comma`` breaks a tie (e.g. ``"1,234"``).
    Amounts as accountants write them are numbers too (see :func:`_accounting_text`):
    currency signs and codes around the number (``£1,234.50``, ``1.234,50 €``,
    ``CHF 12.00``), ``(45.00)`` and a trailing minus ``45.00-`` for negatives, and a lone
    dash (``£ -``) for zero. ``rows``: how many file rows each value stands for, when ``values``
    are a column's distinct values (the Spark engine reads them so); None: one each.
    """
    raw = _plain(as_arrow(values))
    label = ""
    if (
        pa.types.is_integer(raw.type)
        or pa.types.is_floating(raw.type)
        or pa.types.is_decimal(raw.type)
    ):
        numbers = raw.cast(pa.float64()).to_numpy()
        present = ~np.isnan(numbers) | _nan_but_present(raw)
    elif pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        numbers, label = _text_numbers(raw, decimal_comma, rows)
        present = _text_present(raw)
    elif pa.types.is_null(raw.type):
        numbers = np.full(len(raw), np.nan)
        present = np.zeros(len(raw), dtype=bool)
    else:  # dates, booleans, ...: present but not numbers
        numbers = np.full(len(raw), np.nan)
        present = _bools(raw.is_valid())
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(numbers) & (np.abs(numbers) <= _MAX_NUMBER)
    numbers = np.where(usable, numbers, np.nan)
    bad = present & ~usable
    index, value = _first_bad(bad, raw)
    return Parsed(numbers, int(present.sum()), int(bad.sum()), index, value, label)


def _nan_but_present(raw: pa.ChunkedArray) -> np.ndarray:
    """Float NaN stored as a value (not a null) counts as present, hence bad."""
    if not pa.types.is_floating(raw.type):
        return np.zeros(len(raw), dtype=bool)
    return _bools(pc.and_(raw.is_valid(), pc.is_nan(raw)))


def _text_present(raw: pa.ChunkedArray) -> np.ndarray:
    blank = pc.equal(pc.utf8_trim_whitespace(raw), "")
    return _bools(pc.and_(raw.is_valid(), pc.invert(blank)))


def _bools(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An arrow boolean mask as numpy, null counting as False."""
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _text_numbers(
    raw: pa.ChunkedArray, decimal_comma: bool, rows: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """The numbers, and ``DECIMAL_COMMA`` when they were read with a decimal comma."""
    try:  # fast path: plain numbers with a decimal point
        return raw.cast(pa.float64()).to_numpy(), ""
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    codes, uniques = _encode(raw)
    text = pd.Series(uniques.to_pylist(), dtype=object).astype("string")
    clean, sign = _accounting_text(text)
    dot = _read_decimal(clean, decimal=".", thousands=",")
    comma = _read_decimal(clean, decimal=",", thousands=".")
    weights = _weights(codes, len(text), rows)
    dot_rows = int(weights[dot.notna().to_numpy()].sum())
    comma_rows = int(weights[comma.notna().to_numpy()].sum())
    use_comma = comma_rows > dot_rows or (comma_rows == dot_rows and decimal_comma)
    chosen = (comma if use_comma else dot).to_numpy(dtype=np.float64, na_value=np.nan) * sign
    return _spread(chosen, codes, np.nan), DECIMAL_COMMA if use_comma else ""


# Currency written next to an amount: signs, ISO 4217 codes (``CHF``, ``EUR``) and the common
# local abbreviations; removed before the number is read.
_CURRENCY_SIGNS = "$€£¥₹₽₩₺₫₱₪฿¢₴₦₵₡₲₸"
_CURRENCY_WORD = r"(?:[A-Z]{3}|[A-Z]{1,2}\$|kr\.?|zł|Kč|Fr\.?|Rs\.?|Ft|лв|руб\.?)"
_DASHES = "-\u2212\u2013\u2014"  # hyphen, minus sign, en dash, em dash


#: Signs that name one currency, as the code the currency column would hold. ``$``, ``¥`` and
#: ``kr`` stay as written: several currencies use them.
_SIGN_CODES = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₽": "RUB",
    "₩": "KRW",
    "₺": "TRY",
    "₫": "VND",
    "₱": "PHP",
    "₪": "ILS",
    "฿": "THB",
    "₴": "UAH",
    "₦": "NGN",
    "zł": "PLN",
    "Kč": "CZK",
}


def currency_marks(values: pa.Array | pa.ChunkedArray | pd.Series) -> pd.Series:
    """Per row, the currency written in a money cell (``"€12.00"`` -> ``"EUR"``), ``<NA>`` if none.

    Parameters
    ----------
    values : a money column as read (text cells carry the marks; numeric cells have none).

    Returns
    -------
    pd.Series of str: ISO code for signs that name one currency (see ``_SIGN_CODES``), the
    upper-cased code or abbreviation as written otherwise (``USD``, ``$``, ``KR``).
    """
    raw = _plain(as_arrow(values))
    if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        return pd.Series(pd.NA, index=range(len(raw)), dtype="string")
    codes, uniques = _encode(raw)
    text = pd.Series(uniques.to_pylist(), dtype=object).astype("string").str.strip()
    word = rf"(?:{_CURRENCY_WORD}|[{_CURRENCY_SIGNS}])"
    lead = text.str.extract(rf"^[({_DASHES}]?\s*({word})(?=[\s\d({_DASHES}.,]|$)", expand=False)
    trail = text.str.extract(rf"(?<=[\s\d).,{_DASHES}])({word})\s*[{_DASHES})]?$", expand=False)
    mark = lead.fillna(trail).str.rstrip(".")
    mark = mark.map(lambda m: _SIGN_CODES.get(m, m.upper()) if isinstance(m, str) else pd.NA)
    return pd.Series(
        _spread(mark.to_numpy(dtype=object, na_value=None), codes, None), dtype="string"
    )


def _accounting_text(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Text reduced to a plain number, and the sign (+1/-1) its accounting notation says.

    ``" £1,234.50 "`` -> ``"1,234.50"``; ``"(£45.00)"`` and ``"45.00-"`` -> ``"45.00"``
    with sign -1; ``"£ -"`` -> ``"0"``; ``"1.234,50 €"`` -> ``"1.234,50"``; ``"45.00 CR"`` (a credit) -> ``"45.00"`` with sign -1
    (``DR`` is dropped); ``"CHF 1'234"``
    -> ``"1234"``. Anything that is still no number is left for the readers to reject.
    """
    t = text.str.strip()
    credit = t.str.contains(r"\d\s*CR$", na=False).to_numpy(dtype=bool)  # "45.00 CR": a credit
    t = t.str.replace(r"(?<=\d)\s*(?:CR|DR)$", "", regex=True)
    t = t.str.replace(
        rf"^{_CURRENCY_WORD}(?=[\s\d({_DASHES}.,{_CURRENCY_SIGNS}]|$)", "", regex=True
    )
    t = t.str.replace(rf"(?<=[\s\d).,{_DASHES}{_CURRENCY_SIGNS}]){_CURRENCY_WORD}$", "", regex=True)
    t = t.str.replace(rf"[\s\u00a0\u202f'’{_CURRENCY_SIGNS}]", "", regex=True)
    t = t.str.replace(rf"^[{_DASHES}]$", "0", regex=True)  # accounting zero: a lone dash
    t = t.str.replace(rf"^[{_DASHES[1:]}]", "-", regex=True)
    parens = t.str.fullmatch(r"[+-]?\(.*\)", na=False)
    t = t.where(~parens, t.str.replace(r"[()]", "", regex=True))
    trailing = t.str.fullmatch(rf"\d[\d.,]*[{_DASHES}]", na=False)
    t = t.where(~trailing, t.str.slice(0, -1))
    negative = (parens ^ trailing).to_numpy(dtype=bool) ^ credit
    return t, np.where(negative, -1.0, 1.0)


def _read_decimal(clean: pd.Series, decimal: str, thousands: str) -> pd.Series:
    """Text read with one decimal mark; thousands marks only in proper groups of three."""
    grouped = clean.str.fullmatch(
        rf"[+-]?\d{{1,3}}(\{thousands}\d{{3}})+(\{decimal}\d*)?", na=False
    )
    text = clean.where(~grouped, clean.str.replace(thousands, "", regex=False))
    text = text.where(~text.str.contains(thousands, regex=False, na=False), None)
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


# --------------------------------------------------------------------------- dates

ISO = "ISO (YYYY-MM-DD)"
MONTH_FIRST = "month first (M/D/YYYY)"
DAY_FIRST = "day first (D/M/YYYY)"
YEAR_FIRST = "year first (YYYY/M/D)"
YYYYMMDD = "YYYYMMDD"
DATE_CELLS = "date cells"
EXCEL_SERIAL = "Excel serial numbers"
DAY_INDEX = "day numbers (day 1 = 2000-01-01)"
OTHER_TEXT = "other text dates"
#: ``--date-order`` values and the reading each forces for dates like 05/06/2024.
DATE_ORDERS: dict[str, str] = {"dmy": DAY_FIRST, "mdy": MONTH_FIRST, "ymd": YEAR_FIRST}

_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([AaPp]\.?[Mm]\.?)?)?"
_DMY = re.compile(rf"^(\d{{1,2}})[/.\-](\d{{1,2}})[/.\-](\d{{4}}|\d{{2}}){_TIME}$")
_YMD = re.compile(rf"^(\d{{4}})[/.\-](\d{{1,2}})[/.\-](\d{{1,2}}){_TIME}$")
#: Excel serial number of 1970-01-01. Whole-number "dates" below it are day numbers
#: (dunnhumby's DAY 1..711), not serials: no shop export holds sales from before 1970.
_SERIAL_1970 = 25_569
_DAY_ZERO = np.datetime64("1999-12-31", "ns")  # day numbers: day 1 = 2000-01-01


def to_dates(
    values: pa.Array | pa.ChunkedArray | pd.Series,
    order: str | None = None,
    rows: np.ndarray | None = None,
) -> Parsed:
    """Dates as datetime64[ns]; values that are no date (or outside 1900-2199) are bad (NaT).

    Parameters
    ----------
    values
        One column as the file had it: date cells, numbers or text.
    order
        ``None`` to detect the order of day, month and year, or a key of
        :data:`DATE_ORDERS` (``"dmy"``, ``"mdy"``, ``"ymd"``) to force it for text such as
        ``05/06/2024``; unambiguous year-first forms (ISO, YYYYMMDD) are read either way.
    rows
        How many file rows each value stands for, when ``values`` are a column's distinct
        values in the order of their first row (the Spark engine); None: one row each. The
        readings are weighed by rows either way; "runs forward in file order" then looks at
        first occurrences.

    Returns
    -------
    Parsed
        ``label`` names the reading used; ``note`` says what the analyst should know.

    Raises
    ------
    ValueError
        ``order`` is not None and not a key of :data:`DATE_ORDERS` (a programming error:
        callers pass the params' validated value).

    Text is tried as ISO, YYYYMMDD, year/month/day, month/day/year and day/month/year;
    the reading under which the most rows parse wins. Rows that only another reading
    understands are filled from it, except that month-first and day-first are never mixed.
    When both of those read every row (no day above 12) the order is ambiguous and
    :func:`_month_or_day_first` weighs the evidence; the note says which reading was taken
    and how to switch. Numbers (cells, or text that is all numbers) are YYYYMMDD, Excel
    serial numbers (days since 1899-12-30, e.g. ``40515.65486``), or, when all of them lie
    below the serial of 1970-01-01, day numbers (day 1 = 2000-01-01, an arbitrary epoch: only
    the distances between days matter for recency).
    """
    raw = _plain(as_arrow(values))
    n = len(raw)
    note = ""
    if order is not None and order not in DATE_ORDERS:
        raise ValueError(f"unknown date order {order!r}")
    if pa.types.is_timestamp(raw.type) or pa.types.is_date(raw.type):
        dates, label = _cell_dates(raw), DATE_CELLS
        present = _bools(raw.is_valid())
    elif pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type):
        numbers = raw.cast(pa.float64()).to_numpy()
        dates, label, note = _number_dates(numbers, _examples(raw))
        present = ~np.isnan(numbers)
    elif pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        dates, label, note = _text_dates(raw, order, rows)
        present = _text_present(raw)
    else:
        dates, label = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), ""
        present = _bools(raw.is_valid())
    dates = np.where((dates >= _DATE_MIN) & (dates < _DATE_MAX), dates, np.datetime64("NaT"))
    bad = present & np.isnat(dates)
    index, value = _first_bad(bad, raw)
    return Parsed(dates, int(present.sum()), int(bad.sum()), index, value, label, note)


def _examples(raw: pa.ChunkedArray) -> list[str]:
    """The first few values as the file shows them, for notes."""
    return [str(v) for v in raw.drop_null().slice(0, 1).to_pylist()]


def _cell_dates(raw: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_timestamp(raw.type) and raw.type.tz is not None:
        try:
            raw = pc.local_timestamp(raw)  # keep the wall-clock time the file shows
        except pa.ArrowException:  # no time-zone database (e.g. some Windows builds): UTC
            raw = raw.cast(pa.timestamp(raw.type.unit))
    if pa.types.is_date(raw.type):
        raw = raw.cast(pa.timestamp("s"))
    unit = raw.type.unit
    ticks = raw.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    valid = _bools(raw.is_valid())
    # outside 1900..2200 the ns conversion could overflow; those are bad dates anyway
    low, high = np.array([_DATE_MIN, _DATE_MAX]).astype(f"datetime64[{unit}]").astype(np.int64)
    valid &= (ticks >= low) & (ticks < high)
    dates = ticks.view(f"datetime64[{unit}]").astype("datetime64[ns]")
    return np.where(valid, dates, np.datetime64("NaT"))


def _number_dates(numbers: np.ndarray, examples: list[str]) -> tuple[np.ndarray, str, str]:
    """Numbers as YYYYMMDD, Excel serial numbers or day numbers: (dates, label, note)."""
    with np.errstate(invalid="ignore"):
        whole = (
            np.isfinite(numbers)
            & (numbers == np.floor(numbers))
            & (numbers > 1e7)
            & (numbers < 1e8)
        )
        ymd = np.where(whole, numbers, np.nan)
        yyyymmdd = _from_parts(
            pd.Series(ymd // 10000), pd.Series(ymd // 100 % 100), pd.Series(ymd % 100), None
        )
        in_range = np.isfinite(numbers) & (numbers >= 0) & (numbers < 110_000)
    if (~np.isnat(yyyymmdd)).sum() >= in_range.sum():
        return yyyymmdd, YYYYMMDD, ""
    days = np.where(in_range, numbers, 0.0)
    # to the second: five decimals of a day (Excel's CSV export) are 0.86 s apart
    nanos = (np.round(days * 86_400).astype(np.int64) * 1_000_000_000).astype("timedelta64[ns]")
    first, last = float(numbers[in_range].min()), float(numbers[in_range].max())
    if last < _SERIAL_1970:
        dates = np.where(in_range, _DAY_ZERO + nanos, np.datetime64("NaT"))
        return (
            dates,
            DAY_INDEX,
            (
                f"holds day numbers ({first:g} to {last:g}), not calendar dates: read as a day index "
                f"(day 1 shown as 2000-01-01); recency counts days back from day {last + 1:g}."
            ),
        )
    dates = np.where(in_range & (numbers >= 1), _EXCEL_EPOCH + nanos, np.datetime64("NaT"))
    example = ""
    if examples:
        shown = np.datetime_as_string(dates[~np.isnat(dates)][:1], unit="m")
        example = f", e.g. '{examples[0]}' = {shown[0].replace('T', ' ')}" if len(shown) else ""
    return (
        dates,
        EXCEL_SERIAL,
        f"holds Excel serial numbers (days since 1899-12-30{example}): read as dates.",
    )


def _text_dates(
    raw: pa.ChunkedArray, order: str | None, rows: np.ndarray | None = None
) -> tuple[np.ndarray, str, str]:
    codes, uniques = _encode(pc.utf8_trim_whitespace(raw))
    text = pd.Series(uniques.to_pylist(), dtype=object).astype("string")
    nat = np.datetime64("NaT")
    if len(text) and text.str.fullmatch(r"[+-]?\d+(?:\.\d+)?", na=False).all():
        # only numbers as text: a CSV of Excel serials ('40515.65486'), YYYYMMDD or day numbers
        dates, label, note = _number_dates(_floats(text), [str(text.iloc[codes[codes >= 0][0]])])
        return _spread(dates, codes, nat), label, note
    weights = _weights(codes, len(text), rows)
    iso = _iso_reading(text)
    if not np.isnat(iso).any():  # every distinct text is an ISO date: nothing else can tie
        return _spread(iso, codes, nat), ISO, ""
    readings = _text_readings(text, iso)
    if order is not None:  # the analyst's order: the other day/month orders are not tried
        ruled_out = {"dmy": (MONTH_FIRST,), "mdy": (DAY_FIRST,), "ymd": (MONTH_FIRST, DAY_FIRST)}[
            order
        ]
        readings = {label: values for label, values in readings.items() if label not in ruled_out}
    scores = {label: int(weights[~np.isnat(v)].sum()) for label, v in readings.items()}
    best = max(scores.values(), default=0)
    if best == 0:
        other = pd.to_datetime(text, format="mixed", errors="coerce")
        return _spread(other.to_numpy(dtype="datetime64[ns]"), codes, nat), OTHER_TEXT, ""
    label = next(lb for lb, s in scores.items() if s == best)
    note = ""
    if (
        label == MONTH_FIRST
        and scores.get(DAY_FIRST) == best
        and not _same_dates(readings[MONTH_FIRST], readings[DAY_FIRST])
    ):
        label, reason = _month_or_day_first(readings, codes)
        switch = "mdy" if label == DAY_FIRST else "dmy"
        note = (
            f"has dates that read both day first and month first (no day above 12): read as "
            f"{label} because {reason}. If that is wrong, use --date-order {switch} (in the "
            "wizard: Date order on the Columns page)."
        )
    result = readings[label].copy()
    rival = {MONTH_FIRST: DAY_FIRST, DAY_FIRST: MONTH_FIRST}.get(label)
    for other_label, other in readings.items():
        if other_label not in (label, rival):
            result = np.where(np.isnat(result), other, result)
    return _spread(result, codes, nat), label, note


def _weights(codes: np.ndarray, n: int, rows: np.ndarray | None) -> np.ndarray:
    """Rows per distinct value (``codes`` of the values, -1 for null; ``rows`` per value given)."""
    known = codes >= 0
    if rows is None:
        return np.bincount(codes[known], minlength=n)
    return np.bincount(codes[known], weights=np.asarray(rows)[known], minlength=n).astype(np.int64)


def _same_dates(a: np.ndarray, b: np.ndarray) -> bool:
    """Both readings give the same dates (every value has day = month): nothing to choose."""
    return bool(np.array_equal(a, b, equal_nan=True))


def _iso_reading(text: pd.Series) -> np.ndarray:
    iso_like = text.str.contains(r"^\d{4}-\d", regex=True, na=False)
    if not iso_like.any():
        return np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    iso_text = text.where(iso_like).str.replace(r"(Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    return _to_ns(pd.to_datetime(iso_text, format="ISO8601", errors="coerce"))


def _text_readings(text: pd.Series, iso: np.ndarray) -> dict[str, np.ndarray]:
    """Every candidate reading of the distinct texts, in tie-break order."""
    nat = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    readings: dict[str, np.ndarray] = {ISO: iso}
    eight = text.where(text.str.fullmatch(r"\d{8}", na=False))
    readings[YYYYMMDD] = (
        _to_ns(pd.to_datetime(eight, format="%Y%m%d", errors="coerce"))
        if eight.notna().any()
        else nat
    )
    ymd = text.str.extract(_YMD)
    readings[YEAR_FIRST] = _from_parts(ymd[0], ymd[1], ymd[2], ymd) if ymd[0].notna().any() else nat
    dmy = text.str.extract(_DMY)
    if dmy[0].notna().any():
        readings[MONTH_FIRST] = _from_parts(dmy[2], dmy[0], dmy[1], dmy)
        readings[DAY_FIRST] = _from_parts(dmy[2], dmy[1], dmy[0], dmy)
    else:
        readings[MONTH_FIRST] = readings[DAY_FIRST] = nat
    return readings


def _to_ns(values: pd.Series) -> np.ndarray:
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]")


def _from_parts(
    year: pd.Series, month: pd.Series, day: pd.Series, parts: pd.DataFrame | None
) -> np.ndarray:
    """Datetimes from date parts, and the time from regex groups 3-6 (h, m, s, am/pm)."""
    y = _floats(year)
    y = np.where(y >= 100, y, y + np.where(y < 70, 2000, 1900))
    columns = {"year": y, "month": _floats(month), "day": _floats(day)}
    if parts is not None:
        hour = np.nan_to_num(_floats(parts[3]))
        ampm = parts[6].str.lower().str.replace(".", "", regex=False)
        pm = (ampm == "pm").fillna(False).to_numpy(dtype=bool)
        columns["hour"] = np.where(ampm.isna().to_numpy(), hour, hour % 12 + 12 * pm)
        columns["minute"] = np.nan_to_num(_floats(parts[4]))
        columns["second"] = np.nan_to_num(_floats(parts[5]))
    frame = pd.DataFrame(columns)
    return pd.to_datetime(frame, errors="coerce").to_numpy(dtype="datetime64[ns]")


def _floats(values: pd.Series) -> np.ndarray:
    """Text or numbers as a float64 array, NaN for anything else."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _month_or_day_first(readings: dict[str, np.ndarray], codes: np.ndarray) -> tuple[str, str]:
    """Month first or day first when both read every value: (label, the reason in words).

    The evidence, strongest first: a reading that puts dates in the future (after tomorrow)
    is wrong; exports are usually sorted by time, so the reading whose dates more often run
    forward in file order wins (by at least 10 points); a reading whose dates span less than
    half the time of the other (e.g. 1-12 January rather than the 1st of twelve months) wins;
    otherwise month first, as in the widely shared Kaggle copy of Online Retail.
    """
    nat = np.datetime64("NaT")
    month = _spread(readings[MONTH_FIRST], codes, nat)
    day = _spread(readings[DAY_FIRST], codes, nat)
    month, day = month[~np.isnat(month)], day[~np.isnat(day)]
    tomorrow = np.datetime64("today", "D").astype("datetime64[ns]") + np.timedelta64(2, "D")
    month_future, day_future = bool((month >= tomorrow).any()), bool((day >= tomorrow).any())
    if month_future != day_future:
        wrong = "month first" if month_future else "day first"
        return (
            DAY_FIRST if month_future else MONTH_FIRST
        ), f"{wrong} would put dates in the future"

    def forward(dates: np.ndarray) -> float:
        return float(np.mean(dates[1:] >= dates[:-1])) if len(dates) > 1 else 0.0

    f_month, f_day = forward(month), forward(day)
    if abs(f_month - f_day) >= 0.1:
        better = f_day > f_month
        return (DAY_FIRST if better else MONTH_FIRST), (
            f"its dates run forward in file order more often ({max(f_day, f_month):.0%} of rows, "
            f"against {min(f_day, f_month):.0%})"
        )

    def span(dates: np.ndarray) -> int:
        return int((dates.max() - dates.min()) // np.timedelta64(1, "D")) if len(dates) else 0

    s_month, s_day = span(month), span(day)
    if 2 * s_day < s_month or 2 * s_month < s_day:
        short = DAY_FIRST if s_day < s_month else MONTH_FIRST
        return short, (
            f"its dates span {min(s_day, s_month):,} days, against {max(s_day, s_month):,} "
            "the other way"
        )
    return MONTH_FIRST, "nothing in the data tells the two apart (month first is the default)"
