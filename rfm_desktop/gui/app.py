"""The QApplication: name, icon, High-DPI rounding; the system palette is left alone."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from rfm_desktop import __version__
from rfm_desktop.gui.qt_start import platform_guard
from rfm_desktop.gui.settings import APPLICATION, ORGANIZATION
from rfm_desktop.resources import resource_path


def app_icon() -> QIcon:
    """The 512 px PNG (the SVG would load Qt's SVG plugin at start-up: ~0.15 s)."""
    icon = QIcon()
    for name in ("app.png", "app.svg"):
        path = resource_path("icons", name)
        if path.exists():
            icon.addFile(str(path))
            break
    return icon


def create_app(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (reused when it exists, as under pytest-qt)."""
    existing = QApplication.instance()
    if existing is not None:
        return existing  # type: ignore[return-value]
    if not QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts):
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    with platform_guard():  # no display or missing X libraries: one line, exit 2
        app = QApplication([sys.argv[0] if sys.argv else "rfm-desktop", *(argv or [])])
    configure(app)
    return app


def configure(app: QApplication) -> None:
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    QGuiApplication.setDesktopFileName("rfm-desktop")


def create_main_window():  # -> MainWindow (imported here)
    """The main window, showing the start page; the rest is made by ``MainWindow.ensure_pages``.

    A full garbage collection scans every object; once pandas, scikit-learn and pyqtgraph are
    loaded that is ~190,000 objects and ~200 ms with the GIL held, which would freeze the
    window whenever the worker thread happens to trigger one. So ``ensure_pages`` moves the
    objects made up to then into the permanent generation (``gc.freeze``) that collections skip.
    """
    from rfm_desktop.gui.main_window import MainWindow

    return MainWindow()
