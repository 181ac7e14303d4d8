"""Crash logs hold paths and data values: private files, and a temp-folder fallback nobody else can plant."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from rfm_desktop import crashlog

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def _crash() -> tuple:
    try:
        raise ValueError("customer 17850 spent 77,183.60")
    except ValueError:
        return sys.exc_info()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp folder is tmp_path/tmp, and the preferred log folder cannot be made."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    (tmp_path / "not-a-folder").write_text("a file where the log folder should be")
    monkeypatch.setenv(crashlog.ENV_LOG_DIR, str(tmp_path / "not-a-folder" / "logs"))
    old = os.umask(0o022)
    yield tmp_path / "tmp"
    os.umask(old)


def test_the_fallback_is_per_user_and_private(temp: Path) -> None:
    log = crashlog.write_log(*_crash())
    root = temp / f"rfm-desktop-{os.getuid()}"
    assert log.parent == root / "logs" == crashlog.fallback_dir()
    assert (_mode(root), _mode(root / "logs"), _mode(log)) == (0o700, 0o700, 0o600)
    assert "77,183.60" in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("level", ["root", "logs"])
def test_a_fallback_open_to_others_is_refused(temp: Path, level: str) -> None:
    root = temp / f"rfm-desktop-{os.getuid()}"
    folder = root if level == "root" else root / "logs"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    with pytest.raises(PermissionError, match="is open to other users"):
        crashlog.write_log(*_crash())
    assert list(folder.rglob("*.log")) == []


def test_a_planted_link_is_refused(temp: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o700)
    (temp / f"rfm-desktop-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(PermissionError, match="is not a folder of this user"):
        crashlog.write_log(*_crash())
    assert list(elsewhere.rglob("*")) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a folder away"
)
def test_a_fallback_owned_by_someone_else_is_refused(temp: Path) -> None:
    root = temp / f"rfm-desktop-{os.getuid()}"
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    with pytest.raises(PermissionError, match="is not a folder of this user"):
        crashlog.write_log(*_crash())


def test_logs_in_the_usual_folder_are_private_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(crashlog.ENV_LOG_DIR, str(tmp_path / "logs"))
    old = os.umask(0o022)
    try:
        log = crashlog.write_log(*_crash())
        crashlog.install_excepthook(notify=lambda _p: None, fatal_errors=True)
        fatal = tmp_path / "logs" / crashlog.FATAL_LOG_NAME
        assert fatal.exists() and _mode(fatal) == 0o600
    finally:
        crashlog.uninstall_excepthook()
        os.umask(old)
    assert (_mode(tmp_path / "logs"), _mode(log)) == (0o700, 0o600)
