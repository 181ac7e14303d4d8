"""Issue 7, the cleaning half: each kind of fault on a small export generated here, end to end
through ``pipeline.run``, asserting the customers' values and what the analyst is told."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rfm_desktop.core import cache, cleaning, pipeline
from rfm_desktop.core.errors import DataError, ParamsError
from rfm_desktop.core.mapping import auto_map, currency_column, resolve_mapping
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, ClusteringOptions
from rfm_desktop.core.values import currency_marks, to_customer_ids


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


def params(path: Path, mapping: dict[str, str] | None = None, **cleaning) -> AnalysisParams:
    return AnalysisParams(
        input_path=str(path),
        column_map=tuple(sorted((mapping or {}).items())),
        cleaning=CleaningOptions(**cleaning),
        clustering=ClusteringOptions(k=2, sweep=False),
    )


def run(path: Path, mapping: dict[str, str] | None = None, **cleaning) -> pipeline.AnalysisResult:
    return pipeline.run(params(path, mapping, **cleaning))


def preview(path: Path, mapping: dict[str, str] | None = None, **cleaning) -> dict:
    """The wizard's count: what each step removes or, switched off, would remove."""
    p = params(path, mapping, **cleaning)
    return {s.step: s for s in pipeline.preview_cleaning(pipeline.load(p), p).steps}


def by_customer(result) -> dict[str, tuple[float, float]]:
    """customer -> (frequency, monetary)."""
    c = result.customers
    return {
        cid: (f, round(m, 2))
        for cid, f, m in zip(c["customer_id"], c["frequency"], c["monetary"], strict=True)
    }


def steps(result) -> dict:
    return {s.step: s for s in result.cleaning.steps}


def texts(result, *stages: str) -> list[str]:
    return [w.text for w in (result.warnings_for(*stages) if stages else result.warnings)]


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- kind 1: cancellations


def test_order_ids_starting_with_c_are_not_cancellations(tmp_path):
    # Superstore-shaped: 'CA-2016-…' and 'US-2016-…' orders, all positive; none is a cancellation
    rows = []
    for i in range(12):
        prefix = "CA" if i % 3 else "US"
        for line in range(2):
            rows.append(
                {
                    "Order ID": f"{prefix}-2016-{100000 + i}",
                    "Order Date": f"2016-03-{i + 1:02d}",
                    "Customer ID": f"AB-{10 + i % 4}",
                    "Sales": 10.0 * (line + 1),
                    "Quantity": 1,
                }
            )
    result = run(write(tmp_path / "superstore.csv", pd.DataFrame(rows)))
    assert steps(result)["cancellations"].removed == 0
    assert result.cleaning.rows_clean == 24
    # 4 customers x 3 orders of 30.00
    assert by_customer(result) == {f"AB-{10 + k}": (3, 90.0) for k in range(4)}
    kept = [t for t in texts(result, "cleaning") if "start with 'C'" in t]
    assert len(kept) == 1 and "16 rows" in kept[0] and "'CA-2016-100001'" in kept[0]


def test_uci_cancellation_is_c_digits_with_a_negative_quantity(tmp_path):
    rows = [
        ["536365", "2010-12-01 08:26", 6, 2.5, "17850"],
        ["C536379", "2010-12-01 09:41", -1, 27.5, "17850"],  # cancellation
        ["C536380", "2010-12-02 10:00", 2, 5.0, "14527"],  # 'C' + digits but a sale: kept
        ["536381", "2010-12-03 10:00", 1, 4.0, "14527"],
        ["536382", "2010-12-04 10:00", 3, 1.0, "13000"],
    ]
    frame = pd.DataFrame(
        rows, columns=["InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice", "CustomerID"]
    )
    result = run(write(tmp_path / "uci.csv", frame))
    step = steps(result)["cancellations"]
    assert (step.removed, step.example) == (1, "invoice C536379")
    assert by_customer(result) == {"17850": (1, 15.0), "14527": (2, 14.0), "13000": (1, 3.0)}
    # switched off, the negative line stays (and the non-positive step takes it)
    off = preview(tmp_path / "uci.csv", drop_cancellations=False)
    assert off["cancellations"].would_remove == 1 and off["nonpositive"].removed == 1


