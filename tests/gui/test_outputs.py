"""Renaming, exports (all / chosen segments / selection, CSV and XLSX), images and the HTML report."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rfm_desktop.gui import dialogs, settings
from rfm_desktop.gui.export_dialog import ExportDialog


def quick_result(window: Any, pilot: Any) -> Any:
    """The sample analysed with a short K range (fast)."""
    pilot.open()
    page = window.wizard.clustering_page
    page.k_min_spin.setValue(3)
    page.k_max_spin.setValue(4)
    return pilot.run()


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype={"customer_id": str})
    return pd.read_csv(path, dtype={"customer_id": str})


def export_with(window: Any, qtbot: Any, monkeypatch: Any, configure: Any) -> list[Path]:
    """Open the export dialog (Ctrl+E), let ``configure(dialog)`` fill it, press Export, wait."""
    seen: list[ExportDialog] = []

    def run(dialog: ExportDialog) -> bool:
        seen.append(dialog)
        configure(dialog)
        return True

    monkeypatch.setattr(dialogs, "run_dialog", run)
    with qtbot.waitSignal(window.exportWritten, timeout=30_000) as blocker:
        window.export_action.trigger()
    assert seen, "Ctrl+E opened no dialog"
    return [Path(p) for p in blocker.args[0]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_all_customers(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path, fmt: str
) -> None:
    result = quick_result(window, pilot)
    target = tmp_path / f"everyone.{fmt}"

    def configure(dialog: ExportDialog) -> None:
        dialog.all_radio.setChecked(True)
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
        dialog.target_edit.setText(str(target))

    written = export_with(window, qtbot, monkeypatch, configure)
    assert written == [target]
    table = read_table(target)
    assert len(table) == result.customer_count
    assert set(table["customer_id"]) == set(result.customers["customer_id"].astype(str))
    assert target.name in window.status_label.text()
    assert window.open_folder_button.isVisible()
    opened: list[Path] = []
    monkeypatch.setattr(dialogs, "open_folder", lambda p: opened.append(Path(p)) or True)
    window.open_folder_button.click()
    assert opened == [tmp_path]


def test_rename_a_segment_then_export_one_file_per_chosen_segment(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    result = quick_result(window, pilot)
    segments = window.results.find_view("selected_cluster_ids")
    first = result.clusters[0]
    segments.renameRequested.emit(first.id, "VIP shoppers")  # as an edit in the table does
    renamed = window.result
    assert renamed is not result
    assert renamed.cluster(first.id).name == "VIP shoppers"
    assert all(view.result is renamed for view in window.results.views), (
        "every view gets the new name"
    )
    assert (renamed.customers["cluster_name"] == "VIP shoppers").sum() == first.size

    segments.set_selected_cluster_ids([first.id, result.clusters[1].id])
    folder = tmp_path / "campaign"

    def configure(dialog: ExportDialog) -> None:
        assert dialog.segments_radio.isChecked(), "ticked segments preselect 'chosen segments'"
        assert sorted(dialog.checked_clusters()) == sorted([first.id, result.clusters[1].id])
        assert "VIP shoppers.csv" in dialog.note.text()
        dialog.target_edit.setText(str(folder))

    written = export_with(window, qtbot, monkeypatch, configure)
    assert sorted(p.name for p in written) == sorted(
        ["VIP shoppers.csv", f"{result.clusters[1].name}.csv"]
    )
    vip = read_table(folder / "VIP shoppers.csv")
    assert len(vip) == first.size
    assert set(vip["cluster_name"]) == {"VIP shoppers"}
    expected = renamed.customers.loc[
        renamed.customers["cluster"] == first.id, "customer_id"
    ].astype(str)
    assert set(vip["customer_id"]) == set(expected)


def test_segment_names_that_clash_as_files_get_distinct_files_and_a_second_export_replaces_the_first(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    result = quick_result(window, pilot)
    segments = window.results.find_view("selected_cluster_ids")
    ids = [c.id for c in result.clusters][:3]
    for cluster_id, name in zip(ids, ["A/B", "A:B", "a?b"], strict=True):
        segments.renameRequested.emit(cluster_id, name)
    folder = tmp_path / "campaign"
    folder.mkdir()
    (folder / "mine.txt").write_text("the analyst's")
    expected = ["A_B.csv", "A_B (2).csv", "a_b (3).csv"]

    def choose(chosen: list[int]) -> Any:
        def configure(dialog: ExportDialog) -> None:
            dialog.segments_radio.setChecked(True)
            dialog.set_checked_clusters(chosen)
            dialog.target_edit.setText(str(folder))
            shown = [n for n in expected if n in dialog.note.text()]
            assert shown == [expected[ids.index(i)] for i in chosen], dialog.note.text()

        return configure

    written = export_with(window, qtbot, monkeypatch, choose(ids))
    assert [p.name for p in written] == expected
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        [*expected, "mine.txt", "run.json"]  # issue 11: every export folder holds its run record
    )
    for cluster_id, path in zip(ids, written, strict=True):
        assert len(read_table(path)) == window.result.cluster(cluster_id).size
    assert expected[0] in window.status_label.text()

    written = export_with(window, qtbot, monkeypatch, choose(ids[1:2]))
    assert [p.name for p in written] == ["A_B (2).csv"]
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "A_B (2).csv",
        "mine.txt",
        "run.json",
    ]


def test_a_duplicate_segment_name_is_refused(window: Any, pilot: Any, errors: list) -> None:
    result = quick_result(window, pilot)
    segments = window.results.find_view("selected_cluster_ids")
    segments.renameRequested.emit(result.clusters[0].id, result.clusters[1].name)
    assert len(errors) == 1 and "already called" in errors[0].message
    assert window.result is result


def test_export_the_scatter_selection(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    result = quick_result(window, pilot)
    scatter = window.results.find_view("selected_customer_ids")
    window.results.show_view(scatter)
    count = scatter.select_rect(
        -1e9, -1e9, 30, 1e12
    )  # every customer who bought in the last 30 days
    selected = set(scatter.selected_customer_ids())
    assert count == len(selected) > 0
    expected = set(
        result.customers.loc[result.customers["recency"] <= 30, "customer_id"].astype(str)
    )
    assert selected == expected
    target = tmp_path / "recent.xlsx"

    def configure(dialog: ExportDialog) -> None:
        assert dialog.selection_radio.isEnabled()
        dialog.selection_radio.setChecked(True)
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("xlsx"))
        dialog.target_edit.setText(str(target))

    written = export_with(window, qtbot, monkeypatch, configure)
    assert written == [target]
    assert set(read_table(target)["customer_id"]) == selected


def test_export_refuses_to_overwrite_the_input(
    window: Any,
    pilot: Any,
    qtbot: Any,
    monkeypatch: Any,
    errors: list,
    tmp_path: Path,
    sample_path: Path,
) -> None:
    data = tmp_path / "shop.csv"
    pd.read_csv(sample_path).head(3000).to_csv(data, index=False)
    pilot.open(str(data))
    window.wizard.clustering_page.k_max_spin.setValue(3)
    pilot.run()

    def run(dialog: ExportDialog) -> bool:
        dialog.all_radio.setChecked(True)
        dialog.target_edit.setText(str(data))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", run)
    before = data.read_bytes()
    window.export_action.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert data.read_bytes() == before
    assert errors[0].message and errors[0].hint


def test_save_view_as_png_and_svg(
    window: Any, pilot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    quick_result(window, pilot)
    scatter = window.results.find_view("selected_customer_ids")
    window.results.show_view(scatter)
    for name, selected_filter in (
        ("scatter.png", "PNG image (*.png)"),
        ("scatter.svg", "SVG vector image (*.svg)"),
    ):
        target = tmp_path / name
        monkeypatch.setattr(
            dialogs, "ask_save_file", lambda *_a, t=target, f=selected_filter: (str(t), f)
        )
        window.image_action.trigger()
        assert target.exists() and target.stat().st_size > 1000
    assert target.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    assert (tmp_path / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_view_can_be_saved_as_png(
    window: Any, pilot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    quick_result(window, pilot)
    for view in window.results.views:
        if "3d" in view.view_name:
            continue  # no OpenGL offscreen; rendered under Xvfb in the e2e selftest
        window.results.show_view(view)
        target = tmp_path / f"{view.view_name}.png"
        monkeypatch.setattr(
            dialogs, "ask_save_file", lambda *_a, t=target: (str(t), "PNG image (*.png)")
        )
        window.image_action.trigger()
        assert target.exists() and target.stat().st_size > 1000, view.view_name


def test_save_report_is_one_self_contained_html_file(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    result = quick_result(window, pilot)
    target = tmp_path / "report.html"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(target), "HTML report (*.html)"))
    with qtbot.waitSignal(window.exportWritten, timeout=60_000):
        window.report_action.trigger()
    html = target.read_text(encoding="utf-8")
    for cluster in result.clusters:
        assert cluster.name in html
    for step in result.cleaning.steps:
        assert step.label.replace("'", "&#x27;") in html or step.label in html
    assert "Choosing K" in html and result.sweep.reason.split(" ")[0] in html
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) >= 3  # K charts, 2D scatter, silhouette, ...
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "K charts" in html and "2D scatter" in html
    assert "http://" not in html and "https://" not in html, "no external resources"


def test_default_export_folder_is_documents_never_the_installation_and_apart_from_open(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    from rfm_desktop.resources import resources_dir

    quick_result(window, pilot)  # the bundled sample, which sits inside the installation
    install = resources_dir().resolve().parent
    folders: list[str] = []
    target = tmp_path / "out" / "everyone.csv"
    target.parent.mkdir()

    def configure(dialog: ExportDialog) -> None:
        folders.append(dialog.folder)
        dialog.target_edit.setText(str(target))

    export_with(window, qtbot, monkeypatch, configure)
    assert folders == [str(settings.documents_folder())]
    assert not Path(folders[0]).resolve().is_relative_to(install)
    assert settings.last_folder("export") == str(target.parent)
    assert settings.last_folder("open") == str(
        window.wizard.state.path and Path(window.wizard.state.path).parent
    )
    export_with(window, qtbot, monkeypatch, configure)
    assert folders[1] == str(target.parent), "the next export starts in the last export folder"
    # a remembered folder inside the installation is never offered for writing
    settings.set_last_folder(resources_dir() / "sample", "export")
    assert settings.last_folder("export") == str(settings.documents_folder())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_one_file_per_named_rfm_segment(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path, fmt: str
) -> None:
    result = quick_result(window, pilot)
    names = result.segments["segment"].tolist()
    chosen = [n for n in names if n != "Others"]
    folder = tmp_path / "rfm"

    def configure(dialog: ExportDialog) -> None:
        assert dialog.checked_segments() == names, "every named segment is ticked at first"
        dialog.rfm_radio.setChecked(True)
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
        assert (
            dialog.target_edit.text().endswith("-rfm-segments")
            and dialog.target_label.text() == "Folder:"
        )
        dialog.set_checked_segments(chosen)
        assert f"Champions.{fmt}" in dialog.note.text() and "Others" not in dialog.note.text()
        dialog.target_edit.setText(str(folder))

    written = export_with(window, qtbot, monkeypatch, configure)
    assert sorted(p.name for p in written) == sorted(f"{n}.{fmt}" for n in chosen)
    counts = result.customers["rfm_segment"].value_counts()
    for name in chosen:
        table = read_table(folder / f"{name}.{fmt}")
        assert len(table) == counts[name] and set(table["rfm_segment"]) == {name}
    assert not (folder / f"Others.{fmt}").exists()


def test_export_dialog_needs_a_named_segment(window: Any, pilot: Any) -> None:
    result = quick_result(window, pilot)
    dialog = ExportDialog(result, str(Path.home()), parent=window)
    dialog.rfm_radio.setChecked(True)
    dialog.set_checked_segments([])
    assert dialog.note.text() == "Tick at least one named segment."
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    assert dialog.request().kind == "rfm_segments" and dialog.request().segments == ()


def test_export_dialog_defaults_to_the_selection_remembers_the_format_and_does_not_jump(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    quick_result(window, pilot)
    scatter = window.results.find_view("selected_customer_ids")
    count = scatter.select_rect(-1e9, -1e9, 30, 1e12)
    assert count > 0
    seen: list[tuple[str, str]] = []
    target = tmp_path / "recent.xlsx"

    def configure(dialog: ExportDialog) -> None:
        seen.append((dialog.kind(), dialog.fmt()))
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("xlsx"))
        dialog.target_edit.setText(str(target))
        # the hint under the folder changes from one line to several: the field stays put
        dialog.show()
        dialog.segments_radio.setChecked(True)
        dialog.set_checked_clusters([])
        qtbot.wait(10)
        y_short = dialog.target_edit.mapTo(dialog, dialog.target_edit.rect().topLeft()).y()
        height_short = dialog.note.height()
        dialog.set_checked_clusters([p.id for p in window.result.clusters])
        qtbot.wait(10)
        assert dialog.target_edit.mapTo(dialog, dialog.target_edit.rect().topLeft()).y() == y_short
        assert dialog.note.height() == height_short
        dialog.selection_radio.setChecked(True)
        dialog.target_edit.setText(str(target))

    export_with(window, qtbot, monkeypatch, configure)
    assert seen == [("selection", "csv")]
    scatter.clear_selection()
    export_with(window, qtbot, monkeypatch, configure)
    assert seen[1] == ("all", "xlsx"), (
        "no selection: all customers; the format of the last export again"
    )


def test_segment_ticks_reset_for_a_new_analysis(window: Any, pilot: Any) -> None:
    result = quick_result(window, pilot)
    segments = window.results.view("segments")
    segments.model.set_checked(result.clusters[0].id, False)
    assert result.clusters[0].id not in window.results.selected_cluster_ids()
    window.results.rename_cluster(result.clusters[1].id, "Renamed")  # the same analysis: ticks stay
    assert result.clusters[0].id not in window.results.selected_cluster_ids()
    window.results.back_button.click()
    window.wizard.clustering_page.seed_spin.setValue(5)  # another analysis
    other = pilot.run()
    assert window.results.selected_cluster_ids() == [c.id for c in other.clusters]


def test_report_pictures_come_from_the_result_not_the_screen(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    from PySide6.QtGui import QImage

    from rfm_desktop.gui.images import can_render_gl, report_images

    result = quick_result(window, pilot)
    views = window.results.views
    scatter = window.results.find_view("selected_customer_ids")
    clean = report_images(views, result)
    assert scatter.select_rect(-1e9, -1e9, 30, 1e12) > 0  # a lasso selection on screen
    scatter.resize(500, 300)
    with_selection = report_images(views, result)
    assert with_selection[scatter.title] == clean[scatter.title], "the selection is not baked in"
    on_screen = tmp_path / "screen.png"
    scatter.save_image(on_screen)
    assert on_screen.read_bytes() != clean[scatter.title]
    view3d = next(v for v in views if "3d" in v.view_name)
    window.results.show_view(view3d)  # the 3D scene is made when its tab is first shown
    qtbot.wait(200)
    if can_render_gl() and view3d.is_gl_active():
        picture = QImage.fromData(report_images(views, result)[view3d.title])
        scene = view3d.gl_widget()
        # the GL scene alone: smaller than the tab with its combo boxes, buttons and legend
        assert picture.width() == scene.width() * scene.devicePixelRatio()
        assert picture.height() < view3d.height() * scene.devicePixelRatio()

    target = tmp_path / "report.html"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(target), "HTML report (*.html)"))
    with qtbot.waitSignal(window.exportWritten, timeout=60_000):
        window.report_action.trigger()
    html = target.read_text(encoding="utf-8")
    assert "Named RFM segments" in html and "RFM score grid" in html
    for name in result.segments["segment"]:
        assert str(name).replace("'", "&#x27;") in html
    grid = html.split("RFM score grid", 1)[1].split("</table>", 1)[0]
    counts = [int(n.replace(",", "")) for n in re.findall(r">([\d,]+)</td>", grid)]
    assert sum(counts) == result.customer_count
    assert result.segments_text in html


def test_the_result_is_held_once_through_renames_and_undo(window: Any, pilot: Any) -> None:
    """Issue 11: one holder (window.current); the window and the panel read it, the views follow."""
    result = quick_result(window, pilot)
    holder = window.current
    assert window.results.current is holder and holder.result is result
    assert "result" not in vars(window) and "result" not in vars(window.results)
    seen: list[tuple[Any, bool]] = []
    holder.changed.connect(lambda shown, edited: seen.append((shown, edited)))
    first = result.clusters[0]
    window.results.find_view("selected_cluster_ids").renameRequested.emit(first.id, "VIP shoppers")
    renamed = holder.result
    assert renamed.cluster(first.id).name == "VIP shoppers" and seen == [(renamed, True)]
    assert window.result is renamed and window.results.result is renamed
    assert all(view.result is renamed for view in window.results.views)
    window.undo_action.trigger()
    undone = holder.result
    assert undone.cluster(first.id).name == first.name and len(seen) == 2
    assert window.result is undone and all(view.result is undone for view in window.results.views)
