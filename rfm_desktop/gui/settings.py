"""What the app remembers between sessions: recent files, last folder, window layout.

All through ``QSettings(ORGANIZATION, APPLICATION)``; tests point the default format
at a temporary folder with :func:`use_settings_dir`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "RFM Desktop"
APPLICATION = "rfm-desktop"
MAX_RECENT = 5


def settings() -> QSettings:
    # QSettings(org, app) would always use the native format; this one follows
    # setDefaultFormat, so use_settings_dir() really moves everything.
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def use_settings_dir(folder: str | Path) -> None:
    """Keep every setting in INI files under ``folder`` (tests, selftest)."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


def _string_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]  # type: ignore[union-attr]


def recent_files() -> list[str]:
    return _string_list(settings().value("recent_files"))[:MAX_RECENT]


def add_recent_file(path: str | Path) -> list[str]:
    path = str(Path(path).resolve())
    files = [path] + [p for p in recent_files() if p != path]
    files = files[:MAX_RECENT]
    s = settings()
    s.setValue("recent_files", files)
    s.sync()
    return files


def remove_recent_file(path: str) -> None:
    s = settings()
    s.setValue("recent_files", [p for p in recent_files() if p != path])
    s.sync()


def last_folder() -> str:
    folder = settings().value("last_folder")
    if folder and Path(str(folder)).is_dir():
        return str(folder)
    return str(Path.home())


def set_last_folder(path: str | Path) -> None:
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    settings().setValue("last_folder", str(folder))


def save_bytes(key: str, value: QByteArray | bytes) -> None:
    settings().setValue(key, QByteArray(value))


def load_bytes(key: str) -> QByteArray | None:
    value = settings().value(key)
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    return None
