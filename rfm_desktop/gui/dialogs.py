"""Every modal dialog the app shows, behind one small module so tests can patch it.

Callers use ``dialogs.show_error(parent, exc)`` (module attribute, not a from-import) so a
test's ``monkeypatch.setattr(dialogs, "show_error", ...)`` catches every call.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from rfm_desktop.core.errors import Cancelled, RFMError

UNEXPECTED_TITLE = "Something went wrong"


def error_texts(exc: BaseException) -> tuple[str, str, str]:
    """(message, what to do, details) for any exception."""
    if isinstance(exc, RFMError):
        return exc.message, exc.hint, ""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = f"RFM Desktop met an unexpected problem: {type(exc).__name__}: {exc}"
    hint = (
        "Your data and the window are fine; you can keep working or try again. "
        "If it happens again, copy the details below and send them to whoever supports the app."
    )
    return message, hint, details


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """What is wrong (message) and what to do (hint); a traceback to copy for surprises."""
    if isinstance(exc, Cancelled):
        return
    message, hint, details = error_texts(exc)
    box = QMessageBox(parent)
    box.setWindowTitle("RFM Desktop" if isinstance(exc, RFMError) else UNEXPECTED_TITLE)
    box.setIcon(
        QMessageBox.Icon.Warning if isinstance(exc, RFMError) else QMessageBox.Icon.Critical
    )
    box.setText(message)
    box.setInformativeText(hint)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()


def show_crash(parent: QWidget | None, log_path: str | Path) -> None:
    """An exception nobody caught (in a Qt slot): the app keeps running; the log has the details."""
    from rfm_desktop.crashlog import crash_message

    box = QMessageBox(parent)
    box.setWindowTitle(UNEXPECTED_TITLE)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setText(
        "RFM Desktop met an unexpected problem. You can keep working; save your work to be safe."
    )
    box.setInformativeText(crash_message(log_path))
    try:
        box.setDetailedText(Path(log_path).read_text(encoding="utf-8"))
    except OSError:
        pass
    box.exec()


def show_info(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(QMessageBox.Icon.Information)
    box.setText(text)
    if details:
        box.setInformativeText(details)
    box.exec()


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text)
    return answer == QMessageBox.StandardButton.Yes


def ask_save_discard_cancel(parent: QWidget | None, title: str, text: str) -> str:
    """ "save", "discard" or "cancel" (also when the box is closed)."""
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(text)
    buttons = QMessageBox.StandardButton
    box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
    box.setDefaultButton(buttons.Save)
    answer = box.exec()
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(buttons(answer), "cancel")


def confirm_data_file(
    parent: QWidget | None, analysis: str, data_path: str, network: bool
) -> str | None:
    """Show the data file a saved analysis names before anything reads it.

    Returns "read" (read that file), "choose" (pick another file) or None (cancel).
    """
    box = QMessageBox(parent)
    box.setWindowTitle("Open analysis")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(f"The analysis '{analysis}' reads this data file:\n{data_path}")
    box.setInformativeText(
        ("It is on a network location: reading it connects to that computer. " if network else "")
        + "Read this file, or choose another one?"
    )
    read = box.addButton("Read this file", QMessageBox.ButtonRole.AcceptRole)
    choose = box.addButton("Choose another file…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(choose if network else read)
    box.exec()
    clicked = box.clickedButton()
    return "read" if clicked is read else "choose" if clicked is choose else None


def ask_open_file(parent: QWidget | None, caption: str, directory: str, filters: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, caption, directory, filters)
    return path or None


def ask_save_file(
    parent: QWidget | None, caption: str, path: str, filters: str
) -> tuple[str, str] | None:
    """(chosen path, chosen filter) or None when cancelled."""
    chosen, selected_filter = QFileDialog.getSaveFileName(parent, caption, path, filters)
    return (chosen, selected_filter) if chosen else None


def ask_directory(parent: QWidget | None, caption: str, directory: str) -> str | None:
    path = QFileDialog.getExistingDirectory(parent, caption, directory)
    return path or None


def run_dialog(dialog: QDialog) -> bool:
    """Run a custom modal dialog (e.g. the export dialog); True when accepted."""
    return bool(dialog.exec())


def open_folder(path: str | Path) -> bool:
    """Show a folder in the system file manager (patched in tests)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def ask_previous_result(parent: QWidget | None, directory: str, filters: str) -> str | None:
    """A previous analysis to compare with: a result folder or a saved analysis (asked which
    first, as one file dialog cannot offer both); None when cancelled."""
    box = QMessageBox(parent)
    box.setWindowTitle("Compare with a previous analysis")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText("Which previous analysis should this one be compared with?")
    box.setInformativeText(
        "A result folder (written by Export or `rfm-desktop segment --out`) is read as it is; "
        "a saved analysis (.rfm.json or run.json) is run again on its data file."
    )
    folder = box.addButton("Result folder…", QMessageBox.ButtonRole.AcceptRole)
    saved = box.addButton("Saved analysis…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(folder)
    box.exec()
    clicked = box.clickedButton()
    if clicked is folder:
        return ask_directory(parent, "Previous result folder", directory)
    if clicked is saved:
        return ask_open_file(parent, "Previous saved analysis", directory, filters)
    return None
