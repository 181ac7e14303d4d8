"""The DuckDB engine against the in-memory engine (issue 15, point 1): the same customers,
cleaning report and warnings on generated files covering every cleaning case; folders and glob
patterns; the memory limit and spill folder; cancel; hand-over of what only the Python reader
reads; and the real data through the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_desktop.cli import main
from rfm_desktop.core import cache, engines, pipeline
from rfm_desktop.core.engines import duckdb_engine
from rfm_desktop.core.errors import Cancelled, DataError, InputFileError, MappingError
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, ValueOptions

REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


def every_case(n_customers: int = 60, seed: int = 3) -> pd.DataFrame:
    """An export with every cleaning case: blank dates and quantities, placeholder ids, missing
    ids, e-mail ids in mixed case, ids saved as floats, refunded and failed statuses, 'C'
    cancellations and 'C'-prefixed order ids, another currency, zero quantities and negative
    prices, postage lines, exact duplicate rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers * 6):
        customer = f"{10000 + rng.integers(n_customers)}"
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(700)))
        rows.append(
            {
                "Invoice": f"{500000 + i // 3}",
                "StockCode": "85123A",
                "Description": "white mug",
                "Quantity": str(int(rng.integers(1, 12))),
                "InvoiceDate": f"{day:%Y-%m-%d} {int(rng.integers(8, 18)):02d}:{i % 60:02d}:00",
                "UnitPrice": f"{rng.integers(50, 2000) / 100:.2f}",
                "CustomerID": customer,
                "Country": ["United Kingdom", "France", "Germany", ""][i % 4 if i % 7 else 3],
                "Status": ["paid", "Completed", "wc-completed"][i % 3],
                "Currency": "EUR",
            }
        )
    frame = pd.DataFrame(rows)
    cases = [
        {"InvoiceDate": ""},  # invalid: no date
        {"Quantity": ""},  # invalid: no quantity
        {"CustomerID": "guest"},
        {"CustomerID": "0"},
        {"CustomerID": "N/A"},
        {"CustomerID": "---"},
        {"CustomerID": ""},
        {"CustomerID": ""},
        {"CustomerID": " Ava.K@Example.com "},
        {"CustomerID": "ava.k@example.com"},
        {"CustomerID": "10001.0"},
        {"Status": "Refunded"},
        {"Status": "Cancelled by customer"},
        {"Status": "payment_failed"},
        {"Invoice": "C600001", "Quantity": "-2"},
        {"Invoice": "C600002", "Quantity": "-1"},
        {"Invoice": "CA-2016-152156"},
        {"Invoice": "C600003"},  # 'C' + digits but a positive quantity: kept, named
        {"Currency": "USD"},
        {"Currency": "usd"},
        {"Quantity": "0"},
        {"UnitPrice": "-1.50"},
        {"StockCode": "POST"},
        {"StockCode": "m"},
    ]
    for j, change in enumerate(cases):
        for column, value in change.items():
            frame.loc[7 + 11 * j, column] = value
    twins = frame.iloc[[20, 21, 40, 40]].copy()  # exact duplicates, one of them twice
    return pd.concat([frame, twins], ignore_index=True)


def in_euro(seed: int = 3) -> pd.DataFrame:
    """:func:`every_case` in one currency (a run without ``--currency`` may add it up)."""
    return every_case(seed=seed).assign(Currency="EUR")


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def both(path: Path, **changes) -> tuple[engines.Reduced, engines.Reduced]:
    params = AnalysisParams(input_path=str(path), **changes)
    memory = pipeline.reduce(params.replace(engine="memory"))
    duck = pipeline.reduce(params.replace(engine="duckdb"))
    return memory, duck


def assert_same(memory: engines.Reduced, duck: engines.Reduced, engine: str = "duckdb") -> None:
    assert duck.engine == engine, [w.text for w in duck.warnings][:1]
    pd.testing.assert_frame_equal(memory.customers, duck.customers)
    assert duck.report.steps == memory.report.steps
    assert duck.report.warnings == memory.report.warnings
    assert (duck.rows_read, duck.date_format, duck.snapshot) == (
        memory.rows_read,
        memory.date_format,
        memory.snapshot,
    )
    assert [w.text for w in duck.warnings] == [w.text for w in memory.warnings]
    a, b = memory.report.missing_ids, duck.report.missing_ids
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert (b.sales_rows, b.differs, b.reasons, b.verdict) == (
            a.sales_rows,
            a.differs,
            a.reasons,
            a.verdict,
        )
        for group in ("with_id", "without_id"):
            ours, theirs = (
                dataclasses.asdict(getattr(b, group)),
                dataclasses.asdict(getattr(a, group)),
            )
            assert ours.keys() == theirs.keys()
            for key, value in theirs.items():  # sums in another order: equal to 1e-12
                if isinstance(value, float):
                    assert ours[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key
                else:
                    assert ours[key] == value, key
        assert [m[0] for m in b.months] == [m[0] for m in a.months]
        assert np.allclose([m[1:] for m in b.months], [m[1:] for m in a.months], rtol=1e-12)


OPTION_SETS = [  # EUR: the file has two currencies (without a choice the run stops, see below)
    {"currency": "EUR"},
    {"drop_duplicates": True, "drop_non_product": True, "currency": "EUR"},
    {
        "currency": "eur",
        "drop_placeholder_ids": False,
        "drop_missing_customer": False,
        "drop_non_sale_status": False,
        "drop_cancellations": False,
        "drop_nonpositive": False,
    },
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=["defaults", "all-on", "most-off"])
def test_every_cleaning_case_gives_the_same_customers_and_report(tmp_path, options):
    path = write_csv(tmp_path / "cases.csv", every_case())
    memory, duck = both(path, cleaning=CleaningOptions(**options))
    assert_same(memory, duck)
    steps = {s.step: s for s in duck.report.steps}
    if options.get("drop_duplicates"):
        # rows 20 and 21 once more; row 40 twice more, but its id "0" is a placeholder
        assert steps["duplicates"].removed == 2 and steps["non_product"].removed == 2
        assert steps["other_currency"].removed == 2
    if len(options) == 1:
        assert steps["placeholder_ids"].removed == 6  # 4 + two twins of row 40 ("0")
        assert steps["missing_customer"].removed == 2
        assert steps["non_sale_status"].removed == 3
        assert steps["cancellations"].removed == 2 and steps["invalid"].removed == 2
        assert steps["cancellations"].example == "invoice C600001"
        assert "ava.k@example.com" in set(duck.customers["customer_id"])
        assert any("start with 'C'" in w for w in duck.report.warnings)


def test_parquet_with_typed_columns_and_an_as_of_date(tmp_path):
    frame = every_case(seed=5).drop(columns=["Status", "Currency"])
    frame = frame[frame["InvoiceDate"] != ""].copy()
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame["Quantity"] = pd.to_numeric(frame["Quantity"], errors="coerce")
    frame["UnitPrice"] = frame["UnitPrice"].astype(float)
    path = tmp_path / "cases.parquet"
    frame.to_parquet(path)
    memory, duck = both(path, as_of="2024-06-01")
    assert_same(memory, duck)
    assert duck.date_format == "date cells"
    assert duck.report.steps[-1].step == "as_of" and duck.report.steps[-1].removed > 0
    assert duck.input_sha256 == memory.input_sha256 and duck.input_size == path.stat().st_size


def test_a_folder_and_a_glob_read_as_one_table(tmp_path):
    whole = in_euro()
    write_csv(tmp_path / "whole.csv", whole)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(whole)), 3)):
        write_csv(folder / f"part-{i}.csv", whole.iloc[part])
    (folder / "notes.md").write_text("not data")
    memory = pipeline.reduce(
        AnalysisParams(input_path=str(tmp_path / "whole.csv"), engine="memory")
    )
    for path in (str(folder), str(folder / "part-*.csv")):
        params = AnalysisParams(input_path=path)
        assert engines.choose(params) == "duckdb"
        duck = pipeline.reduce(params)
        pd.testing.assert_frame_equal(memory.customers, duck.customers)
        assert duck.report.steps == memory.report.steps
        assert duck.rows_read == len(whole)
        assert duck.input_size == sum(p.stat().st_size for p in folder.glob("*.csv"))


