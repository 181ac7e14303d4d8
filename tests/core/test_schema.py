"""Fields, header auto-mapping, mapping checks and value parsing (no files)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rfm_desktop.core.errors import MappingError
from rfm_desktop.core.fields import FIELD_NAMES, FIELDS, REQUIRED
from rfm_desktop.core.mapping import (
    auto_map,
    check_mapping,
    duplicate_headers,
    missing_fields,
    resolve_mapping,
)
from rfm_desktop.core.values import (
    DATE_CELLS,
    DAY_FIRST,
    ISO,
    MONTH_FIRST,
    YEAR_FIRST,
    YYYYMMDD,
    to_dates,
    to_ids,
    to_numbers,
)

UCI = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
RETAIL_II = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]


def ts(text: str) -> np.datetime64:
    return np.datetime64(text, "ns")


# --------------------------------------------------------------------------- fields


def test_fields_are_ordered_and_described():
    names = [f.name for f in FIELDS]
    assert names == [
        "customer_id",
        "invoice_date",
        "invoice_id",
        "quantity",
        "unit_price",
        "amount",
        "stock_code",
        "description",
        "country",
        "status",
        "currency",
    ]
    assert REQUIRED == ("customer_id", "invoice_date")
    assert all(f.label and f.description for f in FIELDS)
    assert [f.name for f in FIELDS if f.required] == list(REQUIRED)


# --------------------------------------------------------------------------- auto-mapping


def test_auto_map_uci_online_retail():
    assert auto_map(UCI) == {
        "customer_id": "CustomerID",
        "invoice_date": "InvoiceDate",
        "invoice_id": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "stock_code": "StockCode",
        "description": "Description",
        "country": "Country",
    }


def test_auto_map_online_retail_ii():
    assert auto_map(RETAIL_II) == {
        "customer_id": "Customer ID",
        "invoice_date": "InvoiceDate",
        "invoice_id": "Invoice",
        "quantity": "Quantity",
        "unit_price": "Price",
        "stock_code": "StockCode",
        "description": "Description",
        "country": "Country",
    }


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["customer", "order id", "order date", "revenue"],
            {
                "customer_id": "customer",
                "invoice_id": "order id",
                "invoice_date": "order date",
                "amount": "revenue",
            },
        ),
        (
            ["Client ID", "Order Number", "Date", "Qty", "Unit Cost"],
            {
                "customer_id": "Client ID",
                "invoice_id": "Order Number",
                "invoice_date": "Date",
                "quantity": "Qty",
                "unit_price": "Unit Cost",
            },
        ),
        (
            ["customer_number", "transaction_date", "sales"],
            {
                "customer_id": "customer_number",
                "invoice_date": "transaction_date",
                "amount": "sales",
            },
        ),
        (
            ["CUSTOMER-ID", "Order Date (UTC)", "Line Total", "SKU"],
            {
                "customer_id": "CUSTOMER-ID",
                "invoice_date": "Order Date (UTC)",
                "amount": "Line Total",
                "stock_code": "SKU",
            },
        ),
        (
            ["BASKET_ID", "DAY", "household_key", "SALES_VALUE"],  # dunnhumby: day numbers
            {
                "customer_id": "household_key",
                "invoice_id": "BASKET_ID",
                "invoice_date": "DAY",
                "amount": "SALES_VALUE",
            },
        ),
        (
            ["Name", "Email", "Created at", "Total"],  # Shopify: the email is the customer
            {
                "customer_id": "Email",
                "invoice_date": "Created at",
                "amount": "Total",
                "description": "Name",
            },
        ),
        (
            ["Customer ID", "Email", "Date", "Day", "Amount"],  # a customer number beats the email
            {"customer_id": "Customer ID", "invoice_date": "Date", "amount": "Amount"},
        ),
        (
            ["cust_id", "date", "total", "price", "quantity"],
            {
                "customer_id": "cust_id",
                "invoice_date": "date",
                "amount": "total",
                "unit_price": "price",
                "quantity": "quantity",
            },
        ),
    ],
)
def test_auto_map_common_aliases(headers, expected):
    assert auto_map(headers) == expected


def test_auto_map_ignores_case_spaces_and_underscores():
    found = auto_map([" customer_id ", "INVOICE DATE", "unit_price", "QUANTITY"])
    assert found == {
        "customer_id": " customer_id ",
        "invoice_date": "INVOICE DATE",
        "quantity": "QUANTITY",
        "unit_price": "unit_price",
    }


def test_auto_map_prefers_the_specific_date_column():
    found = auto_map(["Date", "InvoiceDate", "Customer"])
    assert found["invoice_date"] == "InvoiceDate"


def test_auto_map_uses_each_header_once():
    found = auto_map(["Customer", "Customer ID", "Date"])
    assert found["customer_id"] == "Customer ID"
    assert list(found.values()).count("Customer ID") == 1


def test_repeated_headers_are_not_guessed():
    headers = ["InvoiceNo", "CustomerID", "CustomerID_1", "Quantity", "InvoiceDate", "UnitPrice"]
    assert duplicate_headers(headers) == {"CustomerID": ["CustomerID", "CustomerID_1"]}
    assert "customer_id" not in auto_map(headers)
    with pytest.raises(
        MappingError, match="'CustomerID' appears twice .* choose the one for customer_id"
    ):
        resolve_mapping(headers, None)
    assert (
        resolve_mapping(headers, {"customer_id": "CustomerID_1"})["customer_id"] == "CustomerID_1"
    )
    frame = pd.DataFrame({h: ["1"] for h in headers}).assign(InvoiceDate="2011-01-01")
    assert check_mapping(frame, auto_map(headers)) == [
        "Column 'CustomerID' appears twice in the file (CustomerID, CustomerID_1): "
        "choose the one for customer_id in the column mapping."
    ]
    assert check_mapping(frame, {**auto_map(headers), "customer_id": "CustomerID"}) == []


def test_auto_map_finds_nothing_in_unrelated_headers():
    assert auto_map(["foo", "bar", "Unnamed: 0"]) == {}


# --------------------------------------------------------------------------- resolve_mapping


def test_resolve_mapping_explicit_entries_override_detection():
    headers = [*UCI, "Kunde"]
    mapping = resolve_mapping(headers, {"customer_id": "Kunde"})
    assert mapping["customer_id"] == "Kunde"
    assert mapping["invoice_date"] == "InvoiceDate"
    assert list(mapping) == [f for f in FIELD_NAMES if f in mapping]


def test_resolve_mapping_empty_column_unmaps_a_field():
    mapping = resolve_mapping(UCI, {"country": "", "invoice_id": None})
    assert "country" not in mapping and "invoice_id" not in mapping


def test_resolve_mapping_unknown_field_lists_the_valid_ones():
    with pytest.raises(MappingError) as err:
        resolve_mapping(UCI, {"cust": "CustomerID"})
    assert "'cust'" in str(err.value)
    assert "customer_id" in str(err.value) and "invoice_date" in str(err.value)


def test_resolve_mapping_unknown_column_lists_the_headers():
    with pytest.raises(MappingError) as err:
        resolve_mapping(UCI, {"customer_id": "Client"})
    message = str(err.value)
    assert "'Client'" in message and "customer_id" in message and "'InvoiceNo'" in message


def test_resolve_mapping_same_column_twice():
    with pytest.raises(MappingError, match="more than one field"):
        resolve_mapping(UCI, {"quantity": "Quantity", "unit_price": "Quantity"})


def test_resolve_mapping_missing_required_fields_lists_headers():
    with pytest.raises(MappingError) as err:
        resolve_mapping(["Name", "When", "Quantity"], None)
    message = str(err.value)
    assert "customer_id" in message and "invoice_date" in message
    assert "quantity + unit_price or amount" in message
    assert "'Name'" in message and "'When'" in message


def test_missing_fields_accepts_amount_instead_of_quantity_and_price():
    assert missing_fields({"customer_id": "a", "invoice_date": "b", "amount": "c"}) == []
    assert missing_fields({"customer_id": "a", "invoice_date": "b", "quantity": "c"}) == [
        "quantity + unit_price or amount"
    ]


# --------------------------------------------------------------------------- check_mapping


def preview() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Customer": pd.array(["17850", "13047", None], dtype="string"),
            "Date": pd.array(
                ["2010-12-01 08:26", "2010-12-02 09:00", "2010-12-03"], dtype="string"
            ),
            "Notes": pd.array(["hello", "N/A", "x"], dtype="string"),
            "Qty": [1.0, 2.0, 3.0],
            "Price": [2.55, 3.39, 1.0],
            "Odd": [17850.5, 13047.0, 1.25],
        }
    )


def test_check_mapping_accepts_a_good_mapping():
    good = {
        "customer_id": "Customer",
        "invoice_date": "Date",
        "quantity": "Qty",
        "unit_price": "Price",
    }
    assert check_mapping(preview(), good) == []


def test_check_mapping_reports_missing_required_fields():
    problems = check_mapping(preview(), {"invoice_date": "Date", "quantity": "Qty"})
    assert any("Customer ID" in p and "required" in p for p in problems)
    assert any("Amount" in p and "required" in p for p in problems)


def test_check_mapping_reports_a_date_column_without_dates():
    problems = check_mapping(
        preview(), {"customer_id": "Customer", "invoice_date": "Notes", "amount": "Price"}
    )
    assert problems == ["Column 'Notes' has no values that are dates (first: 'hello')."]


def test_check_mapping_reports_a_number_column_without_numbers_but_not_a_few_bad_values():
    frame = preview().assign(
        Words=pd.array(["a", "b", "c"], dtype="string"),
        Some=pd.array(["1", "x", "2"], dtype="string"),
    )
    base = {"customer_id": "Customer", "invoice_date": "Date"}
    assert check_mapping(frame, {**base, "amount": "Words"}) == [
        "Column 'Words' has no numbers (first: 'a')."
    ]
    assert check_mapping(frame, {**base, "amount": "Some"}) == []


def test_check_mapping_reports_ids_with_decimals():
    problems = check_mapping(
        preview(), {"customer_id": "Odd", "invoice_date": "Date", "amount": "Price"}
    )
    assert len(problems) == 1 and "'17850.5'" in problems[0] and "decimals" in problems[0]


def test_check_mapping_reports_a_column_mapped_twice():
    problems = check_mapping(
        preview(),
        {"customer_id": "Customer", "invoice_date": "Date", "quantity": "Qty", "unit_price": "Qty"},
    )
    assert "Column 'Qty' is mapped to more than one field (quantity and unit_price)." in problems


def test_check_mapping_reports_unknown_columns_and_fields():
    problems = check_mapping(
        preview(), {"customer_id": "Nope", "invoice_date": "Date", "amount": "Price", "shop": "Qty"}
    )
    assert any("'Nope'" in p for p in problems)
    assert any("'shop'" in p for p in problems)


# --------------------------------------------------------------------------- ids


def test_ids_keep_leading_zeros_and_drop_float_decimals():
    ids = to_ids(pd.Series(["00017", " 17850.0 ", "", "  ", "nan", None, "C123"], dtype="string"))
    assert ids.tolist() == ["00017", "17850", pd.NA, pd.NA, pd.NA, pd.NA, "C123"]
    assert isinstance(ids.dtype, pd.StringDtype) and ids.dtype.na_value is pd.NA


def test_ids_from_float_and_int_columns():
    assert to_ids(pa.array([17850.0, None, 17850.5, 4006381333931.0])).tolist() == [
        "17850",
        pd.NA,
        "17850.5",
        "4006381333931",
    ]
    assert to_ids(pa.array([17, 18], pa.int64())).tolist() == ["17", "18"]


# --------------------------------------------------------------------------- numbers


def test_numbers_decimal_point_and_thousands():
    parsed = to_numbers(pd.Series(["2.55", "1,234.5", "-3", " 4 ", "€ 3.50"], dtype="string"))
    np.testing.assert_allclose(parsed.values, [2.55, 1234.5, -3, 4, 3.5])
    assert parsed.bad == 0


def test_numbers_decimal_comma():
    parsed = to_numbers(pd.Series(["2,55", "1.234,5", "3", None], dtype="string"))
    np.testing.assert_allclose(parsed.values, [2.55, 1234.5, 3, np.nan])
    assert (parsed.bad, parsed.present) == (0, 3)


def test_numbers_ambiguous_comma_follows_the_hint():
    values = pd.Series(["1,234", "2,500"], dtype="string")
    np.testing.assert_allclose(to_numbers(values).values, [1234, 2500])
    np.testing.assert_allclose(to_numbers(values, decimal_comma=True).values, [1.234, 2.5])


def test_numbers_text_inf_nan_and_huge_values_are_bad():
    parsed = to_numbers(pd.Series(["1", "abc", "inf", "NaN", "2e12", ""], dtype="string"))
    assert np.isnan(parsed.values[1:]).all() and parsed.values[0] == 1
    assert (parsed.bad, parsed.present, parsed.first_bad_index, parsed.first_bad_value) == (
        4,
        5,
        1,
        "abc",
    )
    floats = to_numbers(pa.array([1.0, float("inf"), -5e12, float("nan"), None]))
    assert (floats.bad, floats.present, floats.first_bad_value) == (3, 4, "inf")


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("values", "label", "expected"),
    [
        (["2010-12-01 08:26:00", "2011-01-05"], ISO, ["2010-12-01T08:26", "2011-01-05"]),
        (
            ["12/1/2010 8:26", "12/13/2010 9:05"],
            MONTH_FIRST,
            ["2010-12-01T08:26", "2010-12-13T09:05"],
        ),
        (
            ["13/01/2011 08:26", "01/02/2011 10:00"],
            DAY_FIRST,
            ["2011-01-13T08:26", "2011-02-01T10:00"],
        ),
        (["20101201", "20110105"], YYYYMMDD, ["2010-12-01", "2011-01-05"]),
        (["2010/12/01 8:26 PM", "2011/1/5"], YEAR_FIRST, ["2010-12-01T20:26", "2011-01-05"]),
        (["1.2.11", "13.2.11"], DAY_FIRST, ["2011-02-01", "2011-02-13"]),
    ],
)
def test_text_date_styles(values, label, expected):
    parsed = to_dates(pd.Series(values, dtype="string"))
    assert parsed.label == label
    assert parsed.values.dtype == np.dtype("datetime64[ns]")
    assert parsed.values.tolist() == [ts(e).astype("datetime64[ns]").tolist() for e in expected]
    assert parsed.bad == 0


def test_yyyymmdd_integers_and_date_cells():
    ints = to_dates(pa.array([20101201, 20110105]))
    assert ints.label == YYYYMMDD and ints.values[1] == ts("2011-01-05")
    cells = to_dates(pa.array([dt.datetime(2010, 12, 1, 8, 26), None]))
    assert cells.label == DATE_CELLS and cells.values[0] == ts("2010-12-01T08:26")
    assert (cells.bad, cells.present) == (0, 1)


def test_ambiguous_dates_use_file_order_then_month_first():
    # day first: 5, 6, 7 Jan, 1 Feb (in order); month first: 1 May, 1 Jun, 1 Jul, 2 Jan (not)
    forward_if_day_first = ["5/1/2011", "6/1/2011", "7/1/2011", "1/2/2011"]
    assert to_dates(pd.Series(forward_if_day_first, dtype="string")).label == DAY_FIRST
    forward_both_ways = ["1/1/2011", "2/2/2011", "3/3/2011"]
    assert to_dates(pd.Series(forward_both_ways, dtype="string")).label == MONTH_FIRST


def test_most_parsing_reading_wins_and_bad_values_are_counted():
    values = pd.Series(["12/1/2010 8:26", "12/13/2010 9:00", "N/A", "", None], dtype="string")
    parsed = to_dates(values)
    assert parsed.label == MONTH_FIRST
    assert (parsed.bad, parsed.present, parsed.first_bad_index, parsed.first_bad_value) == (
        1,
        3,
        2,
        "N/A",
    )
    assert np.isnat(parsed.values[2:]).all()


def test_dates_outside_1900_to_2200_are_bad():
    parsed = to_dates(pd.Series(["1850-01-01", "2010-01-01", "2999-01-01"], dtype="string"))
    assert parsed.bad == 2 and parsed.values[1] == ts("2010-01-01")


def test_text_without_dates_parses_nothing():
    parsed = to_dates(pd.Series(["abc", "N/A"], dtype="string"))
    assert parsed.parsed == 0 and parsed.first_bad_value == "abc"