def test_a_cancellation_step_that_removes_a_large_share_says_so(tmp_path):
    rows = [
        [
            f"C{1000 + i}" if i % 2 else str(1000 + i),
            f"2011-01-{i + 1:02d}",
            -1 if i % 2 else 2,
            3.0,
            str(i % 5),
        ]
        for i in range(20)
    ]
    frame = pd.DataFrame(
        rows, columns=["InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice", "CustomerID"]
    )
    result = run(
        write(tmp_path / "c.csv", frame), drop_placeholder_ids=False
    )  # customer '0' is real here
    [note] = [t for t in texts(result, "cleaning") if "cancellation step" in t]
    assert "removes 10 of 20 rows (50.0%)" in note and "e.g. invoice C1001" in note
    assert "--keep-cancellations" in note


# --------------------------------------------------------------------------- kind 6: placeholder ids


PLACEHOLDERS = [
    "guest",
    "0",
    "-1",
    "N/A",
    "unknown",
    "anonymous",
    "GUEST",
    "---",
    "none",
    "null",
    "-",
]


def test_placeholder_ids_are_their_own_step_and_emails_are_one_customer(tmp_path):
    rows = [[f"#{i}", f"2023-05-{i + 1:02d}", ph, 100.0] for i, ph in enumerate(PLACEHOLDERS)]
    rows += [
        ["#20", "2023-06-01", " Ava.K@Example.com ", 10.0],
        ["#21", "2023-06-02", "ava.k@example.com", 20.0],
        ["#22", "2023-06-03", "AVA.K@EXAMPLE.COM", 5.0],
        ["#23", "2023-06-04", "bo@example.org", 7.0],
        ["#24", "2023-06-05", "", 9.0],  # blank: a missing id, not a placeholder
        ["#25", "2023-06-06", "C-77", 3.0],
    ]
    frame = pd.DataFrame(rows, columns=["Order", "Date", "Customer", "Total"])
    path = write(tmp_path / "guests.csv", frame)
    result = run(path)
    placeholder = steps(result)["placeholder_ids"]
    assert placeholder.removed == len(PLACEHOLDERS)
    assert placeholder.example == "customer id 'guest' (invoice #0)"
    assert steps(result)["missing_customer"].removed == 1
    assert by_customer(result) == {
        "ava.k@example.com": (3, 35.0),
        "bo@example.org": (1, 7.0),
        "C-77": (1, 3.0),
    }

    assert preview(path, drop_placeholder_ids=False)["placeholder_ids"].would_remove == len(
        PLACEHOLDERS
    )
    kept = by_customer(run(path, drop_placeholder_ids=False))
    assert kept["guest"] == (1, 100.0) and kept["GUEST"] == (1, 100.0) and kept["-1"] == (1, 100.0)


def test_placeholder_ids_and_real_ids_that_look_close():
    ids = pd.Series(
        [
            " Guest ",
            "0000",
            "xxx",
            "?",
            "Walk-In",
            "#N/A",
            "(blank)",
            "n/a",
            "17850",
            "0012",
            "guest42",
            "X1",
            "-2",
            "Anonymous Corp",
            None,
        ],
        dtype="string",
    )
    assert cleaning.is_placeholder_id(ids).tolist() == [True] * 8 + [False] * 7


def test_to_customer_ids_keeps_placeholder_words_and_lower_cases_emails():
    ids = to_customer_ids(
        pd.Series([" A.B@X.COM", "N/A", "nan", "", None, "Guest", "17850.0"], dtype="string")
    )
    assert ids.tolist()[:2] == ["a.b@x.com", "N/A"]
    assert ids.isna().tolist() == [False, False, True, True, True, False, False]
    assert ids.tolist()[5:] == ["Guest", "17850"]


def test_one_id_holding_far_more_orders_than_any_other_is_named(tmp_path):
    rows = [[f"W{i}", f"2023-01-{i % 28 + 1:02d}", "STORE-001", 5.0] for i in range(30)]
    rows += [[f"R{i}", f"2023-02-{i % 28 + 1:02d}", f"cust{i % 10}", 8.0] for i in range(20)]
    frame = pd.DataFrame(rows, columns=["Invoice", "Date", "Customer", "Amount"])
    result = run(write(tmp_path / "till.csv", frame))
    [note] = [t for t in texts(result, "cleaning") if "'STORE-001'" in t]
    assert "30 of 50 orders (60.0%)" in note and "15 times" in note and "the next has 2" in note


