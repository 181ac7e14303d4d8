"""The Online Retail–shaped sample generator and the bundled sample file."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core.errors import ExportError
from rfm_desktop.core.sample import (
    COLUMNS,
    SAMPLE_ROWS,
    SAMPLE_SEED,
    generate_transactions,
    iter_transactions,
    write_sample,
)

NON_PRODUCT = {"POST", "D", "M", "C2", "DOT", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS"}
STRING_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Country"]
CSV_DTYPES = dict.fromkeys(STRING_COLUMNS, "str")


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return generate_transactions(rows=SAMPLE_ROWS, seed=SAMPLE_SEED)


@pytest.fixture(scope="module")
def cancelled(df: pd.DataFrame) -> pd.Series:
    return df["InvoiceNo"].str.startswith("C")


@pytest.fixture(scope="module")
def rfm(df: pd.DataFrame, cancelled: pd.Series) -> pd.DataFrame:
    """Per-customer recency (days), frequency (invoices) and monetary (revenue)."""
    keep = df["CustomerID"].notna() & ~cancelled & (df["Quantity"] > 0) & (df["UnitPrice"] > 0)
    lines = df[keep].assign(Revenue=lambda d: d["Quantity"] * d["UnitPrice"])
    snapshot = lines["InvoiceDate"].max() + pd.Timedelta(days=1)
    per = lines.groupby("CustomerID")
    return pd.DataFrame(
        {
            "recency": (snapshot - per["InvoiceDate"].max()).dt.days,
            "frequency": per["InvoiceNo"].nunique(),
            "monetary": per["Revenue"].sum(),
        }
    )


# ----------------------------------------------------------------------------- shape


def test_columns_and_dtypes(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    for column in STRING_COLUMNS:
        assert pd.api.types.is_string_dtype(df[column]), column
        assert df[column].notna().all(), column
    assert df["Quantity"].dtype == np.int64
    assert pd.api.types.is_datetime64_dtype(df["InvoiceDate"])
    assert df["UnitPrice"].dtype == np.float64
    assert df["CustomerID"].dtype == np.float64
    ids = df["CustomerID"].dropna()
    assert (ids == ids.round()).all() and ids.min() >= 12346


@pytest.mark.parametrize("rows", [1, 7, 100, 1_234, 50_000])
def test_exact_row_count(rows: int) -> None:
    assert len(generate_transactions(rows=rows, seed=3)) == rows


def test_defaults_give_fifty_thousand_rows() -> None:
    frame = generate_transactions()
    assert len(frame) == 50_000
    assert 3_000 <= frame["CustomerID"].nunique() <= 4_300  # about rows / 12


def test_customers_parameter() -> None:
    frame = generate_transactions(rows=20_000, seed=1, customers=500)
    assert 450 <= frame["CustomerID"].nunique() <= 500


def test_rejects_nonsense_sizes() -> None:
    with pytest.raises(ValueError):
        generate_transactions(rows=0)
    with pytest.raises(ValueError):
        generate_transactions(rows=100, customers=0)


def test_prices_have_two_decimals_and_a_few_zeros(df: pd.DataFrame) -> None:
    price = df["UnitPrice"]
    assert np.allclose(price * 100, np.round(price * 100))
    assert (price >= 0).all()
    assert 0 < (price == 0).mean() < 0.01


def test_stock_codes(df: pd.DataFrame) -> None:
    codes = df["StockCode"]
    product = codes.str.fullmatch(r"\d{5}[A-Z]?")
    assert product.mean() > 0.95
    assert codes[product].str.len().eq(6).any()  # some "85123A"-style variants
    others = set(codes[~product])
    assert others <= NON_PRODUCT
    assert {"POST", "M", "DOT"} <= others


# ----------------------------------------------------------------------------- invoices


def test_missing_customer_share(df: pd.DataFrame) -> None:
    assert 0.22 <= df["CustomerID"].isna().mean() <= 0.28


def test_invoices_have_one_customer_one_time_and_1_to_30_lines(df: pd.DataFrame) -> None:
    per = df.groupby("InvoiceNo")
    assert (per["InvoiceDate"].nunique() == 1).all()
    assert (per["Country"].nunique() == 1).all()
    assert (per["CustomerID"].nunique(dropna=False) == 1).all()  # guests: whole invoices
    size = per.size()
    assert size.min() >= 1 and size.max() <= 30
    assert size.mean() >= 2.5


def test_cancellations(df: pd.DataFrame, cancelled: pd.Series) -> None:
    assert 0.01 <= cancelled.mean() <= 0.03
    assert (df.loc[cancelled, "Quantity"] < 0).all()
    assert (df.loc[~cancelled, "Quantity"] > 0).all()
    assert df.loc[cancelled, "InvoiceNo"].str.fullmatch(r"C\d{6,}").all()
    assert df.loc[~cancelled, "InvoiceNo"].str.fullmatch(r"\d{6,}").all()
    assert df.loc[cancelled, "CustomerID"].notna().all()


def test_invoice_numbers_follow_time(df: pd.DataFrame) -> None:
    number = df["InvoiceNo"].str.removeprefix("C").astype(np.int64)
    assert number.iloc[0] == 536365
    assert number.is_monotonic_increasing
    assert df["InvoiceDate"].is_monotonic_increasing


def test_a_few_exact_duplicate_rows(df: pd.DataFrame) -> None:
    assert 0.002 <= df.duplicated().mean() <= 0.01


# ----------------------------------------------------------------------------- time


def test_date_range_and_business_hours(df: pd.DataFrame) -> None:
    dates = df["InvoiceDate"]
    assert dates.min() >= pd.Timestamp("2010-12-01")
    assert dates.max() < pd.Timestamp("2011-12-10")
    assert dates.min() < pd.Timestamp("2010-12-15")
    assert dates.max() > pd.Timestamp("2011-12-01")
    assert dates.dt.hour.between(8, 19).all()
    assert (dates.dt.second == 0).all()
    assert not (dates.dt.day_of_week == 5).any()  # no Saturdays, like the real file


def test_q4_peak(df: pd.DataFrame) -> None:
    months = df["InvoiceDate"].dt.to_period("M").value_counts()
    q4 = months[[pd.Period("2010-12"), pd.Period("2011-10"), pd.Period("2011-11")]].mean()
    q1_q3 = months[[pd.Period(f"2011-{m:02d}") for m in range(1, 10)]].mean()
    assert q4 > 1.2 * q1_q3


# ----------------------------------------------------------------------------- customers


def test_countries(df: pd.DataFrame) -> None:
    assert df["Country"].nunique() >= 30
    assert 0.85 <= (df["Country"] == "United Kingdom").mean() <= 0.93
    per_customer = df.dropna(subset=["CustomerID"]).groupby("CustomerID")["Country"].nunique()
    assert (per_customer == 1).all()


def test_revenue_is_heavy_tailed(rfm: pd.DataFrame) -> None:
    monetary = rfm["monetary"].sort_values(ascending=False)
    top = monetary.iloc[: int(np.ceil(len(monetary) * 0.1))]
    assert top.sum() / monetary.sum() > 0.5


def test_customer_groups_are_varied(rfm: pd.DataFrame) -> None:
    assert (rfm["frequency"] == 1).mean() > 0.3  # one-off buyers (new and lost)
    assert (rfm["frequency"] >= 8).mean() > 0.03  # champions and whales
    assert (rfm["recency"] <= 30).mean() > 0.2
    assert (rfm["recency"] >= 180).mean() > 0.3


def test_kmeans_finds_structure(rfm: pd.DataFrame) -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    features = StandardScaler().fit_transform(np.log1p(rfm[["recency", "frequency", "monetary"]]))
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(features)
    assert silhouette_score(features, labels) > 0.3


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_data() -> None:
    a = generate_transactions(rows=5_000, seed=11)
    b = generate_transactions(rows=5_000, seed=11)
    pd.testing.assert_frame_equal(a, b)


def test_different_seed_different_data() -> None:
    a = generate_transactions(rows=5_000, seed=11)
    b = generate_transactions(rows=5_000, seed=12)
    assert not a.equals(b)
    assert not a["CustomerID"].equals(b["CustomerID"])


# ----------------------------------------------------------------------------- files


def test_bundled_sample_reads_back(sample_path) -> None:
    assert sample_path.name.endswith(".csv.gz")
    assert sample_path.stat().st_size < 1_000_000
    frame = pd.read_csv(sample_path, dtype=CSV_DTYPES)
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == SAMPLE_ROWS == 45_000
    assert 0.22 <= frame["CustomerID"].isna().mean() <= 0.28


def test_bundled_sample_text_format(sample_path) -> None:
    with gzip.open(sample_path, "rt", encoding="utf-8") as handle:
        header = handle.readline().strip()
        first = handle.readline().strip().split(",")
    assert header == ",".join(COLUMNS)
    assert len(first[4]) == 19 and first[4][10] == " "  # YYYY-MM-DD HH:MM:SS
    pd.Timestamp(first[4])
    assert first[6].isdigit()  # CustomerID as integer text, no ".0"


def test_bundled_sample_is_what_the_generator_makes(sample_path) -> None:
    """The committed file is not stale: ``python -m rfm_desktop.core.sample`` rebuilds it."""
    frame = pd.read_csv(sample_path, dtype=CSV_DTYPES, parse_dates=["InvoiceDate"])
    expected = generate_transactions(rows=SAMPLE_ROWS, seed=SAMPLE_SEED)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


@pytest.mark.parametrize("name", ["out.csv", "out.CSV", "out.csv.gz", "out.parquet"])
def test_write_sample_formats(tmp_path, name: str) -> None:
    path = write_sample(tmp_path / "sub" / name, rows=2_000, seed=5)
    assert path.exists()
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=CSV_DTYPES, parse_dates=["InvoiceDate"])
    expected = generate_transactions(rows=2_000, seed=5)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_write_sample_xlsx(tmp_path) -> None:
    pytest.importorskip("openpyxl")
    path = write_sample(tmp_path / "out.xlsx", rows=300, seed=5)
    frame = pd.read_excel(path, dtype=dict.fromkeys(STRING_COLUMNS, str))
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 300
    expected = generate_transactions(rows=300, seed=5)
    assert (frame["InvoiceNo"].to_numpy() == expected["InvoiceNo"].to_numpy()).all()
    assert (frame["Quantity"].to_numpy() == expected["Quantity"].to_numpy()).all()


def test_write_sample_gz_is_reproducible(tmp_path) -> None:
    a = write_sample(tmp_path / "a" / "s.csv.gz", rows=1_000, seed=2)
    b = write_sample(tmp_path / "b" / "s.csv.gz", rows=1_000, seed=2)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("name", ["out.txt", "out.json", "out", ".csv", "out.gz"])
def test_write_sample_rejects_unknown_formats(tmp_path, name: str) -> None:
    with pytest.raises(ExportError, match="supported|ending"):
        write_sample(tmp_path / name, rows=100)
    assert not (tmp_path / name).exists()


def test_write_sample_xlsx_row_limit(tmp_path) -> None:
    with pytest.raises(ExportError, match="Excel"):
        write_sample(tmp_path / "big.xlsx", rows=2_000_000)


def test_write_sample_unwritable_place(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError):
        write_sample(blocker / "out.csv", rows=100)


# ----------------------------------------------------------------------------- speed


@pytest.mark.slow
def test_one_million_rows_quickly() -> None:
    start = time.perf_counter()
    frame = generate_transactions(rows=1_000_000, seed=7, customers=100_000)
    elapsed = time.perf_counter() - start
    assert len(frame) == 1_000_000
    assert elapsed < 15, f"took {elapsed:.1f} s"


# ----------------------------------------------------------------------------- large samples, in chunks


@pytest.fixture(scope="module")
def chunks() -> list[pd.DataFrame]:
    return list(iter_transactions(rows=30_001, seed=4, customers=1_500, chunk_rows=10_000))


def test_chunks_hold_the_rows_asked_for(chunks: list[pd.DataFrame]) -> None:
    assert [len(c) for c in chunks] == [7_501, 7_500, 7_500, 7_500]  # 4 chunks of <= 10,000
    whole = pd.concat(chunks, ignore_index=True)
    assert list(whole.columns) == list(COLUMNS)
    assert whole["CustomerID"].nunique() == 1_500
    assert 0.22 <= whole["CustomerID"].isna().mean() <= 0.28


def test_invoice_numbers_go_on_across_chunks(chunks: list[pd.DataFrame]) -> None:
    numbers = [c["InvoiceNo"].str.removeprefix("C").astype(int) for c in chunks]
    for before, after in zip(numbers, numbers[1:], strict=False):
        assert after.min() == before.max() + 1
    whole = pd.concat(chunks, ignore_index=True)
    per_invoice = whole.groupby("InvoiceNo")["CustomerID"].nunique(dropna=False)
    assert per_invoice.max() == 1  # an invoice never spans two chunks or two customers


def test_a_customers_orders_are_spread_over_chunks(chunks: list[pd.DataFrame]) -> None:
    """Whoever reads the file must aggregate across chunks: a customer with several orders has
    them in several chunks, round-robin, so no chunk holds most of one customer's orders."""
    orders = pd.concat(
        [
            c.loc[c["CustomerID"].notna() & ~c["InvoiceNo"].str.startswith("C")]
            .groupby("CustomerID")["InvoiceNo"]
            .nunique()
            .rename(i)
            for i, c in enumerate(chunks)
        ],
        axis=1,
    ).fillna(0)
    total = orders.sum(axis=1)
    chunks_with_orders = (orders > 0).sum(axis=1)
    assert (chunks_with_orders == np.minimum(total, 4)).all()
    assert (orders.max(axis=1) - orders.min(axis=1)).max() <= 1


