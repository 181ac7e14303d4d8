"""The engine stays free of Qt: the import-linter contract in pyproject.toml, and a headless import."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter) is not installed; install the 'test' extra")
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "KEPT" in done.stdout


def test_engine_imports_without_qt():
    code = (
        "import sys\n"
        "import rfm_desktop.core.pipeline, rfm_desktop.core.export, rfm_desktop.cli\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'OpenGL', 'rfm_desktop.gui'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_ruff_is_clean():
    exe = shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed; install the 'test' extra")
    done = subprocess.run(
        [exe, "check", "rfm_desktop", "tests", "benchmarks", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout


def test_ruff_format_is_clean():
    """The whole tree is in `ruff format` style, so diffs show changes of meaning only."""
    exe = shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed; install the 'test' extra")
    done = subprocess.run(
        [exe, "format", "--check", "rfm_desktop", "tests", "benchmarks", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout


def test_ruff_bans_heavy_imports_at_module_level():
    """TID253 is active: a module-level `import sklearn` in the GUI would fail the lint."""
    exe = shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed; install the 'test' extra")
    done = subprocess.run(
        [exe, "check", "--select", "TID253", "--stdin-filename", "rfm_desktop/gui/probe.py", "-"],
        cwd=ROOT,
        input="import sklearn\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "TID253" in done.stdout, done.stdout


def test_a_warning_fails_the_test_that_caused_it(request: pytest.FixtureRequest) -> None:
    """pyproject's `filterwarnings = ["error"]`: a warning from our code is a bug, not noise."""
    import warnings

    with pytest.raises(UserWarning, match="a bug"):
        warnings.warn("a bug", UserWarning, stacklevel=1)
    assert float(request.config.getini("faulthandler_timeout")) > 0  # a hang dumps the stacks


def test_every_engine_module_and_the_cli_import_with_qt_blocked():
    """tests/block_qt.py (the Qt-free job) makes Qt unimportable, and the engine still imports."""
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "import block_qt\n"
        "for name in ('PySide6.QtCore', 'pyqtgraph', 'OpenGL.GL'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError(name + ' imported although blocked')\n"
        "import rfm_desktop.core as core\n"
        "names = [m.name for m in pkgutil.iter_modules(core.__path__, 'rfm_desktop.core.')]\n"
        "for name in names + ['rfm_desktop.cli', 'rfm_desktop.crashlog']:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 20  # every module of the engine, not an empty package


def _layers_contracts() -> list[dict]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return [c for c in contracts if c["type"] == "layers"]


def test_every_engine_and_gui_module_sits_in_a_layer():
    """A new module in core/ or gui/ must be placed in the layers contract, or this fails."""
    containers = {}
    for contract in _layers_contracts():
        (container,) = contract["containers"]
        listed = [n.strip() for layer in contract["layers"] for n in re.split(r"[:|]", layer)]
        assert len(listed) == len(set(listed)), listed  # each module in one layer only
        containers[container] = set(listed)
    assert set(containers) == {"rfm_desktop.core", "rfm_desktop.gui"}
    for container, listed in containers.items():
        folder = ROOT.joinpath(*container.split("."))
        modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        modules |= {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
        assert modules == listed, (container, modules ^ listed)


def test_an_upward_import_breaks_the_engine_layers(tmp_path):
    """The contracts catch a violation: errors.py (the bottom layer) importing the pipeline."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter) is not installed; install the 'test' extra")
    shutil.copytree(
        ROOT / "rfm_desktop",
        tmp_path / "rfm_desktop",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    errors = tmp_path / "rfm_desktop" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom rfm_desktop.core import pipeline\n")
    done = subprocess.run(
        [exe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Engine layers" in done.stdout and "BROKEN" in done.stdout
    assert "rfm_desktop.core.errors -> rfm_desktop.core.pipeline" in done.stdout


def test_mypy_is_clean():
    """mypy as pyproject's [tool.mypy] says: strict on the engine (core/), basic on the CLI."""
    exe = shutil.which("mypy")
    if exe is None:
        pytest.fail("mypy is not installed; install the 'test' extra")
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