def test_ordinary_spread_of_orders_names_no_customer(tmp_path):
    rows = [[f"I{i}", f"2023-01-{i % 28 + 1:02d}", f"cust{i % 6}", 5.0] for i in range(36)]
    rows += [[f"J{i}", "2023-03-01", "cust0", 5.0] for i in range(6)]  # cust0: 12 orders, next 6
    frame = pd.DataFrame(rows, columns=["Invoice", "Date", "Customer", "Amount"])
    result = run(write(tmp_path / "fine.csv", frame))
    assert not [t for t in texts(result) if "times as many" in t]


# --------------------------------------------------------------------------- kind 7: never repeats


def olist_like(n_people: int = 12) -> pd.DataFrame:
    rows = []
    order = 0
    for person in range(n_people):
        for _ in range(1 + person % 3):  # 1-3 orders per person, a new buyer_id per order
            rows.append(
                {
                    "order_id": f"o{order:03d}",
                    "buyer_id": f"b{order:03d}",
                    "person_key": f"p{person:02d}",
                    "customer_city": "sao paulo" if person % 2 else "rio",
                    "purchased": f"2017-0{1 + order % 9}-1{order % 10}",
                    "payment_value": 10.0 + person,
                }
            )
            order += 1
    return pd.DataFrame(rows)


def test_a_customer_column_that_never_repeats_names_the_one_that_does(tmp_path):
    path = write(tmp_path / "orders.csv", olist_like())
    result = run(
        path, {"customer_id": "buyer_id", "invoice_date": "purchased", "amount": "payment_value"}
    )
    [note] = texts(result, "read")[-1:]
    assert "Every customer in 'buyer_id' has exactly one order (24 customers)" in note
    assert "'person_key' repeats across orders (12 values, 8 with two or more orders)" in note
    assert "customer_city" not in note
    right = run(
        path, {"customer_id": "person_key", "invoice_date": "purchased", "amount": "payment_value"}
    )
    assert not [t for t in texts(right) if "exactly one order" in t]
    assert by_customer(right)["p05"] == (3, 45.0)


def test_one_order_each_without_another_key_column_is_not_blamed_on_the_mapping(tmp_path):
    frame = olist_like().drop(columns=["person_key"])
    result = run(
        write(tmp_path / "once.csv", frame),
        {"customer_id": "buyer_id", "invoice_date": "purchased", "amount": "payment_value"},
    )
    assert not [t for t in texts(result) if "exactly one order" in t]
    assert "every customer has frequency 1" in " ".join(texts(result, "customers"))


# --------------------------------------------------------------------------- kind 8: status, currency


def stripe_like() -> pd.DataFrame:
    rows = []
    statuses = [
        "Paid",
        "Paid",
        "Failed",
        "Refunded",
        "Pending",
        "paid",
        "Succeeded",
        "Voided",
        "on_hold_review",
    ]
    for i in range(27):
        eur = i % 3 != 0
        amount = 10.0 + i
        rows.append(
            {
                "Transaction ID": f"ch_{i:03d}",
                "Created (UTC)": f"2024-02-{i + 1:02d} 10:00",
                "Amount": amount,
                "Currency": "eur" if eur else "usd",
                "Converted Amount": amount if eur else amount * 0.5,
                "Converted Currency": "eur",
                "Status": statuses[i % len(statuses)],
                "Customer Email": f"c{i % 4}@shop.test",
            }
        )
    return pd.DataFrame(rows)


def test_status_and_currency_columns_are_detected():
    mapping = auto_map(stripe_like().columns)
    assert (mapping["status"], mapping["currency"], mapping["amount"]) == (
        "Status",
        "Currency",
        "Amount",
    )
    shopify = [
        "Name",
        "Email",
        "Financial Status",
        "Fulfillment Status",
        "Currency",
        "Total",
        "Created at",
    ]
    assert auto_map(shopify)["status"] == "Financial Status"
    superstore = ["Order ID", "Order Date", "Customer ID", "State", "Sales"]
    assert "status" not in auto_map(superstore)  # a US state is no status


def test_several_currencies_stop_the_run_naming_them(tmp_path):
    frame = stripe_like()
    with pytest.raises(DataError) as err:
        run(write(tmp_path / "stripe.csv", frame))
    message = str(err.value)
    sales = frame[~frame["Status"].str.lower().isin(["failed", "refunded", "pending", "voided"])]
    assert sales["Currency"].value_counts().to_dict() == {
        "eur": 9,
        "usd": 6,
    }  # what the stop names:
    assert "2 currencies (EUR (9 rows), USD (6 rows), column 'Currency')" in message
    assert "--currency EUR" in message and "--map amount=" in message


