"""Issue 11 (2, 8): every GUI export writes the CLI's run record; only the project's errors are
shown as failed exports, a programming error is not dressed up as one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from rfm_desktop.core import export, export_request
from rfm_desktop.core.analysis_file import load_analysis
from rfm_desktop.core.errors import ExportError, ImageError, RFMError
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.export_dialog import ExportDialog


def _export(window: Any, qtbot: Any, monkeypatch: Any, kind: str, fmt: str, target: Path) -> list:
    radios = {
        "all": "all_radio",
        "segments": "segments_radio",
        "selection": "selection_radio",
        "rfm_segments": "rfm_radio",
    }

    def run(dialog: ExportDialog) -> bool:
        getattr(dialog, radios[kind]).setChecked(True)
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
        dialog.target_edit.setText(str(target))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", run)
    with qtbot.waitSignal(window.exportWritten, timeout=60_000) as blocker:
        window.export_action.trigger()
    return [Path(p) for p in blocker.args[0]]


def test_every_gui_export_folder_holds_the_run_record_of_the_cli(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path, sample_path: Path
) -> None:
    pilot.open()
    window.wizard.clustering_page.k_max_spin.setValue(3)
    result = pilot.run()
    sha256 = hashlib.sha256(sample_path.read_bytes()).hexdigest()
    assert result.input_sha256 == sha256, "the hash is filled when the GUI reads the file"
    scatter = window.results.find_view("selected_customer_ids")
    assert scatter.select_rect(-1e9, -1e9, 30, 1e12) > 0
    cli = json.loads((export.export_all(result, tmp_path / "cli")[-1]).read_text(encoding="utf-8"))

    kinds = [
        ("all", "csv", "list.csv"),
        ("all", "xlsx", "list.xlsx"),
        ("segments", "csv", ""),
        ("selection", "csv", "recent.csv"),
        ("rfm_segments", "xlsx", ""),
    ]
    for kind, fmt, name in kinds:
        folder = tmp_path / f"{kind}-{fmt}"
        written = _export(window, qtbot, monkeypatch, kind, fmt, folder / name if name else folder)
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert record["files"] == [p.relative_to(folder).as_posix() for p in written], kind
        assert record["input"]["sha256"] == sha256, kind
        assert (record["customers"], record["k"]) == (result.customer_count, result.k), kind
        assert set(record) == set(cli), f"{kind}: the same record as the CLI's"
        assert record["params"] == cli["params"] and record["rows"] == cli["rows"], kind
        assert load_analysis(folder / "run.json") == result.params, kind
        assert "run.json" not in {p.name for p in written}, "the dialog lists the data files"

    report = tmp_path / "report" / "shop.html"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(report), "HTML report"))
    with qtbot.waitSignal(window.exportWritten, timeout=60_000):
        window.report_action.trigger()
    record = json.loads((report.parent / "run.json").read_text(encoding="utf-8"))
    assert record["files"] == ["shop.html"] and record["input"]["sha256"] == sha256
    assert set(record) == set(cli)


def test_a_saved_analysis_is_a_run_record(
    window: Any, pilot: Any, monkeypatch: Any, tmp_path: Path, sample_path: Path
) -> None:
    pilot.open()
    window.wizard.clustering_page.k_max_spin.setValue(3)
    result = pilot.run()
    saved = tmp_path / "shop.rfm.json"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(saved), ""))
    window.save_analysis_action.trigger()
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert (record["format"], record["version"]) == ("rfm-desktop-analysis", 2)
    assert record["input"]["sha256"] == hashlib.sha256(sample_path.read_bytes()).hexdigest()
    assert record["customers"] == result.customer_count
    assert load_analysis(saved) == window.wizard.state.params


@pytest.mark.parametrize("bug", [TypeError("unsupported operand"), ValueError("a bug's value")])
def test_a_programming_error_in_an_image_save_is_not_a_failed_export(
    window: Any,
    pilot: Any,
    qtbot: Any,
    monkeypatch: Any,
    tmp_path: Path,
    errors: list,
    bug: Exception,
) -> None:
    pilot.open()
    window.wizard.clustering_page.k_max_spin.setValue(3)
    pilot.run()
    view = window.results.find_view("selected_customer_ids")
    window.results.show_view(view)
    monkeypatch.setattr(
        dialogs, "ask_save_file", lambda *_a: (str(tmp_path / "a.png"), "PNG image (*.png)")
    )

    def broken(_path: Any) -> None:
        raise bug

    monkeypatch.setattr(view, "save_image", broken)
    with qtbot.captureExceptions() as raised:
        window.image_action.trigger()
    assert [type(e[1]) for e in raised] == [type(bug)], "it reaches the crash handler as a bug"
    assert errors == [], "no 'export failed' dialog for a bug"

    def refused(_path: Any) -> None:
        raise ImageError("The Scatter view can be saved as PNG only, not as SVG.")

    monkeypatch.setattr(view, "save_image", refused)
    window.image_action.trigger()
    assert len(errors) == 1 and isinstance(errors[0], ImageError)
    assert errors[0].hint == ImageError.hint


def test_a_programming_error_inside_an_export_is_shown_as_a_bug(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path, errors: list
) -> None:
    pilot.open()
    window.wizard.clustering_page.k_max_spin.setValue(3)
    pilot.run()

    def broken(_result: Any, _request: Any) -> list:
        raise TypeError("'NoneType' object is not iterable")

    monkeypatch.setattr(export_request, "run_export", broken)
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    window.export_action.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert isinstance(errors[0], TypeError) and not isinstance(errors[0], RFMError)
    message, _hint, details = dialogs.error_texts(errors[0])
    assert "TypeError" in message and "Traceback" in details


def test_a_refused_segment_name_is_the_projects_error(
    window: Any, pilot: Any, errors: list
) -> None:
    pilot.open()
    window.wizard.clustering_page.k_max_spin.setValue(3)
    result = pilot.run()
    segments = window.results.find_view("selected_cluster_ids")
    segments.renameRequested.emit(result.clusters[0].id, "  ")
    assert len(errors) == 1 and type(errors[0]).__name__ == "SegmentNameError"
    assert errors[0].message == "A segment name cannot be empty."
    assert errors[0].hint == "Choose another name for the segment."
    assert isinstance(errors[0], RFMError) and not isinstance(errors[0], ExportError)
