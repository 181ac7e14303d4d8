"""File ▸ Compare with a previous analysis… and the Migration tab (issue 12): the comparison runs on
the worker, the views take the previous names, the heatmap and the flow chart show core.compare's
counts, and a cell's customers become the selection the export writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from made_transactions import write_rows
from PySide6.QtCore import QPoint, QPointF, Qt

from rfm_desktop.core import compare, export, pipeline
from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.export_dialog import ExportDialog
from rfm_desktop.gui.views import MigrationView, SegmentsView


def _invoices(customer: str, first: int, dates: list[str], amount: float) -> list[tuple]:
    return [(customer, str(first + i), d, amount) for i, d in enumerate(dates)]


FEB = ["2024-02-02", "2024-02-09", "2024-02-16", "2024-02-20", "2024-02-27"]
MARCH = [f"2024-03-{d:02d}" for d in range(2, 22)]
#: small buyers A, B, C and big ones D, E, F; then C is gone, A grows, G and H are new and huge
OLD_ROWS = [
    ("A", "100", "2024-01-05", 10.0),
    ("B", "101", "2024-01-12", 12.0),
    ("C", "102", "2024-01-19", 14.0),
    *_invoices("D", 200, FEB, 200.0),
    *_invoices("E", 300, FEB, 210.0),
    *_invoices("F", 400, FEB, 190.0),
]
NEW_ROWS = [
    *[r for r in OLD_ROWS if r[0] != "C"],
    *_invoices("A", 500, MARCH[:5], 300.0),
    *_invoices("G", 600, MARCH, 5000.0),
    *_invoices("H", 700, MARCH, 5200.0),
]


def _run(path: Path, k: int) -> Any:
    return pipeline.run(
        AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=k, sweep=False))
    )


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Any, Path]:
    """The new result (K=3) and the previous one written as a folder (K=2, clusters renamed)."""
    old = _run(write_rows(tmp_path / "may.csv", OLD_ROWS), 2)
    old = old.rename_cluster(0, "Whales").rename_cluster(1, "Small fry")
    export.export_all(old, tmp_path / "may-result")
    return _run(write_rows(tmp_path / "june.csv", NEW_ROWS), 3), tmp_path / "may-result"


def _compared(window: Any, qtbot: Any, new: Any, folder: Path) -> MigrationView:
    window.show_result(new)
    migration = window.results.view_of(MigrationView)
    with qtbot.waitSignal(window.resultShown, timeout=30_000):
        window.compare_with(str(folder))
    return migration


def _inside(flow: Any, source: str, target: str) -> QPoint:
    """A pixel of the band from ``source`` to ``target`` that no other band covers."""
    path = next(p for p, s, t, _n in flow.bands if (s, t) == (source, target))
    box = path.boundingRect()
    for fx in (0.5, 0.3, 0.7, 0.15, 0.85):
        for i in range(1, 40):
            point = QPointF(box.left() + fx * box.width(), box.top() + i / 40 * box.height())
            hit = flow.band_at(point)
            if hit is not None and hit[:2] == (source, target):
                return point.toPoint()
    raise AssertionError(f"no pixel of the band {source} → {target}")


def _cells(view: MigrationView) -> list[list[str]]:
    heat = view.heatmap
    return [
        [heat.item(i, j).text() for j in range(heat.columnCount())] for i in range(heat.rowCount())
    ]


def test_compare_runs_on_the_worker_and_the_views_show_the_previous_names(
    window: Any, qtbot: Any, runs: tuple[Any, Path], errors: list
) -> None:
    new, folder = runs
    expected = compare.compare_with(new, compare.load_previous(folder))
    migration = _compared(window, qtbot, new, folder)
    assert errors == []
    shown = window.result
    assert shown is not new and shown.matching is not None
    renumbered = new.cluster(0).name.replace("C1 · ", "C3 · ")
    assert [(c.id, c.name, c.size) for c in shown.clusters] == [
        (0, "Whales", 4),
        (1, "Small fry", 1),
        (2, renumbered, 2),
    ]
    assert [(c.id, c.name) for c in shown.clusters] == [
        (c.id, c.name) for c in expected.result.clusters
    ]
    segments = window.results.view_of(SegmentsView)
    assert segments.result is shown  # every view draws the matched result
    assert window.results.current_view() is migration
    # the RFM table: core.compare's counts, with (new) and (gone)
    pd.testing.assert_frame_equal(
        migration.table(), expected.tables["migration_rfm"].set_index("from")
    )
    migration.set_grouping("clusters")
    table = migration.table()
    pd.testing.assert_frame_equal(table, expected.tables["migration_clusters"].set_index("from"))
    assert list(table.columns) == ["Whales", "Small fry", renumbered, "(gone)"]
    assert list(table.index) == ["Whales", "Small fry", "(new)"]
    # counts and row shares in the cells: Small fry had A, B, C; A grew, B stayed, C is gone
    assert _cells(migration) == [
        ["3\n100.0%", "·", "·", "·"],
        ["1\n33.3%", "1\n33.3%", "·", "1\n33.3%"],
        ["·", "·", "2\n100.0%", "·"],
    ]
    heat = migration.heatmap
    assert [heat.verticalHeaderItem(i).text() for i in range(3)] == [
        "Whales  (3)",
        "Small fry  (3)",
        "(new)  (2)",
    ]
    assert heat.item(1, 3).toolTip().startswith("Small fry → (gone): 1 customers, 33.3% of the 3")
    assert "cannot be selected" in heat.item(1, 3).toolTip()
    note = migration.note.text()
    assert "6 customers there, 7 here; 2 new, 1 gone" in note
    assert f"{len(expected.tables['movers'])} changed segment or cluster" in note
    assert f"New clusters: {renumbered}." in note
    # the flow chart draws one band per non-empty cell
    migration.flow.resize(600, 400)
    migration.flow.repaint()
    bands = sorted((str(s), str(t), n) for _p, s, t, n in migration.flow.bands)
    assert bands == sorted(
        [
            ("Small fry", "Small fry", 1),
            ("Small fry", "Whales", 1),
            ("Small fry", "(gone)", 1),
            ("Whales", "Whales", 3),
            ("(new)", renumbered, 2),
        ]
    )


def test_a_cell_selects_its_customers_and_the_export_writes_them(
    window: Any, qtbot: Any, runs: tuple[Any, Path], monkeypatch: Any, tmp_path: Path
) -> None:
    new, folder = runs
    migration = _compared(window, qtbot, new, folder)
    migration.set_grouping("clusters")
    heat = migration.heatmap
    # a real click on "(new)" → the new cluster
    rect = heat.visualRect(heat.model().index(2, 2))
    qtbot.mouseClick(heat.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sorted(window.results.selected_customer_ids()) == ["G", "H"]
    assert "2 customers selected ((new) → " in migration.selection_label.text()
    # Small fry → Whales: customer A, whom the previous run called small
    assert migration.choose("Small fry", "Whales") == ["A"]
    assert window.results.selected_customer_ids() == ["A"]
    assert migration.export_button.isEnabled()
    # the (gone) column: C is not in this result
    assert migration.choose("Small fry", "(gone)") == []
    assert window.results.selected_customer_ids() == ["A"]
    assert "not in this analysis" in migration.selection_label.text()
    # the export path: the dialog offers the selection and writes it
    target = tmp_path / "small-to-whales.csv"

    def run(dialog: ExportDialog) -> bool:
        assert dialog.selection_radio.isEnabled() and dialog.selection_radio.isChecked()
        dialog.target_edit.setText(str(target))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", run)
    with qtbot.waitSignal(window.exportWritten, timeout=30_000):
        migration.export_button.click()
    written = pd.read_csv(target, dtype={"customer_id": str})
    assert written["customer_id"].tolist() == ["A"]
    assert written["cluster_name"].tolist() == ["Whales"]
    # named segments: every cell's customers are core.compare's, summing to the cell
    migration.set_grouping("rfm")
    table = migration.table()
    previous = compare.load_previous(folder)
    for source in table.index:
        for target_name in table.columns:
            if target_name == "(gone)" or not table.at[source, target_name]:
                continue
            ids = migration.choose(source, target_name)
            assert len(ids) == table.at[source, target_name]
            assert ids == compare.cell_customers(
                previous, window.result, "rfm_segment", source, target_name
            )
            assert sorted(window.results.selected_customer_ids()) == ids


def test_a_band_click_selects_like_its_cell_and_a_lasso_forgets_the_cell(
    window: Any, qtbot: Any, runs: tuple[Any, Path]
) -> None:
    new, folder = runs
    migration = _compared(window, qtbot, new, folder)
    migration.set_grouping("clusters")
    flow = migration.flow
    flow.resize(600, 400)
    flow.repaint()
    qtbot.mouseClick(flow, Qt.MouseButton.LeftButton, pos=_inside(flow, "Small fry", "Whales"))
    assert window.results.selected_customer_ids() == ["A"]
    assert migration._delegate.chosen == (1, 0)
    scatter = window.results.find_view("selected_customer_ids")
    scatter.clear_selection()
    assert migration._delegate.chosen is None and not migration.export_button.isEnabled()


def test_a_rename_after_the_comparison_is_in_the_table_and_a_new_run_is_not_compared(
    window: Any, qtbot: Any, runs: tuple[Any, Path]
) -> None:
    new, folder = runs
    migration = _compared(window, qtbot, new, folder)
    migration.set_grouping("clusters")
    window.results.rename_cluster(0, "Big spenders")
    assert list(migration.table().columns)[0] == "Big spenders"
    assert list(migration.table().index)[0] == "Whales"  # the previous analysis's name
    assert "Big spenders (drift" in migration.note.text()
    window.show_result(new)  # a new run: not compared with anything
    assert migration.comparison is None and migration.table().empty
    assert "File ▸ Compare with a previous analysis" in migration.note.text()
    assert not migration.body.isVisibleTo(migration)


def test_a_folder_that_is_no_result_is_an_error_dialog(
    window: Any, qtbot: Any, runs: tuple[Any, Path], errors: list, tmp_path: Path, monkeypatch: Any
) -> None:
    new, _ = runs
    window.show_result(new)
    empty = tmp_path / "not-a-result"
    empty.mkdir()
    monkeypatch.setattr(dialogs, "ask_previous_result", lambda *_a: str(empty))
    assert window.compare_action.isEnabled()
    window.compare_action.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert isinstance(errors[0], ParamsError)
    assert "is not a result folder" in errors[0].message
    assert "saved analysis" in errors[0].hint
    assert window.result is new  # nothing changed
