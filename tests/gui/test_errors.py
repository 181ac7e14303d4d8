"""Failures become dialogs that say what is wrong and what to do; the window stays usable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from rfm_desktop.core import pipeline
from rfm_desktop.core.errors import DataError, InputFileError, MappingError, RFMError
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.wizard.wizard import COLUMNS


def _garbage_csv(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(os.urandom(4096) + b"\x00" * 512)
    return path


def test_a_csv_of_binary_garbage_is_an_error_dialog(
    window: Any, errors: list, tmp_path: Path, qtbot: Any, pilot: Any
) -> None:
    window.open_path(str(_garbage_csv(tmp_path)))
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert isinstance(errors[0], InputFileError)
    assert "export.csv" in errors[0].message and errors[0].hint
    qtbot.waitUntil(lambda: not window.wizard.is_busy(), timeout=5000)
    assert window.stack.currentWidget() is window.welcome, "back where the analyst was"
    assert window.windowTitle() == "RFM Desktop"
    errors.clear()
    pilot.open()  # still usable
    assert window.wizard.state.transactions is not None


def test_a_csv_without_a_date_column_is_an_error_and_the_columns_page_says_why(
    window: Any, errors: list, tmp_path: Path, qtbot: Any
) -> None:
    path = tmp_path / "no-dates.csv"
    path.write_text(
        "InvoiceNo,CustomerID,Quantity,UnitPrice\n"
        + "".join(f"{536365 + i},{17850 + i % 9},{i % 4 + 1},2.55\n" for i in range(50))
    )
    window.open_path(str(path))
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert isinstance(errors[0], MappingError)
    assert "Invoice date" in errors[0].message
    wizard = window.wizard
    qtbot.waitUntil(lambda: wizard.current_index == COLUMNS, timeout=5000)
    assert any("Invoice date" in p for p in wizard.columns_page.problems_text())
    assert not wizard.next_button.isEnabled()
    assert wizard.state.transactions is None
    window.run_action.trigger()  # Ctrl+R cannot run: it points at the Columns page
    assert wizard.current_index == COLUMNS and not wizard.run_page.is_running()
    assert "cannot run yet" in window.status_label.text()


def test_a_missing_file_is_an_error(window: Any, errors: list, tmp_path: Path) -> None:
    window.open_path(str(tmp_path / "nowhere.xlsx"))
    assert len(errors) == 1 and isinstance(errors[0], InputFileError)
    assert window.stack.currentWidget() is window.welcome


def test_an_rfm_error_during_the_run_is_a_dialog(
    window: Any, pilot: Any, errors: list, monkeypatch: Any
) -> None:
    pilot.open()

    def broken(*_a: Any, **_k: Any) -> Any:
        raise DataError("No customers are left after cleaning.", hint="Switch a cleaning step off.")

    monkeypatch.setattr(pipeline, "run", broken)
    assert window.wizard.run()
    pilot.errors = []  # the pilot must not stop at the expected dialog
    from rfm_desktop.gui.autopilot import wait_until

    wait_until(lambda: bool(errors), 30, "the error")
    assert errors[0].message == "No customers are left after cleaning."
    assert window.result is None
    assert "error" in window.wizard.run_page.message.text()
    assert window.wizard.run_page.run_button.isEnabled()


def test_an_unexpected_exception_in_a_worker_keeps_the_app_usable(
    window: Any, pilot: Any, errors: list, monkeypatch: Any
) -> None:
    pilot.open()
    real_run = pipeline.run
    monkeypatch.setattr(pipeline, "run", lambda *_a, **_k: {}["no such key"])
    window.wizard.run()
    from rfm_desktop.gui.autopilot import wait_until

    wait_until(lambda: bool(errors), 30, "the error")
    assert isinstance(errors[0], KeyError) and not isinstance(errors[0], RFMError)
    message, _hint, details = dialogs.error_texts(errors[0])
    assert "KeyError" in message and "Traceback" in details
    monkeypatch.setattr(pipeline, "run", real_run)
    errors.clear()
    assert pilot.run() is not None


def _captured_box(monkeypatch: Any, exc: BaseException) -> QMessageBox:
    boxes: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: boxes.append(self) or 0)
    dialogs.show_error(None, exc)
    assert len(boxes) == 1
    return boxes[0]


def test_show_error_says_what_is_wrong_and_what_to_do(qtbot: Any, monkeypatch: Any) -> None:
    box = _captured_box(monkeypatch, MappingError("No column is mapped to Invoice date."))
    assert box.text() == "No column is mapped to Invoice date."
    assert box.informativeText() == MappingError.hint
    assert box.detailedText() == ""
    assert box.icon() == QMessageBox.Icon.Warning


def test_show_error_has_details_to_copy_for_a_bug(qtbot: Any, monkeypatch: Any) -> None:
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        box = _captured_box(monkeypatch, exc)
    assert "ZeroDivisionError" in box.text()
    assert "keep working" in box.informativeText()
    assert "Traceback" in box.detailedText() and "division by zero" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Critical


@pytest.mark.parametrize("name", ["Cancelled"])
def test_cancel_is_not_an_error_dialog(qtbot: Any, monkeypatch: Any, name: str) -> None:
    from rfm_desktop.core import errors as core_errors

    boxes: list[Any] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: boxes.append(self) or 0)
    dialogs.show_error(None, getattr(core_errors, name)("stopped"))
    assert boxes == []


def test_an_uncaught_exception_is_logged_and_shown_in_the_gui_thread(
    qtbot: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    import sys
    import threading

    from rfm_desktop.gui import crash

    monkeypatch.setenv("RFM_DESKTOP_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    shown: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        dialogs,
        "show_crash",
        lambda _parent, path: shown.append(
            (str(path), threading.current_thread() is threading.main_thread())
        ),
    )
    crash.install(None)

    def boom() -> None:
        raise RuntimeError("a bug in a thread")

    thread = threading.Thread(target=boom)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    path, in_gui_thread = shown[0]
    assert in_gui_thread
    assert Path(path).parent == tmp_path and "a bug in a thread" in Path(path).read_text()
