"""A result is one unit: fault injection at every step of writing it (rfm_desktop.core.writing)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

from rfm_desktop.core import writing
from rfm_desktop.core.errors import ExportError

OLD = {
    "customers.csv": b"id\n1\n2\n",
    "segments/Lost.csv": b"id\n1\n",
    "segments/VIP.csv": b"id\n2\n",
    "summary.json": b'{"k": 2}\n',
    "run.json": b'{"old": true}\n',
    "segments.xlsx": b"PK old book",
}
NEW = {
    "customers.csv": b"id\n1\n2\n3\n",
    "segments/Champions.csv": b"id\n3\n",
    "segments/Lost.csv": b"id\n1\n2\n",
    "summary.json": b'{"k": 3}\n',
    "run.json": b'{"new": true}\n',
}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``folder``, hidden ones included."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def result_in(folder: Path) -> dict[str, bytes]:
    """The files the folder's manifest lists, after checking they are whole."""
    assert writing.check_result(folder) == []
    return {rel: (folder / rel).read_bytes() for rel in writing.read_manifest(folder)}


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """A folder with an earlier result and two files of the analyst's own."""
    out = tmp_path / "out"
    writing.write_files(out, OLD, replace=True)
    (out / "notes.txt").write_text("mine")
    (out / "segments" / "hand-made.csv").write_text("mine too")
    return out


def only_new_and_mine(out: Path) -> None:
    files = snapshot(out)
    expected = {**NEW, "notes.txt": b"mine", "segments/hand-made.csv": b"mine too"}
    assert {k: v for k, v in files.items() if v is not None and k != writing.MANIFEST} == expected
    assert result_in(out) == NEW


def test_a_new_result_replaces_the_previous_one_and_only_its_files(previous: Path) -> None:
    written = writing.write_files(previous, NEW, replace=True)
    assert [p.relative_to(previous).as_posix() for p in written] == list(NEW)
    only_new_and_mine(
        previous
    )  # old segments/VIP.csv and segments.xlsx gone, the analyst's files kept
    assert {p.name for p in previous.iterdir() if p.name.startswith(".")} == {writing.MANIFEST}


def test_a_product_file_the_analyst_changed_is_kept(previous: Path) -> None:
    (previous / "segments.xlsx").write_bytes(b"edited by hand")
    writing.write_files(previous, NEW, replace=True)
    assert (previous / "segments.xlsx").read_bytes() == b"edited by hand"
    assert not (previous / "segments" / "VIP.csv").exists()


def test_a_folder_left_empty_by_the_previous_result_goes(tmp_path: Path) -> None:
    writing.write_files(tmp_path, {"a.csv": b"1", "segments/x.csv": b"2"}, replace=True)
    writing.write_files(tmp_path, {"a.csv": b"3"}, replace=True)
    assert snapshot(tmp_path) == {
        "a.csv": b"3",
        writing.MANIFEST: (tmp_path / writing.MANIFEST).read_bytes(),
    }


def test_adding_files_without_replace_touches_nothing_else(previous: Path) -> None:
    before = snapshot(previous)
    writing.write_files(previous, {"everyone.csv": b"x"}, replace=False)
    after = snapshot(previous)
    assert after.pop("everyone.csv") == b"x"
    assert after == before


