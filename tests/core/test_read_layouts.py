"""Issue 7, reading half: layouts, numbers, dates and sheets of exports from other shop systems.

Every input is generated here; the values asserted are worked out by hand from it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

from rfm_desktop.core import cache, pipeline, rfm
from rfm_desktop.core.errors import MappingError, ParamsError, SheetError
from rfm_desktop.core.io import plan_sheets, read_preview, read_transactions
from rfm_desktop.core.mapping import auto_map, resolve_mapping
from rfm_desktop.core.params import AnalysisParams, CleaningOptions
from rfm_desktop.core.values import (
    DAY_FIRST,
    DAY_INDEX,
    DECIMAL_COMMA,
    EXCEL_SERIAL,
    MONTH_FIRST,
    Parsed,
    to_dates,
    to_numbers,
    total_labels,
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
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


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def monetary(tx, options: CleaningOptions | None = None) -> dict[str, float]:
    """Per-customer monetary after the default cleaning, as the pipeline computes it."""
    frame = tx.frame
    clean, _ = pipeline.cleaning.clean(frame, options or CleaningOptions())
    table = rfm.compute_rfm(clean, clean["invoice_date"].max() + pd.Timedelta(days=1))
    return {
        str(k): round(float(v), 2) for k, v in table.set_index("customer_id")["monetary"].items()
    }


HEADER = ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"]


def year(first_invoice: int, customers: list[int], when: dt.datetime) -> list[list]:
    return [
        [str(first_invoice + i), "A1", 2, when + dt.timedelta(days=i), 1.5, c]
        for i, c in enumerate(customers)
    ]


# --------------------------------------------------------------------------- kind 2: several sheets


def test_sheets_laid_out_alike_are_stacked_and_the_others_named(tmp_path):
    path = write_xlsx(
        tmp_path / "two_years.xlsx",
        {
            "Read me": [["Exported from the shop"]],
            "2009-2010": [HEADER, *year(1000, [11, 12, 13], dt.datetime(2009, 12, 1, 9))],
            "Summary": [["Customer", "Date", "Revenue"], ["11", dt.datetime(2010, 1, 1), 9.0]],
            "2010-2011": [HEADER, *year(2000, [12, 14], dt.datetime(2010, 12, 1, 9))],
        },
    )
    tx = read_transactions(path)
    assert tx.sheets == ("2009-2010", "2010-2011") and tx.sheet == "2009-2010"
    assert tx.rows_read == 5 and tx.source_format == "XLSX workbook, 2 sheets"
    assert tx.frame["customer_id"].tolist() == ["11", "12", "13", "12", "14"]
    assert tx.frame["invoice_date"].iloc[-1] == pd.Timestamp("2010-12-02 09:00")
    note = tx.warnings[0]
    assert "Read sheets '2009-2010' (3 rows) and '2010-2011' (2 rows), stacked" in note
    assert "Sheet 'Read me' was not read: it has no data rows" in note
    assert (
        "Sheet 'Summary' was not read: its columns are not laid out like sheet '2009-2010'" in note
    )
    assert "--sheet" in note
    assert monetary(tx)["12"] == 6.0  # 2 x 1.5 in each year

    assert read_transactions(path, sheet="all").rows_read == 5
    assert plan_sheets(path).read == ("2009-2010", "2010-2011")
    assert dict(plan_sheets(path).skipped)["Summary"].startswith(
        "its columns are not laid out like"
    )
    one = read_transactions(path, sheet=("2010-2011",))
    assert one.sheets == ("2010-2011",) and one.rows_read == 2 and not one.warnings[:-1]
    named = read_transactions(path, sheet=("2010-2011", "2009-2010"))
    assert named.frame["customer_id"].tolist() == ["12", "14", "11", "12", "13"]
    with pytest.raises(
        SheetError,
        match="Sheet 'Summary' of 'two_years.xlsx' is not laid out like sheet '2009-2010'",
    ):
        read_transactions(path, sheet=("2009-2010", "Summary"))
    with pytest.raises(SheetError, match="no sheet 'Nope'"):
        read_transactions(path, sheet=("2009-2010", "Nope"))


def test_stacked_sheets_with_differently_typed_columns_and_a_bad_value_named_by_sheet(tmp_path):
    first = [HEADER, ["1", "A", 1, dt.datetime(2011, 1, 3), 2.0, 17850]]
    second = [
        HEADER,
        ["2", "A", 1, dt.datetime(2011, 2, 3), 2.0, "X-7"],
        ["3", "A", 1, "N/A", 2.0, "X-8"],
    ]
    tx = read_transactions(write_xlsx(tmp_path / "t.xlsx", {"A": first, "B": second}))
    assert tx.frame["customer_id"].tolist() == ["17850", "X-7", "X-8"]
    assert tx.frame["invoice_date"].iloc[1] == pd.Timestamp("2011-02-03")
    assert tx.first_bad_date is not None and tx.first_bad_date.where == "row 3 of sheet 'B'"
    assert "not dates, first in row 3 of sheet 'B': 'N/A'" in " ".join(tx.warnings)


def test_sheet_choice_survives_a_saved_analysis():
    for sheet in (("2009-2010", "2010-2011"), "Sales", 1, None, "all"):
        params = AnalysisParams(input_path="x.xlsx", sheet=sheet, header_row=4, date_order="dmy")
        again = AnalysisParams.from_dict(json.loads(json.dumps(params.to_dict())))
        assert again == params and again.sheet == sheet
    old = AnalysisParams.from_dict(
        {"input_path": "x.xlsx", "sheet": "Sales"}
    )  # saved before issue 7
    assert old.sheet == "Sales" and old.header_row is None and old.date_order is None
    assert AnalysisParams(input_path="x", sheet=["a", "b"]).sheet == ("a", "b")
    with pytest.raises(ParamsError, match="header row"):
        AnalysisParams(input_path="x", header_row=0)
    with pytest.raises(ParamsError, match="date order 'ydm'"):
        AnalysisParams(input_path="x", date_order="ydm")


# --------------------------------------------------------------------------- kind 3: header below a title


REPORT = [
    ["Sales by customer - FY2023"],
    ["Exported 2024-01-05 09:12"],
    [],
    ["Invoice Date", "Invoice", "Customer Code", "Qty", "Unit Price", "Line Total"],
    [dt.datetime(2023, 1, 3, 14, 9), "S1", "C-1", 6, 3.5, 21.0],
    [dt.datetime(2023, 1, 5, 2, 38), "S2", "C-2", 7, 19.9, 139.3],
    [dt.datetime(2023, 2, 1, 10, 0), "S3", "C-1", 1, 5.0, 5.0],
    [],
    ["Total", None, None, 14, None, 165.3],
]


def test_workbook_header_below_a_title_and_the_total_line_left_out(tmp_path):
    path = write_xlsx(tmp_path / "report.xlsx", {"Sales by customer": REPORT})
    tx = read_transactions(path)
    assert tx.header_row == 4 and tx.rows_read == 3 and tx.bad_dates == 0 and tx.bad_numbers == 0
    assert tx.mapping["customer_id"] == "Customer Code" and tx.mapping["amount"] == "Line Total"
    assert monetary(tx) == {"C-1": 26.0, "C-2": 139.3}
    assert tx.frame["invoice_date"].iloc[0] == pd.Timestamp("2023-01-03 14:09")
    words = " ".join(tx.warnings)
    assert "The column headers are on row 4 of sheet 'Sales by customer'; the 3 rows above" in words
    assert (
        "Not read as sales: 1 total line of the report (first: row 9, 'Total') and 1 empty row."
        in words
    )
    preview = read_preview(path)
    assert (
        list(preview.columns)[:3] == ["Invoice Date", "Invoice", "Customer Code"]
        and len(preview) == 5
    )

    below_blank_rows = read_transactions(
        write_xlsx(tmp_path / "low.xlsx", {"S": [[], [], *REPORT]})
    )
    assert below_blank_rows.header_row == 6 and below_blank_rows.rows_read == 3
    assert "(first: row 11, 'Total')" in " ".join(below_blank_rows.warnings)

    forced = read_transactions(path, header_row=4)
    assert forced.rows_read == 3 and not any("headers are on row" in w for w in forced.warnings)
    with pytest.raises(MappingError, match="No column found for customer_id"):
        read_transactions(path, header_row=2)


def test_csv_header_below_a_title_and_total_rows_by_id(tmp_path):
    text = (
        "Ledger export;;;\n"
        "\n"
        "Datum;Rechnungsnr;Kunde;Betrag\n"
        "03.01.2023;R1;K1;10,50\n"
        "04.01.2023;R2;K2;4,00\n"
        "04.01.2023;R3;Subtotal:;14,50\n"
        "05.01.2023;R4;K1;1,00\n"
        ";;Grand Total;15,50\n"
    )
    path = write_csv(tmp_path / "ledger.csv", text)
    tx = read_transactions(path)
    assert tx.header_row == 3 and tx.rows_read == 3
    assert tx.frame["customer_id"].tolist() == ["K1", "K2", "K1"]
    assert tx.frame["amount"].tolist() == [10.5, 4.0, 1.0]
    assert (
        "Not read as sales: 2 total lines of the report (first: row 6, 'Subtotal:')." in tx.warnings
    )
    assert "The column headers are on row 3; the 2 rows above" in " ".join(tx.warnings)
    assert list(read_preview(path).columns) == ["Datum", "Rechnungsnr", "Kunde", "Betrag"]
    assert read_transactions(path, header_row=3).rows_read == 3
    with pytest.raises(MappingError, match="--header-row N"):
        read_transactions(write_csv(tmp_path / "t.csv", "Sales report,,\nfoo,bar,baz\n1,2,3\n"))


@pytest.mark.parametrize(
    "label",
    [
        "Total",
        "TOTAL:",
        "Grand total",
        "Sub-total",
        "Subtotal",
        "Totals",
        "Total for March",
        "Total (GBP)",
    ],
)
def test_total_labels(label):
    assert total_labels(pd.Series([label, "C-1"], dtype="string")).tolist() == [True, False]


def test_a_customer_called_total_something_is_a_customer():
    assert not total_labels(pd.Series(["Total Fitness Ltd", "Totally Bikes"], dtype="string")).any()


# --------------------------------------------------------------------------- kind 4: accounting numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("£1,234.50", 1234.5),
        (" £12.00 ", 12.0),
        ("(£45.00)", -45.0),
        ("£ -", 0.0),
        ("45.00-", -45.0),
        ("$3.20", 3.2),
        ("¥1,200", 1200.0),
        ("CHF 1'234.50", 1234.5),
        ("US$ 9.99", 9.99),
        ("-£5.00", -5.0),
        ("£-5.00", -5.0),
        ("−7", -7.0),
        ("(12)", -12.0),
        ("12.50 USD", 12.5),
        ("874.20 CR", -874.2),
        ("1,250.00CR", -1250.0),
        ("40.00 DR", 40.0),
    ],
)
def test_accounting_numbers_with_a_decimal_point(text, value):
    parsed = to_numbers(pd.Series([text, "1.00"], dtype="string"))
    assert parsed.values[0] == value and parsed.bad == 0 and parsed.label == ""


def test_accounting_numbers_with_a_decimal_comma():
    parsed = to_numbers(
        pd.Series(["1.234,50 €", "12,50 EUR", "(3,20 €)", "- €", "R$ 10,00"], dtype="string")
    )
    assert parsed.values.tolist() == [1234.5, 12.5, -3.2, 0.0, 10.0]
    assert parsed.label == DECIMAL_COMMA and parsed.bad == 0


def test_refunds_and_zero_lines_are_non_positive_amounts_not_unreadable(tmp_path):
    text = (
        "Date,Invoice No,Customer,Amount\n"
        "04/01/2024,INV-1,A,£174.89\n"
        '08/01/2024,INV-2,A,"£2,164.54"\n'
        "18/01/2024,R-1,A,(£116.92)\n"
        "03/05/2024,INV-3,B,£ -\n"
        "13/05/2024,INV-4,B, £12.00 \n"
    )
    tx = read_transactions(write_csv(tmp_path / "ledger.csv", text))
    assert tx.bad_numbers == 0 and tx.first_bad_number is None
    assert tx.frame["amount"].tolist() == [174.89, 2164.54, -116.92, 0.0, 12.0]
    report = pipeline.preview_cleaning(tx, AnalysisParams(input_path="x"))
    steps = {s.step: s.removed for s in report.steps}
    assert steps["invalid"] == 0 and steps["nonpositive"] == 2
    assert monetary(tx) == {"A": 2339.43, "B": 12.0}


# --------------------------------------------------------------------------- kind 5: dates


def read_dates(values: list[str], order: str | None = None) -> Parsed:
    return to_dates(pd.Series(values, dtype="string"), order=order)


def test_ambiguous_dates_use_the_evidence_and_say_how_to_switch():
    sorted_day_first = read_dates(
        ["5/1/2011", "6/1/2011", "7/1/2011", "1/2/2011"]
    )  # Jan 5, 6, 7, Feb 1
    assert sorted_day_first.label == DAY_FIRST
    assert (
        "run forward in file order more often (100% of rows, against 67%)" in sorted_day_first.note
    )

    span = read_dates(
        ["01/02/2024", "03/02/2024", "02/02/2024", "12/02/2024", "05/02/2024"]
    )  # unsorted
    assert span.label == DAY_FIRST
    assert "its dates span 11 days, against 335 the other way" in span.note
    assert "--date-order mdy" in span.note and "Date order on the Columns page" in span.note
    assert span.values[3] == np.datetime64("2024-02-12")

    undecided = read_dates(["05/06/2024", "07/08/2024"])
    assert undecided.label == MONTH_FIRST and "nothing in the data tells" in undecided.note
    assert (
        "read as month first (M/D/YYYY)" in undecided.note and "--date-order dmy" in undecided.note
    )

    forced = read_dates(["05/06/2024", "07/08/2024"], order="dmy")
    assert forced.label == DAY_FIRST and forced.note == ""
    assert forced.values.tolist() == read_dates(["2024-06-05", "2024-08-07"]).values.tolist()
    assert read_dates(["05/06/2024"], order="mdy").values[0] == np.datetime64("2024-05-06")
    ymd = read_dates(["05/06/2024", "2024-01-05"], order="ymd")
    assert ymd.bad == 1 and ymd.values[1] == np.datetime64("2024-01-05")
    assert read_dates(["13/06/2024", "05/06/2024"]).note == ""  # a day above 12: not ambiguous
    assert read_dates(["1/1/2011", "2/2/2011"]).note == ""  # both readings give the same dates


def test_a_reading_that_puts_dates_in_the_future_loses():
    today = dt.date.today()
    # a value a/b/Y that is in the future read one way (after tomorrow) and in the past the other way
    for year, a, b in (
        (y, a, b) for y in (today.year, today.year + 1) for a in range(1, 13) for b in range(1, 13)
    ):
        month_first, day_first = dt.date(year, a, b), dt.date(year, b, a)
        if (month_first > today + dt.timedelta(days=3)) != (
            day_first > today + dt.timedelta(days=3)
        ) and min(month_first, day_first) < today - dt.timedelta(days=1):
            break
    parsed = read_dates([f"{a:02d}/{b:02d}/{year}"])
    expected = DAY_FIRST if month_first > today else MONTH_FIRST
    wrong = "month first" if month_first > today else "day first"
    assert parsed.label == expected and f"{wrong} would put dates in the future" in parsed.note


def test_excel_serial_numbers_in_a_csv_are_dates(tmp_path):
    text = (
        "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        "536034,11,40515.65486,2.55,13099\n"
        "536101,7,40516.41458,4.95,13234\n"
        "536311,8,40885.69722,2.55,13099\n"
    )
    tx = read_transactions(write_csv(tmp_path / "serial.csv", text))
    assert tx.date_format == EXCEL_SERIAL and tx.bad_dates == 0
    assert tx.frame["invoice_date"].tolist() == [
        pd.Timestamp("2010-12-03 15:43:00"),
        pd.Timestamp("2010-12-04 09:57:00"),
        pd.Timestamp("2011-12-08 16:44:00"),
    ]
    assert (
        "Column 'InvoiceDate' holds Excel serial numbers (days since 1899-12-30, e.g. '40515.65486' = "
        "2010-12-03 15:43): read as dates."
    ) in tx.warnings


def test_day_numbers_are_a_day_index_not_1900_dates(tmp_path):
    text = "household_key,BASKET_ID,DAY,SALES_VALUE\n7,1,1,2.00\n7,2,10,3.00\n8,3,711,5.00\n9,4,2,1.00\n"
    tx = read_transactions(
        write_csv(tmp_path / "dunnhumby.csv", text),
        mapping={
            "customer_id": "household_key",
            "invoice_id": "BASKET_ID",
            "invoice_date": "DAY",
            "amount": "SALES_VALUE",
        },
    )
    assert tx.date_format == DAY_INDEX and tx.bad_dates == 0
    assert tx.frame["invoice_date"].iloc[0] == pd.Timestamp("2000-01-01")  # day 1 is kept
    assert "day numbers (1 to 711)" in tx.date_note and "from day 712" in tx.date_note
    clean, _ = pipeline.cleaning.clean(tx.frame, CleaningOptions())
    table = rfm.compute_rfm(clean, pipeline.snapshot_for(clean, AnalysisParams(input_path="x")))
    recency = table.set_index("customer_id")["recency"].to_dict()
    assert recency == {"7": 712 - 10, "8": 712 - 711, "9": 712 - 2}  # last day + 1 - day


def test_forced_date_order_is_used_when_reading(tmp_path):
    text = "Customer,Date,Amount\nA,05/06/2024,1\nB,07/08/2024,2\n"
    path = write_csv(tmp_path / "d.csv", text)
    guessed = read_transactions(path)
    assert guessed.date_format == MONTH_FIRST and "--date-order dmy" in guessed.date_note
    assert guessed.date_note in guessed.warnings
    forced = read_transactions(path, date_order="dmy")
    assert forced.frame["invoice_date"].tolist() == [
        pd.Timestamp("2024-06-05"),
        pd.Timestamp("2024-08-07"),
    ]
    assert forced.date_note == ""


# --------------------------------------------------------------------------- kind 7 and 9: which columns


def test_a_person_level_customer_key_beats_a_per_order_one():
    headers = [
        "order_id",
        "customer_id",
        "customer_unique_id",
        "order_purchase_timestamp",
        "payment_value",
    ]
    assert auto_map(headers)["customer_id"] == "customer_unique_id"
    assert (
        auto_map(["Customer ID", "Unique Customer ID", "Date", "Amount"])["customer_id"]
        == "Unique Customer ID"
    )


def test_explicit_money_fields_replace_the_detected_ones_as_a_set():
    headers = ["Email", "Created at", "Total", "Lineitem quantity", "Lineitem price", "Qty"]
    auto = resolve_mapping(headers, {"customer_id": "Email"})
    assert auto["amount"] == "Total" and auto["quantity"] == "Qty"
    lines = resolve_mapping(
        headers,
        {"customer_id": "Email", "quantity": "Lineitem quantity", "unit_price": "Lineitem price"},
    )
    assert "amount" not in lines and lines["quantity"] == "Lineitem quantity"
    amount = resolve_mapping(
        ["Customer", "Date", "Quantity", "UnitPrice", "Paid"], {"amount": "Paid"}
    )
    assert amount["amount"] == "Paid" and "quantity" not in amount and "unit_price" not in amount
    removed = resolve_mapping(["Customer", "Date", "Amount", "Country"], {"country": ""})
    assert "country" not in removed


SHOPIFY = (
    "Name,Email,Total,Created at,Lineitem quantity,Lineitem price\n"
    "#1001,a@x.net,30.50,2023-12-01 09:00:00 -0500,2,10.00\n"
    "#1001,,,2023-12-01 09:00:00 -0500,1,5.00\n"
    "#1002,b@x.net,12.00,2023-12-02 10:00:00 -0500,1,12.00\n"
    "#1003,a@x.net,8.25,2023-12-05 11:00:00 -0500,1,4.00\n"
    "#1003,,,,1,4.00\n"
    "#1003,,,,1,0.25\n"
)


def test_an_order_total_on_the_first_line_counts_once(tmp_path):
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY)
    tx = read_transactions(path, mapping={"customer_id": "Email", "invoice_id": "Name"})
    assert tx.mapping["amount"] == "Total" and tx.bad_numbers == 0 and tx.bad_dates == 0
    assert tx.frame["amount"].tolist() == [30.5, 0.0, 12.0, 8.25, 0.0, 0.0]
    assert tx.frame["customer_id"].tolist() == [
        "a@x.net",
        "a@x.net",
        "b@x.net",
        "a@x.net",
        "a@x.net",
        "a@x.net",
    ]
    assert tx.frame["invoice_date"].iloc[5] == pd.Timestamp("2023-12-05 11:00")
    words = " ".join(tx.warnings)
    assert (
        "Column 'Total' is an order total" in words
        and "the 3 other lines of orders count 0" in words
    )
    assert (
        "customer id of 3 lines was blank and was taken from another line of the same invoice"
        in words
    )
    assert "date of 2 lines was blank" in words
    report = pipeline.preview_cleaning(tx, AnalysisParams(input_path="x"))
    assert {s.step: s.removed for s in report.steps}["invalid"] == 0
    assert monetary(tx) == {"a@x.net": 38.75, "b@x.net": 12.0}

    lines = read_transactions(
        path,
        mapping={
            "customer_id": "Email",
            "invoice_id": "Name",
            "quantity": "Lineitem quantity",
            "unit_price": "Lineitem price",
        },
    )
    assert "amount" not in lines.mapping and not any("order total" in w for w in lines.warnings)
    assert monetary(lines) == {"a@x.net": 33.25, "b@x.net": 12.0}


def test_a_line_level_amount_with_a_gap_is_not_an_order_total(tmp_path):
    text = (
        "Invoice,Customer,Date,Amount\n"
        "1,A,2023-01-01,5\n1,A,2023-01-01,6\n"
        "2,B,2023-01-02,7\n2,B,2023-01-02,\n"
    )
    tx = read_transactions(write_csv(tmp_path / "lines.csv", text))
    assert np.isnan(tx.frame["amount"].iloc[3]) and not any("order total" in w for w in tx.warnings)


def test_real_online_retail_reads_as_before(real_data_path):
    tx = read_transactions(real_data_path)
    assert tx.rows_read == 541_909 and tx.warnings == () and tx.header_row == 1
    assert int(tx.frame["customer_id"].isna().sum()) == 135_080


def test_wide_text_cells_are_not_taken_for_numbers():
    assert to_numbers(pa.array(["ABCD", "12 apples"])).bad == 2