def test_chunked_sample_is_reproducible(chunks: list[pd.DataFrame]) -> None:
    again = list(iter_transactions(rows=30_001, seed=4, customers=1_500, chunk_rows=10_000))
    for a, b in zip(chunks, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = next(iter_transactions(rows=30_001, seed=5, customers=1_500, chunk_rows=10_000))
    assert not other["CustomerID"].equals(chunks[0]["CustomerID"])


def test_one_chunk_is_the_plain_generator() -> None:
    (only,) = iter_transactions(rows=5_000, seed=11, chunk_rows=5_000)
    pd.testing.assert_frame_equal(only, generate_transactions(rows=5_000, seed=11))


@pytest.mark.parametrize("name", ["big.parquet", "big.csv", "big.csv.gz"])
def test_write_sample_in_chunks(tmp_path, chunks: list[pd.DataFrame], name: str) -> None:
    path = write_sample(tmp_path / name, rows=30_001, seed=4, customers=1_500, chunk_rows=10_000)
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
            len(c) for c in chunks
        ]
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=CSV_DTYPES, parse_dates=["InvoiceDate"])
    expected = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    again = write_sample(
        tmp_path / "again" / name, rows=30_001, seed=4, customers=1_500, chunk_rows=10_000
    )
    assert again.read_bytes() == path.read_bytes()
