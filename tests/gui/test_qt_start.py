"""Set-up: when Qt's platform plugin cannot load, the app prints one line naming the packages
to install and exits 2 (no raw Qt abort); the README and CI install the same packages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rfm_desktop.gui.qt_start import DEBIAN_PACKAGES, EXIT_NO_WINDOW, failure_line

ROOT = Path(__file__).resolve().parents[2]


def _start(env_changes: dict[str, str | None], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), RFM_DESKTOP_LOG_DIR=str(tmp_path / "logs"))
    return subprocess.run(
        [sys.executable, "-m", "rfm_desktop"], env=env, capture_output=True, text=True, timeout=120
    )


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == EXIT_NO_WINDOW, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert "Traceback" not in line and "Reinstalling" not in line and "qt.qpa" not in line
    assert "sudo apt-get install -y " + " ".join(DEBIAN_PACKAGES) in line
    return line


def test_no_display_is_one_line_and_exit_2(tmp_path: Path) -> None:
    line = _one_line(
        _start({"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": "xcb"}, tmp_path)
    )
    assert "could not connect to a display (DISPLAY is not set)" in line


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.environ.get("DISPLAY"),
    reason="needs Linux and an X display (pytest-xvfb gives one)",
)
def test_a_missing_xcb_library_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libxcb-cursor.so.0").write_bytes(b"")  # the loader finds this first and fails on it
    line = _one_line(_start({"LD_LIBRARY_PATH": str(broken), "QT_QPA_PLATFORM": "xcb"}, tmp_path))
    assert "'xcb' platform plugin did not load (libxcb-cursor0 is needed)" in line


def test_an_unknown_platform_plugin_is_named(tmp_path: Path) -> None:
    line = _one_line(_start({"QT_QPA_PLATFORM": "nosuchplatform"}, tmp_path))
    assert "no 'nosuchplatform' platform plugin" in line and "offscreen" in line


def test_failure_line_from_qt_messages() -> None:
    line = failure_line(
        ["could not connect to display :7", 'Could not load the Qt platform plugin "xcb"'],
        "xcb",
        ":7",
    )
    assert "could not connect to the display ':7'" in line and "\n" not in line


def _apt_packages(text: str) -> set[str]:
    match = re.search(r"apt-get install[^\n]*?((?:\s+[a-z0-9][a-z0-9.+-]+)+)", text)
    assert match, "no apt-get install line"
    return {p for p in match.group(1).split() if not p.startswith("-")}


def test_readme_gives_the_ci_apt_line_next_to_the_first_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "apt-get install" in first_block and "rfm-desktop" in first_block
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").replace("\\\n", " ")
    assert _apt_packages(first_block) == _apt_packages(ci)
    assert set(DEBIAN_PACKAGES) <= _apt_packages(ci)