def test_segment_reads_a_folder(tmp_path, capsys):
    folder = tmp_path / "parts"
    folder.mkdir()
    whole = in_euro()
    for i, part in enumerate(np.array_split(np.arange(len(whole)), 2)):
        write_csv(folder / f"part-{i}.csv", whole.iloc[part])
    code = main(["segment", f"{folder}/", "--out", str(tmp_path / "out"), "--k", "2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["engine"] == "duckdb" and record["params"]["engine"] == "auto"


def test_folder_errors_say_what_is_wrong(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="No CSV or Parquet files in the folder 'empty'"):
        pipeline.reduce(AnalysisParams(input_path=str(empty)))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_csv(mixed / "a.csv", every_case())
    every_case().to_parquet(mixed / "b.parquet")
    with pytest.raises(InputFileError, match="both CSV and Parquet"):
        pipeline.reduce(AnalysisParams(input_path=str(mixed)))
    with pytest.raises(InputFileError, match="a folder of CSV or Parquet files is read by"):
        pipeline.reduce(AnalysisParams(input_path=str(mixed), engine="memory"))


def test_errors_are_the_in_memory_engines(tmp_path):
    path = write_csv(tmp_path / "nocustomer.csv", every_case().drop(columns=["CustomerID"]))
    messages = []
    for engine in ("memory", "duckdb"):
        with pytest.raises(MappingError) as caught:
            pipeline.reduce(AnalysisParams(input_path=str(path), engine=engine))
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    two = in_euro()
    two.loc[3, "Currency"] = "USD"
    path = write_csv(tmp_path / "two.csv", two)
    messages = []
    for engine in ("memory", "duckdb"):
        with pytest.raises(DataError) as caught:
            pipeline.reduce(AnalysisParams(input_path=str(path), engine=engine))
        messages.append(caught.value.message)
    assert messages[0] == messages[1] and "2 currencies" in messages[0]
    with pytest.raises(InputFileError, match="File not found"):
        pipeline.reduce(AnalysisParams(input_path=str(tmp_path / "gone.csv"), engine="duckdb"))


def test_what_only_the_python_reader_reads_goes_to_it_with_a_warning(tmp_path):
    frame = in_euro()
    frame["UnitPrice"] = "£" + frame["UnitPrice"]  # currency marks inside the numbers
    path = write_csv(tmp_path / "marks.csv", frame)
    memory, duck = both(path)
    assert duck.engine == "memory"
    assert duck.warnings[0].text.startswith("Read in memory, not by the DuckDB engine")
    assert "numbers written other than plainly" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)
    folder = tmp_path / "parts"
    folder.mkdir()
    write_csv(folder / "a.csv", frame)
    with pytest.raises(InputFileError, match="cannot be read by the DuckDB engine"):
        pipeline.reduce(AnalysisParams(input_path=str(folder)))


def test_a_small_memory_limit_spills_and_still_gives_the_same_customers(tmp_path, monkeypatch):
    from rfm_desktop.core.sample import write_sample

    path = tmp_path / "big.parquet"
    # 3 M rows: their ~1 M orders take more than the 128 MB the engine may hold (below about
    # 100 MB DuckDB cannot run the aggregation's threads at all)
    write_sample(path, rows=3_000_000, seed=11)
    params = AnalysisParams(input_path=str(path), engine="duckdb", memory_limit="128MB")
    with duckdb_engine.connection(params) as con:
        limit, folder = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
        assert Path(folder).parent == cache.spill_dir() and Path(folder).is_dir()
    assert limit == "122.0 MiB"  # 128,000,000 bytes
    assert not Path(folder).exists()  # removed after the run
    spilled = []
    far_dates = duckdb_engine._Run._far_dates

    def counting(run):  # the spill files while the orders are held
        spilled.append(run.sql("SELECT count(*) FROM duckdb_temporary_files()").fetchall()[0][0])
        return far_dates(run)

    monkeypatch.setattr(duckdb_engine._Run, "_far_dates", counting)
    limited = pipeline.reduce(params)
    assert spilled and spilled[0] > 0
    assert limited.engine == "duckdb"
    # the same customers as without the limit (the engines are held against each other on
    # every cleaning case above)
    unlimited = pipeline.reduce(params.replace(memory_limit=None))
    assert spilled[1] == 0
    pd.testing.assert_frame_equal(unlimited.customers, limited.customers)
    assert len(limited.customers) > 200_000


def test_cancel_interrupts_a_running_query(tmp_path):
    from rfm_desktop.core.sample import write_sample

    path = tmp_path / "big.parquet"
    write_sample(path, rows=400_000, seed=12)
    heard = []

    def cancelled() -> bool:
        # the engine's watch thread asks while a query runs; the first answer there is "yes"
        inside = threading.current_thread().name == "duckdb-watch"
        heard.append(inside)
        return inside

    with pytest.raises(Cancelled):
        duckdb_engine.reduce(
            AnalysisParams(input_path=str(path), engine="duckdb"), lambda f, s: None, cancelled
        )
    assert True in heard


def test_ctrl_c_inside_a_query_is_an_interrupt_not_an_error(tmp_path, monkeypatch):
    # DuckDB's client turns a Ctrl-C during a query into RuntimeError("Query interrupted"): it
    # is the analyst's interrupt again (the CLI says "interrupted" and exits 130, no crash log)
    path = tmp_path / "cases.parquet"
    every_case().to_parquet(path)

    def interrupted(run, layout):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(duckdb_engine._Run, "_scan", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))

    def broken(run, layout):
        raise RuntimeError("something else")

    monkeypatch.setattr(duckdb_engine._Run, "_scan", broken)
    with pytest.raises(RuntimeError, match="something else"):
        pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))


def test_auto_takes_duckdb_above_the_threshold(tmp_path, monkeypatch):
    path = tmp_path / "cases.parquet"
    every_case().to_parquet(path)
    params = AnalysisParams(input_path=str(path))
    assert engines.choose(params) == "memory"
    monkeypatch.setattr(engines, "AUTO_PARQUET_ROWS", 100)
    assert engines.choose(params) == "duckdb"
    assert engines.choose(params.replace(input_path="book.xlsx")) == "memory"


@pytest.mark.parametrize(("rows", "engine"), [(999_999, "memory"), (1_000_000, "duckdb")])
def test_auto_takes_duckdb_from_a_million_parquet_rows(tmp_path, rows, engine):
    # measured: equal up to 300,000 rows; at 1 M rows DuckDB 4.5 s / 0.39 GB, memory 5.4 s / 0.70 GB
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"n": np.zeros(rows, dtype=np.int8)}), path)
    assert engines.choose(AnalysisParams(input_path=str(path))) == engine


def test_the_default_memory_limit_is_half_the_machine_up_to_2gb(monkeypatch):
    params = AnalysisParams(input_path="x.parquet", engine="duckdb")
    assert duckdb_engine.memory_limit(params.replace(memory_limit="3GB")) == "3GB"
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 24 * 2**30 // 4096}  # 24 GB
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert duckdb_engine.memory_limit(params) == "2048MB"
    pages["SC_PHYS_PAGES"] = 2 * 2**30 // 4096  # 2 GB: half of it
    assert duckdb_engine.memory_limit(params) == "1024MB"
    with duckdb_engine.connection(params) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "976.5 MiB"


def test_the_connection_keeps_freed_memory_for_the_next_query_up_to_its_limit():
    """Each query's freed memory stays with DuckDB for the next (up to the memory limit), not
    given back to the system after every task; where this DuckDB has those settings."""
    import duckdb

    params = AnalysisParams(input_path="x.csv", engine="duckdb", memory_limit="1GB")
    plain = duckdb.connect()
    known = {name for (name,) in plain.execute("SELECT name FROM duckdb_settings()").fetchall()}
    present = [name for name in duckdb_engine._KEEP_MEMORY if name in known]
    if not present:
        pytest.skip("this DuckDB has no allocator settings")

    def shown(con, name: str) -> str:
        return con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]

    with duckdb_engine.connection(params) as con:
        for name in present:
            default = shown(plain, name)
            plain.execute(f"SET {name} = '1GB'")
            assert shown(con, name) == shown(plain, name) != default
    plain.close()


