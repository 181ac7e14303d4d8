"""The Backtest tab (issue 12): the backtest runs on the worker, the table and bars show
core.backtest's numbers, a shortened horizon is said, and the export writes the CLI's bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyqtgraph as pg
import pytest
from made_transactions import write_rows

from rfm_desktop import cli
from rfm_desktop.core import backtest, pipeline
from rfm_desktop.core.errors import DataError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.gui.views.backtest import BacktestView

#: six customers before 2024-03-01; P1 buys twice in March, P2 once in March and once in April;
#: N1 is new in March; the data end on 2024-04-15
ROWS = [
    ("P1", "10", "2024-01-03", 40.0),
    ("P1", "11", "2024-02-20", 60.0),
    ("P2", "12", "2024-01-15", 500.0),
    ("P3", "13", "2024-01-20", 15.0),
    ("P4", "14", "2024-02-01", 25.0),
    ("P4", "15", "2024-02-25", 35.0),
    ("P5", "16", "2024-02-10", 900.0),
    ("P6", "17", "2024-01-05", 5.0),
    ("P1", "20", "2024-03-01", 50.0),
    ("P1", "21", "2024-03-30", 30.0),
    ("P2", "22", "2024-03-10", 100.0),
    ("N1", "23", "2024-03-12", 999.0),
    ("P2", "24", "2024-04-15", 80.0),
]


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Any]:
    path = write_rows(tmp_path / "shop.csv", ROWS)
    params = AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=2, sweep=False))
    return path, pipeline.run(params)


def _view(qtbot: Any, result: Any) -> BacktestView:
    view = BacktestView()
    qtbot.addWidget(view)
    view.resize(1200, 760)
    view.show()
    view.set_result(result)
    return view


def _run(qtbot: Any, view: BacktestView, as_of: str, days: int) -> None:
    view.set_inputs(as_of, days)
    with qtbot.waitSignal(view.backtestShown, timeout=60_000):
        view.run_button.click()
        assert view.is_running() and view.cancel_button.isVisibleTo(view)
    assert not view.is_running() and view.run_button.isEnabled()


def _bars(view: BacktestView) -> pg.BarGraphItem:
    items = view.plot_widget.getPlotItem().items
    return next(i for i in items if isinstance(i, pg.BarGraphItem))


def test_the_tab_shows_core_backtests_numbers_as_table_and_bars(
    qtbot: Any, shop: tuple[Path, Any], errors: list
) -> None:
    path, result = shop
    view = _view(qtbot, result)
    assert f"{result.snapshot_date:%Y-%m-%d}" == "2024-04-16"  # the day after the data
    assert view.as_of() == "2024-01-17"  # 90 days before it (2024 is a leap year)
    assert not view.splitter.isVisibleTo(view)  # no table or bars before a backtest
    _run(qtbot, view, "2024-03-01", 30)
    assert view.splitter.isVisibleTo(view)
    assert errors == []
    params = result.params.replace(as_of="2024-03-01")
    expected_result, expected = backtest.run_backtest(params, 30)
    pd.testing.assert_frame_equal(view.backtest.table, expected.table)
    pd.testing.assert_frame_equal(view.backtest.customers, expected.customers)
    assert not view.warning_label.isVisible()
    # 2 of the 6 customers before the date bought in the 30 days (P1, P2; N1 is in no group)
    assert "6 customers segmented on the data before 2024-03-01, measured over 30 days" in (
        view.note.text()
    )
    assert "(until 2024-03-30): 33.3% of them bought again" in view.note.text()
    for grouping in ("rfm_segment", "cluster"):
        view.set_grouping(grouping)
        rows = expected.table[expected.table["grouping"].isin(["all", grouping])]
        model = view.model
        assert [model.row_object(i)["segment"] for i in range(model.rowCount())] == rows[
            "segment"
        ].tolist()
        texts = [model.index(i, 2).data() for i in range(model.rowCount())]
        assert texts == [f"{100 * s:.1f}%" for s in rows["bought_again_share"]]
        groups = rows[rows["grouping"] == grouping]
        bars = _bars(view)
        assert list(bars.opts["width"]) == pytest.approx(list(groups["bought_again_share"] * 100))
        ticks = view.plot_widget.getPlotItem().getAxis("left")._tickLevels[0]
        assert [name for _y, name in sorted(ticks, reverse=True)] == groups["segment"].tolist()
        labels = [
            i.toPlainText()
            for i in view.plot_widget.getPlotItem().items
            if isinstance(i, pg.TextItem)
        ]
        assert labels == [
            f" {100 * s:.1f}%  ×{lift:.2f}"
            for s, lift in zip(groups["bought_again_share"], groups["lift"], strict=True)
        ]
    assert sum(view.backtest.table.query("grouping == 'cluster'")["customers"]) == 6


def test_a_horizon_past_the_data_is_shortened_and_said(qtbot: Any, shop: tuple[Path, Any]) -> None:
    _path, result = shop
    view = _view(qtbot, result)
    _run(qtbot, view, "2024-03-01", 90)
    assert view.backtest.horizon_days == 46 and view.backtest.requested_days == 90
    assert view.warning_label.isVisible()
    assert view.warning_label.text() == (
        "⚠ The data end on 2024-04-15, 46 days after the as-of date: the horizon is shortened "
        "from 90 to 46 days."
    )
    # P2's April order is inside the shortened horizon now
    customers = view.backtest.customers.set_index("customer_id")
    assert customers.loc["P2", "orders_in_horizon"] == 2


def test_the_export_writes_the_clis_bytes(
    qtbot: Any, shop: tuple[Path, Any], tmp_path: Path
) -> None:
    path, result = shop
    view = _view(qtbot, result)
    _run(qtbot, view, "2024-03-01", 30)
    with qtbot.waitSignal(view.exported, timeout=30_000) as blocker:
        view.export_to(tmp_path / "gui")
    written = [p.name for p in blocker.args[0]]
    assert written == ["backtest.csv", "backtest_customers.csv", "run.json"]
    code = cli.main(
        [
            "backtest",
            str(path),
            "--as-of",
            "2024-03-01",
            "--horizon-days",
            "30",
            "--k",
            "2",
            "--out",
            str(tmp_path / "cli"),
            "--quiet",
        ]  # fmt: skip
    )
    assert code == 0
    for name in ("backtest.csv", "backtest_customers.csv"):
        gui_bytes = (tmp_path / "gui" / name).read_bytes()
        assert gui_bytes == (tmp_path / "cli" / name).read_bytes(), name
    table = pd.read_csv(tmp_path / "gui" / "backtest.csv")
    assert table["customers"].iloc[0] == 6
    assert table["bought_again_share"].iloc[0] == pytest.approx(2 / 6, abs=1e-6)
    assert "Wrote backtest.csv, backtest_customers.csv, run.json" in view.note.text()


def test_an_as_of_date_after_the_data_is_an_error_dialog(
    qtbot: Any, shop: tuple[Path, Any], errors: list
) -> None:
    _path, result = shop
    view = _view(qtbot, result)
    view.set_inputs("2024-06-01", 30)
    view.run_button.click()
    qtbot.waitUntil(lambda: bool(errors) and not view.is_running(), timeout=60_000)
    assert isinstance(errors[0], DataError)
    assert "No transactions are dated on or after the as-of date 2024-06-01" in errors[0].message
    assert errors[0].hint == "Choose an earlier as-of date."
    assert view.backtest is None and not view.export_button.isEnabled()


def test_the_tab_is_in_the_results_and_forgets_a_backtest_of_other_settings(
    window: Any, qtbot: Any, shop: tuple[Path, Any]
) -> None:
    path, result = shop
    window.ensure_pages()  # as after opening a file
    window.show_result(result)
    view = window.results.view_of(BacktestView)
    assert view is not None and view.result is result
    _run(qtbot, view, "2024-03-01", 30)
    renamed = result.rename_cluster(0, "Big ones")
    window.results.set_result(renamed, edited=True)
    assert view.backtest is not None  # a rename: the same run settings
    other = pipeline.run(result.params.replace(clustering=ClusteringOptions(k=3, sweep=False)))
    window.show_result(other)
    assert view.backtest is None and view.model.rowCount() == 0
