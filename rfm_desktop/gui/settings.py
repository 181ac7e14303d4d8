"""What the app remembers between sessions: recent files, last folder, window layout.

All through ``QSettings(ORGANIZATION, APPLICATION)``; tests point the default format
at a temporary folder with :func:`use_settings_dir`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, cast

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from rfm_desktop.resources import resources_dir

#: the two folders remembered apart: where files are opened from, and where the app writes
FolderKind = Literal["open", "export"]
_FOLDER_KEYS = {"open": "last_folder", "export": "last_export_folder"}

ORGANIZATION = "RFM Desktop"
APPLICATION = "rfm-desktop"
MAX_RECENT = 5


def settings() -> QSettings:
    # QSettings(org, app) would always use the native format; this one follows
    # setDefaultFormat, so use_settings_dir() really moves everything.
    return QSettings(
        QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def use_settings_dir(folder: str | Path) -> None:
    """Keep every setting in INI files under ``folder`` (tests, selftest)."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


def _string_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    # QSettings hands back a list here (a single entry comes back as a str, handled above)
    return [str(v) for v in cast("list[object]", value)]


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


def documents_folder() -> Path:
    """The user's Documents folder (QStandardPaths), or the home folder when there is none."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def inside_installation(folder: str | Path) -> bool:
    """True for the app's own folder (the bundled sample sits there): the app never writes there."""
    roots = [resources_dir().resolve().parent]
    if getattr(sys, "frozen", False):
        roots.append(Path(sys.executable).resolve().parent)
    return any(Path(folder).resolve().is_relative_to(root) for root in roots)


def last_folder(kind: FolderKind = "open") -> str:
    """The folder last used to open files (``"open"``) or to write them (``"export"``).

    Without one, opening starts in the home folder and writing in Documents; a folder inside the
    installation is never offered for writing.
    """
    folder = settings().value(_FOLDER_KEYS[kind])
    if (
        folder
        and Path(str(folder)).is_dir()
        and not (kind == "export" and inside_installation(str(folder)))
    ):
        return str(folder)
    return str(documents_folder() if kind == "export" else Path.home())


def set_last_folder(path: str | Path, kind: FolderKind = "open") -> None:
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    settings().setValue(_FOLDER_KEYS[kind], str(folder))


def export_format() -> str:
    """The file format of the last export ("csv" or "xlsx")."""
    value = settings().value("export/format")
    return str(value) if value in ("csv", "xlsx") else "csv"


def set_export_format(fmt: str) -> None:
    settings().setValue("export/format", fmt)


def save_bytes(key: str, value: QByteArray | bytes) -> None:
    settings().setValue(key, QByteArray(value))


def load_bytes(key: str) -> QByteArray | None:
    value = settings().value(key)
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    return None
