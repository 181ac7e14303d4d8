"""Reading files into Transactions: formats, dates, ids, mapping, cache and every error."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rfm_desktop.core import cache, io
from rfm_desktop.core.errors import DataError, InputFileError, MappingError, SheetError
from rfm_desktop.core.io import list_sheets, read_preview, read_transactions

HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
ROWS = [
    [
        "536365",
        "85123A",
        "WHITE HANGING HEART",
        6,
        dt.datetime(2010, 12, 1, 8, 26),
        2.55,
        17850.0,
        "United Kingdom",
    ],
    [
        "536365",
        "71053",
        "WHITE METAL LANTERN",
        6,
        dt.datetime(2010, 12, 1, 8, 26),
        3.39,
        17850.0,
        "United Kingdom",
    ],
    [
        "C536379",
        "D",
        "Discount",
        -1,
        dt.datetime(2010, 12, 1, 9, 41),
        27.5,
        14527.0,
        "United Kingdom",
    ],
    ["536370", "22728", "ALARM CLOCK", 24, dt.datetime(2010, 12, 13, 8, 45), 3.75, None, "France"],
]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test gets its own, empty read cache."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    data = text.encode(encoding)
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


CSV = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
    "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n"
    "536370,22728,ALARM CLOCK,24,2010-12-13 08:45:00,3.75,,France\n"
)


def check_rows(tx: io.Transactions) -> None:
    """The four ROWS / CSV rows, whatever the format."""
    f = tx.frame
    assert tx.rows_read == 4 and len(f) == 4
    assert f["customer_id"].tolist() == ["17850", "17850", "14527", pd.NA]
    assert f["invoice_id"].tolist() == ["536365", "536365", "C536379", "536370"]
    assert f["invoice_date"].iloc[3] == pd.Timestamp("2010-12-13 08:45")
    np.testing.assert_allclose(f["quantity"], [6, 6, -1, 24])
    np.testing.assert_allclose(f["unit_price"], [2.55, 3.39, 27.5, 3.75])
    np.testing.assert_allclose(f["amount"], [15.3, 20.34, -27.5, 90.0])
    assert f["country"].tolist()[-1] == "France"
    assert f["stock_code"].tolist()[0] == "85123A"


# --------------------------------------------------------------------------- formats


def test_xlsx_first_sheet_by_default_and_others_by_name_or_index(tmp_path):
    other = [["Customer", "Date", "Revenue"], ["A1", dt.datetime(2011, 1, 5), 10.0]]
    path = write_xlsx(tmp_path / "two.xlsx", {"Sales": [HEADER, *ROWS], "Other": other})
    assert list_sheets(path) == ["Sales", "Other"]
    tx = read_transactions(path)
    check_rows(tx)
    assert tx.sheet == "Sales" and tx.date_format == "date cells" and tx.columns == HEADER
    by_name = read_transactions(path, sheet="Other")
    by_index = read_transactions(path, sheet=1)
    for t in (by_name, by_index):
        assert t.sheet == "Other"
        assert t.frame["customer_id"].tolist() == ["A1"]
        assert t.frame["amount"].tolist() == [10.0]
        assert t.mapping == {"customer_id": "Customer", "invoice_date": "Date", "amount": "Revenue"}


def test_xlsm_reads_like_xlsx(tmp_path):
    path = write_xlsx(tmp_path / "book.xlsx", {"S": [HEADER, *ROWS]})
    macro = tmp_path / "book.xlsm"
    macro.write_bytes(path.read_bytes())
    check_rows(read_transactions(macro))


def test_frame_has_the_canonical_columns_and_dtypes(tmp_path):
    tx = read_transactions(write_xlsx(tmp_path / "a.xlsx", {"S": [HEADER, *ROWS]}))
    f = tx.frame
    assert list(f.columns) == list(io.CANONICAL_COLUMNS)
    for name in ("customer_id", "invoice_id", "stock_code", "description", "country"):
        assert isinstance(f[name].dtype, pd.StringDtype) and f[name].dtype.na_value is pd.NA
    assert f["invoice_date"].dtype == np.dtype("datetime64[ns]")
    for name in ("quantity", "unit_price", "amount"):
        assert f[name].dtype == np.float64
    assert tx.has_invoice_id and tx.has_country and tx.has_stock_code


def test_csv_comma(tmp_path):
    tx = read_transactions(write_text(tmp_path / "a.csv", CSV))
    check_rows(tx)
    assert tx.date_format == "ISO (YYYY-MM-DD)" and tx.bad_dates == 0 and tx.bad_numbers == 0


def test_csv_semicolon_with_decimal_comma(tmp_path):
    text = CSV.replace(",", ";").replace("2.55", "2,55").replace("3.39", "3,39")
    text = text.replace("27.5", "27,5").replace("3.75", "3,75")
    tx = read_transactions(write_text(tmp_path / "a.csv", text))
    check_rows(tx)
    assert tx.source_format == "text, semicolon-separated, UTF-8, decimal comma"


def test_tsv_and_pipe_txt(tmp_path):
    check_rows(read_transactions(write_text(tmp_path / "a.tsv", CSV.replace(",", "\t"))))
    check_rows(read_transactions(write_text(tmp_path / "a.txt", CSV.replace(",", "|"))))


def test_quoted_values_with_delimiters_and_newlines(tmp_path):
    text = CSV.replace("WHITE HANGING HEART", '"WHITE, HANGING\nHEART"')
    tx = read_transactions(write_text(tmp_path / "a.csv", text))
    check_rows(tx)
    assert tx.frame["description"].iloc[0] == "WHITE, HANGING\nHEART"


def test_utf8_bom(tmp_path):
    tx = read_transactions(write_text(tmp_path / "a.csv", "\ufeff" + CSV.replace("ALARM", "CAFÉ")))
    check_rows(tx)
    assert tx.columns[0] == "InvoiceNo" and tx.mapping["invoice_id"] == "InvoiceNo"
    assert tx.frame["description"].iloc[3] == "CAFÉ CLOCK"


def test_cp1252_file_with_accents(tmp_path):
    text = CSV.replace("France", "Réunion").replace("ALARM CLOCK", "CAFÉ €")
    tx = read_transactions(write_text(tmp_path / "a.csv", text, encoding="cp1252"))
    assert tx.frame["country"].iloc[3] == "Réunion"
    assert tx.frame["description"].iloc[3] == "CAFÉ €"
    assert tx.source_format == "text, comma-separated, Windows-1252"


def test_non_utf8_byte_after_the_sniffed_part(tmp_path):
    """The encoding guess looks at the start only; a late cp1252 byte must still read."""
    line = "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    text = CSV.splitlines(keepends=True)[0] + line * 3000 + line.replace("United Kingdom", "Fréjus")
    tx = read_transactions(write_text(tmp_path / "late.csv", text, encoding="cp1252"))
    assert tx.rows_read == 3001 and tx.frame["country"].iloc[-1] == "Fréjus"


def test_undefined_cp1252_bytes_fall_back_to_latin1(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Customer,Date,Amount\n\x81ab,2010-12-01,1\nc\xe9,2010-12-02,2\n")
    tx = read_transactions(path)
    assert tx.frame["customer_id"].tolist() == ["\x81ab", "cé"]
    assert tx.source_format.endswith("Latin-1")


def test_parquet(tmp_path):
    frame = pd.DataFrame(
        {
            "InvoiceNo": ["536365", "C536379"],
            "InvoiceDate": ["2010-12-01 08:26:00", "2010-12-01 09:41:00"],
            "Quantity": [6, -1],
            "UnitPrice": [2.55, 27.5],
            "CustomerID": [17850.0, np.nan],
        }
    )
    path = tmp_path / "a.parquet"
    frame.to_parquet(path)
    tx = read_transactions(path)
    assert tx.frame["customer_id"].tolist() == ["17850", pd.NA]
    assert tx.frame["invoice_id"].tolist() == ["536365", "C536379"]
    np.testing.assert_allclose(tx.frame["amount"], [15.3, -27.5])
    assert tx.source_format == "Parquet"


def test_csv_gz(tmp_path):
    check_rows(read_transactions(write_text(tmp_path / "a.csv.gz", CSV)))


# --------------------------------------------------------------------------- dates and ids


@pytest.mark.parametrize(
    ("dates", "label", "expected"),
    [
        (
            ["12/1/2010 8:26", "12/13/2010 9:41"],
            "month first (M/D/YYYY)",
            ["2010-12-01 08:26", "2010-12-13 09:41"],
        ),
        (
            ["01/12/2010 08:26", "13/12/2010 09:41"],
            "day first (D/M/YYYY)",
            ["2010-12-01 08:26", "2010-12-13 09:41"],
        ),
        (["20101201", "20101213"], "YYYYMMDD", ["2010-12-01", "2010-12-13"]),
        (
            ["2010-12-01T08:26:00", "2010-12-13"],
            "ISO (YYYY-MM-DD)",
            ["2010-12-01 08:26", "2010-12-13"],
        ),
    ],
)
def test_date_styles_in_csv(tmp_path, dates, label, expected):
    text = "Customer,Date,Amount\n" + "".join(f"c{i},{d},1\n" for i, d in enumerate(dates))
    tx = read_transactions(write_text(tmp_path / "d.csv", text))
    assert tx.date_format == label
    assert tx.frame["invoice_date"].tolist() == [pd.Timestamp(e) for e in expected]


def test_yyyymmdd_integer_cells(tmp_path):
    rows = [["Customer", "Date", "Amount"], ["c1", 20101201, 1.0], ["c2", 20110105, 2.0]]
    tx = read_transactions(write_xlsx(tmp_path / "d.xlsx", {"S": rows}))
    assert tx.date_format == "YYYYMMDD"
    assert tx.frame["invoice_date"].tolist() == [
        pd.Timestamp("2010-12-01"),
        pd.Timestamp("2011-01-05"),
    ]


def test_bad_dates_are_counted_with_row_and_value(tmp_path):
    text = "Customer,Date,Amount\nc1,2010-12-01,1\nc2,N/A,1\nc3,,1\nc4,soon,1\n"
    tx = read_transactions(write_text(tmp_path / "d.csv", text))
    assert tx.bad_dates == 2
    assert tx.first_bad_date == io.BadValue("Date", 3, "N/A", 2)
    assert tx.frame["invoice_date"].isna().tolist() == [False, True, True, True]
    assert any("2 values that are not dates, first in row 3: 'N/A'" in w for w in tx.warnings)


def test_ids_are_text(tmp_path):
    text = "Customer,Date,Amount\n00017,2010-12-01,1\n17850.0,2010-12-01,1\n  ,2010-12-01,1\n"
    tx = read_transactions(write_text(tmp_path / "ids.csv", text))
    assert tx.frame["customer_id"].tolist() == ["00017", "17850", pd.NA]
    rows = [
        ["Customer", "Date", "Amount"],
        [17850.0, dt.datetime(2010, 12, 1), 1.0],
        ["00017", dt.datetime(2010, 12, 1), 1.0],
    ]
    tx = read_transactions(write_xlsx(tmp_path / "ids.xlsx", {"S": rows}))
    assert tx.frame["customer_id"].tolist() == ["17850", "00017"]


def test_text_below_the_first_thousand_numeric_cells_is_kept(tmp_path):
    rows = [["Invoice", "Customer", "Date", "Amount"]]
    rows += [[536365 + i, 17850, dt.datetime(2010, 12, 1), 1.0] for i in range(1200)]
    rows += [["C536379", 17850, "N/A", 1.0]]
    tx = read_transactions(write_xlsx(tmp_path / "late.xlsx", {"S": rows}))
    assert tx.frame["invoice_id"].iloc[0] == "536365"
    assert tx.frame["invoice_id"].iloc[-1] == "C536379"
    assert tx.first_bad_date == io.BadValue("Date", 1202, "N/A", 1)


# --------------------------------------------------------------------------- mapping


def test_explicit_mapping_overrides_detection(tmp_path):
    text = "Customer,Kunde,Date,Amount,Total\nx,k1,2010-12-01,1,5\ny,k2,2010-12-02,2,6\n"
    tx = read_transactions(
        write_text(tmp_path / "m.csv", text), mapping={"customer_id": "Kunde", "amount": "Total"}
    )
    assert tx.frame["customer_id"].tolist() == ["k1", "k2"]
    assert tx.frame["amount"].tolist() == [5.0, 6.0]
    assert tx.mapping == {"customer_id": "Kunde", "invoice_date": "Date", "amount": "Total"}


def test_explicit_mapping_errors_name_the_problem(tmp_path):
    path = write_text(tmp_path / "m.csv", CSV)
    with pytest.raises(MappingError, match="'Client'.*InvoiceNo"):
        read_transactions(path, mapping={"customer_id": "Client"})
    with pytest.raises(MappingError, match="'shop'.*customer_id"):
        read_transactions(path, mapping={"shop": "Country"})


def test_unrecognised_columns_list_headers_and_missing_fields(tmp_path):
    path = write_text(tmp_path / "m.csv", "Name,When,Value\na,2010-12-01,1\n")
    with pytest.raises(MappingError) as err:
        read_transactions(path)
    message = str(err.value)
    assert "customer_id" in message and "invoice_date" in message
    assert "'Name', 'When', 'Value'" in message


def test_without_invoice_column_each_customer_timestamp_is_one_purchase(tmp_path):
    text = (
        "Customer,Date,Qty,Price\n"
        "a,2010-12-01 08:26,1,2\na,2010-12-01 08:26,2,2\na,2010-12-02 10:00,1,1\nb,2010-12-01 08:26,1,1\n"
    )
    tx = read_transactions(write_text(tmp_path / "n.csv", text))
    ids = tx.frame["invoice_id"].tolist()
    assert ids[0] == ids[1] == "a @ 2010-12-01 08:26:00"
    assert len(set(ids)) == 3
    assert not tx.has_invoice_id and not tx.has_country
    assert tx.frame["country"].isna().all()
    assert tx.frame["amount"].tolist() == [2.0, 4.0, 1.0, 1.0]
    assert any("cancellations" in w for w in tx.warnings)


def test_amount_only_leaves_quantity_and_price_empty(tmp_path):
    tx = read_transactions(
        write_text(tmp_path / "a.csv", "customer,date,sales\nx,2010-12-01,9.5\n")
    )
    assert tx.frame["amount"].tolist() == [9.5]
    assert tx.frame["quantity"].isna().all() and tx.frame["unit_price"].isna().all()


def test_duplicate_and_blank_headers_are_numbered(tmp_path):
    """Repeats become Name_1; a repeated header is never guessed, the analyst must choose."""
    text = "Customer,Date,Amount,Amount,\nx,2010-12-01,1,2,z\n"
    path = write_text(tmp_path / "dup.csv", text)
    with pytest.raises(MappingError) as err:
        read_transactions(path)
    assert "Column 'Amount' appears twice in the file (Amount, Amount_1)" in str(err.value)
    tx = read_transactions(path, mapping={"amount": "Amount_1"})
    assert tx.columns == ["Customer", "Date", "Amount", "Amount_1", "Column 5"]
    assert tx.frame["amount"].tolist() == [2.0]
    assert read_transactions(path, mapping={"amount": "Amount"}).frame["amount"].tolist() == [1.0]
    rows = [
        ["Customer", "Date", "Amount", "Amount", None],
        ["x", dt.datetime(2010, 12, 1), 1, 2, "z"],
    ]
    tx = read_transactions(
        write_xlsx(tmp_path / "dup.xlsx", {"S": rows}), mapping={"amount": "Amount_1"}
    )
    assert tx.columns == ["Customer", "Date", "Amount", "Amount_1", "Column E"]
    assert tx.frame["amount"].tolist() == [2.0]


def test_repeated_optional_header_does_not_block(tmp_path):
    text = "Customer,Date,Amount,Notes,Notes\nx,2010-12-01,1,a,b\n"
    tx = read_transactions(write_text(tmp_path / "notes.csv", text))
    assert tx.columns[-2:] == ["Notes", "Notes_1"] and tx.frame["amount"].tolist() == [1.0]


def test_bad_numbers_are_counted_and_inf_is_bad(tmp_path):
    text = "Customer,Date,Qty,Price\na,2010-12-01,1,2\nb,2010-12-01,x,2\nc,2010-12-01,1,inf\nd,2010-12-01,2,5e13\n"
    tx = read_transactions(write_text(tmp_path / "n.csv", text))
    assert tx.bad_numbers == 3
    assert tx.first_bad_number == io.BadValue("Qty", 3, "x", 1)
    assert tx.frame["amount"].isna().tolist() == [False, True, True, True]


def test_rows_with_the_wrong_number_of_values_are_skipped_and_reported(tmp_path):
    text = "Customer,Date,Amount\na,2010-12-01,1\nb,2010-12-01,1,extra\nc,2010-12-02,3\n"
    tx = read_transactions(write_text(tmp_path / "r.csv", text))
    assert tx.rows_read == 2 and tx.rows_skipped == 1
    assert tx.first_skipped == "b,2010-12-01,1,extra"


# --------------------------------------------------------------------------- preview


def test_read_preview_csv_reads_only_the_first_rows(tmp_path):
    line = "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    path = write_text(tmp_path / "p.csv", CSV.splitlines(keepends=True)[0] + line * 5000)
    preview = read_preview(path, nrows=50)
    assert preview.shape == (50, 8) and list(preview.columns) == HEADER
    assert preview["CustomerID"].iloc[0] == "17850"


def test_read_preview_xlsx_keeps_the_cells_and_fills_the_cache(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "p.xlsx", {"S": [HEADER, *ROWS]})
    preview = read_preview(path, nrows=2)
    assert list(preview.columns) == HEADER and len(preview) == 2
    assert preview["CustomerID"].iloc[0] == 17850.0
    monkeypatch.setattr(io, "_read_excel", _fail)
    assert read_transactions(path).from_cache


def test_read_preview_parquet(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"a": range(1000), "b": ["x"] * 1000}).to_parquet(path)
    assert read_preview(path, nrows=10).shape == (10, 2)


# --------------------------------------------------------------------------- cache


def _fail(*args, **kwargs):
    raise AssertionError("the raw file was parsed again")


def test_second_read_comes_from_the_cache(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "c.xlsx", {"S": [HEADER, *ROWS]})
    calls = []
    real = io._read_excel
    monkeypatch.setattr(io, "_read_excel", lambda *a: calls.append(a) or real(*a))
    first = read_transactions(path)
    second = read_transactions(path)
    assert len(calls) == 1 and not first.from_cache and second.from_cache
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert second.sheet == "S" and second.columns == first.columns


def test_changed_file_is_read_again(tmp_path, monkeypatch):
    path = write_text(tmp_path / "c.csv", CSV)
    read_transactions(path)
    write_text(path, CSV + "536371,1,X,1,2010-12-14 08:00:00,1,1,Spain\n")
    os.utime(path, ns=(1, 1))
    tx = read_transactions(path)
    assert tx.rows_read == 5 and not tx.from_cache


def test_cache_off_and_broken_cache_never_break_a_read(tmp_path, monkeypatch):
    path = write_text(tmp_path / "c.csv", CSV)
    monkeypatch.setenv(cache.CACHE_ENV, "")
    check_rows(read_transactions(path))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker))
    check_rows(read_transactions(path))
    check_rows(read_transactions(path))


def test_damaged_cache_entry_is_ignored(tmp_path):
    path = write_text(tmp_path / "c.csv", CSV)
    read_transactions(path)
    for entry in (tmp_path / "cache").glob(f"*{cache.SUFFIX}"):
        entry.write_bytes(b"garbage")
    tx = read_transactions(path)
    check_rows(tx)
    assert not tx.from_cache


def test_use_cache_false_writes_nothing(tmp_path):
    read_transactions(write_text(tmp_path / "c.csv", CSV), use_cache=False)
    assert not list((tmp_path / "cache").glob(f"*{cache.SUFFIX}"))


def test_progress_is_reported(tmp_path):
    seen = []
    read_transactions(
        write_text(tmp_path / "c.csv", CSV), progress=lambda f, s: seen.append((f, s))
    )
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert {s for _, s in seen} == {"Reading file"}


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="File not found: .*nope.csv"):
        read_transactions(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"'e.csv' is empty \(0 bytes\)"):
        read_transactions(tmp_path / "e.csv")
    (tmp_path / "e.xlsx").write_bytes(b"")
    with pytest.raises(InputFileError, match="'e.xlsx' is empty"):
        read_transactions(tmp_path / "e.xlsx")


def test_header_only(tmp_path):
    with pytest.raises(InputFileError, match="'h.csv' has column headers but no data rows"):
        read_transactions(write_text(tmp_path / "h.csv", CSV.splitlines()[0] + "\n"))
    path = write_xlsx(tmp_path / "h.xlsx", {"S": [HEADER]})
    with pytest.raises(
        SheetError, match="Sheet 'S' of 'h.xlsx' has column headers but no data rows"
    ):
        read_transactions(path)


def test_unsupported_extension(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(InputFileError, match="'a.pdf' is not a supported file type: use .xlsx"):
        read_transactions(tmp_path / "a.pdf")


def test_binary_garbage_named_csv(tmp_path):
    (tmp_path / "g.csv").write_bytes(bytes(range(256)) * 40)
    with pytest.raises(InputFileError, match="'g.csv' is not a text file"):
        read_transactions(tmp_path / "g.csv")
    workbook = write_xlsx(tmp_path / "w.xlsx", {"S": [HEADER, *ROWS]})
    (tmp_path / "w.csv").write_bytes(workbook.read_bytes())
    with pytest.raises(InputFileError, match="'w.csv' is not a text file"):
        read_transactions(tmp_path / "w.csv")


def test_garbage_and_encrypted_workbooks(tmp_path):
    (tmp_path / "g.xlsx").write_bytes(os.urandom(3000))
    with pytest.raises(InputFileError, match="'g.xlsx' is encrypted or not a valid workbook"):
        read_transactions(tmp_path / "g.xlsx")
    # password-protected .xlsx files are OLE2 containers, not zip files
    (tmp_path / "locked.xlsx").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(3000))
    with pytest.raises(InputFileError, match="'locked.xlsx' is encrypted or not a valid workbook"):
        list_sheets(tmp_path / "locked.xlsx")


def test_broken_gzip(tmp_path):
    (tmp_path / "b.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(InputFileError, match="'b.csv.gz' cannot be opened"):
        read_transactions(tmp_path / "b.csv.gz")


def test_broken_parquet(tmp_path):
    (tmp_path / "b.parquet").write_bytes(b"PAR1 nope")
    with pytest.raises(InputFileError, match="'b.parquet' is not a valid Parquet file"):
        read_transactions(tmp_path / "b.parquet")


def test_empty_sheet_and_missing_sheets(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", {"Data": [HEADER, *ROWS], "Blank": []})
    with pytest.raises(SheetError, match="Sheet 'Blank' of 's.xlsx' is empty"):
        read_transactions(path, sheet="Blank")
    with pytest.raises(
        SheetError, match="no sheet 'Nope' in 's.xlsx': its sheets are 'Data', 'Blank'"
    ):
        read_transactions(path, sheet="Nope")
    with pytest.raises(SheetError, match="no sheet number 5 .* its sheets are 'Data', 'Blank'"):
        read_transactions(path, sheet=5)


def test_date_column_without_dates(tmp_path):
    text = "Customer,InvoiceDate,Amount\na,N/A,1\nb,later,2\n"
    with pytest.raises(DataError) as err:
        read_transactions(write_text(tmp_path / "d.csv", text))
    assert (
        str(err.value)
        == "Column 'InvoiceDate' has no values that are dates, first in row 2: 'N/A'."
    )


def test_required_number_column_without_numbers(tmp_path):
    text = "Customer,Date,Quantity,Price\na,2010-12-01,many,1\nb,2010-12-01,few,2\n"
    with pytest.raises(
        DataError, match="Column 'Quantity' has no values that are numbers, first in row 2: 'many'"
    ):
        read_transactions(write_text(tmp_path / "q.csv", text))
    text = "Customer,Date,Amount\na,2010-12-01,\nb,2010-12-01,\n"
    with pytest.raises(DataError, match="Column 'Amount' is empty"):
        read_transactions(write_text(tmp_path / "a.csv", text))


def test_no_library_text_leaks(tmp_path):
    (tmp_path / "g.xls").write_bytes(os.urandom(2000))
    with pytest.raises(InputFileError) as err:
        read_transactions(tmp_path / "g.xls")
    message = str(err.value)
    assert "\n" not in message and "calamine" not in message.lower() and "error:" not in message


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_online_retail(real_data_path):
    tx = read_transactions(real_data_path)
    f = tx.frame
    assert tx.rows_read == 541_909 and len(f) == 541_909
    assert int(f["customer_id"].isna().sum()) == 135_080
    first = f.iloc[0]
    assert (first["invoice_id"], first["stock_code"], first["customer_id"]) == (
        "536365",
        "85123A",
        "17850",
    )
    assert tx.date_format == "ISO (YYYY-MM-DD)" and tx.bad_dates == 0 and tx.bad_numbers == 0
    assert f["invoice_date"].min() == pd.Timestamp("2010-12-01 08:26")
    assert int(f["invoice_id"].str.startswith("C").sum()) == 9288


@pytest.mark.realdata
def test_real_online_retail_preview_maps_cleanly(real_data_path):
    from rfm_desktop.core.mapping import auto_map, check_mapping

    preview = read_preview(real_data_path)
    mapping = auto_map(preview.columns)
    assert len(mapping) == 8
    assert check_mapping(preview, mapping) == []


@pytest.mark.realdata
def test_real_online_retail_as_kaggle_csv(real_data_path, tmp_path):
    """The Kaggle copy: month-first text dates, float customer ids written as 17850.0."""
    table = pq.read_table(real_data_path).slice(0, 20_000)
    dates = pd.to_datetime(table["InvoiceDate"].to_pandas())
    kaggle = table.set_column(
        table.schema.get_field_index("InvoiceDate"),
        "InvoiceDate",
        pa.array([f"{d.month}/{d.day}/{d.year} {d.hour}:{d.minute:02d}" for d in dates]),
    )
    path = tmp_path / "kaggle.csv"
    kaggle.to_pandas().to_csv(path, index=False)
    tx = read_transactions(path)
    assert tx.date_format == "month first (M/D/YYYY)" and tx.bad_dates == 0
    assert tx.frame["customer_id"].iloc[0] == "17850"
    assert tx.frame["invoice_date"].iloc[0] == pd.Timestamp("2010-12-01 08:26")
