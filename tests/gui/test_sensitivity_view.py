"""The Sensitivity tab (issue 13, point 2): core.sensitivity's table on screen, computed in the
worker with progress and Cancel, kept with the result, exported as the CLI's sensitivity.csv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from rfm_desktop.core import pipeline, sensitivity
from rfm_desktop.core.analysis_file import load_analysis
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.export_dialog import ExportDialog
from rfm_desktop.gui.views.sensitivity import MAIN_ROLE, TABLE_COLUMNS, SensitivityView
from rfm_desktop.gui.views.tables import SORT_ROLE


def _orders_csv(path: Path) -> str:
    """120 customers in three groups of order counts and spend, a few big spenders among them."""
    rng = np.random.default_rng(7)
    rows = []
    for customer in range(120):
        group = customer % 3
        orders = int(rng.integers(1, 3) if group == 0 else rng.integers(6, 12) if group == 1 else 3)
        big = 20.0 if customer % 23 == 0 else 1.0
        for order in range(orders):
            rows.append(
                {
                    "InvoiceNo": f"{customer}-{order}",
                    "InvoiceDate": pd.Timestamp("2011-01-01")
                    + pd.Timedelta(days=int(rng.integers(0, 300))),
                    "CustomerID": f"c{customer}",
                    "Quantity": 1,
                    "UnitPrice": big
                    * float(rng.uniform(5, 15) if group != 1 else rng.uniform(40, 60)),
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


@pytest.fixture
def params(tmp_path: Path) -> AnalysisParams:
    return AnalysisParams(
        input_path=_orders_csv(tmp_path / "orders.csv"),
        clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=3),
    )


def _view(qtbot: Any, result: Any) -> SensitivityView:
    view = SensitivityView()
    qtbot.addWidget(view)
    view.resize(1200, 600)
    view.show()
    view.set_result(result)
    return view


def _run(qtbot: Any, view: SensitivityView) -> None:
    with qtbot.waitSignal(view.ended, timeout=120_000) as ended:
        view.run_button.click()
        assert view.is_running() and view.cancel_button.isVisible()
        assert not view.run_button.isEnabled()
    assert ended.args == ["done"]


def _shown(view: SensitivityView) -> list[list[str]]:
    model = view.proxy
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_the_tab_shows_the_engines_table_and_keeps_it(qtbot: Any, params: AnalysisParams) -> None:
    result = pipeline.run(params)
    view = _view(qtbot, result)
    assert view.model.rowCount() == 0 and view.table_frame() is None
    assert view.run_button.isEnabled() and not view.export_button.isEnabled()
    assert "Not run yet" in view.status.text()

    _run(qtbot, view)
    expected = sensitivity.compare(result, pipeline.load(params))
    pd.testing.assert_frame_equal(view.table_frame(), expected)
    assert result.sensitivity is view.table_frame()  # kept with the result, as the CLI does
    assert view.export_button.isEnabled() and view.run_button.isEnabled()
    assert not view.bar.isVisible() and not view.cancel_button.isVisible()
    # every line on screen is the engine's line, in its order, the main run first and marked
    rows = expected.to_dict("records")
    shown = _shown(view)
    assert [r[0] for r in shown] == expected["variant"].tolist()
    for line, row in zip(shown, rows, strict=True):
        assert line[1] == str(row["k"])
        assert line[2] == f"{row['silhouette']:,.3f}"
        assert line[3] == f"{row['stability_ari']:,.2f}"
        assert line[4] == str(row["clusters_dissolving"])
        assert line[5] == row["cluster_sizes"]
        assert line[6] == f"{row['customers']:,}"
        for text, key in ((line[7], "cluster"), (line[8], "segment")):
            count, share = row[f"customers_changing_{key}"], row[f"share_changing_{key}"]
            assert text == f"{count:,} ({100 * share:.1f}%)"
    marked = [view.proxy.index(r, 0).data(MAIN_ROLE) for r in range(view.proxy.rowCount())]
    assert marked == [True] + [False] * (len(rows) - 1)
    assert view.proxy.index(0, 3).data(Qt.ItemDataRole.FontRole).bold()

    # sorting by the customers changing segment: by the count, the main run still marked
    column = [c.header for c in TABLE_COLUMNS].index("Changing\nnamed segment")
    view.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    counts = [view.proxy.index(r, column).data(SORT_ROLE) for r in range(view.proxy.rowCount())]
    assert counts == sorted(expected["customers_changing_segment"], reverse=True)
    main_row = [view.proxy.index(r, 0).data() for r in range(len(rows))].index("main run")
    assert view.proxy.index(main_row, 0).data(MAIN_ROLE)

    # a rename is the same run: the table stays; a new analysis starts without one
    view.set_result(result.rename_cluster(0, "Best buyers"))
    pd.testing.assert_frame_equal(view.table_frame(), expected)
    assert view.model.rowCount() == len(rows)
    other = pipeline.run(params.replace(clustering=ClusteringOptions(k=2, sweep=False)))
    view.set_result(other)
    assert view.table_frame() is None and view.model.rowCount() == 0
    assert "Not run yet" in view.status.text() and not view.export_button.isEnabled()


def test_cancel_leaves_the_window_usable(
    window: Any, qtbot: Any, params: AnalysisParams, errors: list
) -> None:
    result = pipeline.run(params)
    window.ensure_pages()  # as after the wizard's run
    window.show_result(result)
    view = window.results.view_of(SensitivityView)
    window.results.show_view(view)
    with qtbot.waitSignal(view.ended, timeout=60_000) as ended:
        view.run_button.click()
        view.cancel_button.click()
    assert ended.args == ["cancelled"] and not view.is_running()
    assert view.table_frame() is None and view.model.rowCount() == 0
    assert view.run_button.isEnabled() and not view.cancel_button.isVisible()
    assert view.status.text().startswith("Cancelled")
    # the window goes on: other tabs, and the variants again, to the end
    window.results.show_view(window.results.views[0])
    assert window.results.current_view() is window.results.views[0]
    window.results.show_view(view)
    _run(qtbot, view)
    assert len(view.table_frame()) == 6 and not errors
    # the table stays while the analyst looks at other tabs
    for other in window.results.views:
        window.results.show_view(other)
    window.results.show_view(view)
    assert view.model.rowCount() == 6 and window.result.sensitivity is view.table_frame()


@pytest.mark.parametrize("how", ["esc", "menu"])
def test_the_apps_cancel_stops_the_variants(
    window: Any, qtbot: Any, params: AnalysisParams, errors: list, how: str
) -> None:
    """Esc and Analysis > Cancel stop the variants as the tab's own Cancel does; the app's own
    background work (the preload) is not cancelled by them."""
    from PySide6.QtTest import QTest

    from rfm_desktop.gui import worker

    result = pipeline.run(params)
    window.ensure_pages()
    window.show_result(result)
    view = window.results.view_of(SensitivityView)
    window.results.show_view(view)
    background = worker.start_worker(lambda task: task.cancelled(), background=True)
    background.cancel = lambda: pytest.fail("the app's Cancel stopped a background job")
    if how == "esc":
        # the window must have the keyboard before the run starts: waiting for it after the
        # click let the variants of this small input finish first on a busy machine (a race)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    with qtbot.waitSignal(view.ended, timeout=60_000) as ended:
        view.run_button.click()
        assert view.is_running()
        if how == "esc":
            QTest.keyClick(view.table, Qt.Key.Key_Escape)
        else:
            menu = next(a.menu() for a in window.menuBar().actions() if "Analysis" in a.text())
            assert window.cancel_action in menu.actions()
            window.cancel_action.trigger()
    assert ended.args == ["cancelled"] and not view.is_running()
    assert view.table_frame() is None and view.status.text().startswith("Cancelled")
    assert view.run_button.isEnabled() and not view.cancel_button.isVisible()
    assert background.wait(30) and not errors


def test_a_new_analysis_stops_the_variants_of_the_old_one(
    qtbot: Any, params: AnalysisParams
) -> None:
    result = pipeline.run(params)
    view = _view(qtbot, result)
    with qtbot.waitSignal(view.ended, timeout=60_000) as ended:
        view.run_button.click()
        view.set_result(
            pipeline.run(params.replace(clustering=ClusteringOptions(k=2, sweep=False)))
        )
    assert ended.args == ["cancelled"]
    assert result.sensitivity is None and view.table_frame() is None


def test_a_changed_file_is_said_not_compared(
    qtbot: Any, params: AnalysisParams, errors: list
) -> None:
    result = pipeline.run(params)
    with open(params.input_path, "a", encoding="utf-8") as file:
        file.write("x-1,2011-05-05,c1,1,10.0\n")
    view = _view(qtbot, result)
    with qtbot.waitSignal(view.ended, timeout=60_000) as ended:
        view.run_button.click()
    assert ended.args == ["failed"] and view.table_frame() is None
    assert "changed since the analysis ran" in view.status.text()
    assert [type(e).__name__ for e in errors] == ["InputFileError"]
    assert view.run_button.isEnabled()


def test_export_writes_the_clis_bytes(
    window: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path, sample_path: Path
) -> None:
    from rfm_desktop import cli

    out = tmp_path / "cli"
    args = ["segment", str(sample_path), "--out", str(out), "--k", "3", "--stability", "2"]
    assert cli.main([*args, "--sensitivity", "--quiet"]) == 0
    # the GUI's run of the same settings (without the CLI's --sensitivity flag)
    params = load_analysis(out / "run.json").replace(sensitivity=False)
    window.ensure_pages()
    window.show_result(pipeline.run(params))
    view = window.results.view_of(SensitivityView)
    window.results.show_view(view)
    _run(qtbot, view)

    target = tmp_path / "gui" / "shop-sensitivity.csv"
    asked = []

    def run(dialog: ExportDialog) -> bool:
        asked.append(dialog.kind())
        assert not dialog.format_combo.isEnabled()
        dialog.target_edit.setText(str(target))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", run)
    with qtbot.waitSignal(window.exportWritten, timeout=60_000) as written:
        view.export_button.click()
    assert asked == ["sensitivity"]
    assert written.args[0] == [target]
    assert target.read_bytes() == (out / "sensitivity.csv").read_bytes()
    record = json.loads((target.parent / "run.json").read_text(encoding="utf-8"))
    assert record["files"] == ["shop-sensitivity.csv"]
