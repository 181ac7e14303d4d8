"""The main window around the wizard: welcome, recent files, drop, shortcuts, help, settings, saved analyses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QSplitter

from rfm_desktop.core.analysis_file import load_analysis
from rfm_desktop.gui import dialogs, settings
from rfm_desktop.gui.main_window import MainWindow
from rfm_desktop.gui.wizard.wizard import CLUSTERING, FILE


def test_starts_on_the_welcome_screen(window: Any) -> None:
    assert window.stack.currentWidget() is window.welcome
    assert window.windowTitle() == "RFM Desktop"
    assert window.welcome.open_button.text() == "Open file…"
    assert window.welcome.sample_button.text() == "Try sample data"
    assert not window.welcome.recent_title.isVisible()
    assert not window.export_action.isEnabled() and not window.results_action.isEnabled()


def test_recent_files_are_remembered_up_to_five(tmp_path: Path, tmp_settings: Path) -> None:
    paths = []
    for i in range(7):
        p = tmp_path / f"data{i}.csv"
        p.write_text("x")
        paths.append(p)
        settings.add_recent_file(p)
    settings.add_recent_file(paths[3])  # again: moves to the top, no duplicate
    recent = settings.recent_files()
    assert recent == [str(paths[i].resolve()) for i in (3, 6, 5, 4, 2)]
    assert any(tmp_settings.rglob("*.ini")), "the settings live in the temporary folder"


def test_welcome_lists_recent_files_and_opens_them(
    qtbot: Any, errors: list, tmp_path: Path, sample_path: Path
) -> None:
    copy = tmp_path / "shop.csv.gz"
    shutil.copy(sample_path, copy)
    settings.add_recent_file(copy)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.welcome.recent_title.isVisible()
    assert (
        len(window.welcome.recent_buttons) == 1
        and "shop.csv.gz" in window.welcome.recent_buttons[0].text()
    )
    assert [a.text() for a in window.recent_menu.actions()] == ["shop.csv.gz"]
    window.welcome.recent_buttons[0].click()
    qtbot.waitUntil(lambda: window.wizard.state.transactions is not None, timeout=30_000)
    assert window.windowTitle() == "shop.csv.gz — RFM Desktop"
    assert errors == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dropping_a_file_anywhere_opens_it(window: Any, qtbot: Any, sample_path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_path))])
    target = window.welcome.drop_zone
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, drop)
    qtbot.waitUntil(lambda: window.wizard.state.transactions is not None, timeout=30_000)
    assert window.wizard.state.path == str(sample_path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dropping_text_is_refused(window: Any) -> None:
    mime = QMimeData()
    mime.setText("not a file")
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_keyboard_shortcuts(window: Any) -> None:
    shortcuts = {
        window.open_action: "Ctrl+O",
        window.run_action: "Ctrl+R",
        window.export_action: "Ctrl+E",
        window.save_analysis_action: "Ctrl+S",
        window.help_action: "F1",
    }
    for action, keys in shortcuts.items():
        assert keys in [s.toString() for s in action.shortcuts()], action.text()


def test_ctrl_o_asks_for_a_file(
    window: Any, monkeypatch: Any, qtbot: Any, sample_path: Path
) -> None:
    asked: list[str] = []

    def ask(_parent: Any, caption: str, _folder: str, filters: str) -> str:
        asked.append(filters)
        return str(sample_path)

    monkeypatch.setattr(dialogs, "ask_open_file", ask)
    window.open_action.trigger()
    assert asked and "*.xlsx" in asked[0] and "*.csv" in asked[0]
    qtbot.waitUntil(lambda: window.wizard.state.transactions is not None, timeout=30_000)
    assert settings.last_folder() == str(sample_path.parent)


def test_f1_shows_help(window: Any) -> None:
    window.help_action.trigger()
    dialog = window._help_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.close()


def test_every_option_has_a_tooltip(window: Any, pilot: Any) -> None:
    pilot.open()
    wizard = window.wizard
    widgets = [
        *wizard.cleaning_page.step_boxes.values(),
        wizard.cleaning_page.outlier_combo,
        wizard.cleaning_page.iqr_spin,
        wizard.cleaning_page.snapshot_edit,
        wizard.cleaning_page.snapshot_default,
        *wizard.clustering_page.feature_boxes.values(),
        wizard.clustering_page.transform_combo,
        wizard.clustering_page.scaler_combo,
        wizard.clustering_page.k_spin,
        wizard.clustering_page.k_min_spin,
        wizard.clustering_page.k_max_spin,
        wizard.clustering_page.evaluate_button,
        wizard.clustering_page.preset_button,
        wizard.clustering_page.seed_spin,
        wizard.run_page.run_button,
        *wizard.columns_page.combos.values(),
    ]
    missing = [w for w in widgets if not w.toolTip()]
    assert missing == []
    assert "log" in wizard.clustering_page.transform_combo.toolTip().lower()
    assert (
        "silhouette" in wizard.clustering_page.evaluate_button.toolTip().lower()
        or "score" in wizard.clustering_page.evaluate_button.toolTip().lower()
    )


def test_window_geometry_and_splitters_are_remembered(
    qtbot: Any, errors: list, monkeypatch: Any
) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.resize(1000, 700)
    first.ensure_pages()  # the wizard is made on first use (or preloaded after start-up)
    splitter = first.findChild(QSplitter, "columnsSplitter")
    splitter.setSizes([222, 600])
    saved = splitter.sizes()
    geometry = bytes(first.saveGeometry())
    first.close()
    assert bytes(settings.load_bytes("window/geometry")) == geometry
    # The test screen may be too small to show the same size again (Qt keeps windows on screen),
    # so check that the next window asks Qt for exactly the saved geometry.
    restored: list[bytes] = []
    original = MainWindow.restoreGeometry
    monkeypatch.setattr(
        MainWindow,
        "restoreGeometry",
        lambda self, data: restored.append(bytes(data)) or original(self, data),
    )
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    assert restored == [geometry]
    second.ensure_pages()
    assert second.findChild(QSplitter, "columnsSplitter").sizes()[0] == saved[0]


def test_save_and_open_analysis_reruns_on_the_same_file(
    window: Any,
    pilot: Any,
    monkeypatch: Any,
    tmp_path: Path,
    sample_path: Path,
    qtbot: Any,
    confirmations: list,
) -> None:
    data = tmp_path / "shop.csv.gz"
    shutil.copy(sample_path, data)
    pilot.open(str(data))
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.fixed_radio.setChecked(True)
    page.k_spin.setValue(3)
    saved = tmp_path / "my-analysis"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(saved), ""))
    window.save_analysis_action.trigger()
    written = tmp_path / "my-analysis.rfm.json"
    data_json = json.loads(written.read_text())
    assert data_json["params"]["clustering"]["k"] == 3
    assert load_analysis(written) == window.wizard.state.params

    # a fresh window opens it and runs it
    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    other.open_analysis(str(written))
    assert confirmations == [("my-analysis.rfm.json", str(data), False)]  # shown before it is read
    qtbot.waitUntil(lambda: other.result is not None, timeout=60_000)
    assert other.result.k == 3
    assert other.result.params == load_analysis(written)


def test_open_analysis_asks_for_a_moved_file(
    window: Any, monkeypatch: Any, tmp_path: Path, sample_path: Path, qtbot: Any
) -> None:
    from rfm_desktop.core.analysis_file import save_analysis
    from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

    params = AnalysisParams(
        input_path=str(tmp_path / "gone" / "shop.csv.gz"),
        clustering=ClusteringOptions(k=2, sweep=False),
    )
    saved = save_analysis(params, tmp_path / "a.rfm.json")
    told: list[str] = []
    monkeypatch.setattr(dialogs, "show_info", lambda _p, title, text, details="": told.append(text))
    monkeypatch.setattr(dialogs, "ask_open_file", lambda *_a: str(sample_path))
    window.open_analysis(str(saved))
    assert told and "shop.csv.gz" in told[0]
    qtbot.waitUntil(lambda: window.result is not None, timeout=60_000)
    assert window.result.params.input_path == str(sample_path)
    assert window.result.k == 2


def test_a_broken_analysis_file_is_an_error_dialog(
    window: Any, errors: list, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.rfm.json"
    bad.write_text("{not json")
    window.open_analysis(str(bad))
    assert len(errors) == 1 and "not a saved analysis" in errors[0].message
    assert window.stack.currentWidget() is window.welcome


def test_results_and_wizard_navigation(window: Any, pilot: Any) -> None:
    pilot.through(evaluate=False)
    window.results.back_button.click()
    assert window.stack.currentWidget() is window.wizard
    window.wizard.go_to(CLUSTERING)
    assert window.wizard.current_index == CLUSTERING
    window.results_action.trigger()
    assert window.stack.currentWidget() is window.results
    window.wizard_action.trigger()
    assert window.wizard.current_index == CLUSTERING
    window.wizard.go_to(FILE)


def test_demo_opens_on_the_results(window: Any, qtbot: Any, sample_path: Path) -> None:
    window.open_demo()
    qtbot.waitUntil(lambda: window.result is not None, timeout=120_000)
    assert window.stack.currentWidget() is window.results
    assert window.windowTitle() == f"{sample_path.name} — RFM Desktop"
    assert settings.recent_files() == [], "the sample is not a recent file of the analyst"


def test_command_line_arguments() -> None:
    from rfm_desktop.gui import _parse

    assert _parse([]).file is None and not _parse([]).demo
    assert _parse(["--demo"]).demo
    assert _parse(["shop.xlsx"]).file == "shop.xlsx"
    assert _parse(["--selftest", "out"]).selftest == "out"


def test_renames_are_undoable_saved_with_the_analysis_and_restored(
    window: Any,
    pilot: Any,
    monkeypatch: Any,
    tmp_path: Path,
    sample_path: Path,
    qtbot: Any,
    no_unsaved_prompt: list[str],
) -> None:
    data = tmp_path / "shop.csv.gz"
    shutil.copy(sample_path, data)
    pilot.open(str(data))
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.fixed_radio.setChecked(True)
    page.k_spin.setValue(3)
    pilot.to_run()
    result = pilot.run()
    first = result.clusters[0]
    assert window.undo_action.isEnabled() is False
    window.results.rename_cluster(first.id, "VIP shoppers")
    assert window.result.cluster(first.id).name == "VIP shoppers"
    assert window.windowTitle().startswith("shop.csv.gz*"), "unsaved edits show in the title"
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [s.toString() for s in window.redo_action.shortcuts()]
    assert [a.text() for a in window.menuBar().actions()][1] == "&Edit"

    window.undo_action.trigger()
    assert window.result.cluster(first.id).name == first.name
    assert (window.result.customers["cluster_name"] == first.name).sum() == first.size
    window.redo_action.trigger()
    assert window.result.cluster(first.id).name == "VIP shoppers"

    # closing with unsaved renames asks; Cancel keeps the window open
    monkeypatch.setattr(
        dialogs, "ask_save_discard_cancel", lambda *_a: no_unsaved_prompt.append("x") or "cancel"
    )
    assert window.close() is False and window.isVisible()
    assert no_unsaved_prompt == ["x"]

    saved = tmp_path / "renamed"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(saved), ""))
    window.save_analysis_action.trigger()
    written = tmp_path / "renamed.rfm.json"
    assert json.loads(written.read_text())["params"]["cluster_names"] == {
        str(first.id): "VIP shoppers"
    }
    assert window.results.undo_stack.isClean() and window.windowTitle().startswith("shop.csv.gz —")

    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    other.open_analysis(str(written))
    qtbot.waitUntil(lambda: other.result is not None, timeout=60_000)
    assert other.result.cluster(first.id).name == "VIP shoppers"
    assert (other.result.customers["cluster_name"] == "VIP shoppers").sum() == first.size
    segments = other.results.view("segments")
    assert segments.model.profile(0).name == "VIP shoppers"


def test_the_start_page_needs_no_heavy_library_and_the_rest_preloads(
    qtbot: Any, errors: list
) -> None:
    """Cold start: the window shows the start page with Qt only; pandas, scikit-learn and the
    wizard come on first use, or in the background (preload) while the analyst picks a file."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from rfm_desktop.gui.app import create_app, create_main_window\n"
        "app = create_app(); w = create_main_window(); w.show(); app.processEvents()\n"
        "heavy = [m for m in ('pandas', 'sklearn', 'scipy', 'pyarrow', 'pyqtgraph', 'OpenGL', "
        "'rfm_desktop.gui.wizard.wizard') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "none"

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window._wizard is None and not window.run_action.isEnabled()
    assert window.edit_menu.actions() == []  # undo/redo come with the results
    window.preload()
    qtbot.waitUntil(lambda: window._wizard is not None, timeout=60_000)
    assert window.stack.indexOf(window.wizard) >= 0 and window.stack.indexOf(window.results) >= 0
    assert window.edit_menu.actions() == [window.undo_action, window.redo_action]
    assert "sklearn.cluster" in sys.modules and "pandas" in sys.modules
