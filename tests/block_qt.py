"""``python -m pytest -p tests.block_qt``: the tests as they run where Qt is not installed.

The engine and the CLI must work without PySide6 (issue 11, point 3). This plugin makes PySide6,
shiboken6, pyqtgraph and OpenGL unimportable in the test process: importing them raises the same
``ModuleNotFoundError`` an interpreter without them raises, so ``pytest.importorskip("PySide6")``
skips and an engine module that reached for Qt fails its tests.

Why a plugin and not a second virtual environment without PySide6: ``pip install -e .`` would
install PySide6 again (it is a dependency), so such an environment needs the other dependencies
listed a second time by hand, and a second install of pandas, scikit-learn and pyarrow in CI.
The plugin reuses the one environment and cannot drift from pyproject.toml. What it does not
cover: child processes the tests start (``python -m rfm_desktop ...``) get a normal interpreter;
that the CLI imports no Qt is checked separately (tests/test_architecture.py and the
import-linter contracts).

It also switches off pytest-qt and pytest-xvfb (they need Qt or a display) and declares
pytest-qt's settings in pyproject.toml, which would otherwise be unknown options.
"""

from __future__ import annotations

import importlib.abc
import sys

import pytest

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "OpenGL")


class QtBlocker(importlib.abc.MetaPathFinder):
    """Answers every import of a blocked package with ModuleNotFoundError."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked)", name=fullname)
        return None


_loaded = [name for name in sys.modules if name.split(".")[0] in BLOCKED]
if _loaded:  # too late to pretend they are absent
    raise RuntimeError(f"tests.block_qt: already imported before the plugin: {_loaded[:5]}")
sys.meta_path.insert(0, QtBlocker())


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # -p plugins load before the installed ones, so blocking here keeps those from loading.
    pluginmanager.set_blocked("pytest-qt")
    pluginmanager.set_blocked("xvfb")
    parser.addini("qt_log_level_fail", "pytest-qt's; unused while Qt is blocked")
    parser.addini("qt_log_ignore", "pytest-qt's; unused while Qt is blocked", type="linelist")
