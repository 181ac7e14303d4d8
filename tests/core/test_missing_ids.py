"""The missing-id check against an independent pandas computation, and its verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core import io, missing_ids
from rfm_desktop.core.params import CleaningOptions


def _frame(seed: int = 3, *, no_id_bigger: bool = True, share_no_id: float = 0.3) -> pd.DataFrame:
    """Invoices of 1-6 lines; a share of them without customer id (bigger baskets and pricier,
    nearly all UK, when ``no_id_bigger``); some cancellations and zero prices mixed in."""
    rng = np.random.default_rng(seed)
    rows = []
    for invoice in range(600):
        no_id = rng.random() < share_no_id
        lines = int(rng.integers(4, 12) if no_id and no_id_bigger else rng.integers(1, 7))
        country = (
            "United Kingdom"
            if (no_id and no_id_bigger) or rng.random() < 0.7
            else str(rng.choice(["France", "Germany", "Spain"]))
        )
        cancelled = rng.random() < 0.05
        customer = None if no_id else f"c{int(rng.integers(0, 80))}"
        month = int(rng.integers(1, 7))
        for _ in range(lines):
            qty = float(rng.integers(1, 10))
            price = float(
                rng.choice([0.0, 1.0, 2.5, 4.0]) if not no_id or not no_id_bigger else 6.0
            )
            rows.append(
                {
                    "customer_id": customer,
                    "invoice_id": f"C{invoice}" if cancelled else str(invoice),
                    "invoice_date": pd.Timestamp(2011, month, 10),
                    "quantity": -qty if cancelled else qty,
                    "unit_price": price,
                    "country": country,
                }
            )
    frame = pd.DataFrame(rows)
    frame["amount"] = frame["quantity"] * frame["unit_price"]
    for column in ("customer_id", "invoice_id", "country"):
        frame[column] = frame[column].astype("string")
    for column in ("stock_code", "description", "status", "currency"):
        frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame


def _independent(frame: pd.DataFrame) -> dict:
    """The figures straight from pandas, without the cleaning masks."""
    sales = frame[
        (frame["quantity"] > 0)
        & (frame["unit_price"] > 0)
        & ~frame["invoice_id"].str.startswith("C")
        & frame["invoice_date"].notna()
    ]
    out = {}
    for key, part in (
        ("with", sales[sales["customer_id"].notna()]),
        ("without", sales[sales["customer_id"].isna()]),
    ):
        per_invoice = part.groupby("invoice_id")
        out[key] = {
            "rows": len(part),
            "row_share": len(part) / len(sales),
            "revenue_share": part["amount"].sum() / sales["amount"].sum(),
            "invoice_value_mean": per_invoice["amount"].sum().mean(),
            "lines_per_invoice": per_invoice.size().mean(),
            "units_per_invoice": per_invoice["quantity"].sum().mean(),
            "unit_price_median": part["unit_price"].median(),
            "uk": (part["country"] == "United Kingdom").mean(),
        }
    month = sales["invoice_date"].dt.strftime("%Y-%m")
    out["months"] = sales["customer_id"].isna().groupby(month).mean().to_dict()
    return out


def test_figures_match_an_independent_pandas_computation():
    frame = _frame()
    check = missing_ids.compare(frame, CleaningOptions())
    expected = _independent(frame)
    assert check.sales_rows == expected["with"]["rows"] + expected["without"]["rows"]
    for group, key in ((check.with_id, "with"), (check.without_id, "without")):
        want = expected[key]
        assert group.rows == want["rows"]
        for name in (
            "row_share",
            "revenue_share",
            "invoice_value_mean",
            "lines_per_invoice",
            "units_per_invoice",
            "unit_price_median",
        ):
            assert getattr(group, name) == pytest.approx(want[name]), name
        assert dict(group.countries).get("United Kingdom", 0.0) == pytest.approx(want["uk"])
    assert {m: r for m, r, _ in check.months} == pytest.approx(expected["months"])


def test_different_rows_without_id_give_a_verdict_that_says_so():
    check = missing_ids.compare(_frame(), CleaningOptions())
    assert check.differs
    assert check.verdict.startswith("The customers analysed differ from the whole business.")
    assert any("lines per invoice" in r for r in check.reasons)
    assert any("United Kingdom" in r for r in check.reasons)


def test_alike_rows_without_id_look_like_the_business():
    check = missing_ids.compare(_frame(no_id_bigger=False, seed=5), CleaningOptions())
    assert not check.differs and check.reasons == ()
    assert "look like the whole business" in check.verdict


def test_few_rows_without_id_do_not_matter():
    check = missing_ids.compare(_frame(share_no_id=0.003, seed=1), CleaningOptions())
    assert 0 < check.without_id.row_share < missing_ids.MATERIAL_SHARE
    assert check.without_id.revenue_share < missing_ids.MATERIAL_SHARE
    assert check.reasons  # they differ, but they are too few to change the picture
    assert not check.differs
    assert "too few to matter" in check.verdict


def test_every_row_with_an_id_gives_none_and_placeholders_count_as_missing():
    frame = _frame(share_no_id=0.0)
    assert missing_ids.compare(frame, CleaningOptions()) is None
    frame.loc[frame.index[:40], "customer_id"] = "guest"
    check = missing_ids.compare(frame, CleaningOptions())
    assert check is not None and check.without_id.rows > 0
    assert missing_ids.compare(frame, CleaningOptions(drop_placeholder_ids=False)) is None


@pytest.mark.realdata
def test_real_data_figures_from_the_issue(real_data_path):
    frame = io.read_transactions(str(real_data_path)).frame
    check = missing_ids.compare(frame, CleaningOptions())
    without, with_id = check.without_id, check.with_id
    assert round(without.row_share * 100, 1) == 24.9
    assert round(without.revenue_share * 100, 1) == 16.5
    assert round(dict(without.countries)["United Kingdom"] * 100, 1) == 98.9
    assert round(dict(with_id.countries)["United Kingdom"] * 100, 1) == 89.1
    assert round(without.invoice_value_mean) == 1_229
    assert round(with_id.invoice_value_mean) == 481
    assert check.differs


def test_summary_and_run_record_hold_the_check_and_the_warning(tmp_path):
    from rfm_desktop.core import export, pipeline
    from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

    frame = _frame()
    path = tmp_path / "orders.csv"
    frame.rename(
        columns={
            "customer_id": "CustomerID",
            "invoice_id": "InvoiceNo",
            "invoice_date": "InvoiceDate",
            "quantity": "Quantity",
            "unit_price": "UnitPrice",
            "country": "Country",
        }
    )[["InvoiceNo", "InvoiceDate", "CustomerID", "Quantity", "UnitPrice", "Country"]].to_csv(
        path, index=False
    )
    params = AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=3, sweep=False))
    result = pipeline.run(params)
    expected = _independent(frame)["without"]
    for record in (export.summary_dict(result), export.run_dict(result)):
        without = record["missing_ids"]["without_id"]
        assert without["rows"] == expected["rows"]
        assert without["invoice_value_mean"] == pytest.approx(expected["invoice_value_mean"])
        assert record["missing_ids"]["differs"] is True
    verdict = result.cleaning.missing_ids.verdict
    assert [w.stage for w in result.warnings if w.text == verdict] == ["cleaning"]


def test_months_are_named_yyyy_mm_across_a_year_and_skip_unreadable_dates():
    rows = pd.DataFrame(
        {
            "invoice_date": pd.to_datetime(
                [
                    "2010-12-31 23:59",
                    "2011-01-01 00:00",
                    "2011-01-15 09:00",
                    None,
                    "2011-01-20 12:30",
                ]
            ),
            "amount": [10.0, 20.0, 30.0, 99.0, 50.0],
        }
    )
    missing = np.array([True, False, True, True, False])
    assert missing_ids._months(rows, missing) == (
        ("2010-12", 1.0, 1.0),
        ("2011-01", pytest.approx(1 / 3), pytest.approx(30 / 100)),
    )


def test_no_sales_row_with_an_id_gives_none_not_a_division_by_zero(tmp_path):
    from rfm_desktop.core import pipeline
    from rfm_desktop.core.errors import DataError
    from rfm_desktop.core.params import AnalysisParams

    frame = _frame(share_no_id=1.0)
    assert frame["customer_id"].isna().all()
    assert missing_ids.compare(frame, CleaningOptions()) is None
    path = tmp_path / "guests.csv"
    frame.rename(columns={"invoice_id": "InvoiceNo", "invoice_date": "InvoiceDate"}).assign(
        CustomerID="", Quantity=frame["quantity"], UnitPrice=frame["unit_price"]
    )[["InvoiceNo", "InvoiceDate", "CustomerID", "Quantity", "UnitPrice"]].to_csv(path, index=False)
    params = AnalysisParams(
        input_path=str(path), cleaning=CleaningOptions(drop_missing_customer=False)
    )
    with pytest.raises(DataError):
        pipeline.run(params)


def test_figures_on_columns_match_a_groupby_with_missing_invoice_ids_and_quantities():
    """Rows without an invoice id count as rows but in no invoice (as a groupby leaves them
    out); a file without quantities gives no units per invoice."""
    frame = _frame(seed=7)
    frame.loc[frame.index[::17], "invoice_id"] = pd.NA
    check = missing_ids.compare(frame, CleaningOptions())
    sales = frame[(frame["quantity"] > 0) & (frame["unit_price"] > 0)]
    sales = sales[~sales["invoice_id"].fillna("").str.startswith("C")]
    for group, part in (
        (check.with_id, sales[sales["customer_id"].notna()]),
        (check.without_id, sales[sales["customer_id"].isna()]),
    ):
        per_invoice = part.groupby("invoice_id")
        assert group.rows == len(part)
        assert group.invoices == per_invoice.ngroups
        assert group.lines_per_invoice == pytest.approx(len(part) / per_invoice.ngroups)
        assert group.invoice_value_mean == pytest.approx(per_invoice["amount"].sum().mean())
    no_quantity = frame.assign(quantity=np.nan)
    check = missing_ids.compare(no_quantity, CleaningOptions())
    assert check.with_id.units_per_invoice is None and check.without_id.units_per_invoice is None
