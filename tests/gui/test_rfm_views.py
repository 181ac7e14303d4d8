"""Issue 8 in the GUI: the R x F grid for any number of scores with its thresholds, the named-segment
table and charts, the distributions, the customer table with "Why this segment", and the 2D hover.

Every number is derived from the generated shop: customer i (0..39) bought (i % 4) + 1 times, the
last time i days before the snapshot's eve, each order (1 + i % 3) mugs at 2.5 + i; so recency is
i + 1 days, frequency (i % 4) + 1 orders and monetary (i % 4 + 1)(1 + i % 3)(2.5 + i).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from rfm_desktop.core.explain import explain_customer
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ScoringOptions
from rfm_desktop.core.pipeline import run
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.customers import ALL_SEGMENTS, CustomersView
from rfm_desktop.gui.views.distributions import DistributionsView
from rfm_desktop.gui.views.rfmgrid import RFMView
from rfm_desktop.gui.views.rfmsegments import RFMSegmentsView
from rfm_desktop.gui.views.scatter2d import Scatter2DView

N = 40


def write_shop(folder: Path) -> Path:
    rows = []
    for i in range(N):
        for n in range(i % 4 + 1):
            day = pd.Timestamp("2011-12-09") - pd.Timedelta(days=i + 30 * n)
            rows.append(
                {
                    "InvoiceNo": f"{i}-{n}",
                    "StockCode": "A1",
                    "Description": "Mug",
                    "Quantity": 1 + i % 3,
                    "InvoiceDate": day.strftime("%Y-%m-%d %H:%M"),
                    "UnitPrice": 2.5 + i,
                    "CustomerID": 10000 + i,
                    "Country": "United Kingdom",
                }
            )
    path = folder / "shop.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def monetary(i: int) -> float:
    return (i % 4 + 1) * (1 + i % 3) * (2.5 + i)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def three(shop: Path) -> AnalysisResult:
    return run(
        AnalysisParams(str(shop), clustering=ClusteringOptions(k=3), scoring=ScoringOptions(bins=3))
    )


@pytest.fixture(scope="module")
def five(shop: Path) -> AnalysisResult:
    return run(AnalysisParams(str(shop), clustering=ClusteringOptions(k=3)))


def _make(qtbot: Any, cls: type) -> Any:
    view = cls()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    return view


def test_heatmap_with_three_scores(qtbot: Any, three: AnalysisResult) -> None:
    view = _make(qtbot, RFMView)
    view.set_result(three)
    assert (view.grid.rowCount(), view.grid.columnCount()) == (3, 3)
    # quantile breaks: recency 14 and 27 days (R reversed), frequency 2 and 3 orders
    assert [view.grid.verticalHeaderItem(i).text() for i in range(3)] == [
        "R 3\n1–14 days",
        "R 2\n15–27 days",
        "R 1\n28–40 days",
    ]
    assert [view.grid.horizontalHeaderItem(i).text() for i in range(3)] == [
        "F 1\n1–2 orders",
        "F 2\n3 orders",
        "F 3\n4 orders",
    ]

    def r_score(i: int) -> int:
        return 3 if i + 1 <= 14 else 2 if i + 1 <= 27 else 1

    def f_score(i: int) -> int:
        return {0: 1, 1: 1, 2: 2, 3: 3}[i % 4]

    expected = {
        (r, f): [i for i in range(N) if (r_score(i), f_score(i)) == (r, f)]
        for r in (1, 2, 3)
        for f in (1, 2, 3)
    }
    assert {k: len(v) for k, v in expected.items()} == {
        (3, 1): 8,
        (3, 2): 3,
        (3, 3): 3,
        (2, 1): 6,
        (2, 2): 4,
        (2, 3): 3,
        (1, 1): 6,
        (1, 2): 3,
        (1, 3): 4,
    }
    for (r, f), members in expected.items():
        values = view.cell_values(r, f)
        mean = float(np.mean([monetary(i) for i in members]))
        assert values["customers"] == len(members)
        assert values["monetary_mean"] == pytest.approx(mean)
        assert view.cell(r, f).text() == f"{len(members)}\ncustomers\nmean {mean:,.0f}"
    assert view.threshold_rows() == [
        ("R 1", "> 27 days", "13", "28–40 days"),
        ("R 2", "> 14 and ≤ 27 days", "13", "15–27 days"),
        ("R 3", "≤ 14 days", "14", "1–14 days"),
        ("F 1", "≤ 2 orders", "20", "1–2 orders"),
        ("F 2", "> 2 and ≤ 3 orders", "10", "3 orders"),
        ("F 3", "> 3 orders", "10", "4 orders"),
        ("M 1", "≤ 47.00", "14", "2.50–47.00"),
        ("M 2", "> 47.00 and ≤ 118.00", "13", "61.00–118.00"),
        ("M 3", "> 118.00", "13", "147.00–450.00"),
    ]
    assert "Every one of the 3 scores is used" in view.thresholds_note.text()
    assert "<b>3 scores</b>" in view.summary.text()


def test_an_empty_score_is_marked_in_the_grid_and_the_thresholds(
    qtbot: Any, five: AnalysisResult
) -> None:
    # frequency takes 1..4 orders, 10 customers each: the breaks are 1, 2, 3, 4 and F 5 stays empty
    view = _make(qtbot, RFMView)
    view.set_result(five)
    header = view.grid.horizontalHeaderItem(4)
    assert header.text() == "F 5\nempty" and header.font().italic()
    assert "no customer has this score" in header.toolTip()
    assert all(view.cell(r, 5).text() == "score unused" for r in range(1, 6))
    assert view.cell(5, 5).background().style() == Qt.BrushStyle.BDiagPattern
    assert view.cell(5, 1).background().style() == Qt.BrushStyle.SolidPattern
    f5 = next(row for row in view.threshold_rows() if row[0] == "F 5")
    assert f5 == ("F 5", "> 4 orders", "0", "no customer")
    assert "Empty scores: F 5." in view.thresholds_note.text()


def test_segment_table_and_charts(qtbot: Any, three: AnalysisResult, tmp_path: Path) -> None:
    view = _make(qtbot, RFMSegmentsView)
    view.set_result(three)
    segments = three.segments
    model = view.model
    assert model.rowCount() == len(segments) == 9
    # the table: customers, orders, revenue, average order value and the medians, best segment first
    first = [model.index(0, c).data() for c in range(model.columnCount())]
    # Champions is customer 11 alone (R 3, F 3, M 3): 4 orders of 3 mugs at 13.50
    total = sum(monetary(i) for i in range(N))
    assert first[:10] == [
        "Champions",
        "1",
        "2.5%",
        "4",
        "162.00",
        f"{100 * 162 / total:.1f}%",
        "40.50",
        "12.0",
        "4.0",
        "162.00",
    ]
    assert first[10] == three.rules.strategy("Champions")
    loyal = [i for i in range(N) if three.customers["rfm_segment"].iat[i] == "Loyal Customers"]
    assert model.index(1, 1).data() == str(len(loyal))
    assert model.index(1, 3).data() == str(sum(i % 4 + 1 for i in loyal))
    assert model.index(1, 7).data() == f"{np.median([i + 1 for i in loyal]):.1f}"
    # bar chart of the chosen metric, and revenue share against customer share
    assert view.chosen_metric() == "customers"
    assert view.bar_values() == dict(
        zip(segments["segment"], segments["customers"].astype(float), strict=True)
    )
    view.set_metric("monetary_median")
    assert view.bar_values()["Loyal Customers"] == pytest.approx(
        np.median([monetary(i) for i in loyal])
    )
    assert [round(w, 6) for w in view._bars["metric"].opts["width"]] == [
        round(v, 6) for v in segments["monetary_median"]
    ]
    shares = view.bar_values("share")
    assert shares["Loyal Customers"] == pytest.approx(
        (9 / 40, sum(monetary(i) for i in loyal) / total)
    )
    view.save_image(tmp_path / "segments.png")
    view.save_image(tmp_path / "segments.svg")
    svg = (tmp_path / "segments.svg").read_text(encoding="utf-8")
    assert "Revenue share vs customer share" in svg and "Median monetary by segment" in svg


def test_distributions(qtbot: Any, three: AnalysisResult, tmp_path: Path) -> None:
    view = _make(qtbot, DistributionsView)
    view.set_result(three)
    assert view.bar_heights("orders") == [10, 10, 10, 10]
    assert sum(view.bar_heights("recency")) == N == sum(view.bar_heights("monetary"))
    recency = view.bars["recency"].opts
    assert (recency["x0"][0], recency["x1"][-1]) == (1.0, 40.0)  # 1..40 days in 30 equal bars
    assert "10 customers (25.0%) bought 1 time" in view.note.text()
    view.save_image(tmp_path / "dist.svg")
    assert "Orders per customer" in (tmp_path / "dist.svg").read_text(encoding="utf-8")


def test_customer_table_search_sort_and_why(qtbot: Any, three: AnalysisResult) -> None:
    view = _make(qtbot, CustomersView)
    view.set_result(three)
    model = view.model
    assert model.rowCount() == N and view.count_label.text() == "40 customers"
    assert model.shown_ids()[:3] == ["10000", "10001", "10002"]
    view.search.setText("1001")
    view.apply_filter()  # what the typing pause does
    assert model.shown_ids() == [str(10010 + i) for i in range(10)]
    assert view.count_label.text() == "10 of 40 customers"
    # sort by monetary, largest first: customer 39 spends 4 x 1 x 41.5, customer 38 3 x 3 x 40.5
    view.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    view.search.clear()
    view.apply_filter()
    spend = sorted(range(N), key=lambda i: -monetary(i))
    assert model.shown_ids()[:3] == [str(10000 + i) for i in spend[:3]]
    assert model.index(0, 3).data() == f"{monetary(spend[0]):,.2f}"
    # a segment, and text searching the segment's name too
    view.segment_combo.setCurrentText("At Risk")
    at_risk = three.customers.loc[
        three.customers["rfm_segment"] == "At Risk", "customer_id"
    ].tolist()
    assert sorted(model.shown_ids()) == sorted(at_risk) and len(at_risk) == 4
    view.segment_combo.setCurrentText(ALL_SEGMENTS)
    view.search.setText("can't lose")
    view.apply_filter()
    assert len(model.shown_ids()) == 3
    view.search.clear()
    view.apply_filter()
    # "Why this segment" for the selected customer is the engine's explanation
    assert view.why_text() == ""
    assert view.select_customer("10007")
    expected = explain_customer(three, "10007")
    assert view.why_text() == expected.text
    assert expected.text in view.why.toPlainText().replace("\n", " ")
    page = view.why.toPlainText()
    assert "Customer 10007 → Loyal Customers" in page and "R 3" in page and "≤ 14 days" in page
    view.set_result(three)  # a redraw keeps the customer
    assert view.why_text() == expected.text


def test_hover_in_the_2d_view_explains_the_segment(qtbot: Any, three: AnalysisResult) -> None:
    view = _make(qtbot, Scatter2DView)
    view.set_result(three)
    view.set_axes("recency", "frequency")
    qtbot.wait(50)
    row = 7
    frame = three.customers
    text = view.hover_at(float(frame["recency"].iat[row]), float(frame["frequency"].iat[row]))
    assert text is not None and "Why this segment: " in text
    why = explain_customer(three, str(frame["customer_id"].iat[row])).text
    assert why.startswith("Customer 10007: ")
    assert re.sub(r"\s+", " ", text.split("Why this segment: ", 1)[1]) == why.split(": ", 1)[1]