def test_a_memory_limit_above_what_the_allocator_settings_take_still_runs(tmp_path):
    """A memory limit larger than the machine's memory is DuckDB's to take (it spills); the
    allocator settings that keep memory between queries refuse such a size, and are then left
    as they were: the run goes on, with the same customers."""
    import duckdb

    path = tmp_path / "orders.csv"
    every_case().assign(Currency="EUR").to_csv(path, index=False)
    huge = f"{8 * max(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'), 2**34) // 2**30}GB"
    params = AnalysisParams(input_path=str(path), engine="duckdb", memory_limit=huge)
    with duckdb_engine.connection(params) as con:
        assert con.execute("SELECT 1").fetchall() == [(1,)]
        refused = duckdb.connect()
        with pytest.raises(duckdb.Error):  # what the settings would have made of it
            refused.execute(f"SET block_allocator_memory = '{huge}'")
    big = pipeline.reduce(params)
    plain = pipeline.reduce(params.replace(memory_limit=None))
    pd.testing.assert_frame_equal(big.customers, plain.customers)


def test_memory_limit_is_a_checked_run_setting():
    params = AnalysisParams(input_path="x.csv", memory_limit="1 gb")
    assert params.memory_limit == "1GB"
    assert AnalysisParams.from_dict(params.to_dict()) == params
    with pytest.raises(Exception, match="not a size"):
        AnalysisParams(input_path="x.csv", memory_limit="lots")


@pytest.mark.realdata
@pytest.mark.slow
def test_real_data_customers_csv_identical_through_both_engines(tmp_path, capsys):
    if not REAL.exists():
        pytest.skip("../shared/data/online_retail.parquet is absent")
    outs = {}
    for engine in ("memory", "duckdb"):
        out = tmp_path / engine
        code = main(
            ["segment", str(REAL), "--out", str(out), "--k", "4", "--quiet", "--engine", engine]
        )
        assert code == 0, capsys.readouterr().err
        outs[engine] = out
    a, b = (outs[e] / "customers.csv" for e in ("memory", "duckdb"))
    assert a.read_bytes() == b.read_bytes()
    summaries = [json.loads((outs[e] / "summary.json").read_text()) for e in outs]
    for key, value in summaries[0].items():
        if key == "params":
            assert {**value, "engine": "duckdb"} == summaries[1][key]
        elif key != "missing_ids":  # sums in another order: equal to 1e-12 (test above)
            assert summaries[1][key] == value, key
    record = json.loads((outs["duckdb"] / "run.json").read_text())
    assert (
        record["engine"] == "duckdb"
        and record["rows"] == json.loads((outs["memory"] / "run.json").read_text())["rows"]
    )
    assert record["customers"] == 4338


def test_without_an_invoice_column_each_customer_and_timestamp_is_an_order(tmp_path):
    frame = in_euro().drop(columns=["Invoice", "Status"])
    path = write_csv(tmp_path / "noinvoice.csv", frame)
    memory, duck = both(path)
    assert_same(memory, duck)
    assert any("No invoice column" in w.text for w in duck.warnings)


def test_a_workbook_named_for_duckdb_is_read_in_memory(tmp_path):
    path = tmp_path / "book.xlsx"
    in_euro().head(80).to_excel(path, index=False)
    memory, duck = both(path)
    assert duck.engine == "memory"
    assert "a sheet holds at most 1,048,576 rows" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)


def test_decimal_commas_are_read_as_the_reader_reads_them(tmp_path):
    frame = in_euro()
    frame["UnitPrice"] = frame["UnitPrice"].str.replace(".", ",", regex=False)
    path = tmp_path / "semicolons.csv"
    frame.to_csv(path, index=False, sep=";")
    memory, duck = both(path)
    assert_same(memory, duck)
    assert duck.customers["monetary"].sum() == pytest.approx(memory.customers["monetary"].sum())
    # "1,234" alone in a comma-separated file: the reader takes the comma for thousands
    grouped = in_euro()
    grouped["UnitPrice"] = "1,234"
    path = write_csv(tmp_path / "thousands.csv", grouped)
    memory, duck = both(path)
    assert duck.engine == "memory" and "commas that group thousands" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)


def test_the_null_words_fit_the_engines_length_guard():
    """The SQL lower-cases only ids of up to 4 characters to compare them with the null words."""
    from rfm_desktop.core import values

    assert max(len(w) for w in values._NULL_TOKENS + values._MACHINE_NULLS) <= 4


def test_a_damaged_parquet_file_is_named_with_duckdbs_reason(tmp_path):
    good = tmp_path / "good.parquet"
    every_case().to_parquet(good)
    broken = tmp_path / "broken.parquet"
    data = good.read_bytes()
    footer = int.from_bytes(data[-8:-4], "little") + 8
    # header and footer kept (so the layout reads), the column chunks overwritten
    broken.write_bytes(data[:4] + b"Z" * (len(data) - footer - 4) + data[-footer:])
    with pytest.raises(InputFileError) as caught:
        pipeline.reduce(AnalysisParams(input_path=str(broken), engine="duckdb"))
    message = str(caught.value)
    assert message.startswith("'broken.parquet' could not be read: it is damaged")
    assert "(DuckDB: " in message


def test_an_engine_failure_not_caused_by_the_file_is_not_called_a_damaged_file(
    tmp_path, monkeypatch
):
    import duckdb

    path = tmp_path / "cases.parquet"
    every_case().to_parquet(path)

    def disk_full(self, layout):
        raise duckdb.IOException(
            'IO Error: Could not write file "/cache/spill/run-1/duckdb_temp_block-4.block": '
            "No space left on device"
        )

    monkeypatch.setattr(duckdb_engine._Run, "_reduce", disk_full)
    with pytest.raises(DataError) as caught:
        pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))
    message = str(caught.value)
    assert "damaged" not in message
    assert message.startswith("The DuckDB engine stopped: IO Error: Could not write file")
    assert "No space left on device" in message
    assert str(cache.spill_dir()) in caught.value.hint


@pytest.mark.parametrize(
    ("column", "said"),
    [
        ("CustomerID", "a blank customer id on lines of an order that has one"),
        ("InvoiceDate", "a blank date on lines of an order that has one"),
        ("Status", "status or currency given on an order's first line only"),
    ],
)
def test_order_level_cells_on_the_first_line_only_go_to_the_python_reader(tmp_path, column, said):
    frame = in_euro()
    lines = frame.index[frame["Invoice"] == "500100"]  # an order of three lines
    assert len(lines) == 3
    frame.loc[lines, "CustomerID"] = "10001"
    frame.loc[lines[1:], column] = ""  # given on the order's first line only (Shopify)
    memory, duck = both(write_csv(tmp_path / "first_line.csv", frame))
    assert duck.engine == "memory"
    assert said in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)
    if column == "CustomerID":  # two customers on the order's other lines: nothing to fill
        frame.loc[lines[1], "CustomerID"] = "10002"
        assert_same(*both(write_csv(tmp_path / "two.csv", frame)))


def test_whole_file_checks_return_one_row_not_one_per_order(tmp_path, monkeypatch):
    # a check over the orders without GROUP BY must aggregate: at 100 M rows a constant
    # SELECT over the orders fetched 35 M rows into Python (2.3 GB)
    from rfm_desktop.core.sample import write_sample

    path = tmp_path / "sales.parquet"  # numbers as numbers: no text number column to count
    write_sample(path, rows=20_000, seed=5)
    fetched = []
    sql = duckdb_engine._Run.sql

    def counting(run, query, params=None):
        result = sql(run, query, params)
        flat = " ".join(query.split())
        if flat.startswith("SELECT") and "FROM orders" in flat and "GROUP BY" not in flat:
            rows = result.fetchall()
            fetched.append((len(rows), flat[:60]))
            return run.con.execute(query, params or [])
        return result

    monkeypatch.setattr(duckdb_engine._Run, "sql", counting)
    reduced = pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))
    assert reduced.engine == "duckdb"
    assert fetched and all(n == 1 for n, _ in fetched), fetched


def test_the_examples_rows_are_found_by_the_parquet_reader(tmp_path, monkeypatch):
    # the cleaning report's example rows are read again by number: the filter must reach the
    # Parquet reader (3.5 s at 100 M rows when it did not, 0.03 s when it does)
    from rfm_desktop.core.sample import write_sample

    path = tmp_path / "sales.parquet"
    write_sample(path, rows=20_000, seed=5)
    plans = []
    sql = duckdb_engine._Run.sql

    def explaining(run, query, params=None):
        if "FROM rows WHERE rownum IN" in query:
            plans.append(run.con.execute("EXPLAIN " + query).fetchall()[0][1])
        return sql(run, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", explaining)
    reduced = pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))
    assert reduced.engine == "duckdb" and any(s.example for s in reduced.report.steps)
    assert plans
    scan = plans[0][plans[0].index("READ_PARQUET") :]
    assert "Filters" in scan and "file_row_number IN" in scan