def test_non_sale_statuses_are_removed_and_unknown_ones_named(tmp_path):
    frame = stripe_like()
    result = run(write(tmp_path / "stripe.csv", frame), currency="eur")
    status = steps(result)["non_sale_status"]
    words = frame["Status"].str.lower()
    removed = words.isin(["failed", "refunded", "pending", "voided"])
    assert status.removed == int(removed.sum()) == 12
    assert status.example == "status 'Failed' (invoice ch_002)"
    currency = steps(result)["other_currency"]
    assert currency.removed == int((~removed & (frame["Currency"] == "usd")).sum()) == 6
    assert currency.example.startswith("currency 'usd'")
    sales = frame[~removed & (frame["Currency"] == "eur")]
    expected = sales.groupby("Customer Email")["Amount"].agg(["count", "sum"])
    assert by_customer(result) == {
        k: (r["count"], round(r["sum"], 2)) for k, r in expected.iterrows()
    }
    [note] = [t for t in texts(result, "cleaning") if "neither sale" in t]
    assert "'on_hold_review' (3 rows)" in note

    everything = preview(tmp_path / "stripe.csv", currency="EUR", drop_non_sale_status=False)
    assert (
        everything["non_sale_status"].would_remove == 12
        and everything["non_sale_status"].removed == 0
    )
    assert everything["other_currency"].after == 18


def test_a_converted_amount_is_checked_against_its_own_currency(tmp_path):
    frame = stripe_like()
    path = write(tmp_path / "stripe.csv", frame)
    result = run(path, {"amount": "Converted Amount"})  # all Converted Currency = eur: no stop
    kept = frame[~frame["Status"].str.lower().isin(["failed", "refunded", "pending", "voided"])]
    assert round(result.customers["monetary"].sum(), 2) == round(kept["Converted Amount"].sum(), 2)
    headers = list(frame.columns)
    assert currency_column(headers, "Converted Amount") == "Converted Currency"
    assert currency_column(headers, "Amount") == "Currency"
    assert currency_column(headers + ["Amount (EUR)"], "Amount (EUR)") is None
    chosen = resolve_mapping(headers + ["Amount (EUR)"], {"amount": "Amount (EUR)"})
    assert "currency" not in chosen


def test_order_level_status_on_the_first_line_covers_the_whole_order(tmp_path):
    rows = [
        ["#1", "2023-01-02", "a@x.io", "paid", "USD", 2, 5.0],
        ["#1", "2023-01-02", "a@x.io", "", "", 1, 4.0],
        ["#2", "2023-01-05", "a@x.io", "refunded", "USD", 1, 50.0],
        ["#2", "2023-01-05", "a@x.io", "", "", 3, 10.0],
        ["#3", "2023-01-07", "b@x.io", "paid", "USD", 1, 7.0],
        ["#4", "2023-01-09", "c@x.io", "paid", "USD", 1, 8.0],
    ]
    frame = pd.DataFrame(
        rows, columns=["Order", "Date", "Email", "Financial Status", "Currency", "Qty", "Price"]
    )
    result = run(write(tmp_path / "shop.csv", frame), {"customer_id": "Email"})
    assert steps(result)["non_sale_status"].removed == 2  # both lines of the refunded order
    assert by_customer(result) == {"a@x.io": (1, 14.0), "b@x.io": (1, 7.0), "c@x.io": (1, 8.0)}


