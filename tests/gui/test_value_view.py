"""The Value tab draws customer lifetime value: revenue at risk per segment ranked, the two
validation charts and the P(alive) matrix."""

from __future__ import annotations

import pyqtgraph as pg
import pytest

from rfm_desktop.core import io, pipeline
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ValueOptions
from rfm_desktop.gui.views.value import NOT_COMPUTED, ValueView


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
