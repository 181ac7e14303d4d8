"""The Value tab draws customer lifetime value: revenue at risk per segment ranked, the two
validation charts and the P(alive) matrix."""

from __future__ import annotations

import pandas as pd
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from rfm_desktop.core import io, pipeline, value
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ValueOptions
from rfm_desktop.gui.views.value import NO_VALIDATION, NOT_COMPUTED, ValueView


def _run(path, calibration_end=None):
    params = AnalysisParams(
        input_path=str(path),
        clustering=ClusteringOptions(k=3, sweep=False),
        clv=ValueOptions(enabled=True, calibration_end=calibration_end),
    )
    return pipeline.run(params, transactions=io.read_transactions(str(path)))


@pytest.fixture(scope="module")
def real_value_result(real_data_path):
    return _run(real_data_path, "2011-09-01")


def _view(qtbot, result, size=(1100, 720)):
    view = ValueView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    view.set_result(result)
    return view


def _curves(widget: pg.PlotWidget) -> list:
    return [i for i in widget.getPlotItem().items if isinstance(i, pg.PlotDataItem)]


@pytest.mark.realdata
def test_value_tab_ranks_segments_and_draws_the_validation(qtbot, real_value_result, tmp_path):
    view = _view(qtbot, real_value_result)
    model = view.model
    at_risk = [model.row_object(i)["revenue_at_risk"] for i in range(model.rowCount())]
    assert at_risk == sorted(at_risk, reverse=True)
    assert model.rowCount() == len(real_value_result.segments)
    assert model.row_object(0)["segment"] == "Loyal Customers"
    shown = view.table.model()  # the sorted view says the same order
    assert [shown.index(i, 0).data() for i in range(3)] == [
        model.row_object(i)["segment"] for i in range(3)
    ]
    assert (
        "predicted CLV" in view.note.text()
        and "almost no customers dropping out" in view.note.text()
    )
    frequency = _curves(view.plots["by_frequency"])
    assert len(frequency) == 2 and len(frequency[0].getData()[0]) == 8  # 0…6 and 7+
    assert len(_curves(view.plots["cumulative"])) == 2
    images = [i for i in view.plots["p_alive"].getPlotItem().items if isinstance(i, pg.ImageItem)]
    assert len(images) == 1 and images[0].image.shape[1] == len(
        real_value_result.value.matrices["repeat_purchases"]
    )
    view.grab_png(tmp_path / "value.png")
    assert (tmp_path / "value.png").stat().st_size > 10_000


def test_value_tab_without_clv_says_how_to_turn_it_on(qtbot, sample_path):
    params = AnalysisParams(
        input_path=str(sample_path), clustering=ClusteringOptions(k=3, sweep=False)
    )
    view = _view(qtbot, pipeline.run(params))
    assert view.note.text() == NOT_COMPUTED
    assert not view.table.isVisibleTo(view) and view.model.rowCount() == 0


def test_value_tab_shows_why_there_is_no_validation(qtbot, sample_path):
    # the bundled sample's calibration fit reaches a limit: the run goes on without validation
    view = _view(qtbot, _run(sample_path, "2011-09-01"), size=(1024, 640))
    assert "No validation" in view.note.text()
    texts = [
        i for i in view.plots["by_frequency"].getPlotItem().items if isinstance(i, pg.TextItem)
    ]
    assert texts and "cannot predict" in texts[0].toPlainText()
    assert view.model.rowCount() > 0


@pytest.fixture(scope="module")
def sample_value_result(sample_path):
    return _run(sample_path)


@pytest.fixture(scope="module")
def sample_plain_result(sample_path):
    params = AnalysisParams(
        input_path=str(sample_path), clustering=ClusteringOptions(k=3, sweep=False)
    )
    return pipeline.run(params)


def _cell(model, row: int, column: int) -> str:
    return model.index(row, column).data()


def test_the_customer_table_shows_each_customers_value(
    qtbot, sample_value_result, sample_plain_result
):
    from rfm_desktop.gui.views.customers import COLUMNS, CustomersView

    view = CustomersView()
    qtbot.addWidget(view)
    view.set_result(sample_value_result)
    at = {c.column: i for i, c in enumerate(COLUMNS)}
    customers = sample_value_result.customers.set_index("customer_id")
    model = view.model
    for row in (0, 7, model.rowCount() - 1):
        got = customers.loc[model.customer_id(row)]
        assert _cell(model, row, at["p_alive"]) == f"{got['p_alive']:.3f}"
        assert _cell(model, row, at["expected_purchases"]) == f"{got['expected_purchases']:,.2f}"
        assert _cell(model, row, at["expected_avg_spend"]) == f"{got['expected_avg_spend']:,.2f}"
        assert _cell(model, row, at["predicted_clv"]) == f"{got['predicted_clv']:,.2f}"
        assert _cell(model, row, at["revenue_at_risk"]) == f"{got['revenue_at_risk']:,.2f}"
        nxt = got["expected_next_order"]
        assert _cell(model, row, at["expected_next_order"]) == (
            "–" if nxt is pd.NaT else f"{nxt:%Y-%m-%d}"
        )
    assert not any(view.table.isColumnHidden(at[c]) for c in value.CUSTOMER_COLUMNS)
    model.sort(at["predicted_clv"], Qt.SortOrder.DescendingOrder)
    best = customers["predicted_clv"].idxmax()
    assert model.customer_id(0) == best
    assert view.select_customer(best)
    why = view.why.toPlainText()
    top = customers.loc[best]
    assert (
        f"Value over the next 365 days: {top['predicted_clv']:,.2f} (P(alive) "
        f"{top['p_alive']:.3f}, {top['expected_purchases']:,.2f} purchases of "
        f"{top['expected_avg_spend']:,.2f} expected; next order expected by "
        f"{top['expected_next_order']:%Y-%m-%d}); revenue at risk {top['revenue_at_risk']:,.2f}."
    ) in why
    view.set_result(sample_plain_result)
    assert all(view.table.isColumnHidden(at[c]) for c in value.CUSTOMER_COLUMNS)
    assert "Value over the next" not in view.why.toPlainText()
    assert not view.table.isColumnHidden(at["monetary"])


