"""A parquet copy of each raw table read, so opening the same file again is instant.

Keyed on the sha256 of the file's content (see :mod:`rfm_desktop.core.source`) and the sheet:
a file replaced by another one of the same size and time stamp still gets a new key. Each
entry is one file, ``<key>.rfmcache``: the sha256 of the key and the parquet bytes, then those
bytes. It is
verified on every read, and an entry that does not match is deleted and read from the input
again. The folder is ``platformdirs.user_cache_dir("rfm-desktop")/tables``, or the folder in
the environment variable ``RFM_DESKTOP_CACHE_DIR`` (an empty string switches the cache off).
It holds customer data, so folders are created 0700 and entries 0600.

Every failure here (unwritable folder, full disk, damaged or tampered entry) is swallowed: the
cache may only ever make a read faster, never make it fail or change what is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CACHE_ENV = "RFM_DESKTOP_CACHE_DIR"
#: Bump when the raw-table layout changes, so old entries are never read.
CACHE_VERSION = 2
#: Entries kept; the oldest ones beyond this are deleted after each write.
MAX_ENTRIES = 12
SUFFIX = ".rfmcache"
_DIGEST = 32  # bytes of sha256 in front of the parquet bytes
#: A temporary file older than this is left over from a killed write (a write takes seconds).
STALE_TMP_SECONDS = 600
_TMP = re.compile(r"\.[0-9a-f]{40}\.[0-9a-f]{32}\.tmp")
_OLD_ENTRY = re.compile(r"[0-9a-f]{40}\.parquet")  # version 1: plain parquet, keyed on size + mtime


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


def spill_dir() -> Path:
    """Where the DuckDB engine spills rows beyond its memory limit: ``spill`` in the user cache
    (next to ``tables``; inside the configured cache folder when RFM_DESKTOP_CACHE_DIR is set,
    the system's temporary folder when caching is switched off)."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None and configured.strip():
        return Path(configured).expanduser() / "spill"
    folder = cache_dir()
    if folder is None:
        import tempfile

        return Path(tempfile.gettempdir()) / "rfm-desktop-spill"
    return folder.parent / "spill"


def cache_key(content_sha256: str, *parts: object) -> str:
    """The key of a raw table: the content hash of the file plus whatever else shapes the table.

    Parameters
    ----------
    content_sha256
        sha256 (hex) of the input file's bytes.
    parts
        Reading options that change the table (e.g. the sheet).
    """
    ident = "|".join([str(CACHE_VERSION), content_sha256, *map(repr, parts)])
    return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def load(key: str | None) -> pa.Table | None:
    """The cached table for ``key``, or None (not cached, cache off, or not verified).

    Parameters
    ----------
    key
        The entry's key (:func:`cache_key`: the file's content hash and read options); None:
        no caching.

    Returns
    -------
    pyarrow.Table or None
        The table as stored, checked against its digest; a damaged entry is deleted.

    Raises
    ------
    ValueError
        Never to the caller: raised and caught inside when the digest does not match, so a
        damaged entry counts as "not cached" and the file itself is read.
    """
    folder = cache_dir()
    if key is None or folder is None:
        return None
    entry = folder / f"{key}{SUFFIX}"
    try:
        _prune(folder)
        data = entry.read_bytes()
    except OSError:
        return None
    try:
        body = memoryview(data)[_DIGEST:]
        if len(data) <= _DIGEST or _digest(key, body) != data[:_DIGEST]:
            raise ValueError("checksum mismatch")
        # parse the verified bytes themselves, not the file again (it could change in between)
        table = pq.read_table(pa.BufferReader(pa.py_buffer(body)))
    except Exception:  # damaged or tampered entry: drop it and read the file itself
        with contextlib.suppress(OSError):
            entry.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used entries survive pruning
    return table


def store(key: str | None, table: pa.Table) -> None:
    """Write ``table`` under ``key``; silently does nothing if that fails.

    Parameters
    ----------
    key
        The entry's key; None: no caching, nothing is written.
    table
        The parsed input to keep (written as LZ4 parquet behind a digest).

    Raises
    ------
    KeyboardInterrupt, SystemExit
        Only these pass through (after the temporary file is removed); a failed write is
        swallowed, since the cache only saves time.
    """
    folder = cache_dir()
    if key is None or folder is None:
        return
    tmp = folder / f".{key}.{uuid.uuid4().hex}.tmp"
    try:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="lz4")
        body = sink.getvalue()
        _private_folder(folder)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_digest(key, body))
            handle.write(body)
        os.replace(tmp, folder / f"{key}{SUFFIX}")
        _prune(folder)
    except BaseException as exc:  # Ctrl-C too: never leave the temporary file behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise


def clear() -> None:
    """Delete every cached table (e.g. from a settings dialog)."""
    folder = cache_dir()
    if folder is None or not folder.is_dir():
        return
    for entry in folder.glob(f"*{SUFFIX}"):
        with contextlib.suppress(OSError):
            entry.unlink()


def _digest(key: str, body: bytes | memoryview) -> bytes:
    """sha256 of the key and the parquet bytes: an entry copied under another key fails too."""
    digest = hashlib.sha256(key.encode("ascii"))
    digest.update(body)
    return digest.digest()


def _private_folder(folder: Path) -> None:
    """Create the cache folder (and, for the default location, its parent) private to the user."""
    default = cache_dir() == folder and os.environ.get(CACHE_ENV) is None
    for path in ([folder.parent] if default else []) + [folder]:
        if not path.is_dir():
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif default and path.stat().st_mode & 0o077:
            path.chmod(0o700)  # made by an earlier version with the umask's mode


def _prune(folder: Path) -> None:
    """Keep the newest MAX_ENTRIES entries; delete old-format entries and stale temporary files."""
    entries = sorted(folder.glob(f"*{SUFFIX}"), key=_mtime, reverse=True)
    stale = time.time() - STALE_TMP_SECONDS
    old = entries[MAX_ENTRIES:] + [
        path
        for path in folder.iterdir()  # only names this module makes: the folder may be shared
        if _OLD_ENTRY.fullmatch(path.name) or (_TMP.fullmatch(path.name) and _mtime(path) < stale)
    ]
    for path in old:
        with contextlib.suppress(OSError):
            path.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