@pytest.mark.parametrize("failure", ["disk full", "ctrl-c"])
def test_a_failure_after_each_staged_file_leaves_the_previous_result(
    previous: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    before = snapshot(previous)
    real = writing._write_new
    for fail_at in range(1, len(NEW) + 2):  # each file, then the manifest
        calls = []

        def failing(path: Path, data: bytes, fail_at: int = fail_at, calls: list = calls) -> int:
            calls.append(path)
            if len(calls) == fail_at:
                if failure == "disk full":
                    raise OSError(errno.ENOSPC, "No space left on device")
                raise KeyboardInterrupt
            return real(path, data)

        monkeypatch.setattr(writing, "_write_new", failing)
        expected = ExportError if failure == "disk full" else KeyboardInterrupt
        with pytest.raises(expected, match="No space left" if failure == "disk full" else None):
            writing.write_files(previous, NEW, replace=True)
        # files are written side by side (writing.WRITERS): one begun beside the failing
        # one may have been written too, into the staged set that is then thrown away
        assert fail_at <= len(calls) <= len(NEW) + 1
        assert snapshot(previous) == before, f"changed after a failure at file {fail_at}"


def test_every_staged_file_is_on_disk_before_the_commit(
    previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are flushed to disk in a thread while the next ones are written; the commit (the
    renames) waits until every one, the manifest too, is flushed and closed."""
    flushed: list[int] = []
    real_flush, real_commit = writing._flush, writing._commit

    def flush(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").is_dir() else fd
        real_flush(fd)
        flushed.append(name)

    def commit(folder: Path, pending: Path) -> None:
        staged = sorted(p for p in pending.rglob("*") if p.is_file())
        assert len(flushed) == len(staged) == len(NEW) + 1  # the files and the manifest
        if Path("/proc/self/fd").is_dir():  # the same files (the staging folder was renamed)
            depth = len(previous.parts) + 1
            assert sorted(Path(name).parts[depth:] for name in flushed) == sorted(
                p.parts[depth:] for p in staged
            )
        real_commit(folder, pending)

    monkeypatch.setattr(writing, "_flush", flush)
    monkeypatch.setattr(writing, "_commit", commit)
    writing.write_files(previous, NEW, replace=True)
    assert {rel: (previous / rel).read_bytes() for rel in NEW} == NEW


def test_a_failed_flush_fails_the_export_and_leaves_the_previous_result(
    previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fails when a file is flushed (the error of a written file can come only
    then): the export fails with the reason, every file closed, the previous result as it was."""
    before = snapshot(previous)
    real_flush, calls = writing._flush, []

    def flush(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            os.close(fd)
            raise OSError(errno.EIO, "Input/output error")
        real_flush(fd)

    monkeypatch.setattr(writing, "_flush", flush)
    with pytest.raises(ExportError, match="Input/output error"):
        writing.write_files(previous, NEW, replace=True)
    assert snapshot(previous) == before
    assert not [p for p in previous.parent.iterdir() if p.name != previous.name]


@pytest.mark.skipif(os.name != "posix", reason="signals sent to the process itself")
def test_a_second_ctrl_c_while_a_file_is_still_written_leaves_nothing_open_or_behind(
    previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C twice during the staged writing, the second while a writer still writes a slow
    file: the export stops with the previous result, no file is left open and no staged file
    is left behind (the writer does not make the given-up staging folder again)."""
    import threading
    import time

    before = snapshot(previous)
    real, slow_started = writing._write_new, threading.Event()

    def slow(path: Path, data: bytes) -> int:
        if path.name == "Champions.csv":
            slow_started.set()
            time.sleep(1.5)  # a writer busy with a big file
        return real(path, data)

    def interrupt_twice() -> None:
        slow_started.wait(10)
        for _ in range(2):
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(writing, "_write_new", slow)
    threading.Thread(target=interrupt_twice, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        writing.write_files(previous, NEW, replace=True)
    time.sleep(2)  # the slow writer has finished by now
    assert snapshot(previous) == before
    assert not [p for p in previous.rglob(".rfm-staging*")]
    if Path("/proc/self/fd").is_dir():
        into = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the listing's own descriptor is gone
                into.append(os.readlink(f"/proc/self/fd/{fd}"))
        assert not [target for target in into if str(previous) in target]


@pytest.mark.parametrize("failure", ["io error", "ctrl-c"])
def test_a_failure_at_each_rename_of_the_commit_puts_everything_back(
    previous: Path, monkeypatch: pytest.MonkeyPatch, failure: str, tmp_path: Path
) -> None:
    before = snapshot(previous)
    real = os.replace
    count = []
    monkeypatch.setattr(os, "replace", lambda a, b: count.append(1) or real(a, b))
    writing.write_files(tmp_path / "dry", OLD, replace=True)
    count.clear()
    writing.write_files(tmp_path / "dry", NEW, replace=True)
    renames = len(count)  # staging -> pending, moves in, moves out, manifest
    assert renames >= len(NEW) + 3
    for fail_at in range(1, renames + 1):
        calls = []

        def failing(a: str, b: str, fail_at: int = fail_at, calls: list = calls) -> None:
            calls.append(1)
            if len(calls) == fail_at:
                raise (
                    OSError(errno.EIO, "Input/output error")
                    if failure == "io error"
                    else KeyboardInterrupt
                )
            real(a, b)

        monkeypatch.setattr(os, "replace", failing)
        with pytest.raises(ExportError if failure == "io error" else KeyboardInterrupt):
            writing.write_files(previous, NEW, replace=True)
        assert snapshot(previous) == before, f"not restored after a failure at rename {fail_at}"
    monkeypatch.setattr(os, "replace", real)
    writing.write_files(previous, NEW, replace=True)
    only_new_and_mine(previous)


KILL_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from rfm_desktop.core import writing
    folder, kill_at = sys.argv[1], int(sys.argv[2])
    files = {k: v.encode("latin-1") for k, v in json.loads(sys.argv[3]).items()}
    real, calls = os.replace, []
    def dying(a, b):
        calls.append(1)
        if len(calls) == kill_at:
            os._exit(9)  # as SIGKILL: no cleanup, no rollback
        real(a, b)
    os.replace = dying
    writing.write_files(folder, files, replace=True)
""")


def test_a_run_killed_at_any_rename_is_completed_by_the_next_one(previous: Path) -> None:
    before = snapshot(previous)
    payload = json.dumps({k: v.decode("latin-1") for k, v in NEW.items()})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for kill_at in range(1, 60):
        done = subprocess.run(
            [sys.executable, "-c", KILL_SCRIPT, str(previous), str(kill_at), payload],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode == 0:  # fewer renames than kill_at: the run finished
            assert kill_at > len(NEW) + 3
            only_new_and_mine(previous)
            break
        assert done.returncode == 9, done.stderr
        # a reader that trusts the manifest never takes a mix for a result
        if writing.check_result(previous) == []:
            assert result_in(previous) in (OLD, NEW)
        with writing.folder_lock(previous):  # the next run on the folder: recovery
            pass
        assert not [
            p for p in previous.iterdir() if p.name.startswith((".rfm-pending", ".rfm-staging"))
        ]
        if kill_at == 1:  # killed before the point of no return: the previous result stays
            assert snapshot(previous) == before
        else:
            only_new_and_mine(previous)
        writing.write_files(
            previous, OLD, replace=True
        )  # back to the previous result for the next try
        before = snapshot(previous)
    else:
        pytest.fail("the write never finished")


def test_a_file_where_a_folder_must_go_stops_before_any_change(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writing.write_files(out, {"customers.csv": b"old"}, replace=True)
    (out / "segments").write_text("a file of the analyst's")
    before = snapshot(out)
    with pytest.raises(ExportError, match="'segments' is a file"):
        writing.write_files(out, NEW, replace=True)
    assert snapshot(out) == before
    (out / "segments").unlink()
    (out / "summary.json").mkdir()
    before = snapshot(out)
    with pytest.raises(ExportError, match="a folder has that name"):
        writing.write_files(out, NEW, replace=True)
    assert snapshot(out) == before


def test_leftovers_of_killed_runs_are_cleaned_and_nothing_else(previous: Path) -> None:
    (previous / ".rfm-staging-0123456789ab" / "segments").mkdir(parents=True)
    (previous / ".rfm-staging-0123456789ab" / "segments" / "x.csv").write_bytes(b"half")
    (previous / writing.PENDING).mkdir()  # a pending folder without its manifest: a half-made one
    (previous / ".customers.csv.k2j4_x9a.tmp").write_bytes(b"temp of the earlier writer")
    (previous / "segments" / ".Lost.csv.abcdefgh.tmp").write_bytes(b"temp of the earlier writer")
    (previous / ".my-own.tmp").write_bytes(b"not ours")
    writing.write_files(previous, NEW, replace=True)
    hidden = sorted(p.relative_to(previous).as_posix() for p in previous.rglob(".*"))
    assert hidden == [".my-own.tmp", writing.MANIFEST]


def test_a_held_lock_stops_a_second_writer_and_a_dead_ones_does_not(previous: Path) -> None:
    before = snapshot(previous)
    with writing.folder_lock(previous):
        with pytest.raises(
            ExportError, match=f"Another run is writing to '{previous}'.*process {os.getpid()}"
        ):
            writing.write_files(previous, NEW, replace=True)
        assert (previous / writing.LOCK).exists()
    assert snapshot(previous) == before  # the lock file is gone again
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from rfm_desktop.core import writing; "
            "writing.lock_folder(sys.argv[1]); print('locked', flush=True); time.sleep(60)",
            str(previous),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ExportError, match="Another run"):
        writing.write_files(previous, NEW, replace=True)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)  # waits and closes the pipe
    assert (previous / writing.LOCK).exists()  # left behind by the killed holder: stale
    writing.write_files(previous, NEW, replace=True)
    only_new_and_mine(previous)
    assert not (previous / writing.LOCK).exists()


def test_a_lock_on_a_new_folder_leaves_nothing_when_the_run_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), writing.folder_lock(tmp_path / "a" / "b"):
        assert (tmp_path / "a" / "b" / writing.LOCK).exists()
        raise RuntimeError("the analysis failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"),
    [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)],
)
def test_files_honour_the_umask(tmp_path: Path, umask: int, file_mode: int, dir_mode: int) -> None:
    old = os.umask(umask)
    try:
        writing.write_files(tmp_path / "out", NEW, replace=True)
        writing.write_files(tmp_path, {"one.csv": b"x"}, replace=False)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] + [tmp_path / "one.csv"]
    assert len(files) == len(NEW) + 2
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(file_mode)}
    assert oct((tmp_path / "out" / "segments").stat().st_mode & 0o777) == oct(dir_mode)