def _orders_of_three(n: int = 12) -> pd.DataFrame:
    """Three customers' one-line orders, a few days apart (no invoice column)."""
    return pd.DataFrame(
        {
            "CustomerID": [str(10001 + i % 3) for i in range(n)],
            "InvoiceDate": [f"2023-0{1 + i // 4}-{10 + i:02d} 10:00:00" for i in range(n)],
            "Quantity": "2",
            "UnitPrice": "3.50",
            "Country": "France",
        }
    )


def test_the_as_of_example_is_the_first_later_row_even_without_an_invoice_id(tmp_path):
    # no invoice column: the made-up id of a row without customer id is missing; the example
    # must still be that row's (arg_min skipped the missing id and took a later row's)
    frame = _orders_of_three()
    frame.loc[8, "CustomerID"] = ""  # the first row on or after the as-of date
    kept = CleaningOptions(drop_missing_customer=False)
    memory, duck = both(write_csv(tmp_path / "later.csv", frame), as_of="2023-03-01", cleaning=kept)
    assert_same(memory, duck)
    assert duck.report.steps[-1].example == "invoice <NA> on 2023-03-18"


def test_the_far_date_example_is_the_first_row_of_that_day_even_without_an_invoice_id(tmp_path):
    frame = _orders_of_three(200)
    frame["InvoiceDate"] = [f"2023-01-{1 + i % 28:02d} 10:{i % 60:02d}:00" for i in range(200)]
    frame.loc[198:, "InvoiceDate"] = ["2031-01-01 10:00:00", "2031-01-01 11:00:00"]
    frame.loc[198, "CustomerID"] = ""  # the far day's first row: made-up invoice id missing
    kept = CleaningOptions(drop_missing_customer=False)
    memory, duck = both(write_csv(tmp_path / "far.csv", frame), cleaning=kept)
    assert_same(memory, duck)
    assert any("2031-01-01 (2 rows, e.g. invoice <NA>)" in w.text for w in duck.warnings)


def test_rows_with_a_blank_invoice_id_are_one_order_of_their_customer(tmp_path):
    # the in-memory frequency took a missing invoice id (code -1) for the previous customer's
    # key (and failed on the first customer's); SQL groups the missing ids as one order
    frame = _orders_of_three().assign(Invoice=[f"{500 + i}" for i in range(12)])
    frame.loc[[0, 3, 5], "Invoice"] = ""  # 10001's rows 0 and 3, 10003's row 5
    memory, duck = both(write_csv(tmp_path / "blank.csv", frame))
    assert_same(memory, duck)
    assert duck.customers["frequency"].tolist() == [3, 4, 4]
    assert duck.customers["monetary"].tolist() == [28.0, 28.0, 28.0]


@pytest.mark.parametrize(
    ("column", "said"),
    [
        ("InvoiceDate", "Column 'InvoiceDate' is empty: it has no dates."),
        ("Quantity", "Column 'Quantity' is empty: it has no numbers."),
        ("UnitPrice", "Column 'UnitPrice' is empty: it has no numbers."),
    ],
)
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_empty_date_or_number_column_stops_with_the_readers_message(
    tmp_path, column, said, kind
):
    # not "No rows are left after cleaning" (every row unreadable) as the cleaning would say
    frame = _orders_of_three().assign(**{column: ""})
    path = tmp_path / f"empty.{kind}"
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    for engine in ("memory", "duckdb"):
        with pytest.raises(DataError) as caught:
            pipeline.reduce(AnalysisParams(input_path=str(path), engine=engine))
        assert caught.value.message == said, engine


@pytest.mark.parametrize("column", ["CustomerID", "Currency"])
def test_ids_padded_with_a_separator_character_go_to_the_python_reader(tmp_path, column):
    # Python's str.strip trims the separators \x1c-\x1f from ids and currency codes, DuckDB's
    # trim does not: "10001\x1f" was a customer of its own in DuckDB (5 customers, not 3)
    frame = _orders_of_three().assign(Currency="EUR")
    frame.loc[0, column] += "\x1f"
    frame.loc[1, column] = "\x1c" + frame.loc[1, column]
    memory, duck = both(
        write_csv(tmp_path / "separators.csv", frame), cleaning=CleaningOptions(currency="EUR")
    )
    assert duck.engine == "memory"
    assert "text padded with tabs or non-breaking spaces" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)
    assert duck.customers["frequency"].tolist() == [4, 4, 4]


@pytest.mark.parametrize("column", ["CustomerID", "InvoiceNo", "Country"])
def test_a_space_before_a_tab_does_not_hide_the_tab_from_the_hand_off(tmp_path, column):
    # DuckDB's trim takes the space off " \tUnited Kingdom" and leaves "\tUnited Kingdom"; the
    # reader's strip takes both: the test of the ends reads the trimmed text, so the file goes
    # to the Python reader (it was read by DuckDB, with a country "\tUnited Kingdom" apart)
    frame = _orders_of_three().assign(InvoiceNo=[str(536365 + i) for i in range(12)])
    frame.loc[0, column] = " \t" + frame.loc[0, column]
    frame.loc[1, column] = frame.loc[1, column] + "\n "
    memory, duck = both(write_csv(tmp_path / "tab.csv", frame))
    assert duck.engine == "memory"
    assert "text padded with tabs or non-breaking spaces" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)


def test_two_parquet_files_give_the_examples_and_value_rows_of_the_whole(tmp_path):
    # the steps' first rows lie in the second file (row groups of 7 and 5 rows): examples and
    # CLV's rows in file order must be those of the two files read as one
    whole = in_euro()
    placeholders = whole["CustomerID"].isin(["guest", "0", "N/A", "---"])
    whole = whole[~whole["Invoice"].str.startswith("C") & ~placeholders]
    whole = whole.reset_index(drop=True)
    cut = len(whole) // 2
    whole.loc[cut + 5, ["Invoice", "Quantity"]] = ["C700001", "-2"]
    whole.loc[cut, "CustomerID"] = "guest"
    whole.to_parquet(tmp_path / "whole.parquet", index=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    for name, part, size in (("a", whole.iloc[:cut], 7), ("b", whole.iloc[cut:], 5)):
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=size)
    params = AnalysisParams(
        input_path=str(tmp_path / "whole.parquet"),
        cleaning=CleaningOptions(drop_duplicates=True),
        clv=ValueOptions(enabled=True),
    )
    memory = pipeline.reduce(params.replace(engine="memory"))
    duck = pipeline.reduce(params.replace(input_path=str(folder), engine="duckdb"))
    assert_same(memory, duck)
    steps = {s.step: s.example for s in duck.report.steps}
    assert steps["cancellations"] == "invoice C700001"
    assert steps["placeholder_ids"] == f"customer id 'guest' (invoice {whole.loc[cut, 'Invoice']})"
    assert memory.value_rows is not None and duck.value_rows is not None
    pd.testing.assert_frame_equal(memory.value_rows, duck.value_rows, check_exact=True)


