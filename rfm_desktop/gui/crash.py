"""Uncaught exceptions (a bug in a slot, or in a thread) are logged and shown; the app keeps running."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from rfm_desktop import crashlog
from rfm_desktop.gui import dialogs


class _Notifier(QObject):
    """Lives in the GUI thread: whichever thread crashed, the dialog opens in the GUI thread."""

    crashed = Signal(str)


_notifier: _Notifier | None = None


def install(parent: QWidget | None) -> None:
    global _notifier
    _notifier = _Notifier()
    _notifier.crashed.connect(
        lambda path: dialogs.show_crash(parent, path), Qt.ConnectionType.QueuedConnection
    )
    notifier = _notifier
    crashlog.install_excepthook(notify=lambda log_path: notifier.crashed.emit(str(log_path)))