@pytest.mark.parametrize(
    "bad", ["../x.csv", "/etc/x", ".rfm-manifest.json", "a/../../b", "seg\\x.csv", ""]
)
def test_only_plain_relative_paths_are_written(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        writing.write_files(tmp_path, {bad: b"x"}, replace=True)
    assert list(tmp_path.iterdir()) == []


def test_check_result_names_what_is_missing_or_changed(tmp_path: Path) -> None:
    assert "no result manifest" in writing.check_result(tmp_path)[0]
    writing.write_files(tmp_path, NEW, replace=True)
    (tmp_path / "summary.json").write_bytes(b'{"k": 9}\n')
    (tmp_path / "segments" / "Lost.csv").unlink()
    assert writing.check_result(tmp_path) == [
        "segments/Lost.csv: missing",
        "summary.json: changed since it was written",
    ]


def test_a_file_in_pieces_is_written_whole_with_its_size_and_checksum(tmp_path: Path) -> None:
    """writing.Pieces: a large file written piece by piece, never joined; the manifest holds
    the size and sha256 of all its bytes, as for a file given whole, and the pieces are made
    once, when the file is written."""
    import hashlib

    made = []

    def pieces():
        made.append(1)
        yield b"customer_id,segment\n"
        yield memoryview(b"x1,Champions\nx2,Lost\n")[:13]
        yield bytearray(b"x3,Lost\n")

    expected = b"customer_id,segment\nx1,Champions\nx3,Lost\n"
    out = tmp_path / "out"
    writing.write_files(out, {"a.csv": writing.Pieces(pieces), "b.csv": b"whole"}, replace=True)
    assert made == [1]
    assert (out / "a.csv").read_bytes() == expected
    listed = writing.read_manifest(out)
    assert listed["a.csv"] == {
        "size": len(expected),
        "sha256": hashlib.sha256(expected).hexdigest(),
    }
    assert listed["b.csv"]["sha256"] == hashlib.sha256(b"whole").hexdigest()
    assert writing.check_result(out) == []