def random_orders(seed: int) -> pd.DataFrame:
    """Orders of 1-3 lines whose lines may differ in country, status, date and currency; whole
    orders without customer id, an order of two customers with a line without id (it shares
    the invoice), blank invoice ids, fractional quantities and exact twins."""
    rng = np.random.default_rng(seed)
    rows = []
    for order in range(40):
        customer = "" if rng.random() < 0.15 else str(10000 + rng.integers(8))
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(400)))
        country = ["UK", "France", "Germany", ""][int(rng.integers(4))]
        for line in range(int(rng.integers(1, 4))):
            odd = rng.random(6) < [0.1, 0.1, 0.1, 0.05, 0.1, 0.2]
            rows.append(
                {
                    "Invoice": ("C" if odd[0] else "") + str(500000 + order),
                    "StockCode": "POST" if odd[1] else "A1",
                    "Quantity": str(int(rng.integers(-1, 8))) if not odd[2] else "0.25",
                    "InvoiceDate": f"{day:%Y-%m-%d} {10 + line * odd[3]:02d}:00:00",
                    "UnitPrice": f"{rng.integers(-10, 500) / 100:.2f}",
                    "CustomerID": customer,
                    "Country": "Spain" if odd[4] else country,
                    "Status": "refunded" if odd[5] else "paid",
                    "Currency": "USD" if rng.random() < 0.04 else "EUR",
                }
            )
    frame = pd.DataFrame(rows)
    shared = [dict(rows[0], Invoice="777777", CustomerID=c) for c in ("10001", "10002", "")]
    frame.loc[rng.integers(len(frame), size=2), "Invoice"] = ""
    return pd.concat([frame, pd.DataFrame(shared), frame.iloc[[3, 3, 8]]], ignore_index=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "changes",
    [
        {"cleaning": CleaningOptions(currency="EUR"), "clv": ValueOptions(enabled=True)},
        {
            "cleaning": CleaningOptions(
                currency="EUR", drop_duplicates=True, drop_non_product=True
            ),
            "as_of": "2023-09-01",
            "clv": ValueOptions(enabled=True),
        },
        {
            "cleaning": CleaningOptions(
                currency="EUR",
                drop_missing_customer=False,
                drop_non_sale_status=False,
                drop_cancellations=False,
                drop_duplicates=True,
            ),
            "as_of": "2023-06-01",
        },
    ],
    ids=["defaults", "all-on-as-of", "most-off-as-of"],
)
def test_random_orders_give_the_same_customers_report_and_value_rows(tmp_path, seed, changes):
    memory, duck = both(write_csv(tmp_path / "orders.csv", random_orders(seed)), **changes)
    assert_same(memory, duck)
    pd.testing.assert_frame_equal(memory.customers, duck.customers, check_exact=True)
    assert (memory.value_rows is None) == (duck.value_rows is None)
    if memory.value_rows is not None and duck.value_rows is not None:
        pd.testing.assert_frame_equal(memory.value_rows, duck.value_rows, check_exact=True)


def test_a_true_false_status_column_is_handed_over_for_its_type(tmp_path):
    # the reason said "customer or invoice ids stored as fractional numbers"
    path = tmp_path / "flags.parquet"
    _orders_of_three().assign(Status=True).to_parquet(path)
    memory, duck = both(path)
    assert duck.engine == "memory"
    assert "id or text columns of another type than text or numbers" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)


def spelled_apart(seed: int = 7) -> pd.DataFrame:
    """Orders whose order-level cells are spelled differently from line to line: invoice ids
    as '536365', '536365.0', ' 536365 '; statuses 'Refunded', ' refunded ', 'REFUNDED'; a
    country with and without padding; a 'C' invoice with a negative and a positive line (and
    its id spelled apart too); customers 0, -1 and ids starting with digits or letters."""
    rng = np.random.default_rng(seed)
    rows = []
    spellings = ["{}", "{}.0", " {} ", "{}.00"]
    statuses = ["paid", "Refunded", " refunded ", "REFUNDED", "Completed"]
    customers = ["10001", "10002", "0", "-1", "1abc", "x9", "20003", "10001.0"]
    for order in range(60):
        customer = customers[int(rng.integers(len(customers)))]
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(300)))
        cancelled = order % 9 == 4
        for line in range(int(rng.integers(1, 5))):
            invoice = ("C" if cancelled else "") + str(536000 + order)
            rows.append(
                {
                    "Invoice": spellings[line % len(spellings)].format(invoice),
                    "Quantity": str(int(rng.integers(1, 6)) * (-1 if cancelled and line else 1)),
                    "InvoiceDate": f"{day:%Y-%m-%d} 10:00:00",
                    "UnitPrice": f"{rng.integers(10, 900) / 100:.2f}",
                    "CustomerID": customer,
                    "Country": ["France", " France", "UK"][line % 3],
                    "Status": statuses[(order + line) % len(statuses)],
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "options",
    [{}, {"drop_duplicates": True}, {"drop_non_sale_status": False, "drop_cancellations": False}],
    ids=["defaults", "duplicates", "kept"],
)
def test_one_order_spelled_apart_gives_the_same_customers_and_report(tmp_path, options):
    # the first aggregation groups the raw invoice id, status and country: spellings of one
    # value are separate groups there, and every later query must add them up as one order
    frame = spelled_apart()
    memory, duck = both(
        write_csv(tmp_path / "orders.csv", frame), cleaning=CleaningOptions(**options)
    )
    assert_same(memory, duck)
    pd.testing.assert_frame_equal(memory.customers, duck.customers, check_exact=True)
    assert memory.customers["frequency"].max() > 1  # orders of several spelled-apart lines


@pytest.mark.parametrize("stored", ["float64", "Int64"])
def test_typed_parquet_ids_with_placeholders_give_the_same_customers(tmp_path, stored):
    # customer ids stored as numbers are grouped as numbers and their tests read the number:
    # 0 and -1 are placeholders (the guard skips only ids >= 1), a blank is a missing id;
    # integer invoice ids are grouped raw and made text once per group
    frame = spelled_apart()
    frame = frame[~frame["CustomerID"].isin(["1abc", "x9"])].copy()
    frame["CustomerID"] = frame["CustomerID"].astype(float).astype(stored)
    order = frame["Invoice"].str.extract(r"(\d+)")[0].astype(int)
    frame.loc[order % 7 == 3, "CustomerID"] = None  # whole orders without a customer
    frame["Invoice"] = frame["Invoice"].str.strip().str.removesuffix(".00").str.removesuffix(".0")
    frame = frame[~frame["Invoice"].str.startswith("C")]
    frame["Invoice"] = frame["Invoice"].astype("int64")
    for column in ("Quantity", "UnitPrice"):
        frame[column] = frame[column].astype(float)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    memory, duck = both(path)
    assert_same(memory, duck)
    removed = {s.step: s.removed for s in duck.report.steps}
    assert removed["placeholder_ids"] == int(frame["CustomerID"].isin([0, -1]).sum()) > 0
    assert removed["missing_customer"] == int(frame["CustomerID"].isna().sum()) > 0


def test_a_fractional_customer_id_stored_as_a_number_goes_to_the_python_reader(tmp_path):
    # the hand-over bit of an id with a fraction is made once per group of the first
    # aggregation (the id is grouped as the number): still found, on any row
    frame = spelled_apart()
    frame = frame[~frame["CustomerID"].isin(["1abc", "x9"])].copy()
    frame["CustomerID"] = frame["CustomerID"].astype(float)
    frame.loc[frame.index[-1], "CustomerID"] = 10001.5
    for column in ("Quantity", "UnitPrice"):
        frame[column] = frame[column].astype(float)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    duck = pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))
    assert duck.engine == "memory" and "fractional" in duck.warnings[0].text


def _first_aggregation(monkeypatch, path: Path) -> tuple[dict, list[list[str]]]:
    """The plan of the statement that reads the rows (EXPLAIN as JSON) and the columns each of
    its hash aggregations groups."""
    plans = []
    sql = duckdb_engine._Run.sql

    def explaining(run, query, params=None):
        if "CREATE TEMP TABLE grouped" in query:
            select = query[query.index("SELECT") :]
            plan = run.con.execute("EXPLAIN (FORMAT json) " + select).fetchall()[0][1]
            plans.append(json.loads(plan)[0])
        return sql(run, query, params)

    def grouped_inputs(node: dict) -> list[list[str]]:
        found = []
        if node["name"] == "HASH_GROUP_BY":
            found.append(node["children"][0]["extra_info"]["Projections"])
        for child in node["children"]:
            found += grouped_inputs(child)
        return found

    monkeypatch.setattr(duckdb_engine._Run, "sql", explaining)
    reduced = pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))
    assert reduced.engine == "duckdb" and plans
    return plans[0], grouped_inputs(plans[0])


def test_canonical_order_values_are_made_after_the_first_grouping(tmp_path, monkeypatch):
    # turning text into canonical values costs more than reading it: the aggregation over the
    # rows groups the raw invoice id (its canonical form is made once per group, above it)
    plan, inputs = _first_aggregation(
        monkeypatch, write_csv(tmp_path / "orders.csv", spelled_apart())
    )
    assert inputs and all("invoice_id" not in columns for columns in inputs)
    assert "raw_invoice_id" in inputs[0]
    assert "invoice_id" in plan["extra_info"]["Projections"]
    assert "customer_id" in inputs[0]  # text ids: made per row (their tests read the text)