def test_currency_signs_in_the_amount_cells_are_the_rows_currency(tmp_path):
    # no currency column, but '€' and '$' in the amount cells: summing them would mix money
    eur = [i % 3 == 0 for i in range(12)]
    frame = pd.DataFrame(
        {
            "Invoice": [f"I{i}" for i in range(12)],
            "Date": [f"2023-01-{i + 1:02d}" for i in range(12)],
            "Customer": [f"c{i % 4}" for i in range(12)],
            "Amount": [f"€{10 + i:,.2f}" if e else f"${1000 + i:,.2f}" for i, e in enumerate(eur)],
        }
    )
    path = write(tmp_path / "signs.csv", frame)
    with pytest.raises(DataError) as err:
        run(path)
    assert "2 currencies ($ (8 rows), EUR (4 rows), column 'Amount')" in str(err.value)
    result = run(path, currency="eur")
    assert steps(result)["other_currency"].removed == 8
    kept = pd.DataFrame({"c": frame["Customer"], "v": [10.0 + i for i in range(12)]})[eur]
    assert by_customer(result) == {c: (len(g), g["v"].sum()) for c, g in kept.groupby("c")}
    assert by_customer(result)["c1"] == (1, 19.0)
    codes = pd.Series(["USD 5.00", "5.00 EUR", "1.234,50 €", "(£45.00)", "-$3", "12", None])
    assert currency_marks(codes).tolist() == ["USD", "EUR", "EUR", "GBP", "$", pd.NA, pd.NA]
    one = frame.assign(
        Amount=[f"£{v:.2f}" for v in range(1, 12)] + ["TBD"]
    )  # one currency, a word: no stop
    assert round(run(write(tmp_path / "gbp.csv", one)).customers["monetary"].sum(), 2) == 66.0


def test_woocommerce_statuses_and_qualified_statuses_are_read(tmp_path):
    statuses = [
        "wc-completed",
        "wc-refunded",
        "wc-cancelled",
        "wc-on-hold",
        "wc-failed",
        "Refunded (full)",
        "Cancelled by customer",
        "Completed",
        "wc-completed",
        "Completed",
    ]
    sale = [True, False, False, False, False, False, False, True, True, True]
    frame = pd.DataFrame(
        {
            "Order": [f"#{i}" for i in range(10)],
            "Date": [f"2024-03-{i + 1:02d}" for i in range(10)],
            "Customer": ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a"],
            "Order Status": statuses,
            "Total": [10.0 * (i + 1) for i in range(10)],
        }
    )
    result = run(write(tmp_path / "woo.csv", frame))
    assert steps(result)["non_sale_status"].removed == 6
    expected = frame[sale].groupby("Customer")["Total"].agg(["count", "sum"])
    assert by_customer(result) == {k: (r["count"], r["sum"]) for k, r in expected.iterrows()}
    assert by_customer(result)["a"] == (2, 110.0)
    assert not [t for t in texts(result, "cleaning") if "neither sale" in t]


def test_a_currency_without_a_currency_column_is_a_params_error(tmp_path):
    frame = pd.DataFrame(
        {
            "Invoice": ["1", "2", "3"],
            "Date": ["2023-01-01"] * 3,
            "Customer": ["a", "b", "c"],
            "Amount": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(ParamsError, match="no currency column"):
        run(write(tmp_path / "plain.csv", frame), currency="EUR")


# --------------------------------------------------------------------------- saying what happened


def test_every_step_that_removed_rows_has_an_example(tmp_path):
    rows = [
        ["1", "2011-01-01", 1, 2.0, "17850", "85123A"],
        ["2", "not a date", 1, 2.0, "17850", "85123A"],
        ["3", "2011-01-02", 1, 2.0, "", "85123A"],
        ["4", "2011-01-03", 0, 2.0, "14527", "85123A"],
        ["5", "2011-01-04", 1, 2.0, "14527", "POST"],
        ["6", "2011-01-05", 1, 2.0, "13000", "22728"],
        ["6", "2011-01-05", 1, 2.0, "13000", "22728"],
        ["7", "2011-01-06", 1, 2.0, "12000", "22728"],
    ]
    frame = pd.DataFrame(
        rows,
        columns=["InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice", "CustomerID", "StockCode"],
    )
    result = run(write(tmp_path / "mixed.csv", frame), drop_non_product=True, drop_duplicates=True)
    examples = {s.step: s.example for s in result.cleaning.steps if s.removed}
    assert examples == {
        "invalid": "invoice 2 (date not readable)",
        "missing_customer": "invoice 3",
        "nonpositive": "invoice 4: quantity 0, unit price 2",
        "non_product": "stock code 'POST' (invoice 5)",
        "duplicates": "invoice 6",
    }
    assert {w.stage for w in result.warnings} <= {"read", "cleaning", "customers", "clustering"}
    assert "Column 'InvoiceDate' has 1 value that are not dates" in " ".join(texts(result, "read"))
    assert "Only 3 customers take part in the clustering" in " ".join(texts(result, "clustering"))
