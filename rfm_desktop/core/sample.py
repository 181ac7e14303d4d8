"""Deterministic generator of data shaped like the UCI "Online Retail" file.

The bundled sample (``resources/sample/online_retail_sample.csv.gz``) and
``rfm-desktop sample --out FILE`` both come from here. The output has exactly the UCI
columns and their quirks: cancellations ("C" invoices with negative quantities), guest
checkouts without a customer id (whole invoices), postage/fee stock codes, a few zero
prices and exact duplicate rows, ~35 countries with the UK dominant, and a Q4 peak.

Customers belong to behavioural groups (champions, loyal, new, at risk, lost and a few
wholesale whales), so RFM + k-means finds real structure, and spend is heavy-tailed.

Everything is vectorised numpy over invoices and rows (no Python loop per row or per
customer): 10 million rows take seconds. The same ``seed`` gives an identical frame.

Run ``python -m rfm_desktop.core.sample`` to rebuild the bundled sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rfm_desktop.core.errors import ExportError

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)

#: The bundled sample: ``resources/sample/online_retail_sample.csv.gz``.
SAMPLE_ROWS = 45_000
SAMPLE_SEED = 7

#: Formats :func:`write_sample` can write, by file name ending.
SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".xlsx")

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
FIRST_INVOICE_NO = 536365
MAX_LINES = 30  # lines per invoice: 1..30
EXCEL_MAX_ROWS = 1_048_575  # one row of the sheet is the header
#: Larger samples are made and written in chunks of this many rows (one chunk: 0.5 GB RSS, 2 s).
#: Measured peak RSS of ``rfm-desktop sample`` to parquet: 10 M rows / 1 M customers 0.9 GB in
#: 20 s; 100 M rows / 5 M customers 1.4 GB in 5.4 min (the customer table grows, rows do not).
CHUNK_ROWS = 2_000_000

_START = np.datetime64("2010-12-01T00:00", "m")
_N_DAYS = 374  # 2010-12-01 .. 2011-12-09
_LAST_DAY = _N_DAYS - 1

# Row shares.
_GUEST_SHARE = 0.25  # rows without CustomerID (whole guest invoices)
_CANCEL_SHARE = 0.02  # rows of "C" invoices
_DUPLICATE_SHARE = 0.004  # exact duplicate rows
_ZERO_PRICE_SHARE = 0.001  # product lines given away at 0.0
_UK_SHARE = 0.89

# Orders per day by month (Dec 2010 .. Dec 2011), from the real file: a Q4 peak.
_MONTH_RATE = np.array(
    [1370, 1134, 990, 1185, 997, 1194, 1229, 1275, 1138, 1674, 1959, 2824, 2836], dtype=float
)
# Monday..Sunday; the shop sends nothing on Saturdays.
_WEEKDAY_RATE = np.array([1.0, 1.05, 1.0, 1.1, 0.85, 0.0, 0.7])
# Business hours 8..19 (real file's hourly profile).
_HOURS = np.arange(8, 20)
_HOUR_RATE = np.array(
    [9290, 34332, 49037, 57674, 78709, 72259, 67471, 77519, 54516, 28509, 7974, 4576], dtype=float
)

# Customer groups. Columns: share of customers, orders (min, max), days since last order
# (min, max), days between first and last order (min, max), quantity multiplier
# (log-mean, log-sd) and relative lines per invoice.
_SEGMENTS = {
    #            share   f_lo f_hi  r_lo r_hi  s_lo s_hi   q_mu  q_sd  lines
    "champion": (0.060, 8, 24, 0, 10, 200, 360, 0.8, 0.35, 1.2),
    "whale": (0.006, 15, 40, 0, 14, 250, 370, 2.3, 0.40, 2.0),
    "loyal": (0.170, 3, 7, 12, 50, 100, 300, 0.3, 0.35, 1.0),
    "new": (0.220, 1, 2, 0, 30, 0, 20, -0.1, 0.35, 0.8),
    "at_risk": (0.130, 3, 8, 110, 200, 60, 170, 0.4, 0.35, 1.0),
    "lost": (0.414, 1, 1, 220, 373, 0, 0, -0.3, 0.35, 0.7),
}
SEGMENT_NAMES = tuple(_SEGMENTS)
_SEG = np.array(list(_SEGMENTS.values()), dtype=float)

# Countries other than the UK with their rows per 10,000 in the real file. Customers are
# drawn by the square root of these, so the small ones still show up in a small sample.
_COUNTRIES = {
    "Germany": 175, "France": 158, "EIRE": 151, "Spain": 47, "Netherlands": 44,
    "Belgium": 38, "Switzerland": 37, "Portugal": 28, "Australia": 23, "Norway": 20,
    "Italy": 15, "Channel Islands": 14, "Finland": 13, "Cyprus": 11, "Sweden": 8.5,
    "Unspecified": 8.2, "Austria": 7.4, "Denmark": 7.2, "Japan": 6.6, "Poland": 6.3,
    "Israel": 5.5, "USA": 5.4, "Hong Kong": 5.3, "Singapore": 4.2, "Iceland": 3.4,
    "Canada": 2.8, "Greece": 2.7, "Malta": 2.3, "United Arab Emirates": 1.3,
    "European Community": 1.1, "RSA": 1.1, "Lebanon": 0.8, "Lithuania": 0.7,
    "Brazil": 0.6, "Czech Republic": 0.6, "Bahrain": 0.4, "Saudi Arabia": 0.2,
}  # fmt: skip
_COUNTRY_NAMES = ("United Kingdom", *_COUNTRIES)
_FOREIGN_WEIGHT = np.sqrt(np.fromiter(_COUNTRIES.values(), float))
_COUNTRY_P = np.concatenate(
    [[_UK_SHARE], (1 - _UK_SHARE) * _FOREIGN_WEIGHT / _FOREIGN_WEIGHT.sum()]
)

# Non-product stock codes. Columns: description, price median, price log-sd (0 = fixed),
# weight on customer lines, guest lines, cancellation lines.
_SPECIALS = {
    "POST": ("POSTAGE", 18.0, 0.0, 0.45, 0.05, 0.10),
    "DOT": ("DOTCOM POSTAGE", 120.0, 0.8, 0.0, 0.60, 0.0),
    "M": ("Manual", 2.5, 1.2, 0.25, 0.15, 0.25),
    "C2": ("CARRIAGE", 50.0, 0.0, 0.12, 0.05, 0.05),
    "BANK CHARGES": ("Bank Charges", 15.0, 0.0, 0.05, 0.05, 0.10),
    "AMAZONFEE": ("AMAZON FEE", 400.0, 1.0, 0.0, 0.05, 0.10),
    "CRUK": ("CRUK Commission", 8.0, 1.0, 0.03, 0.0, 0.10),
    "PADS": ("PADS TO MATCH ALL CUSHIONS", 0.0, 0.0, 0.02, 0.02, 0.0),
    "D": ("Discount", 10.0, 1.0, 0.0, 0.0, 0.30),
}
_SPECIAL_LINE_SHARE = (0.008, 0.015, 0.08)  # customer, guest, cancellation lines

# Pack sizes of product lines and their probabilities (real file's most common).
_PACKS = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 25, 36, 48, 72, 100])
_PACK_P = np.array([27, 15, 7, 7, 2, 7.5, 2.5, 4, 11, 0.8, 1, 4.5, 1, 0.7, 1.1, 0.4, 0.3])

_COLOURS = (
    "WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "CREAM", "BLACK", "SILVER", "GOLD",
    "PURPLE", "ORANGE", "YELLOW", "PASTEL", "VINTAGE", "RETRO", "ANTIQUE", "ASSORTED COLOUR",
)  # fmt: skip
_MOTIFS = (
    "HANGING HEART", "POLKADOT", "SPOTTY", "RETROSPOT", "PAISLEY", "UNION JACK", "CHRISTMAS",
    "REGENCY", "BIRD", "FLORAL", "STAR", "SKULL", "DOLLY GIRL", "SPACEBOY", "WOODLAND",
    "BAROQUE", "GINGHAM", "ROSE", "BUTTERFLY", "CUPID",
)  # fmt: skip
_ITEMS = {
    "T-LIGHT HOLDER": 2.55, "LUNCH BAG": 1.65, "CAKE CASES": 0.55, "MUG": 1.25,
    "TEA TOWEL": 0.85, "JUMBO BAG": 2.08, "CUSHION COVER": 3.75, "DOORMAT": 7.95,
    "NOTEBOOK": 1.65, "PAPER NAPKINS": 0.85, "BUNTING": 4.95, "CAKE STAND": 9.95,
    "WATER BOTTLE": 3.75, "STORAGE TIN": 2.95, "PHOTO FRAME": 2.55, "WALL CLOCK": 8.50,
    "LANTERN": 3.39, "COAT HANGER": 2.75, "WRAPPING PAPER": 0.42, "GIFT BAG": 0.42,
    "CHILDRENS APRON": 1.95, "PARTY CUPS": 0.65, "SPOON SET": 1.25, "TRINKET BOX": 1.25,
    "PURSE": 2.10, "HAND WARMER": 1.85, "NESTING BOXES": 7.65, "SNACK BOX": 1.45,
    "ALARM CLOCK": 3.75, "SHOPPING BAG": 1.65,
}  # fmt: skip
_N_PRODUCTS = 3000

_CUSTOMER_ID_START = 12346


# --------------------------------------------------------------------------- public API


def default_customers(rows: int) -> int:
    """The customer count used when none is given: about one per 12 rows."""
    return _cap_customers(max(1, round(rows / 12)), rows)


def generate_transactions(
    rows: int = 50_000, seed: int = 7, customers: int | None = None
) -> pd.DataFrame:
    """Return ``rows`` transaction lines shaped like the UCI Online Retail data.

    ``customers`` is the number of customers with an id (default about ``rows / 12``;
    capped so that every customer has a few rows). The result has exactly the columns
    :data:`COLUMNS`: InvoiceNo, StockCode, Description and Country as ``str``, Quantity
    ``int64``, InvoiceDate ``datetime64[us]``, UnitPrice ``float64`` (2 decimals) and
    CustomerID ``float64`` with NaN for guest checkouts. Rows are in invoice order.
    The same ``rows``, ``seed`` and ``customers`` always give an identical frame.

    Parameters
    ----------
    rows
        Number of transaction lines, at least 1.
    seed
        Random seed.
    customers
        Number of customers with an id, at least 1; None: about ``rows / 12``.

    Returns
    -------
    pandas.DataFrame
        The lines, columns :data:`COLUMNS`; UnitPrice in pounds sterling like the original.

    Raises
    ------
    ValueError
        ``rows`` or ``customers`` is below 1 (a programming error: the CLI checks its own
        arguments first).
    """
    rows = int(rows)
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    if customers is None:
        n_customers = default_customers(rows)
    else:
        if int(customers) < 1:
            raise ValueError(f"customers must be at least 1, not {customers}")
        n_customers = _cap_customers(int(customers), rows)

    rng = np.random.default_rng(seed)
    day_cdf = _day_cdf()
    catalogue = _catalogue(rng)
    cust = _customers(rng, n_customers, day_cdf)
    return _chunk_frame(rng, rows, cust, catalogue, day_cdf)[0]


def iter_transactions(
    rows: int,
    seed: int = 7,
    customers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """The rows of a large sample as consecutive frames of at most ``chunk_rows`` rows each.

    Up to ``chunk_rows`` rows this yields exactly :func:`generate_transactions`. Above, the
    customers are drawn once and each customer's orders are dealt round-robin over the chunks
    from a random first chunk, so a customer with several orders has them in several chunks
    (whoever reads the file must aggregate across all of it). Each chunk is a full year of
    invoices in time order with its own guests, cancellations and duplicates; invoice numbers
    go on from one chunk to the next. Memory holds the customer table (about 50 bytes per
    customer) and one chunk (about 250 bytes per row), never the whole sample. The same
    arguments always give the same frames.

    Parameters
    ----------
    rows
        Number of transaction lines in all chunks together, at least 1.
    seed
        Random seed.
    customers
        Number of customers with an id; None: about ``rows / 12`` (as in
        :func:`generate_transactions`).
    chunk_rows
        Most rows per chunk (at least 1,000).

    Yields
    ------
    pandas.DataFrame
        Columns :data:`COLUMNS` with the dtypes of :func:`generate_transactions`.

    Raises
    ------
    ValueError
        ``rows`` or ``customers`` is below 1, or ``chunk_rows`` below 1,000.
    """
    rows = int(rows)
    if chunk_rows < 1_000:
        raise ValueError(f"chunk_rows must be at least 1,000, not {chunk_rows}")
    if rows <= chunk_rows:
        yield generate_transactions(rows=rows, seed=seed, customers=customers)
        return
    if customers is not None and int(customers) < 1:
        raise ValueError(f"customers must be at least 1, not {customers}")
    n_customers = default_customers(rows) if customers is None else _cap_customers(customers, rows)
    n_chunks = -(-rows // chunk_rows)
    rng = np.random.default_rng(seed)
    day_cdf = _day_cdf()
    catalogue = _catalogue(rng)
    cust = _customers(rng, n_customers, day_cdf)
    # the chunk of each customer's latest order; order k goes to chunk (first_chunk + k) % n
    cust["first_chunk"] = rng.integers(0, n_chunks, n_customers)
    next_invoice = FIRST_INVOICE_NO
    for chunk in range(n_chunks):
        chunk_rng = np.random.default_rng([seed, chunk])
        size = rows // n_chunks + (chunk < rows % n_chunks)
        frame, invoices = _chunk_frame(
            chunk_rng, size, cust, catalogue, day_cdf, (chunk, n_chunks), next_invoice
        )
        next_invoice += invoices
        yield frame


def _chunk_frame(
    rng: np.random.Generator,
    rows: int,
    cust: dict[str, np.ndarray],
    catalogue: dict[str, Any],
    day_cdf: np.ndarray,
    part: tuple[int, int] | None = None,
    first_invoice: int = FIRST_INVOICE_NO,
) -> tuple[pd.DataFrame, int]:
    """``rows`` lines of the customers' orders (those of chunk ``part`` = (index, count)), guest
    checkouts and cancellations, in time order: the frame and its number of invoices."""
    guest_rows = round(rows * _GUEST_SHARE)
    cancel_rows = round(rows * _CANCEL_SHARE)
    customer_rows = rows - guest_rows - cancel_rows

    orders = _customer_invoices(rng, cust, customer_rows, day_cdf, part)
    guests = _guest_invoices(rng, guest_rows, day_cdf)
    cancels = _cancellation_invoices(rng, orders, cancel_rows, day_cdf)

    # All invoices, numbered in time order like the real file.
    inv = {
        key: np.concatenate([orders[key], guests[key], cancels[key]])
        for key in ("customer", "day", "lines", "kind", "country")
    }
    minute = _sample_minutes(rng, inv["day"].size)
    stamp = inv["day"].astype(np.int64) * 1440 + minute
    order = np.argsort(stamp, kind="stable")
    inv = {key: value[order] for key, value in inv.items()}
    stamp = stamp[order]
    return _expand_rows(rng, inv, stamp, cust, catalogue, first_invoice), int(order.size)


def write_sample(
    path: str | Path,
    rows: int = 50_000,
    seed: int = 7,
    customers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Path:
    """Generate a sample and write it by the file name's ending, chunk by chunk.

    ``.csv`` and ``.csv.gz`` write InvoiceDate as ``YYYY-MM-DD HH:MM:SS`` and CustomerID as
    integer text (empty when missing); ``.parquet`` and ``.xlsx`` keep the column types.
    The rows are those of :func:`iter_transactions`: each chunk is written (a parquet row
    group of at most 1,000,000 rows, or appended text) before the next is made, so memory stays
    at one chunk whatever ``rows`` is. The same arguments give the same bytes.

    Parameters
    ----------
    path
        Output file; its ending (:data:`SUPPORTED_SUFFIXES`) picks the format.
    rows, seed, customers, chunk_rows
        As in :func:`iter_transactions`.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        Another ending, more rows than an Excel sheet holds for ``.xlsx``, or the file cannot
        be written.
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix is None:
        raise ExportError(
            f"Cannot write a sample to '{path.name}': use a name ending in "
            + ", ".join(SUPPORTED_SUFFIXES)
            + ".",
            hint="Give the output file one of the supported endings, e.g. sample.csv.",
        )
    if suffix == ".xlsx" and rows > EXCEL_MAX_ROWS:
        raise ExportError(
            f"An Excel sheet holds at most {EXCEL_MAX_ROWS:,} rows; asked for {rows:,}.",
            hint="Write .csv, .csv.gz or .parquet for large samples.",
        )
    chunks = iter_transactions(rows=rows, seed=seed, customers=customers, chunk_rows=chunk_rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".xlsx":  # at most one chunk: a sheet holds fewer rows than CHUNK_ROWS
            next(chunks).to_excel(path, index=False, sheet_name="Online Retail", engine="openpyxl")
        elif suffix == ".parquet":
            _write_parquet(path, chunks)
        else:
            _write_csv(path, chunks, gzipped=suffix == ".csv.gz")
    except OSError as error:
        raise ExportError(f"Cannot write '{path}': {error.strerror or error}") from error
    return path


def _write_parquet(path: Path, chunks: Iterator[pd.DataFrame]) -> None:
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in chunks:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
    finally:
        if writer is not None:
            writer.close()


def _write_csv(path: Path, chunks: Iterator[pd.DataFrame], *, gzipped: bool) -> None:
    import gzip
    import io

    with open(path, "wb") as raw:
        # mtime 0 and level 9 as before: the same arguments give the same bytes
        binary = (
            gzip.GzipFile(filename=str(path), mode="wb", fileobj=raw, compresslevel=9, mtime=0)
            if gzipped
            else raw
        )
        with binary, io.TextIOWrapper(binary, encoding="utf-8", newline="") as text:
            for i, frame in enumerate(chunks):
                frame.assign(CustomerID=frame["CustomerID"].astype("Int64")).to_csv(
                    text, index=False, header=i == 0, date_format=DATE_FORMAT
                )


# --------------------------------------------------------------------------- building blocks


def _suffix(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def _cap_customers(customers: int, rows: int) -> int:
    # Each customer needs a few rows: there are ~2.6 orders per customer on average.
    customer_rows = rows * (1 - _GUEST_SHARE - _CANCEL_SHARE)
    return int(max(1, min(customers, customer_rows // 4, 20_000_000)))


def _day_cdf() -> np.ndarray:
    """Cumulative order weight by day index (0 = 2010-12-01): seasonality and weekdays."""
    days = _START.astype("datetime64[D]") + np.arange(_N_DAYS)
    months = days.astype("datetime64[M]").astype(np.int64)
    month_index = months - months[0]
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weight = _MONTH_RATE[month_index] * _WEEKDAY_RATE[weekday]
    cdf = np.cumsum(weight)
    return cdf / cdf[-1]


def _sample_days(
    rng: np.random.Generator, cdf: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """One day per pair in [lo, hi] (day indices, inclusive), weighted by the calendar."""
    lo = np.clip(np.asarray(lo, dtype=np.int64), 0, _LAST_DAY)
    hi = np.clip(np.asarray(hi, dtype=np.int64), lo, _LAST_DAY)
    below = np.where(lo > 0, cdf[np.maximum(lo - 1, 0)], 0.0)
    u = below + rng.random(np.broadcast(lo, hi).shape) * (cdf[hi] - below)
    day = np.searchsorted(cdf, u, side="right")
    return np.clip(day, lo, hi).astype(np.int32)


def _sample_minutes(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = _HOURS[_draw(rng, _HOUR_RATE, n)]
    return (hours * 60 + rng.integers(0, 60, n)).astype(np.int64)


def _draw(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probabilities proportional to ``weights``."""
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return np.minimum(idx, cdf.size - 1).astype(np.int32)


def _catalogue(rng: np.random.Generator) -> dict[str, Any]:
    """Products then non-product codes: stock code, description, price, popularity."""
    colours = np.array(_COLOURS)
    motifs = np.array(_MOTIFS)
    items = np.array(list(_ITEMS))
    base = np.array(list(_ITEMS.values()))
    combos = rng.choice(colours.size * motifs.size * items.size, _N_PRODUCTS, replace=False)
    c, rest = np.divmod(combos, motifs.size * items.size)
    m, i = np.divmod(rest, items.size)
    descriptions = [f"{a} {b} {d}" for a, b, d in zip(colours[c], motifs[m], items[i], strict=True)]
    numbers = rng.choice(np.arange(10002, 90000), _N_PRODUCTS, replace=False)
    letters = np.where(
        rng.random(_N_PRODUCTS) < 0.3,
        np.array(list("ABCDEFGHJKLM"))[rng.integers(0, 12, _N_PRODUCTS)],
        "",
    )
    codes = [f"{n}{s}" for n, s in zip(numbers, letters, strict=True)]
    price = np.round(base[i] * np.exp(rng.normal(0.0, 0.3, _N_PRODUCTS)), 2)
    price = np.maximum(price, 0.1)
    rank = rng.permutation(_N_PRODUCTS)
    popularity = 1.0 / (rank + 20.0) ** 1.1

    specials = list(_SPECIALS)
    return {
        "code": pa.array(codes + specials, pa.large_string()),
        "description": pa.array(
            descriptions + [_SPECIALS[s][0] for s in specials], pa.large_string()
        ),
        "price": np.concatenate([price, [_SPECIALS[s][1] for s in specials]]),
        "popularity": popularity,
        "n_products": _N_PRODUCTS,
    }


def _customers(rng: np.random.Generator, n: int, cdf: np.ndarray) -> dict[str, np.ndarray]:
    """Per customer: id, group, country, order count, first/last order day, spend scale."""
    seg = _draw(rng, _SEG[:, 0], n)
    p = _SEG[seg]
    f_lo, f_hi = p[:, 1], p[:, 2]
    orders = (f_lo + np.floor((f_hi - f_lo + 1) * rng.random(n) ** 1.5)).astype(np.int64)
    last = _sample_days(rng, cdf, _LAST_DAY - p[:, 4], _LAST_DAY - p[:, 3])
    first = _sample_days(rng, cdf, last - p[:, 6], last - p[:, 5])
    first = np.where(orders > 1, first, last)
    qty_scale = np.exp(rng.normal(p[:, 7], p[:, 8]))
    span = max(6000, 2 * n)
    ids = _CUSTOMER_ID_START + np.sort(rng.choice(span, n, replace=False))
    ids = rng.permutation(ids)
    return {
        "id": ids.astype(np.float64),
        "segment": seg,
        "country": _draw(rng, _COUNTRY_P, n),
        "orders": orders,
        "first": first,
        "last": last,
        "qty_scale": qty_scale,
        "line_factor": p[:, 9],
    }


def _line_counts(
    rng: np.random.Generator, factor: np.ndarray, target: int, hi: int = MAX_LINES
) -> np.ndarray:
    """Lines per invoice (1..hi), dispersed around ``factor``, summing exactly to ``target``."""
    n = factor.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    hi = max(hi, int(np.ceil(target / n)))
    mean = target / n * factor / factor.mean()
    extra = rng.poisson(rng.gamma(1.5, np.maximum(mean - 1, 0) / 1.5))
    lines = np.clip(1 + extra, 1, hi).astype(np.int64)
    diff = target - int(lines.sum())
    while diff != 0:
        step = 1 if diff > 0 else -1
        room = np.flatnonzero(lines < hi) if step > 0 else np.flatnonzero(lines > 1)
        if room.size == 0:  # cannot happen: callers keep invoices <= target <= invoices * hi
            raise RuntimeError(f"cannot spread {target} rows over {n} invoices")
        k = min(abs(diff), room.size)
        lines[rng.choice(room, k, replace=False)] += step
        diff -= step * k
    return lines


def _customer_invoices(
    rng: np.random.Generator,
    cust: dict[str, np.ndarray],
    target_rows: int,
    cdf: np.ndarray,
    part: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Each customer's orders (``k`` = 0 the latest, 1 the first, then the ones between); with
    ``part`` = (chunk, chunks) only the orders k with (first_chunk + k) % chunks == chunk."""
    orders = cust["orders"]
    step = 1
    first_k = np.zeros(orders.size, dtype=np.int64)
    if part is not None:
        chunk, step = part
        first_k = (chunk - cust["first_chunk"]) % step
        orders = np.where(first_k < orders, (orders - 1 - first_k) // step + 1, 0)
    total = int(orders.sum())
    owner = np.repeat(np.arange(orders.size), orders)
    starts = np.cumsum(orders) - orders
    k = first_k[owner] + step * (np.arange(total) - np.repeat(starts, orders))
    if total > target_rows:  # tiny samples: keep each customer's latest orders first
        keep = np.sort(np.argsort(k + rng.random(total), kind="stable")[:target_rows])
        owner, k = owner[keep], k[keep]
    first, last = cust["first"][owner], cust["last"][owner]
    day = np.where(k == 0, last, np.where(k == 1, first, _sample_days(rng, cdf, first, last)))
    lines = _line_counts(rng, cust["line_factor"][owner], target_rows)
    return {
        "customer": owner.astype(np.int64),
        "day": day.astype(np.int32),
        "lines": lines,
        "kind": np.zeros(owner.size, dtype=np.int8),  # 0 = customer order
        "country": cust["country"][owner],
    }


def _guest_invoices(
    rng: np.random.Generator, target_rows: int, cdf: np.ndarray
) -> dict[str, np.ndarray]:
    n = int(np.ceil(target_rows / 9)) if target_rows else 0
    day = _sample_days(rng, cdf, np.zeros(n, np.int64), np.full(n, _LAST_DAY))
    return {
        "customer": np.full(n, -1, dtype=np.int64),
        "day": day,
        "lines": _line_counts(rng, np.ones(n), target_rows),
        "kind": np.ones(n, dtype=np.int8),  # 1 = guest checkout
        "country": _draw(rng, _COUNTRY_P, n),
    }


def _cancellation_invoices(
    rng: np.random.Generator, orders: dict[str, np.ndarray], target_rows: int, cdf: np.ndarray
) -> dict[str, np.ndarray]:
    """Small "C" invoices of customers, a few days after one of their orders."""
    n = int(np.ceil(target_rows / 1.8)) if target_rows and orders["customer"].size else 0
    parent = rng.integers(0, orders["customer"].size, n) if n else np.zeros(0, np.int64)
    start = orders["day"][parent].astype(np.int64)
    day = _sample_days(rng, cdf, start, start + 14)
    lines = _line_counts(rng, np.ones(n), target_rows if n else 0, hi=5)
    return {
        "customer": orders["customer"][parent],
        "day": day,
        "lines": lines,
        "kind": np.full(n, 2, dtype=np.int8),  # 2 = cancellation
        "country": orders["country"][parent],
    }


def _expand_rows(
    rng: np.random.Generator,
    inv: dict[str, np.ndarray],
    stamp: np.ndarray,
    cust: dict[str, np.ndarray],
    cat: dict[str, Any],
    first_invoice: int = FIRST_INVOICE_NO,
) -> pd.DataFrame:
    """One row per invoice line, invoices numbered from ``first_invoice``. Per-invoice values
    are taken per row only at the end."""
    lines = inv["lines"]
    n_inv = lines.size
    n = int(lines.sum())
    inv_kind = inv["kind"]
    owner = inv["customer"]
    has_owner = owner >= 0
    owner_safe = np.where(has_owner, owner, 0)
    inv_scale = np.where(has_owner, cust["qty_scale"][owner_safe], 1.0)
    inv_customer_id = np.where(has_owner, cust["id"][owner_safe], np.nan)
    # Foreign customers pay postage: often the first line of their order.
    inv_post = (inv_kind == 0) & (inv["country"] != 0) & (rng.random(n_inv) < 0.15)

    row_inv = np.repeat(np.arange(n_inv, dtype=np.int32), lines)
    first_line = np.zeros(n, dtype=bool)
    first_line[(np.cumsum(lines) - lines)[lines > 0]] = True
    kind = inv_kind[row_inv]
    cancel = kind == 2

    # Products, with a small share of non-product codes (postage, fees, manual lines...).
    n_products = int(cat["n_products"])
    item = _draw(rng, cat["popularity"], n)
    spec = np.array([value[1:] for value in _SPECIALS.values()], dtype=float)
    is_special = rng.random(n) < np.asarray(_SPECIAL_LINE_SHARE)[kind]
    for kind_value in range(3):  # three kinds of invoice, not a loop per row
        where = np.flatnonzero(is_special & (kind == kind_value))
        item[where] = n_products + _draw(rng, spec[:, 2 + kind_value], where.size)
    post = first_line & inv_post[row_inv]
    item[post] = n_products + list(_SPECIALS).index("POST")
    is_special |= post
    del post

    # Quantities: a pack size scaled by the customer's habit; cancellations are negative.
    quantity = np.rint(_PACKS[_draw(rng, _PACK_P, n)] * inv_scale[row_inv]).astype(np.int64)
    np.maximum(quantity, 1, out=quantity)
    special_rows = np.flatnonzero(is_special)
    quantity[special_rows] = 1 + (rng.random(special_rows.size) < 0.1)
    cancel_rows = np.flatnonzero(cancel)
    returned = np.minimum(quantity[cancel_rows], _PACKS[_draw(rng, _PACK_P[:12], cancel_rows.size)])
    returned[is_special[cancel_rows]] = 1
    quantity[cancel_rows] = -returned
    del cancel, cancel_rows, returned, kind

    # Prices: the catalogue price; manual lines, fees and discounts vary; a few are free.
    price = cat["price"][item]
    sd = spec[item[special_rows] - n_products, 1]
    varies = special_rows[sd > 0]
    sd = sd[sd > 0]
    price[varies] *= np.exp(rng.normal(0.0, 1.0, varies.size) * sd - sd * sd / 2)
    price[varies] = np.maximum(price[varies], 0.01)
    np.round(price, 2, out=price)
    free = np.flatnonzero(rng.random(n) < _ZERO_PRICE_SHARE)
    price[free[~is_special[free]]] = 0.0
    del is_special, special_rows, varies, free

    # Exact duplicate rows: a line repeated right after itself within its invoice.
    dup = rng.random(n) < _DUPLICATE_SHARE * n / max(1, n - n_inv)
    dup &= ~first_line
    del first_line
    dup[1:] &= ~dup[:-1]  # never a chain, so each copy has an original
    rows = np.flatnonzero(dup)
    del dup
    item[rows] = item[rows - 1]
    quantity[rows] = quantity[rows - 1]
    price[rows] = price[rows - 1]

    # Strings via Arrow: built once per invoice or catalogue entry, then taken per row.
    numbers = pa.array(first_invoice + np.arange(n_inv, dtype=np.int64)).cast(pa.string())
    invoice_no = pc.if_else(
        pa.array(inv_kind == 2), pc.binary_join_element_wise("C", numbers, ""), numbers
    )
    countries = pa.array(list(_COUNTRY_NAMES), pa.string())
    row_take = pa.array(row_inv)
    item_take = pa.array(item)
    del item
    times = (_START + stamp.astype("timedelta64[m]")).astype("datetime64[us]")
    columns = {
        "InvoiceNo": pd.array(invoice_no.take(row_take), dtype="str"),
        "StockCode": pd.array(cat["code"].take(item_take), dtype="str"),
        "Description": pd.array(cat["description"].take(item_take), dtype="str"),
        "Quantity": quantity,
        "InvoiceDate": times[row_inv],
        "UnitPrice": price,
        "CustomerID": inv_customer_id[row_inv],
        "Country": pd.array(countries.take(pa.array(inv["country"][row_inv])), dtype="str"),
    }
    return pd.DataFrame(columns, columns=list(COLUMNS), copy=False)


def main() -> None:  # pragma: no cover - maintenance entry point
    """Rebuild the bundled sample (``python -m rfm_desktop.core.sample``)."""
    from rfm_desktop.resources import sample_data_path

    path = write_sample(sample_data_path(), rows=SAMPLE_ROWS, seed=SAMPLE_SEED)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":  # pragma: no cover
    main()
