"""Writing a set of files as one unit: afterwards a folder holds the whole previous set or the
whole new one, never a mix, and nothing the product did not write is touched.

How a set is written into a folder (:func:`write_files`):

1. **Lock**: ``.rfm-lock`` in the folder, held with an operating-system file lock for the whole
   run (:func:`folder_lock`). A second run on the folder stops with :class:`ExportError`. The OS
   drops the lock when its process dies, so a lock file left by a killed run is stale and taken
   over, never waited on.
2. **Recover**: complete the commit of a run killed in step 4, delete staging folders and
   temporary files that killed runs left behind.
3. **Stage**: every file into ``.rfm-staging-<random>/`` inside the folder (the same disk, so the
   moves below are renames), flushed to disk, then ``.rfm-manifest.json``: every file with its
   size and sha256. An error or Ctrl-C here deletes the staging folder; nothing else changed.
4. **Commit**: the staging folder is renamed ``.rfm-pending`` (from here on the new set wins),
   each file replaces its namesake (the old one is kept in ``.rfm-pending/.previous`` until the
   end), files of the previous set that the new one lacks are moved out as well, and the
   manifest goes into the folder last. Ctrl-C and SIGTERM are held back during these renames
   (milliseconds) and honoured afterwards; an error puts every previous file back; after a
   kill (SIGKILL, power cut) the next run completes the commit in step 2. Until then the
   folder's manifest still lists the previous files with their checksums
   (:func:`check_result` tells).

"Files of the previous set" are only those its manifest lists, and only while their content
still matches it: a file the analyst changed, or any other file in the folder, stays.
Files are created with mode 0666 minus the umask (0644 under the usual umask 022).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from rfm_desktop.core.errors import ExportError

MANIFEST = ".rfm-manifest.json"
LOCK = ".rfm-lock"
PENDING = ".rfm-pending"
STAGING_PREFIX = ".rfm-staging-"
_PREVIOUS = ".previous"
#: Temporary files of the writer before this module (``tempfile.mkstemp`` next to the target).
_LEGACY_TMP = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


class Pieces:
    """A file's content as pieces written one after another, never joined into one buffer (a
    segment's customers cut from the lines of all customers: at 5,000,000 customers a few
    hundred megabytes less at once). Read once, by the writer, which then has ``size`` (bytes)
    and :meth:`sha256` (hex) of what it wrote.

    Parameters
    ----------
    make
        Called once when the file is written; gives the pieces in their order.
    """

    def __init__(self, make: Callable[[], Iterable[bytes | bytearray | memoryview]]) -> None:
        self._make = make
        self._digest = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes | bytearray | memoryview]:
        # the checksum is taken by another thread while the pieces are written (both leave
        # Python's lock), in their order: one worker takes the updates one after another
        with ThreadPoolExecutor(1) as checksum:
            for piece in self._make():
                checksum.submit(self._digest.update, piece)
                self.size += memoryview(piece).nbytes
                yield piece

    def sha256(self) -> str:
        """The hex sha256 of the pieces read so far (all of them once the file is written)."""
        return self._digest.hexdigest()


#: A file's content. A bytearray is a large file built up in place (a customer list of
#: millions of rows), which an immutable bytes would have to copy once more; Pieces a large
#: file that is never held whole.
Content = bytes | bytearray | Pieces


# ---------------------------------------------------------------- the lock
@dataclass
class FolderLock:
    """A held ``.rfm-lock`` of one folder; release it with :meth:`release` (or use :func:`folder_lock`)."""

    folder: Path
    _fd: int | None = None
    _created: list[Path] = field(default_factory=list)  # folders made for the lock

    def release(self) -> None:
        """Drop the lock and delete the lock file; folders made for it go too if left empty."""
        if self._fd is None:
            return
        path = self.folder / LOCK
        if os.name == "nt":  # an open file cannot be deleted there
            _unlock(self._fd)
            os.close(self._fd)
            with contextlib.suppress(OSError):
                path.unlink()
        else:  # delete while still holding it: a waiting run then sees a new file and retries
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(self._fd)
        self._fd = None
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: a failed run leaves no empty output folder


def lock_folder(folder: str | os.PathLike[str]) -> FolderLock:
    """Take the folder's lock (creating the folder), then recover what killed runs left.

    Raises
    ------
    ExportError
        Another process holds the lock, or the folder cannot be written.
    """
    folder = Path(folder)
    created = _make_folders(folder)
    path = folder / LOCK
    try:
        for _ in range(50):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
            if not _try_lock(fd):
                holder = _holder(fd)
                os.close(fd)
                raise ExportError(
                    f"Another run is writing to '{folder}' right now{holder}.",
                    hint="Wait until it has finished, or choose another output folder.",
                )
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder deleted the file as we opened it: take the new one
        else:
            raise ExportError(f"Could not lock '{folder}': the lock file keeps changing.")
        os.ftruncate(fd, 0)
        os.write(
            fd,
            f"{os.getpid()} {socket.gethostname()} {datetime.now().isoformat(timespec='seconds')}\n".encode(),
        )
    except ExportError:
        _remove_empty(created)
        raise
    except OSError as exc:
        _remove_empty(created)
        raise ExportError(f"Cannot write to '{folder}': {exc.strerror or exc}.") from exc
    lock = FolderLock(folder, fd, created)
    try:
        _recover(folder)
    except BaseException:
        lock.release()
        raise
    return lock


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[FolderLock]:
    """``with folder_lock(out) as lock:`` hold the lock of ``out`` for a whole run."""
    lock = lock_folder(folder)
    try:
        yield lock
    finally:
        lock.release()


def _make_folders(folder: Path) -> list[Path]:
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create the folder '{folder}': {exc.strerror or exc}.") from exc
    return list(reversed(missing))


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":  # os.name == "nt", in the form type checkers follow
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform != "win32":  # only Windows locks with msvcrt (release() calls this there)
        return
    import msvcrt

    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _holder(fd: int) -> str:
    """`` (process 123 on host, since …)`` from the lock file, or nothing when unreadable."""
    try:
        pid, host, since = os.pread(fd, 200, 0).decode().split()[:3]
    except (OSError, ValueError, AttributeError):  # no pread on Windows; the byte is locked there
        return ""
    return f" (process {pid} on {host}, since {since.replace('T', ' ')})"


# ---------------------------------------------------------------- writing a set
def write_files(
    folder: str | os.PathLike[str],
    files: Mapping[str, Content],
    *,
    replace: bool,
    lock: FolderLock | None = None,
) -> list[Path]:
    """Write ``files`` into ``folder`` as one unit.

    Parameters
    ----------
    folder
        The target folder (created if missing).
    files
        Relative POSIX path (``"segments/Champions.csv"``) -> content.
    replace
        True: ``files`` is the folder's whole result: files of the previous result (per its
        manifest) that are not in ``files`` are removed, and the new manifest is written.
        False: the files are added or replaced one for one (an export chosen in a save dialog
        into a folder of other files); no manifest.
    lock
        The folder's lock when the caller already holds it for the whole run.

    Returns
    -------
    list of Path
        The files written, in the order of ``files``.

    Raises
    ------
    ExportError
        Another run holds the folder, a path is blocked (a file where a folder must go), or a
        write fails (disk full, no permission). The folder then holds what it held before.
    """
    folder = Path(folder)
    for rel in files:
        _check_relative(rel)
    owned = lock is None
    if lock is None:
        lock = lock_folder(folder)
    elif not os.path.samefile(lock.folder, folder):
        raise ValueError(f"the lock held is of '{lock.folder}', not of '{folder}'")
    try:
        old = read_manifest(folder) if replace else {}
        _remove_legacy_temps(folder, [*files, *old])
        _check_blocked(folder, files)
        staging = folder / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        try:
            _stage(staging, files, replace)
            with _signals_held() as held:
                os.replace(staging, folder / PENDING)
                _commit(folder, folder / PENDING)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise ExportError(f"Cannot write to '{folder}': {exc.strerror or exc}.") from exc
            raise
        _sync_folder(folder)
    finally:
        if owned:
            lock.release()
    if held:
        _deliver(held, folder)
    return [folder / rel for rel in files]


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The files the folder's manifest lists (relative path -> size, sha256); ``{}`` without one."""
    try:
        listed = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))["files"]
        return {rel: entry for rel, entry in listed.items() if _is_relative(rel)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def check_result(folder: str | os.PathLike[str]) -> list[str]:
    """What is wrong with the result in ``folder`` by its manifest: ``[]`` when whole and unchanged.

    A reader that trusts only this (e.g. a script picking up a monthly export) never reads a mix.
    """
    folder = Path(folder)
    listed = read_manifest(folder)
    if not listed:
        return [f"no result manifest ({MANIFEST}) in '{folder}'"]
    problems = []
    for rel, entry in listed.items():
        if not (folder / rel).is_file():
            problems.append(f"{rel}: missing")
        elif not _matches(folder / rel, entry):
            problems.append(f"{rel}: changed since it was written")
    return problems


def _check_relative(rel: str) -> None:
    if not _is_relative(rel):
        raise ValueError(f"not a plain relative path inside the folder: {rel!r}")


def _is_relative(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel:
        return False
    parts = PurePosixPath(rel).parts
    return not PurePosixPath(rel).is_absolute() and all(
        p not in (".", "..") and not p.startswith(".") for p in parts
    )


def _check_blocked(folder: Path, files: Mapping[str, Content]) -> None:
    """Fail before any change when a file stands where the result needs a folder, or the reverse."""
    for rel in files:
        parts = PurePosixPath(rel).parts
        for i in range(1, len(parts)):
            above = folder.joinpath(*parts[:i])
            if above.exists() and not above.is_dir():
                raise ExportError(
                    f"Cannot write '{rel}' in '{folder}': '{above.name}' is a file, "
                    "where the result needs a folder.",
                    hint="Move that file away or choose another output folder.",
                )
        if (folder / rel).is_dir():
            raise ExportError(
                f"Cannot write '{rel}' in '{folder}': a folder has that name.",
                hint="Move that folder away or choose another output folder.",
            )


#: files written at once. Writing a file (copying it into the system's file cache, and for a
#: customer list cutting it from the lines of customers.csv) leaves Python's lock, so on two
#: cores two files take little more than the time of one: at 1,000,000 customers (340 MB in 15
#: files) the export took 0.3 s less. Each file is flushed to disk in a thread of its own.
WRITERS = 2


def _stage(staging: Path, files: Mapping[str, Content], replace: bool) -> None:
    os.mkdir(staging, 0o700)
    # WRITERS files at a time, each read (rendered) by its writer; every file is flushed to
    # disk while the others are written (a flush of tens of megabytes waited 0.05-0.3 s), and
    # all of them before the staged set is committed
    with ThreadPoolExecutor(1) as disk, ThreadPoolExecutor(WRITERS) as writers:
        flushed: list[Future[None]] = []
        failed = threading.Event()  # a file failed: the files not begun are not written

        def put(rel: str) -> dict[str, Any] | None:
            if failed.is_set():
                return None
            try:
                data = files[rel]
                # its folders made one by one inside the staging folder, never the staging
                # folder itself: gone, it was given up (a second Ctrl-C) and stays gone
                for folder in reversed(PurePosixPath(rel).parents[:-1]):
                    (staging / folder).mkdir(exist_ok=True)
                fd = _write_new(staging / rel, data)
                try:
                    flushed.append(disk.submit(_flush, fd))
                except BaseException:  # the flushing thread stopped (a second Ctrl-C)
                    os.close(fd)
                    raise
                if isinstance(data, Pieces):
                    return {"size": data.size, "sha256": data.sha256()}
                return {"size": len(data), "sha256": _sha256_hex(data)}
            except BaseException:
                failed.set()
                raise

        written: dict[str, Future[dict[str, Any] | None]] = {}
        try:
            for rel in files:
                written[rel] = writers.submit(put, rel)
            entries = {rel: done.result() for rel, done in written.items()}
        except BaseException:  # the files not begun are not written; the staged set goes
            failed.set()
            for done in written.values():
                done.cancel()
            raise
        from rfm_desktop import __version__

        manifest = {
            "written_by": f"rfm-desktop {__version__}",
            "written_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "replace": replace,
            "files": entries,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        flushed.append(disk.submit(_flush, _write_new(staging / MANIFEST, text.encode())))
        for flush in flushed:  # each waited for, so a failed flush fails the export
            flush.result()


def _sha256_hex(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_new(path: Path, data: Content) -> int:
    """A new file, mode 0666 minus the umask, in an existing folder, written but not yet
    flushed to disk: its open descriptor, for :func:`_flush`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        for piece in data if isinstance(data, Pieces) else (data,):
            view = memoryview(piece)
            while view:  # os.write may write part of a large piece
                view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd


def _flush(fd: int) -> None:
    """Flush an open file (:func:`_write_new`) to disk and close it."""
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(folder: Path, pending: Path) -> None:
    """Move the pending set into place; on any error put the previous files back.

    Works from what is on disk, not from memory, so that the next run can finish (or undo) the
    commit of a killed one: a file still in ``pending`` has not been moved yet.
    """
    journal = json.loads((pending / MANIFEST).read_text(encoding="utf-8"))
    new = {rel: entry for rel, entry in journal["files"].items() if _is_relative(rel)}
    old = read_manifest(folder) if journal.get("replace") else {}
    gone = [rel for rel in old if rel not in new]
    backup = pending / _PREVIOUS
    try:
        for rel in new:
            if _exists(pending / rel):
                if _exists(folder / rel):
                    _move(folder / rel, backup / rel)
                _move(pending / rel, folder / rel)
        for rel in gone:
            if _matches(folder / rel, old[rel]):
                _move(folder / rel, backup / rel)
        if journal.get("replace"):
            os.replace(pending / MANIFEST, folder / MANIFEST)
    except BaseException:
        if _rollback(folder, pending, list(new), gone):
            shutil.rmtree(pending, ignore_errors=True)
        raise
    for rel in gone:  # e.g. segments/ when the new result has no file there
        _remove_empty(
            [
                folder.joinpath(*PurePosixPath(rel).parts[:i])
                for i in range(1, len(PurePosixPath(rel).parts))
            ]
        )
    shutil.rmtree(pending, ignore_errors=True)


def _rollback(folder: Path, pending: Path, new: list[str], gone: list[str]) -> bool:
    """Undo a commit from the state on disk; True when every previous file is back in place."""
    backup, ok = pending / _PREVIOUS, True
    for rel in [*new, *gone]:
        target = folder / rel
        try:
            if rel in new and not _exists(pending / rel) and _exists(target):
                _move(target, pending / rel)  # a new file already moved in
            if _exists(backup / rel) and not _exists(target):
                _move(backup / rel, target)
        except OSError:
            ok = False
    return ok


def _recover(folder: Path) -> None:
    """Finish the commit of a killed run; delete its staging folders."""
    pending = folder / PENDING
    if pending.is_dir():
        if (pending / MANIFEST).is_file():
            with contextlib.suppress(ExportError, OSError, ValueError, KeyError):
                _commit(folder, pending)  # undone by itself if it cannot finish
        shutil.rmtree(pending, ignore_errors=True)
    for staging in folder.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(staging, ignore_errors=True)


def _remove_legacy_temps(folder: Path, rels: list[str]) -> None:
    """Temporary files the writer before this one left after a kill (``.customers.csv.ab12cd34.tmp``)."""
    names: dict[Path, set[str]] = {}
    for rel in rels:
        path = folder / rel
        names.setdefault(path.parent, set()).add(path.name)
    for parent, known in names.items():
        with contextlib.suppress(OSError):
            for entry in parent.iterdir():
                match = _LEGACY_TMP.fullmatch(entry.name)
                if match and match["name"] in known and entry.is_file():
                    entry.unlink()


# ---------------------------------------------------------------- small helpers
def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _matches(path: Path, entry: dict[str, Any]) -> bool:
    """The file is there with the size and sha256 a manifest entry lists."""
    try:
        return (
            path.is_file()
            and path.stat().st_size == entry.get("size")
            and file_sha256(path) == entry.get("sha256")
        )
    except OSError:
        return False


def _sync_folder(folder: Path) -> None:
    """Make the renames durable (POSIX; Windows has no directory handles for this)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold Ctrl-C and SIGTERM back while the block runs (main thread only; others get none)."""
    held: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is None:
                continue
            handler = signal.getsignal(sig)
            if handler is not None:  # None: set outside Python, cannot be restored
                previous[sig] = signal.signal(sig, lambda number, _frame: held.append(number))
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _deliver(held: list[int], folder: Path) -> None:
    """Honour a signal held during the commit, now that the new result is complete."""
    number = held[0]
    handler = signal.getsignal(number)
    if handler is signal.default_int_handler:
        raise KeyboardInterrupt(f"the new result was already complete in '{folder}'")
    if callable(handler):
        handler(number, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(number)
