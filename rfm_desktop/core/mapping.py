"""Finding the columns of a file for the canonical fields (:mod:`rfm_desktop.core.fields`):
guessing them from the headers (:func:`auto_map`), applying the analyst's choices
(:func:`resolve_mapping`) and checking a mapping against a preview (:func:`check_mapping`).

Nothing here opens files; :mod:`rfm_desktop.core.io` does that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import pyarrow as pa

from rfm_desktop.core.errors import MappingError
from rfm_desktop.core.fields import ALIASES, FIELD_NAMES, FIELDS_BY_NAME, MONEY_CHOICES, REQUIRED
from rfm_desktop.core.values import as_arrow, to_dates, to_ids, to_numbers


def normalize_header(header: object) -> str:
    """Lower-case letters and digits only, accents removed: ``"Customer ID"`` -> ``"customerid"``."""
    text = unicodedata.normalize("NFKD", str(header)).casefold()
    return "".join(ch for ch in text if ch.isalnum() and ch.isascii())


def duplicate_headers(headers: Iterable[object]) -> dict[str, list[str]]:
    """Headers that were repeated in the file: ``{"Amount": ["Amount", "Amount_1"]}``.

    The readers number repeats ``Name_1``, ``Name_2`` (see :mod:`rfm_desktop.core.io`).
    """
    names = [str(h) for h in headers]
    present = set(names)
    groups: dict[str, list[str]] = {}
    for name in names:
        match = re.fullmatch(r"(.+)_(\d+)", name)
        if match and match.group(1) in present:
            groups.setdefault(match.group(1), [match.group(1)]).append(name)
    return groups


def auto_map(headers: Iterable[object]) -> dict[str, str]:
    """Guess the column for each field from the headers; each header is used at most once.

    Exact alias matches come first (field order, then alias order). Fields still unmapped
    then take a header that starts with one of their longer aliases
    (``"Order Date (UTC)"`` -> invoice_date). A header that appears more than once in the
    file is never guessed: the analyst has to say which of them is meant.
    """
    names = [str(h) for h in headers]
    ambiguous = {n for group in duplicate_headers(names).values() for n in group}
    return _guess([n for n in names if n not in ambiguous])


def _guess(names: list[str]) -> dict[str, str]:
    normal = {h: normalize_header(h) for h in names}
    used: set[str] = set()
    found: dict[str, str] = {}
    for field in FIELD_NAMES:
        for alias in ALIASES[field]:
            hit = next((h for h in names if h not in used and normal[h] == alias), None)
            if hit is not None:
                found[field] = hit
                used.add(hit)
                break
    for field in FIELD_NAMES:
        if field in found:
            continue
        for alias in (a for a in ALIASES[field] if len(a) >= 6):
            hit = next((h for h in names if h not in used and normal[h].startswith(alias)), None)
            if hit is not None:
                found[field] = hit
                used.add(hit)
                break
    return {f: found[f] for f in FIELD_NAMES if f in found}


def missing_fields(mapping: Mapping[str, str]) -> list[str]:
    """Required fields that the mapping lacks; ``"quantity + unit_price or amount"`` for money."""
    missing = [f for f in REQUIRED if not mapping.get(f)]
    if not any(all(mapping.get(f) for f in group) for group in MONEY_CHOICES):
        missing.append("quantity + unit_price or amount")
    return missing


def resolve_mapping(
    headers: Sequence[str], mapping: Mapping[str, str | None] | None
) -> dict[str, str]:
    """The mapping to use: auto-detection, overridden by the explicit entries.

    An explicit entry whose column is ``None`` or ``""`` un-maps that field; explicit money
    fields replace the detected ones as a set (see :func:`_money_overridden`). An explicit amount
    without an explicit currency takes that amount's own currency column (see
    :func:`currency_column`), not the one detected for the original amount. Raises
    MappingError for unknown field names, columns that are not in the file, a column
    given to two fields, and when required fields stay unmapped.
    """
    explicit = dict(mapping or {})
    _check_explicit(headers, explicit)
    chosen = {f: str(c) for f, c in explicit.items() if c}
    taken = set(chosen.values())
    auto = auto_map(headers)
    overridden = set(explicit) | _money_overridden(chosen)
    result = {f: c for f, c in auto.items() if f not in overridden and c not in taken}
    result.update(chosen)
    result = {f: result[f] for f in FIELD_NAMES if f in result}
    if explicit.get("amount") and "currency" not in explicit:
        result.pop("currency", None)
        paired = currency_column(headers, result.get("amount"))
        if paired is not None and paired not in result.values():
            result["currency"] = paired
    missing = missing_fields(result)
    if missing:
        twice = _repeated_for(headers, result)
        found = f"No column found for {', '.join(missing)}; the columns are {_quoted(headers)}."
        raise MappingError(" ".join([*twice.values(), found]))
    return result


def _money_overridden(chosen: Mapping[str, str]) -> set[str]:
    """Money fields that auto-detection may not add, because the analyst chose the other way.

    The money of a line comes either from quantity x unit price or from an amount column
    (:data:`MONEY_CHOICES`); an explicit choice of either way is taken as a whole: mapping
    quantity or unit price drops an auto-detected amount (Shopify's order ``Total``), and
    mapping an amount drops an auto-detected quantity and unit price.
    """
    dropped: set[str] = set()
    for group in MONEY_CHOICES:
        if any(f in chosen for f in group):
            dropped |= {f for other in MONEY_CHOICES if other is not group for f in other}
    return dropped


_MONEY_WORDS = re.compile(r"amount|total|value|price|sales|revenue|sum|net|gross")
_CURRENCY_WORDS = re.compile(r"currencycode|currency|curr|ccy")


def currency_column(headers: Sequence[str], amount: str | None) -> str | None:
    """The currency column that belongs to an amount column, or None.

    Payment exports carry the charged amount and currency next to a converted amount and its
    own currency (Stripe: ``Amount``/``Currency``, ``Converted Amount``/``Converted Currency``).
    The currency column that goes with an amount has the same header with the money word
    replaced by a currency word; an amount without one (``Amount (EUR)``) has no currency column.
    """
    if not amount:
        return None
    stem = _MONEY_WORDS.sub("", normalize_header(amount), count=1)
    for header in headers:
        normal = normalize_header(header)
        if _CURRENCY_WORDS.search(normal) and _CURRENCY_WORDS.sub("", normal, count=1) == stem:
            return str(header)
    return None


def _repeated_for(headers: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Why missing required fields were not guessed: their header appears twice. field -> note."""
    groups = duplicate_headers(headers)
    owner = {n: base for base, group in groups.items() for n in group}
    missing = missing_fields(mapping)
    wanted = [f for f in REQUIRED if f in missing]
    if len(missing) > len(wanted):  # the money fields are missing too
        wanted += [f for group in MONEY_CHOICES for f in group]
    notes = {}
    for field, column in _guess([str(h) for h in headers]).items():
        if field in wanted and field not in mapping and column in owner:
            names = ", ".join(groups[owner[column]])
            notes[field] = (
                f"Column '{owner[column]}' appears twice in the file ({names}): choose "
                f"the one for {field} in the column mapping."
            )
    return notes


def _check_explicit(headers: Sequence[str], explicit: Mapping[str, str | None]) -> None:
    unknown = [f for f in explicit if f not in FIELDS_BY_NAME]
    if unknown:
        raise MappingError(
            f"Unknown field {_quoted(unknown)} in the column mapping: use {', '.join(FIELD_NAMES)}."
        )
    absent = [f"{c!r} (for {f})" for f, c in explicit.items() if c and c not in headers]
    if absent:
        raise MappingError(
            f"Column {', '.join(absent)} is not in the file: its columns are {_quoted(headers)}."
        )
    twice = _mapped_twice(explicit)
    if twice:
        raise MappingError(twice[0])


def _mapped_twice(mapping: Mapping[str, str | None]) -> list[str]:
    by_column: dict[str, list[str]] = {}
    for field, column in mapping.items():
        if column:
            by_column.setdefault(column, []).append(field)
    return [
        f"Column '{column}' is mapped to more than one field ({' and '.join(fields)})."
        for column, fields in by_column.items()
        if len(fields) > 1
    ]


def check_mapping(preview: pd.DataFrame, mapping: Mapping[str, str | None]) -> list[str]:
    """Problems of a mapping on the preview rows, as short sentences (empty list: fine).

    Unknown fields or columns, a column mapped twice, required fields missing, a date
    column without dates, a number column without numbers, customer ids that are numbers
    with decimals (``17850.5``). A few unreadable values are not a mapping problem: the
    full read counts them (``Transactions.warnings``).
    """
    headers = [str(c) for c in preview.columns]
    problems: list[str] = []
    unknown = [f for f in mapping if f not in FIELDS_BY_NAME]
    if unknown:
        problems.append(f"Unknown field {_quoted(unknown)}: use {', '.join(FIELD_NAMES)}.")
    for field, column in mapping.items():
        if column and column not in headers:
            problems.append(f"Column '{column}' (for {field}) is not in the file.")
    problems += _mapped_twice(mapping)
    active = {f: str(c) for f, c in mapping.items() if c and c in headers and f in FIELDS_BY_NAME}
    twice = _repeated_for(headers, active)
    problems += twice.values()
    money_explained = any(f not in REQUIRED for f in twice)
    for missing in missing_fields(active):
        explained = missing in twice or (missing not in FIELDS_BY_NAME and money_explained)
        if not explained:
            problems.append(f"No column is mapped to {_field_label(missing)} (required).")
    checked: set[tuple[str, str]] = set()
    for field, column in active.items():
        kind = FIELDS_BY_NAME[field].kind
        if (kind, column) not in checked:
            checked.add((kind, column))
            problems += _value_problems(field, column, preview[column])
    return problems


def _field_label(name: str) -> str:
    if name in FIELDS_BY_NAME:
        return FIELDS_BY_NAME[name].label
    return "Quantity + Unit price, or Amount"


def _value_problems(field: str, column: str, values: pd.Series) -> list[str]:
    """Only what makes the mapping wrong; a few bad values are reported after the full read."""
    raw = as_arrow(values)
    kind = FIELDS_BY_NAME[field].kind
    if kind == "date":
        dates = to_dates(raw)
        if dates.parsed == 0 and dates.present > 0:
            return [
                f"Column '{column}' has no values that are dates (first: '{dates.first_bad_value}')."
            ]
    elif kind == "number":
        numbers = to_numbers(raw)
        if numbers.parsed == 0 and numbers.present > 0:
            return [f"Column '{column}' has no numbers (first: '{numbers.first_bad_value}')."]
    elif field == "customer_id":
        sample = _decimal_id(raw)
        if sample is not None:
            return [
                f"Customer ids in '{column}' look like numbers with decimals (like '{sample}'): "
                "is it the right column?"
            ]
    return []


def _decimal_id(raw: pa.ChunkedArray) -> str | None:
    ids = to_ids(raw).dropna()
    hits = ids[ids.str.fullmatch(r"[+-]?\d+\.\d+")]
    return None if hits.empty else str(hits.iloc[0])


def _quoted(items: Iterable[object]) -> str:
    return ", ".join(f"'{i}'" for i in items)
