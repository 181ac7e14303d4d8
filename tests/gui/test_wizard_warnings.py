"""Warnings and cleaning examples reach the analyst in the wizard, next to the step they concern."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt

from rfm_desktop.gui.autopilot import wait_until


def payments(path: Path, customers: int = 24) -> Path:
    """A shop export: order status, two currencies, a converted amount with its own currency."""
    rows = []
    for i in range(120):
        usd = i % 6 == 0
        rows.append(
            {
                "Order ID": f"CA-2024-{1000 + i}",
                "Created at": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
                "Customer": "guest" if i % 10 == 0 else f"Buyer{i % customers}@Shop.test",
                "Amount": 10.0 + i,
                "Currency": "USD" if usd else "EUR",
                "Converted Amount": (10.0 + i) * (0.9 if usd else 1.0),
                "Converted Currency": "EUR",
                "Status": ["paid", "refunded", "paid", "authorized", "paid"][i % 5],
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def shown(label: Any) -> str:
    """A rich-text label's text as the analyst reads it."""
    return html.unescape(label.text())


def wait_counts(page: Any) -> None:
    wait_until(
        lambda: not page.has_jobs() and not page._timer.isActive(), 60, "the cleaning counts"
    )


def test_cleaning_page_shows_examples_warnings_and_offers_one_currency(
    window: Any, pilot: Any, tmp_path: Path
) -> None:
    pilot.open(str(payments(tmp_path / "shop.csv")))
    pilot.to_columns()
    window.wizard.next()
    page = window.wizard.cleaning_page
    wait_counts(page)
    # two currencies: the page says so and does not let the analyst go on
    assert (
        "The amounts are in 2 currencies" in page.summary.text() and "EUR (" in page.summary.text()
    )
    assert not page.is_complete()
    assert page.currency_combo.isVisibleTo(page)
    assert [page.currency_combo.itemData(i) for i in range(page.currency_combo.count())] == [
        "EUR",
        "USD",
    ]
    assert page.removed_labels["placeholder_ids"].text() == "− 12"
    assert (
        page.example_labels["placeholder_ids"]
        .toolTip()
        .endswith("customer id 'guest' (invoice CA-2024-1000)")
    )
    assert page.example_labels["non_sale_status"].text().startswith("status 'refunded'")
    assert "'authorized' (24 rows)" in shown(
        page.warnings_label
    ) and page.warnings_label.isVisibleTo(page)

    page.step_boxes["other_currency"].setChecked(True)  # EUR, the first in the list
    wait_counts(page)
    assert window.wizard.state.cleaning.currency == "EUR"
    frame = pd.read_csv(tmp_path / "shop.csv")
    usd_sales = frame[
        (frame["Currency"] == "USD")
        & (frame["Customer"] != "guest")
        & (frame["Status"] != "refunded")
    ]
    steps = {s.step: s for s in page.report.steps}
    assert steps["other_currency"].removed == len(usd_sales) == 12
    assert page.removed_labels["other_currency"].text() == "− 12"
    kept = frame[
        (frame["Currency"] == "EUR")
        & (frame["Customer"] != "guest")
        & (frame["Status"] != "refunded")
    ]
    assert kept["Customer"].str.lower().nunique() == 20
    assert page.is_complete() and f"<b>{len(kept)}</b> of 120 rows remain" in page.summary.text()
    assert "from <b>20</b> customers" in page.summary.text()


def test_a_file_without_currencies_hides_the_currency_row(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    page = window.wizard.cleaning_page
    pilot.to_cleaning()
    assert not page.currency_combo.isVisibleTo(page) and not page.step_boxes[
        "other_currency"
    ].isVisibleTo(page)
    assert page.example_labels["cancellations"].text().startswith("invoice C")


def test_choosing_a_converted_amount_brings_its_currency(
    window: Any, pilot: Any, tmp_path: Path
) -> None:
    pilot.open(str(payments(tmp_path / "shop.csv")))
    pilot.to_columns()
    columns = window.wizard.columns_page
    assert columns.combos["currency"].currentData() == "Currency"
    columns.set_field("amount", "Converted Amount")
    assert columns.combos["currency"].currentData() == "Converted Currency"
    assert window.wizard.state.mapping["currency"] == "Converted Currency"
    pilot.to_cleaning()  # one currency now: no stop
    page = window.wizard.cleaning_page
    assert page.is_complete() and "currencies" not in page.summary.text()


def test_read_warnings_on_the_file_and_columns_pages(
    window: Any, pilot: Any, tmp_path: Path
) -> None:
    # buyer_id is new for every order; member_key is the person
    rows = [
        {
            "order_id": f"o{i}",
            "buyer_id": f"b{i}",
            "member_key": f"p{i % 8}",
            "order_date": f"2023-03-{1 + i % 28:02d}",
            "amount": 5.0 + i,
        }
        for i in range(30)
    ]
    path = tmp_path / "orders.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    pilot.open(str(path))
    assert window.wizard.state.transactions.mapping["customer_id"] == "buyer_id"
    expected = (
        "Every customer in 'buyer_id' has exactly one order (30 customers), but 'member_key' "
        "repeats across orders (8 values, 8 with two or more orders)"
    )
    assert expected in shown(window.wizard.file_page.status)
    pilot.to_columns()
    columns = window.wizard.columns_page
    assert expected in shown(columns.read_warnings) and columns.read_warnings.isVisibleTo(columns)
    # one warning has no tag: without rich text the escaped quotes would show as &#x27;
    assert columns.read_warnings.textFormat() == Qt.TextFormat.RichText
    columns.set_field("customer_id", "member_key")  # the warning belongs to the old mapping
    assert not columns.read_warnings.isVisibleTo(columns)
    pilot.to_cleaning()
    columns.enter()
    assert not columns.read_warnings.isVisibleTo(
        columns
    )  # read again with member_key: nothing to say


def test_warnings_reach_the_clustering_page_and_the_results(
    window: Any, pilot: Any, tmp_path: Path
) -> None:
    pilot.open(str(payments(tmp_path / "shop.csv", customers=8)))
    pilot.to_columns()
    window.wizard.columns_page.set_field("amount", "Converted Amount")
    pilot.to_cleaning()
    pilot.to_clustering()
    pilot.evaluate_k()
    clustering = window.wizard.clustering_page
    assert "Only 8 customers take part in the clustering" in shown(clustering.warnings_label)
    pilot.to_run()
    result = pilot.run()
    assert {w.stage for w in result.warnings} >= {"cleaning", "clustering"}
    results = window.results
    assert f"⚠ {len(result.warnings)} warnings" in results.summary.text()
    view = results.view("cleaning")
    assert "Clustering: Only 8 customers" in shown(view.facts["warnings"])
    model = view.model
    header = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    column = header.index("First row removed")
    examples = [model.index(r, column).data() for r in range(model.rowCount())]
    assert "customer id 'guest' (invoice CA-2024-1000)" in examples