def test_the_segment_tables_show_value_per_cluster_and_named_segment(
    qtbot, sample_value_result, sample_plain_result
):
    from rfm_desktop.gui.views import rfmsegments, segments

    result = sample_value_result
    customers = result.customers
    clusters = segments.SegmentsView()
    qtbot.addWidget(clusters)
    clusters.set_result(result)
    per_cluster = value.group_table(customers, "cluster").set_index("cluster")
    for row in range(clusters.model.rowCount()):
        profile = clusters.model.profile(row)
        expected = per_cluster.loc[profile.id]
        cells = [_cell(clusters.model, row, c) for c in segments.VALUE_COLS]
        assert cells == [
            f"{expected['predicted_clv_sum']:,.0f}",
            f"{expected['predicted_clv_mean']:,.0f}",
            f"{int(expected['customers_p_alive_below_half']):,}",
            f"{expected['revenue_at_risk']:,.0f}",
        ]
    named = rfmsegments.RFMSegmentsView()
    qtbot.addWidget(named)
    named.set_result(result)
    per_segment = value.group_table(customers, "rfm_segment").set_index("rfm_segment")
    at_risk = rfmsegments.VALUE_COLUMNS[-1]
    for row in range(named.model.rowCount()):
        name = named.model.row_object(row)["segment"]
        expected = per_segment.loc[name, "revenue_at_risk"]
        assert _cell(named.model, row, at_risk) == f"{expected:,.0f}"
    assert not any(clusters.table.isColumnHidden(c) for c in segments.VALUE_COLS)
    clusters.set_result(sample_plain_result)
    named.set_result(sample_plain_result)
    assert all(clusters.table.isColumnHidden(c) for c in segments.VALUE_COLS)
    assert all(named.table.isColumnHidden(c) for c in rfmsegments.VALUE_COLUMNS)


def test_the_value_tab_ranks_clusters_too(qtbot, sample_value_result):
    view = _view(qtbot, sample_value_result, size=(1024, 640))
    view.set_grouping("cluster")
    expected = value.group_table(sample_value_result.customers, "cluster_name")
    shown = view.table.model()
    assert [shown.index(i, 0).data() for i in range(shown.rowCount())] == expected[
        "cluster_name"
    ].tolist()
    assert [shown.index(i, 2).data() for i in range(shown.rowCount())] == [
        f"{v:,.0f}" for v in expected["revenue_at_risk"]
    ]
    view.set_grouping("rfm_segment")
    assert view.model.rowCount() == len(sample_value_result.segments)
    # no calibration end: the charts say where to set one instead of drawing empty axes
    plot = view.plots["cumulative"].getPlotItem()
    texts = [i.toPlainText() for i in plot.items if isinstance(i, pg.TextItem)]
    assert texts == [NO_VALIDATION] and not plot.getAxis("left").isVisible()


def _title_shown(widget) -> tuple[str, float, float]:
    """The title's text and where its drawn text starts and ends in the plot widget (pixels)."""
    from PySide6.QtGui import QTextDocument

    label = widget.getPlotItem().titleLabel
    rect = widget.mapFromScene(label.item.mapRectToScene(label.item.boundingRect())).boundingRect()
    document = QTextDocument()
    document.setHtml(label.text)
    return document.toPlainText(), rect.left(), rect.right()


def test_chart_titles_fit_at_1024_by_640_with_the_whole_title_as_tooltip(
    qtbot, sample_value_result
):
    view = _view(qtbot, sample_value_result, size=(1010, 560))  # the tab at 1024×640
    qtbot.waitUntil(lambda: view.plots["p_alive"].width() < 340)
    elided = 0
    for widget in view.plots.values():
        qtbot.waitUntil(lambda w=widget: _title_shown(w)[2] <= w.width())
        text, left, right = _title_shown(widget)
        assert left >= 0 and right <= widget.width(), text
        full = widget.full_title()
        tip = widget.getPlotItem().titleLabel.toolTip()
        if text != full:
            elided += 1
            assert text.endswith("…") and full.startswith(text[:-1]) and tip == full
        else:
            assert tip == ""
    assert elided >= 1  # the P(alive) matrix's title does not fit a third of 1024 pixels
    assert view.plots["p_alive"].full_title() == "P(alive) by repeat purchases × days silent"
    # wide enough, the whole title again
    view.resize(1600, 900)
    widget = view.plots["p_alive"]
    qtbot.waitUntil(lambda: _title_shown(widget)[0] == widget.full_title())
    assert widget.getPlotItem().titleLabel.toolTip() == ""