def test_customer_ids_stored_as_numbers_are_grouped_as_numbers(tmp_path, monkeypatch):
    # a number id's text is made once per group too (at 10 M rows 0.6 s of CPU less)
    frame = spelled_apart()
    frame = frame[~frame["CustomerID"].isin(["1abc", "x9"])].copy()
    frame["CustomerID"] = frame["CustomerID"].astype(float)
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path, index=False)
    plan, inputs = _first_aggregation(monkeypatch, path)
    assert "raw_customer_id" in inputs[0] and "customer_id" not in inputs[0]
    assert "customer_id" in plan["extra_info"]["Projections"]


def test_each_customers_country_is_the_most_frequent_even_if_two_names_share_a_hash(
    tmp_path, monkeypatch
):
    # a customer's countries travel as the least and greatest hash of their names; should two
    # names ever share a hash, every customer's country is counted in full instead
    frame = every_case()  # most customers in one country, by the last digit of their id
    one = frame["CustomerID"].str[-1:].isin(list("01234"))
    frame["Country"] = np.where(one, "United Kingdom", "France")
    frame.loc[frame.index % 13 == 0, "Country"] = "Germany"  # and a few in several
    path = write_csv(tmp_path / "orders.csv", frame)
    params = AnalysisParams(input_path=str(path), cleaning=CleaningOptions(currency="EUR"))
    memory = pipeline.reduce(params)
    sql = duckdb_engine._Run.sql

    class Colliding:
        def __init__(self, rows):
            self.rows = rows

        def fetchall(self):
            return self.rows

    def colliding(run, query, params=None):
        result = sql(run, query, params)
        if "SELECT hash(c), c" in query:
            rows = result.fetchall()
            uk = next(h for h, name in rows if name == "United Kingdom")
            return Colliding([*rows, (uk, "Atlantis")])
        return result

    monkeypatch.setattr(duckdb_engine._Run, "sql", colliding)
    duck = pipeline.reduce(params.replace(engine="duckdb"))
    assert duck.engine == "duckdb"
    pd.testing.assert_frame_equal(memory.customers, duck.customers)
    assert "Atlantis" not in set(duck.customers["country"].dropna())
    assert duck.customers["country"].nunique() == 3


