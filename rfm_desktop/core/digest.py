"""The sha256 and size of input files, hashed in a thread while other work goes on.

The run record names the input by its sha256 (``run.json``'s ``input``). The DuckDB engine
reads the files itself, so their bytes are hashed apart from the read: in a thread, which
hashlib lets run beside Python (it leaves Python's lock on large blocks). The CLI starts that
thread for a large input before it loads its modules (:func:`start_early`): the start of a
run uses one core, while DuckDB's aggregation, where the hash would otherwise run, uses both.
Kept free of heavy imports for that reason.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from rfm_desktop.core.errors import InputFileError

#: Smallest file :func:`start_early` hashes ahead (a smaller one hashes in tens of
#: milliseconds, and an option's small CSV, such as a rule table, is then left alone).
EARLY_BYTES = 64 * 2**20

_BLOCK = 1 << 22

#: Stamp of a file: its real path, device and inode, size, and modification and change times
#: (ns; a copy that keeps the modification time, as ``cp -p`` makes, still has a new change time)
_Stamp = tuple[tuple[str, int, int, int, int, int], ...]


class FileDigest:
    """The sha256 and size of ``files``' bytes, in order, hashed in a thread from creation."""

    def __init__(self, files: Iterable[Path]):
        self.files = tuple(Path(f) for f in files)
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="input-digest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for path in self.files:
                with open(path, "rb") as fh:
                    while block := fh.read(_BLOCK):
                        self._sha256.update(block)
                        self._size += len(block)
        except OSError as exc:
            self._error = exc

    def result(self) -> tuple[str, int]:
        """(sha256 as hex, size in bytes), once the thread has read every file.

        Raises
        ------
        InputFileError
            A file could not be read.
        """
        self._thread.join()
        if self._error is not None:
            raise InputFileError(f"'{self.files[0].name}' cannot be read: {self._error.strerror}.")
        return self._sha256.hexdigest(), self._size


_early: dict[_Stamp, FileDigest] = {}
_early_lock = threading.Lock()


def _stamp(files: Iterable[Path]) -> _Stamp | None:
    """What must be unchanged for a digest begun earlier to stand for ``files``; None when a
    file cannot be looked at."""
    try:
        stamps = []
        for f in files:
            info = os.stat(f)
            stamps.append(
                (
                    os.path.realpath(f),
                    info.st_dev,
                    info.st_ino,
                    info.st_size,
                    info.st_mtime_ns,
                    info.st_ctime_ns,
                )
            )
        return tuple(stamps)
    except (OSError, ValueError):  # ValueError: a name with a NUL byte
        return None


def start_early(paths: Iterable[str]) -> int:
    """Begin hashing, each in its own thread, the ``paths`` that are files of at least
    :data:`EARLY_BYTES`; :func:`digest_of` takes them up. Best effort: a path that cannot be
    looked at is left to the run, which says what is wrong with it.

    Parameters
    ----------
    paths
        Candidate inputs (the CLI's arguments that name CSV or Parquet files).

    Returns
    -------
    int
        How many files are being hashed.
    """
    started = 0
    for name in paths:
        try:
            path = Path(name).expanduser()
            if not path.is_file():
                continue
        except (OSError, RuntimeError, ValueError):  # no such user's home, a name too long
            continue  # the run says what is wrong with it
        stamp = _stamp([path])
        if stamp is None or stamp[0][3] < EARLY_BYTES:
            continue
        with _early_lock:
            if stamp not in _early:
                _early[stamp] = FileDigest([path])
                started += 1
    return started


def digest_of(files: Iterable[Path]) -> FileDigest:
    """The digest of ``files``: the one :func:`start_early` began when they have not changed
    since (the same real path, file, size, modification and change times), else a new one,
    begun now."""
    files = tuple(files)
    stamp = _stamp(files)
    with _early_lock:
        early = _early.pop(stamp, None) if stamp is not None else None
    return early if early is not None else FileDigest(files)
