"""A parquet copy of each raw table read, so opening the same unchanged file again is instant.

Keyed on (absolute path, size, mtime_ns, sheet): any change to the file makes a new key.
The folder is ``platformdirs.user_cache_dir("rfm-desktop")/tables``, or the folder in the
environment variable ``RFM_DESKTOP_CACHE_DIR`` (set it to an empty string to switch the
cache off). Every failure here (unwritable folder, full disk, damaged cache file) is
swallowed: the cache may only ever make a read faster, never make it fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CACHE_ENV = "RFM_DESKTOP_CACHE_DIR"
#: Bump when the raw-table layout changes, so old entries are never read.
CACHE_VERSION = 1
#: Entries kept; the oldest ones beyond this are deleted after each write.
MAX_ENTRIES = 12


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is switched off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("rfm-desktop")) / "tables"
    except Exception:  # platformdirs missing or no home folder: no cache
        return None


def cache_key(path: Path, sheet: str | int | None) -> str | None:
    """The key of the file as it is now, or None when it cannot be stat-ed."""
    try:
        resolved = path.resolve()
        stat = resolved.stat()
    except OSError:
        return None
    ident = f"{CACHE_VERSION}|{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{sheet!r}"
    return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def load(key: str | None) -> pa.Table | None:
    """The cached table for ``key``, or None (not cached, cache off, or unreadable)."""
    folder = cache_dir()
    if key is None or folder is None:
        return None
    entry = folder / f"{key}.parquet"
    try:
        table = pq.read_table(entry)
        os.utime(entry)  # recently used entries survive pruning
        return table
    except Exception:  # missing or damaged entry: read the file itself
        return None


def store(key: str | None, table: pa.Table) -> None:
    """Write ``table`` under ``key``; silently does nothing if that fails."""
    folder = cache_dir()
    if key is None or folder is None:
        return
    tmp = folder / f".{key}.{uuid.uuid4().hex}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp, compression="lz4")
        os.replace(tmp, folder / f"{key}.parquet")
        _prune(folder)
    except Exception:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def clear() -> None:
    """Delete every cached table (e.g. from a settings dialog)."""
    folder = cache_dir()
    if folder is None or not folder.is_dir():
        return
    for entry in folder.glob("*.parquet"):
        with contextlib.suppress(OSError):
            entry.unlink()


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.parquet"), key=_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            old.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
