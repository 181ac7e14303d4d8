"""Issue 15, point 2: the Spark engine gives what the in-memory engine gives (customers exactly,
the cleaning report's counts and examples, the warnings), on files generated here that hold
every kind of row the cleaning steps remove, and on the real data.

Needs the ``[spark]`` extra and a Java runtime; skipped cleanly without them. One local[2]
session serves every test (starting Spark takes seconds)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core import cache, pipeline
from rfm_desktop.core.engines import memory
from rfm_desktop.core.errors import DataError, InputFileError, ParamsError
from rfm_desktop.core.params import AnalysisParams, CleaningOptions

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    # py4j's socket to the JVM is closed by the JVM at exit, not by the test
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark_engine():
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    from rfm_desktop.core.engines import spark_engine

    spark_engine.session(MASTER)
    return spark_engine


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


def every_kind(path: Path) -> Path:
    """An export with one or more rows of each kind a cleaning step removes, and warnings."""
    rows = []

    def add(invoice, customer, date, qty, price, code="85123A", status="Paid", cur="GBP"):
        rows.append(
            {
                "InvoiceNo": invoice,
                "StockCode": code,
                "Description": "item",
                "Quantity": qty,
                "InvoiceDate": date,
                "UnitPrice": price,
                "CustomerID": customer,
                "Country": "United Kingdom" if customer != "C3" else "France",
                "Status": status,
                "Currency": cur,
            }
        )

    for i in range(30):  # ordinary sales: 6 customers, several orders each
        add(f"5{i:04d}", f"C{i % 6}", f"2011-0{1 + i % 8}-1{i % 10} 10:{i:02d}", 1 + i % 4, 2.55)
    add("59001", "C1", "2011-03-05 09:00", 2, 1.25)
    add("59001", "C1", "2011-03-05 09:00", 2, 1.25)  # exact duplicate
    add("59002", "", "2011-04-01 12:00", 3, 4.0)  # no customer id
    add("59003", "guest", "2011-04-02 12:00", 1, 9.0)  # placeholder id
    add("59004", "C2", "not a date", 1, 2.0)  # unreadable date
    add("59005", "C2", "2011-05-01 08:00", "x", 2.0)  # unreadable number
    add("C59006", "C3", "2011-05-02 08:00", -2, 2.55)  # cancellation
    add("CA-2011-1", "C3", "2011-05-03 08:00", 1, 3.0)  # 'C' id that is no cancellation
    add("59007", "C4", "2011-05-04 08:00", 1, 5.0, status="Refunded")  # not a sale
    add("59008", "C4", "2011-05-05 08:00", 1, 6.0, status="processing")  # unknown status word
    add("59009", "C5", "2011-05-06 08:00", 1, 7.0, cur="EUR")  # other currency
    add("59010", "C5", "2011-05-07 08:00", 0, 7.0)  # quantity 0
    add("59011", "C0", "2011-05-08 08:00", 1, 18.0, code="POST")  # postage
    add("59012", "C0", "2011-09-20 08:00", 1, 3.3)  # after the as-of date
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def both(spark_engine, params: AnalysisParams):
    expected = memory.reduce(pipeline.load(params), params)
    got = spark_engine.reduce(params.replace(spark_master=MASTER), lambda *_: None, lambda: False)
    return expected, got


def assert_same(expected, got) -> None:
    pd.testing.assert_frame_equal(got.customers, expected.customers)
    assert got.report.steps == expected.report.steps  # counts, labels and examples
    assert got.report.rows_read == expected.report.rows_read
    assert got.report.warnings == expected.report.warnings
    assert [w.text for w in got.warnings] == [w.text for w in expected.warnings]
    assert got.snapshot == expected.snapshot
    e, g = expected.report.missing_ids, got.report.missing_ids
    assert (e is None) == (g is None)
    if e is not None:
        assert (g.sales_rows, g.differs, g.reasons, g.verdict) == (
            e.sales_rows,
            e.differs,
            e.reasons,
            e.verdict,
        )
        for name in ("with_id", "without_id"):
            a, b = getattr(e, name), getattr(g, name)
            assert (b.rows, b.invoices, b.countries) == (a.rows, a.invoices, a.countries)
            # sums: DECIMAL in Spark, pandas' float sums in memory: equal to 1e-12
            assert b.revenue == pytest.approx(a.revenue, rel=1e-12)
            assert b.invoice_value_mean == pytest.approx(a.invoice_value_mean, rel=1e-12)
            assert b.unit_price_median == a.unit_price_median
        assert [m[0] for m in g.months] == [m[0] for m in e.months]


def test_every_cleaning_kind_gives_the_memory_engines_result(spark_engine, tmp_path):
    path = every_kind(tmp_path / "kinds.csv")
    params = AnalysisParams(
        input_path=str(path),
        cleaning=CleaningOptions(currency="GBP", drop_non_product=True, drop_duplicates=True),
        as_of="2011-09-15",
    )
    expected, got = both(spark_engine, params)
    removed = {s.step: s.removed for s in got.report.steps}
    # every step removed its rows (the file was made so), so the equality below means something
    assert removed == {
        "invalid": 2,
        "placeholder_ids": 1,
        "missing_customer": 1,
        "non_sale_status": 1,
        "cancellations": 1,
        "other_currency": 1,
        "nonpositive": 1,
        "non_product": 1,
        "duplicates": 1,
        "as_of": 1,
    }
    assert got.customers["customer_id"].tolist() == ["C0", "C1", "C2", "C3", "C4", "C5"]
    assert any("start with 'C'" in w for w in got.report.warnings)
    assert any("'processing'" in w for w in got.report.warnings)
    assert_same(expected, got)


def test_default_options_and_switched_off_steps(spark_engine, tmp_path):
    path = every_kind(tmp_path / "kinds.csv")
    for options in (
        CleaningOptions(currency="GBP"),
        CleaningOptions(
            currency="GBP",
            drop_missing_customer=False,
            drop_placeholder_ids=False,
            drop_cancellations=False,
        ),
    ):
        assert_same(*both(spark_engine, AnalysisParams(input_path=str(path), cleaning=options)))


def with_lines(path: Path, after: dict[int, list[str]]) -> Path:
    """The file with raw ``after[n]`` lines written after its line n (1: the headers)."""
    lines = path.read_text().splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        out += [line, *after.get(number, [])]
    path.write_text("\n".join(out) + "\n")
    return path


def test_rows_with_more_or_fewer_values_are_skipped_as_in_memory(spark_engine, tmp_path):
    # 10 headers; a short row (7 values), a long one (11, a quoted comma among them) and a line
    # of spaces (one value) are skipped and counted by the in-memory reader; Spark used to
    # fill the short row's missing values with nulls and drop the long row's extra value
    path = with_lines(
        every_kind(tmp_path / "kinds.csv"),
        {
            3: ["59100,85123A,item,5,2011-02-01 10:00,2.55,C1"],
            9: ['59101,85123A,"item, large",5,2011-02-02 10:00,2.55,C2,France,Paid,GBP,extra'],
            20: ["   "],
        },
    )
    params = AnalysisParams(input_path=str(path), cleaning=CleaningOptions(currency="GBP"))
    expected, got = both(spark_engine, params)
    assert [w.text for w in got.warnings if "skipped" in w.text] == [
        "3 rows skipped because the number of values does not match the headers, "
        "first: '59100,85123A,item,5,2011-02-01 10:00,2.55,C1'."
    ]
    assert got.report.rows_read == 44  # the 44 rows of every_kind, none of the three
    assert_same(expected, got)


def test_most_rows_unsplit_stop_as_in_memory(spark_engine, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("InvoiceNo,CustomerID,InvoiceDate,Amount\n1,a,2011-01-01,5\n2,b\n3,c\n")
    params = AnalysisParams(input_path=str(path))
    with pytest.raises(InputFileError) as memory_error:
        pipeline.load(params)
    with pytest.raises(InputFileError) as spark_error:
        spark_engine.reduce(params.replace(spark_master=MASTER), lambda *_: None, lambda: False)
    assert spark_error.value.message == memory_error.value.message
    assert "could not be split into columns" in spark_error.value.message


def test_line_breaks_in_quoted_values_read_as_in_memory(spark_engine, tmp_path):
    # a description over two lines (and one over three, with a quote and a comma) is one value;
    # Spark used to read each line as a row of its own
    path = every_kind(tmp_path / "kinds.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[2, "Description"] = "gift set\nof two"
    frame.loc[7, "Description"] = 'box "large",\nred\n(boxed)'
    frame.to_csv(path, index=False)
    assert path.read_text().count("\n") == len(frame) + 1 + 3
    params = AnalysisParams(input_path=str(path), cleaning=CleaningOptions(currency="GBP"))
    expected, got = both(spark_engine, params)
    assert got.report.rows_read == 44
    assert not [w for w in got.warnings if "skipped" in w.text]
    assert_same(expected, got)


def test_utf16_file_read_as_in_memory(spark_engine, tmp_path):
    # Spark splits lines at the byte 0x0A unless it reads the whole file (multiLine): in UTF-16
    # that cuts a character in two, and the last value of each line came out as 'GBP\ufffd'
    path = every_kind(tmp_path / "kinds.csv")
    pd.read_csv(path, dtype=str, keep_default_na=False).to_csv(path, index=False, encoding="utf-16")
    params = AnalysisParams(input_path=str(path), cleaning=CleaningOptions(currency="GBP"))
    expected, got = both(spark_engine, params)
    assert got.report.rows_read == 44
    assert_same(expected, got)


def test_windows_1252_file_read_as_in_memory(spark_engine, tmp_path):
    # Spark 4 reads only UTF and ISO 8859-1 unless told otherwise; '€' exists in Windows-1252
    # only, 'é' in both
    path = every_kind(tmp_path / "kinds.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame["CustomerID"] == "C3", "Country"] = "Côte d'Ivoire"
    frame["Description"] = "tin €5"
    frame.to_csv(path, index=False, encoding="cp1252")
    params = AnalysisParams(input_path=str(path), cleaning=CleaningOptions(currency="GBP"))
    expected, got = both(spark_engine, params)
    assert got.customers.set_index("customer_id")["country"]["C3"] == "Côte d'Ivoire"
    assert_same(expected, got)


def test_parquet_file_and_folder_without_invoice_column(spark_engine, tmp_path):
    # no invoice column: each customer and timestamp is one purchase (synthetic invoice ids)
    frame = pd.DataFrame(
        {
            "customer": ["a", "b", "a", "c", "a", "b"],
            "date": pd.to_datetime(
                [
                    "2020-01-01 10:00",
                    "2020-01-02 00:00",
                    "2020-01-01 10:00",
                    "2020-02-01 00:00",
                    "2020-03-01 00:00",
                    "2020-03-02 00:00",
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 7.5, 1.25, 3.0],
        }
    )
    one = tmp_path / "one.parquet"
    frame.to_parquet(one)
    expected, got = both(spark_engine, AnalysisParams(input_path=str(one)))
    assert_same(expected, got)
    assert got.customers.set_index("customer_id")["frequency"].to_dict() == {"a": 2, "b": 2, "c": 1}
    # the same rows as a folder of two files (a data lake's part files)
    folder = tmp_path / "lake"
    folder.mkdir()
    frame.iloc[:3].to_parquet(folder / "part-0.parquet")
    frame.iloc[3:].to_parquet(folder / "part-1.parquet")
    parts = spark_engine.reduce(
        AnalysisParams(input_path=str(folder), spark_master=MASTER), lambda *_: None, lambda: False
    )
    pd.testing.assert_frame_equal(parts.customers, expected.customers)


def test_order_lines_without_customer_are_handed_to_the_memory_engine(spark_engine, tmp_path):
    # Shopify writes the customer on an order's first line only: the Python reader fills the
    # other lines from it; the Spark engine hands such a file over, with a warning saying why
    lines = []
    for order in range(12):
        for line in range(3):
            lines.append(
                {
                    "Name": f"#{1000 + order}",
                    "Email": f"c{order % 4}@shop.example" if line == 0 else "",
                    "Created at": f"2024-0{1 + order % 6}-1{line} 10:00",
                    "Lineitem quantity": 1 + line,
                    "Lineitem price": 5.0,
                }
            )
    path = tmp_path / "orders.csv"
    pd.DataFrame(lines).to_csv(path, index=False)
    mapping = {
        "customer_id": "Email",
        "invoice_id": "Name",
        "invoice_date": "Created at",
        "quantity": "Lineitem quantity",
        "unit_price": "Lineitem price",
    }
    params = AnalysisParams(
        input_path=str(path), column_map=tuple(sorted(mapping.items())), spark_master=MASTER
    )
    expected = memory.reduce(pipeline.load(params), params)
    got = spark_engine.reduce(params, lambda *_: None, lambda: False)
    pd.testing.assert_frame_equal(got.customers, expected.customers)
    assert got.customers["frequency"].sum() == 12
    assert got.engine == "memory"
    assert got.warnings[0].text == (
        "Read in memory, not by the Spark engine: the file has order lines without customer id "
        "or date next to lines with them."
    )
    assert got.warnings[1:] == expected.warnings


def test_order_total_without_invoice_column_is_handed_to_the_memory_engine(spark_engine, tmp_path):
    # a Shopify export whose order name is not mapped: the order total is on an order's first
    # line only, the lines of an order share customer and timestamp; the in-memory reader
    # counts each total once and says so, which the Spark engine used to leave unsaid
    lines = []
    for order in range(12):
        for line in range(1 + order % 3):
            lines.append(
                {
                    "Email": f"c{order % 4}@shop.example",
                    "Created at": f"2024-0{1 + order % 6}-1{order % 9} 10:00",
                    "Total": f"{10 + order}.50" if line == 0 else "",
                }
            )
    path = tmp_path / "orders.csv"
    pd.DataFrame(lines).to_csv(path, index=False)
    mapping = {"customer_id": "Email", "invoice_date": "Created at", "amount": "Total"}
    params = AnalysisParams(
        input_path=str(path), column_map=tuple(sorted(mapping.items())), spark_master=MASTER
    )
    expected = memory.reduce(pipeline.load(params), params)
    got = spark_engine.reduce(params, lambda *_: None, lambda: False)
    pd.testing.assert_frame_equal(got.customers, expected.customers)
    assert got.engine == "memory"
    assert got.warnings[0].text == (
        "Read in memory, not by the Spark engine: the file has blank amounts (an order total "
        "on the order's first line only)."
    )
    assert got.warnings[1:] == expected.warnings
    assert expected.warnings[0].text.startswith("Column 'Total' is an order total")


def test_multiple_currencies_stop_as_in_memory(spark_engine, tmp_path):
    path = every_kind(tmp_path / "kinds.csv")
    params = AnalysisParams(input_path=str(path))
    with pytest.raises(DataError) as memory_error:
        memory.reduce(pipeline.load(params), params)
    with pytest.raises(DataError) as spark_error:
        spark_engine.reduce(params.replace(spark_master=MASTER), lambda *_: None, lambda: False)
    assert spark_error.value.message == memory_error.value.message
    assert "2 currencies" in spark_error.value.message


def test_missing_file_is_an_input_error(spark_engine, tmp_path):
    params = AnalysisParams(input_path=str(tmp_path / "nope.parquet"), spark_master=MASTER)
    with pytest.raises(InputFileError, match="not found"):
        spark_engine.reduce(params, lambda *_: None, lambda: False)


def test_without_java_one_clear_error(monkeypatch):
    from rfm_desktop.core.engines import spark_engine

    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    monkeypatch.setattr(spark_engine.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark_engine, "_session", None)
    with pytest.raises(ParamsError, match="needs a Java runtime") as error:
        spark_engine.session("local[1]")
    assert "openjdk-17-jre-headless" in error.value.hint


def test_without_pyspark_says_how_to_install(monkeypatch):
    from rfm_desktop.core.engines import spark_engine

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now fails
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ParamsError, match="needs PySpark") as error:
        spark_engine.reduce(AnalysisParams(input_path="x.parquet"), lambda *_: None, lambda: False)
    assert "rfm-desktop[spark]" in error.value.hint


def test_spark_master_flag_reaches_the_params(tmp_path):
    from rfm_desktop import cli

    args = cli.build_parser().parse_args(
        [
            "segment",
            "s3a://shop/sales/",
            "--out",
            str(tmp_path),
            "--engine",
            "spark",
            "--spark-master",
            "spark://head:7077",
        ]
    )
    params = cli.params_from_args(args)
    assert (params.engine, params.spark_master) == ("spark", "spark://head:7077")
    assert AnalysisParams.from_dict(params.to_dict()) == params


def test_text_dates_weighed_by_rows():
    # an engine passes each distinct date once with its rows: 13/01 (day first only) on 5 rows
    # outweighs 01/13 (month first only) on 1 row, as it would on the rows themselves
    from rfm_desktop.core.values import DAY_FIRST, MONTH_FIRST, to_dates

    distinct = ["13/01/2011", "01/13/2011"]
    assert to_dates(distinct).label == MONTH_FIRST  # one row each: a tie, month first
    weighed = to_dates(distinct, rows=np.array([5, 1]))
    assert weighed.label == DAY_FIRST == to_dates(distinct[:1] * 5 + distinct[1:]).label
    assert str(weighed.values[0])[:10] == "2011-01-13"


@pytest.mark.realdata
@pytest.mark.slow
def test_real_data_same_customers_csv(spark_engine, real_data_path, tmp_path):
    """segment --engine spark writes the bytes --engine memory writes (issue 15, point 2)."""
    from rfm_desktop import cli

    files = {}
    for engine in ("memory", "spark"):
        out = tmp_path / engine
        argv = ["segment", str(real_data_path), "--out", str(out), "--engine", engine]
        argv += ["--spark-master", MASTER, "--k", "4", "--stability", "0", "--quiet"]
        assert cli.main(argv) == 0
        files[engine] = (out / "customers.csv").read_bytes()
        record = json.loads((out / "run.json").read_text())
        assert record["engine"] == engine
        assert record["rows"]["clean"] == 397884
    assert files["spark"] == files["memory"]
    assert files["spark"].count(b"\n") == 4338 + 1