def test_only_invoices_with_a_blank_customer_are_grouped_for_the_fill_check(tmp_path, monkeypatch):
    # the check "a blank customer on lines of an order that has one" groups only the invoices
    # that have a blank line (a semi-join), not every invoice (0.2 s against 0.85 s of CPU at
    # 10 M rows); the answer is the in-memory engine's
    frame = random_orders(1)
    plans = []
    sql = duckdb_engine._Run.sql

    def explaining(run, query, params=None):
        if "HAVING bool_or(customer_id IS NULL)" in query:
            plan = run.con.execute("EXPLAIN (FORMAT json) " + query).fetchall()[0][1]
            plans.append(plan)
        return sql(run, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", explaining)
    options = CleaningOptions(currency="EUR")
    memory, duck = both(write_csv(tmp_path / "orders.csv", frame), cleaning=options)
    assert_same(memory, duck)  # invoice 777777 has two customers and a blank line: not filled
    assert plans and '"SEMI"' in plans[0]
    one = [dict(frame.iloc[0], Invoice="888888", CustomerID=c) for c in ("10003", "")]
    filled = pd.concat([frame, pd.DataFrame(one)], ignore_index=True)
    memory, duck = both(write_csv(tmp_path / "filled.csv", filled), cleaning=options)
    assert duck.engine == "memory"  # the reader fills 888888's blank line from its other line
    assert "a blank customer id on lines of an order that has one" in duck.warnings[0].text


def test_countries_only_on_rows_without_a_customer_give_no_customer_country(tmp_path):
    # the country names are taken from every order; whether a customer has one is told from
    # the customers' own least and greatest hashes
    frame = random_orders(2)
    frame["Country"] = np.where(frame["CustomerID"] == "", "France", "")
    memory, duck = both(
        write_csv(tmp_path / "orders.csv", frame), cleaning=CleaningOptions(currency="EUR")
    )
    assert_same(memory, duck)
    assert "country" not in duck.customers.columns
    frame.loc[frame["CustomerID"] == "10003", "Country"] = "Spain"  # one named customer
    memory, duck = both(
        write_csv(tmp_path / "named.csv", frame), cleaning=CleaningOptions(currency="EUR")
    )
    assert_same(memory, duck)
    assert duck.customers["country"].dropna().tolist() == ["Spain"]


def test_trim_of_the_ends_is_trim_of_every_value():
    """Only values that could change are trimmed (a space at an end, or any non-ASCII
    character: DuckDB's trim() takes every Unicode Zs space off), the rest kept as they are:
    the same text as trim() of every value, NULL kept."""
    import duckdb

    values = ["536365", " 536365", "536365  ", "  a b  ", "", " ", "\tFrance", "France\u00a0"]
    values += ["\u3000Côte\u2009", "\u00a0", "Ünïcode", "x\u205f", "\u1680y", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    ours = con.execute(f"SELECT {duckdb_engine._trim('v')}, trim(v) FROM t").fetchall()
    assert [a for a, _ in ours] == [b for _, b in ours]
    assert [a for a, _ in ours][:6] == ["536365", "536365", "536365", "a b", "", ""]


@pytest.mark.parametrize("dropped", [(), ("Status",), ("Currency",), ("Status", "Currency")])
def test_the_tests_above_the_aggregation_read_only_the_fields_the_file_has(tmp_path, dropped):
    """The aggregation's per-order tests leave out those of a status or currency the file does
    not have (they never hold on NULL), and test a 'C' invoice id once for both cancellation
    tests; the customers and the report stay the in-memory engine's."""
    path = write_csv(tmp_path / "t.csv", every_case().drop(columns=list(dropped)))
    seen: list[str] = []
    real = duckdb_engine._Run.sql

    def sql(self, query, params=None):
        if "CREATE TEMP TABLE grouped" in query:
            seen.append(query[: query.index(" AS raw_hits")])
        return real(self, query, params)

    options = CleaningOptions(currency="EUR" if "Currency" not in dropped else None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(duckdb_engine._Run, "sql", sql)
        memory, duck = both(path, cleaning=options)
    assert_same(memory, duck)
    (late,) = seen
    assert ("trim(status)" in late) == ("Status" not in dropped)
    assert ("upper(currency)" in late) == ("Currency" not in dropped)
    assert late.count("regexp_full_match(invoice_id") == 1


def test_invoice_means_are_sums_over_distinct_invoices(tmp_path):
    """The missing-id comparison's per-invoice means are the sums over the rows with an invoice
    id divided by the distinct invoices (core.missing_ids' definition), not a mean of sums made
    per invoice; an invoice over several dates counts once. No ``count(DISTINCT)``: DuckDB holds
    its values outside the memory limit."""
    frame = every_case()
    frame.loc[frame["Invoice"] == "500010", "InvoiceDate"] = ["2023-05-01 10:00:00"] + [
        "2023-05-02 11:00:00"
    ] * (int((frame["Invoice"] == "500010").sum()) - 1)
    path = write_csv(tmp_path / "t.csv", frame)
    seen: list[str] = []
    real = duckdb_engine._Run.sql

    def sql(self, query, params=None):
        seen.append(" ".join(query.split()))
        return real(self, query, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(duckdb_engine._Run, "sql", sql)
        memory, duck = both(path, cleaning=CleaningOptions(currency="EUR"))
    assert_same(memory, duck)
    assert not [
        q
        for q in seen
        if "fsum(amount) AS value, sum(units) AS units FROM sales WHERE invoice_id IS NOT NULL GROUP BY g, invoice_id"
        in q
    ]
    assert not [q for q in seen if "DISTINCT" in q]  # held outside DuckDB's memory limit
    assert duck.report.missing_ids is not None
    assert duck.report.missing_ids.with_id.invoices == memory.report.missing_ids.with_id.invoices


def test_the_guard_of_the_number_tests_leaves_out_what_reads_an_unmapped_column():
    """The usual row's condition rules out only the tests it can: with no quantity column, the
    tests of the quantity (one holds on every row) are made on every row, and the guard does
    not read it."""
    names = ["invalid", "no_quantity", "nonpositive_line", "nonpositive_amount"]
    names += ["sign_quantity", "sign_amount", "placeholder_ids"]
    guard, covered = duckdb_engine._number_guard(names, has_quantity=False, has_price=False)
    assert covered == {"invalid", "nonpositive_amount", "sign_amount"}
    assert guard == "invoice_date IS NOT NULL AND amount > 0"
    guard, covered = duckdb_engine._number_guard(names, has_quantity=True, has_price=True)
    assert covered == set(names) - {"placeholder_ids"}
    assert guard == ("invoice_date IS NOT NULL AND amount > 0 AND quantity > 0 AND unit_price > 0")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_export_of_amounts_with_every_case_is_reduced_as_in_memory(tmp_path, kind):
    # no quantity or price column: the guard of the usual row reads the amount and the date
    # only, and the tests of a quantity (no quantity on every row) are made on every row;
    # refunds (negative amounts on 'C' invoices), zero amounts and ids saved as numbers
    frame = in_euro()
    frame["Amount"] = pd.to_numeric(frame["Quantity"], errors="coerce") * pd.to_numeric(
        frame["UnitPrice"]
    )
    frame = frame.drop(columns=["Quantity", "UnitPrice"]).fillna({"Amount": 4.0})
    # (a blank date on an order's line reads as an order-level cell: the reader's, handed over)
    frame = frame.loc[frame["InvoiceDate"] != ""].reset_index(drop=True)
    frame.loc[5, "Amount"] = 0.0
    frame.loc[6, "Amount"] = -3.0  # a refund line on an ordinary invoice
    frame.loc[8, ["Invoice", "Amount"]] = ["C700001", -12.5]
    if kind == "parquet":  # ids as numbers: the customer tests read the number
        frame["CustomerID"] = pd.to_numeric(frame["CustomerID"], errors="coerce")
        path = tmp_path / "amounts.parquet"
        frame.to_parquet(path)
    else:
        path = write_csv(tmp_path / "amounts.csv", frame)
    memory, duck = both(path, cleaning=CleaningOptions(currency="EUR"))
    assert_same(memory, duck)
    removed = {s.step: s.removed for s in duck.report.steps}
    assert removed["cancellations"] >= 3 and removed["nonpositive"] >= 1


@pytest.mark.parametrize("alongside", [True, False])
def test_the_customer_frame_is_made_beside_the_comparison_up_to_a_size(
    tmp_path, monkeypatch, alongside
):
    """Up to _ALONGSIDE_ORDERS orders the customers are reduced first and their frame is made
    in a thread while DuckDB compares the rows with and without customer id; above it, the
    customers come last and their frame is made on the run's thread once DuckDB has closed.
    The customers are the same either way (and the in-memory engine's)."""
    if not alongside:
        monkeypatch.setattr(duckdb_engine, "_ALONGSIDE_ORDERS", 0)
    seen: dict[str, object] = {}
    made, compared = threading.Event(), threading.Event()
    real_frame, real_missing = duckdb_engine._customer_frame, duckdb_engine._Run._missing_ids

    def frame(*args):
        seen["thread"] = threading.current_thread() is threading.main_thread()
        seen["compared before"] = compared.is_set()
        try:
            return real_frame(*args)
        finally:
            made.set()

    def missing_ids(self):
        if alongside:  # the frame is being made meanwhile: it finishes before the comparison
            assert made.wait(10)
        try:
            return real_missing(self)
        finally:
            compared.set()

    monkeypatch.setattr(duckdb_engine, "_customer_frame", frame)
    monkeypatch.setattr(duckdb_engine._Run, "_missing_ids", missing_ids)
    memory, duck = both(
        write_csv(tmp_path / "cases.csv", in_euro()), cleaning=CleaningOptions(currency="EUR")
    )
    assert_same(memory, duck)
    assert seen == {"thread": not alongside, "compared before": not alongside}


def test_the_ends_of_the_countries_are_tested_on_their_names_not_per_order(tmp_path, monkeypatch):
    """The aggregation leaves out the countries' test of padded text (0.15 s of CPU at 10 M
    rows); their few names are tested once the customers are reduced, and a padded one still
    hands the file over."""
    seen: list[str] = []
    real = duckdb_engine._Run.sql

    def sql(self, query, params=None):
        seen.append(query)
        return real(self, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", sql)
    frame = in_euro()
    frame.loc[3, "Country"] = "France\u2028"
    path = write_csv(tmp_path / "country.csv", frame)
    duck = pipeline.reduce(AnalysisParams(input_path=str(path), engine="duckdb"))
    grouped = next(q for q in seen if "CREATE TEMP TABLE grouped" in q)
    assert duckdb_engine._padded('"raw_invoice_id"') in grouped
    assert duckdb_engine._padded('"raw_country"') not in grouped
    assert duck.engine == "memory"
    assert "text padded with tabs or non-breaking spaces" in duck.warnings[0].text
    assert duckdb_engine._padded_text("France\u2028") and not duckdb_engine._padded_text("Fr ance")


@pytest.mark.parametrize(
    ("column", "text"),
    [("Invoice", "TOTAL"), ("CustomerID", "Grand Total"), ("InvoiceDate", "Subtotal:")],
)
def test_a_reports_total_line_in_any_case_goes_to_the_python_reader(tmp_path, column, text):
    # the reader leaves a report's total lines out (and says so); DuckDB finds "total" in any
    # case in the id, date and first columns, the invoice ids tested once per order
    frame = in_euro()
    frame.loc[5, column] = text
    memory, duck = both(write_csv(tmp_path / "total.csv", frame))
    assert duck.engine == "memory"
    assert "empty lines or a report's total lines" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)


@pytest.mark.parametrize(
    ("column", "values"),
    [
        # U+A7CB and U+0264 are one letter's cases to Arrow's tables, two letters to DuckDB's
        ("CustomerID", ["\ua7cb@x.com", "\u0264@x.com"]),
        ("Currency", ["X\u1c89X", "X\u1c8aX"]),
    ],
)
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_case_folded_text_beyond_ascii_goes_to_the_python_reader(tmp_path, column, values, kind):
    # the reader lower-cases e-mail ids and upper-cases currency codes by Arrow's Unicode
    # tables, DuckDB by its own: one customer (one currency) was two in DuckDB
    frame = in_euro()
    frame.loc[[3, 5], column] = values[0]
    if column == "Currency":  # one currency to the reader
        frame[column] = values[0]
    frame.loc[9, column] = values[1]
    path = tmp_path / f"beyond.{kind}"
    write_csv(path, frame) if kind == "csv" else frame.to_parquet(path)
    memory, duck = both(path)
    assert duck.engine == "memory"
    assert "letters beyond ASCII" in duck.warnings[0].text
    pd.testing.assert_frame_equal(memory.customers, duck.customers)


def test_an_order_over_several_groups_is_one_order_counted_on_its_ids(tmp_path, monkeypatch):
    """The customers are one aggregation over the clean order groups; the lines of one order in
    several groups (another timestamp, country, or spelling of its invoice id) are found by the
    hash of the two ids and counted once, and only those groups are counted by their ids."""
    frame = pd.DataFrame(
        {
            "Invoice": ["501", "501", "502", "503", "503.0", "504", "505", "506", "506"],
            "InvoiceDate": ["2023-01-02 10:00", "2023-01-02 10:01", "2023-02-01 10:00"]
            + ["2023-03-01 10:00"] * 2
            + ["2023-03-05 10:00", "2023-04-01 10:00", "2023-05-01 10:00", "2023-05-01 10:00"],
            "Quantity": "1",
            "UnitPrice": "2.50",
            "CustomerID": ["10001"] * 3 + ["10002"] * 3 + ["10003"] + ["10004"] * 2,
            "Country": ["France"] * 7 + ["Spain", "Italy"],
        }
    )
    shared: list[int] = []
    sql = duckdb_engine._Run.sql

    def counting(run, query, params=None):
        out = sql(run, query, params)
        if "TEMP TABLE shared_orders" in query:
            shared.append(run.con.sql("SELECT count(*) FROM shared_orders").fetchall()[0][0])
        return out

    monkeypatch.setattr(duckdb_engine._Run, "sql", counting)
    memory, duck = both(write_csv(tmp_path / "split.csv", frame))
    assert_same(memory, duck)
    # 501 over two timestamps, 503 spelled twice, 506 in two countries: each one order
    assert duck.customers["frequency"].tolist() == [2, 2, 1, 1]
    assert duck.customers["monetary"].tolist() == [7.5, 7.5, 2.5, 5.0]
    assert shared == [3]  # the groups of 501, 503 and 506 only


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"drop_duplicates": True, "drop_non_product": True},
        {
            "drop_missing_customer": False,
            "drop_cancellations": False,
            "drop_placeholder_ids": False,
        },
    ],
    ids=["defaults", "more-on", "some-off"],
)
def test_the_clean_rows_are_the_rows_of_no_step_told_by_the_steps_bits(
    tmp_path, monkeypatch, options
):
    """The clean rows are read by six or more queries: they are told by the switched-on steps'
    bits (and a twin), without the first-step CASE of ``steps``; the same orders as the rows
    ``steps`` gives no step, whichever steps are on."""
    seen: list[tuple] = []
    clean = duckdb_engine._Run._clean

    def compared(run, rows_read):
        report = clean(run, rows_read)
        told = "SELECT count(*), coalesce(sum(n), 0), coalesce(fsum(amount), 0) FROM "
        seen.append(
            (
                run.con.sql(told + "clean_rows").fetchall(),
                run.con.sql(told + "steps WHERE step IS NULL").fetchall(),
                run.con.sql(
                    "SELECT sql FROM duckdb_views() WHERE view_name = 'clean_rows'"
                ).fetchall()[0][0],
            )
        )
        return report

    monkeypatch.setattr(duckdb_engine._Run, "_clean", compared)
    memory, duck = both(
        write_csv(tmp_path / "every.csv", every_case()),
        cleaning=CleaningOptions(currency="EUR", **options),
    )
    assert_same(memory, duck)
    ((ours, steps, view),) = seen
    assert ours == steps and 0 < ours[0][0]
    assert "steps" not in view and "WHEN hits &" not in view  # no first-step CASE


def test_the_comparisons_sums_are_one_scan_of_the_sales(tmp_path, monkeypatch):
    """The missing-id comparison's sums (rows, revenue, the per-invoice sums) of each group and
    of all sales are one query (grouping sets), the invoices counted in another: four reads of
    the sales in all with the countries and months, where six took 0.1 s more at 3.5 M orders;
    the figures stay the in-memory engine's."""
    reads: list[str] = []
    sql = duckdb_engine._Run.sql

    def counted(run, query, params=None):
        reads.extend(["sales"] * query.count("FROM sales"))
        return sql(run, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", counted)
    memory, duck = both(
        write_csv(tmp_path / "every.csv", every_case()), cleaning=CleaningOptions(currency="EUR")
    )
    assert_same(memory, duck)
    assert duck.report.missing_ids is not None and duck.report.missing_ids.with_id.invoices > 0
    assert len(reads) == 4


@pytest.mark.parametrize("dropped", [(), ("Status", "Currency")])
def test_the_facts_test_a_status_or_currency_only_when_the_file_has_one(
    tmp_path, monkeypatch, dropped
):
    """A status or currency the file does not have is NULL in every order: the facts query
    leaves out their tests (0.2 s of CPU at 3.5 M orders); with the columns it tests them, and
    the customers and report stay the in-memory engine's either way."""
    facts: list[str] = []
    sql = duckdb_engine._Run.sql

    def seen(run, query, params=None):
        if "AS handoff" in query:
            facts.append(query)
        return sql(run, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", seen)
    frame = every_case().drop(columns=list(dropped))
    currency = None if "Currency" in dropped else "EUR"
    memory, duck = both(
        write_csv(tmp_path / "every.csv", frame), cleaning=CleaningOptions(currency=currency)
    )
    assert_same(memory, duck)
    (query,) = facts
    assert ("status IS NOT NULL" in query) == ("Status" not in dropped)
    assert ("currency IS NULL" in query) == ("Currency" not in dropped)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_scans_order_is_kept_only_where_the_row_numbers_come_from_it(
    tmp_path, monkeypatch, kind
):
    """A CSV's rows are numbered in the reader's order (row_number() over the scan), so DuckDB
    keeps the insertion order; Parquet rows are numbered by the reader itself, and the queries
    sort what must be sorted: there the order is not kept (less work in every query). The
    customers, the report and its example rows are the in-memory engine's either way."""
    frame = every_case()
    path = write_csv(tmp_path / "every.csv", frame)
    if kind == "parquet":
        path = tmp_path / "every.parquet"
        frame.to_parquet(path, index=False)
    kept: list[bool] = []
    sql = duckdb_engine._Run.sql

    def seen(run, query, params=None):
        if "CREATE TEMP TABLE grouped" in query:
            setting = "SELECT current_setting('preserve_insertion_order')"
            kept.append(run.con.execute(setting).fetchall()[0][0])
        return sql(run, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", seen)
    memory, duck = both(path, cleaning=CleaningOptions(currency="EUR"))
    assert_same(memory, duck)
    assert kept == [kind == "csv"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(
                list("aZ09 ~!-.é") + list(duckdb_engine._OTHER_SPACE) + ["\u0301", "\u3000", "👍"]
            ),
            max_size=6,
        )
        | st.none(),
        min_size=1,
        max_size=40,
    )
)
def test_the_padded_test_skips_the_trim_only_for_printable_ends(values):
    """_padded tells a value with printable ASCII first and last characters without trimming
    it; the answer is the full test's (trim, then the first and last characters) for any
    text: spaces, tabs, line ends, Unicode spaces, combining marks at either end, NULL."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    text = duckdb_engine._trim("v")
    codes = ", ".join(str(ord(c)) for c in duckdb_engine._OTHER_SPACE)
    full = f"CASE WHEN ord({text}) IN ({codes}) OR ord(right({text}, 1)) IN ({codes}) THEN 32 ELSE 0 END"
    got = con.execute(f"SELECT {duckdb_engine._padded('v')}, {full} FROM t ORDER BY i").fetchall()
    assert [a for a, _ in got] == [b for _, b in got]


@pytest.mark.parametrize("kept", [False, True], ids=["defaults", "cancellations-kept"])
def test_a_comparison_without_any_invoice_id_counts_no_invoices(tmp_path, kept):
    """Sales rows with and without a customer id, none with an invoice id: the comparison
    counts no invoices in either group (its per-invoice means are not there), as the in-memory
    engine does; it stopped with a ValueError (found by a fresh reviewer)."""
    rows = [
        dict(
            Invoice="",
            InvoiceDate=f"2023-01-{i + 1:02d} 10:00:00",
            Quantity="1",
            UnitPrice="2.50",
            CustomerID=["c1", "c2", ""][i % 3],
        )
        for i in range(12)
    ]
    if kept:  # each customer also has a 'C' line of its own: two orders each
        rows += [
            dict(rows[i], Invoice=f"C6{i:02d}", Quantity="-1", CustomerID=f"c{i % 2 + 1}")
            for i in range(2)
        ]
    options = CleaningOptions(drop_cancellations=False, drop_nonpositive=False) if kept else None
    memory, duck = both(
        write_csv(tmp_path / "blank.csv", pd.DataFrame(rows)),
        **({"cleaning": options} if options else {}),
    )
    assert_same(memory, duck)
    comparison = duck.report.missing_ids
    assert comparison is not None
    assert comparison.with_id.invoices == comparison.without_id.invoices == 0


@pytest.mark.parametrize(("cores", "expected"), [(1, 2), (2, 3), (3, 4), (4, 4), (16, 16)])
def test_duckdb_runs_one_thread_more_than_the_cores_below_four(
    tmp_path, monkeypatch, cores, expected
):
    """DuckDB splits a hash table into the next power of two of its threads: on two cores
    three threads make four partitions (small enough for the caches) instead of two."""
    monkeypatch.setattr(duckdb_engine.os, "cpu_count", lambda: cores)
    seen: list[int] = []
    sql = duckdb_engine._Run.sql

    def counted(run, query, params=None):
        if "CREATE TEMP TABLE grouped" in query:
            seen.append(int(run.con.execute("SELECT current_setting('threads')").fetchall()[0][0]))
        return sql(run, query, params)

    monkeypatch.setattr(duckdb_engine._Run, "sql", counted)
    memory, duck = both(
        write_csv(tmp_path / "every.csv", every_case()), cleaning=CleaningOptions(currency="EUR")
    )
    assert_same(memory, duck)
    assert seen == [expected]
