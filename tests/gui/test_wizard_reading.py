"""The wizard's reading controls (issue 7): several sheets, the header row, the date order."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.core.values import DAY_FIRST, MONTH_FIRST
from rfm_desktop.gui.autopilot import settle
from rfm_desktop.gui.wizard.wizard import CLEANING, COLUMNS

HEADER = ["Invoice", "Quantity", "InvoiceDate", "Price", "Customer ID"]
SHOTS = os.environ.get("RFM_SCREENSHOTS")  # a folder: save the pages at 1024 x 640 to look at them


def shot(window: Any, name: str) -> None:
    if SHOTS:
        window.resize(1024, 640)
        settle(300)
        window.grab().save(str(Path(SHOTS) / f"{name}.png"))


def workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.create_sheet("Read me").append(["Exported by the shop; one sheet per year."])
    for sheet, year in (("2010", 2010), ("2011", 2011)):
        rows = book.create_sheet(sheet)
        rows.append(HEADER)
        for i in range(6):
            rows.append(
                [
                    f"{year}{i:03d}",
                    1,
                    dt.datetime(year, 3, 1 + i, 10),
                    2.0,
                    f"K{i + (year - 2010) * 3}",
                ]
            )
    book.save(path)
    return path


def wait_loaded(window: Any, qtbot: Any) -> None:
    page = window.wizard.file_page
    qtbot.waitUntil(
        lambda: not page.has_jobs() and window.wizard.state.preview is not None, timeout=30_000
    )


def test_sheets_laid_out_alike_are_ticked_and_can_be_unticked(
    window: Any, pilot: Any, tmp_path: Any, qtbot: Any
) -> None:
    pilot.open(str(workbook(tmp_path / "years.xlsx")))
    state, page = window.wizard.state, window.wizard.file_page
    assert page.ticked_sheets() == ("2010", "2011") and state.default_sheets == ("2010", "2011")
    assert state.transactions.rows_read == 12 and state.transactions.sheets == ("2010", "2011")
    assert "12 rows and 5 columns read of 2 sheets, stacked" in page.status.text()
    assert page.sheet_list.item(0).toolTip() == "Not read unless ticked: it has no data rows."
    assert state.params.sheet is None
    shot(window, "file-page-sheets")

    page.set_sheet_ticked("2010", False)
    wait_loaded(window, qtbot)
    assert page.ticked_sheets() == ("2011",) and state.transactions.rows_read == 6
    assert state.params.sheet == "2011"
    assert "of sheet '2011'" in page.status.text()

    page.set_sheet_ticked("2010", True)
    wait_loaded(window, qtbot)
    assert state.transactions.rows_read == 12 and state.params.sheet is None


def test_header_row_is_found_and_can_be_given(
    window: Any, pilot: Any, errors: list, tmp_path: Any, qtbot: Any
) -> None:
    path = tmp_path / "report.csv"
    rows = ["Sales report FY2024,,", ",,", "Customer,Date,Amount"]
    rows += [f"K{i},2024-03-0{i + 1},{i + 1}.50" for i in range(5)] + ["Total,,17.50"]
    path.write_text("\n".join(rows) + "\n")
    pilot.open(str(path))
    state, page = window.wizard.state, window.wizard.file_page
    assert state.transactions.rows_read == 5 and state.transactions.header_row == 3
    assert page.header_spin.value() == 0 and page.header_spin.text() == "automatic"
    assert page.header_note.text() == "found on row 3"
    assert not page.sheet_list.isVisible()
    shot(window, "file-page-header-row")

    page.header_spin.setValue(1)  # as typing 1 + Enter does: the title is no header
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    wait_loaded(window, qtbot)
    assert state.header_row == 1 and state.transactions is None and state.params.header_row == 1
    errors.clear()
    page.header_spin.setValue(3)
    wait_loaded(window, qtbot)
    qtbot.waitUntil(lambda: state.transactions is not None, timeout=30_000)
    assert (
        state.params.header_row == 3
        and state.transactions.rows_read == 5
        and page.header_note.text() == ""
    )
    assert not errors


def test_date_order_choice_on_the_columns_page(window: Any, pilot: Any, tmp_path: Any) -> None:
    path = tmp_path / "dates.csv"
    rows = ["Customer,Date,Amount"] + [f"K{i},05/0{i + 1}/2024,{i + 1}" for i in range(6)]
    path.write_text("\n".join(rows) + "\n")
    pilot.open(str(path))
    wizard, state = window.wizard, window.wizard.state
    pilot.to_columns()
    page = wizard.columns_page
    assert page.date_order_combo.currentData() is None
    assert state.transactions.date_format == MONTH_FIRST  # 6 days in May beat 6 months
    assert page.date_note.text().startswith("⚠ Read as month first (M/D/YYYY), a guess")
    assert "--date-order dmy" in page.date_note.toolTip() and "span" in page.date_note.toolTip()
    shot(window, "columns-page-date-order")

    page.set_date_order("dmy")
    assert state.date_order == "dmy" and state.needs_reload
    assert "when you press Next" in page.date_note.text()
    pilot.next(CLEANING)
    assert state.transactions.date_format == DAY_FIRST and state.transactions.date_note == ""
    assert state.last_purchase() == pd.Timestamp("2024-06-05")
    assert state.params.date_order == "dmy"
    wizard.back()
    assert wizard.current_index == COLUMNS
    assert page.date_order_combo.currentData() == "dmy" and "⚠" not in page.date_note.text()


def test_a_saved_analysis_reopens_with_its_sheets_header_row_and_date_order(
    window: Any, pilot: Any, tmp_path: Any, qtbot: Any
) -> None:
    book = workbook(tmp_path / "years.xlsx")
    params = AnalysisParams(input_path=str(book), sheet=("2011",), header_row=1, date_order="ymd")
    window.open_path(
        str(book),
        remember=False,
        sheet=params.sheet,
        header_row=params.header_row,
        date_order=params.date_order,
    )
    qtbot.waitUntil(lambda: window.wizard.state.transactions is not None, timeout=30_000)
    state = window.wizard.state
    assert state.chosen_sheets == ("2011",) and state.transactions.rows_read == 6
    assert (
        state.params.sheet == "2011"
        and state.params.header_row == 1
        and state.params.date_order == "ymd"
    )


def test_a_sheet_chosen_by_its_index_survives_save_and_reopen(
    window: Any, monkeypatch: Any, tmp_path: Any, qtbot: Any
) -> None:
    """Issue 11: the wizard turned an int sheet into its name (or None), so a saved analysis
    made with ``--sheet 2`` came back naming the sheet instead of its place."""
    from rfm_desktop.core.analysis_file import load_analysis, save_analysis
    from rfm_desktop.core.params import ClusteringOptions
    from rfm_desktop.gui import dialogs

    book = workbook(tmp_path / "years.xlsx")
    window.open_path(str(book), remember=False, sheet=2)  # the third sheet, read on its own
    qtbot.waitUntil(lambda: window.wizard.state.transactions is not None, timeout=30_000)
    assert window.wizard.state.chosen_sheets == ("2011",)
    assert window.wizard.state.params.sheet == 2
    params = AnalysisParams(
        input_path=str(book), sheet=2, clustering=ClusteringOptions(k=2, sweep=False)
    )
    saved = save_analysis(params, tmp_path / "by-index.rfm.json")
    window.open_analysis(str(saved))
    qtbot.waitUntil(lambda: window.result is not None, timeout=60_000)
    state = window.wizard.state
    assert state.chosen_sheets == ("2011",) and state.transactions.rows_read == 6
    assert state.params.sheet == 2 and window.result.params.sheet == 2
    again = tmp_path / "again"
    monkeypatch.setattr(dialogs, "ask_save_file", lambda *_a: (str(again), ""))
    assert window.save_analysis_dialog()
    assert load_analysis(tmp_path / "again.rfm.json").sheet == 2
