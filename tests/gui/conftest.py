"""Fixtures for the GUI tests: temporary Qt settings, patched dialogs, a main window.

Some tests do ``from conftest import ROOT``; with two ``conftest`` modules that name can
resolve to this one, so it offers the same ``ROOT`` and ``REAL_DATA`` as tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_DATA = ROOT.parent / "shared" / "data" / "online_retail.parquet"

pytest.importorskip("PySide6")  # the Qt-free job (tests/block_qt.py) skips these
pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication, Qt  # noqa: E402

from rfm_desktop.gui import dialogs, settings, worker  # noqa: E402

# As the app does (gui/app.create_app) before pytest-qt makes the QApplication: GL contexts share
# their objects, so a 3D view made after another one was closed still finds pyqtgraph's shader
# programs, which pyqtgraph compiles once per process (else: GLError "invalid value" in
# glUseProgram when a second window shows the 3D view).
if QCoreApplication.instance() is None:
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


@pytest.fixture(autouse=True)
def tmp_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Every test gets its own settings folder: recent files and window layout start empty."""
    folder = tmp_path_factory.mktemp("qsettings")
    settings.use_settings_dir(folder)
    yield folder


@pytest.fixture(autouse=True)
def no_unsaved_prompt(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Closing a window with unsaved renames discards them instead of showing a modal box."""
    asked: list[str] = []
    monkeypatch.setattr(
        dialogs, "ask_save_discard_cancel", lambda _p, _t, text: asked.append(text) or "discard"
    )
    return asked


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """What the error dialogs would have shown (instead of showing them)."""
    seen: list[BaseException] = []
    monkeypatch.setattr(dialogs, "show_error", lambda _parent, exc: seen.append(exc))
    return seen


class Confirmations(list):
    """The data-file confirmations a saved analysis asked for; ``answer`` is what the analyst clicks."""

    answer: str | None = "read"


@pytest.fixture(autouse=True)
def confirmations(monkeypatch: pytest.MonkeyPatch) -> Confirmations:
    """Opening a saved analysis asks before reading its data file; a modal box would hang a test."""
    asked = Confirmations()

    def confirm(_parent: Any, analysis: str, data_path: str, network: bool) -> str | None:
        asked.append((analysis, data_path, network))
        return asked.answer

    monkeypatch.setattr(dialogs, "confirm_data_file", confirm)
    return asked


@pytest.fixture
def window(qtbot: Any, errors: list[BaseException]) -> Iterator[Any]:
    from rfm_desktop.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    yield win
    win.wizard.cancel_jobs()
    worker.shutdown(10_000)


@pytest.fixture
def pilot(window: Any, errors: list[BaseException]) -> Any:
    from rfm_desktop.gui.autopilot import Pilot

    return Pilot(window, errors, timeout=120)
