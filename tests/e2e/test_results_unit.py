"""`rfm-desktop segment` writes a result whole or not at all, in real subprocesses.

A real SIGINT at several points of the export, stale files of a bigger earlier run, concurrent
runs on one folder, a full disk, umask. Each checks that the folder holds the previous result
or the complete new one, and nothing else changed.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, hears_ctrl_c

from rfm_desktop import cli
from rfm_desktop.core import writing

#: Loaded by Python at start-up (sitecustomize): pauses the export at the Nth staged file
#: ("stage:N") or the Nth move of the commit ("commit:N") and says so by creating a marker file.
PAUSE_HOOK = textwrap.dedent("""
    import os, pathlib, time
    phase, n = os.environ["RFM_TEST_PAUSE"].split(":")
    from rfm_desktop.core import writing
    name = "_write_new" if phase == "stage" else "_move"
    real, calls = getattr(writing, name), []
    def pausing(a, b):
        done = real(a, b)
        calls.append(1)
        if len(calls) == int(n):
            pathlib.Path(os.environ["RFM_TEST_MARKER"]).touch()
            time.sleep(3)  # a file being written (in a writer thread) or a move of the commit
        return done
    setattr(writing, name, pausing)
""")


def segment(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rfm_desktop", "segment", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=ROOT,
        **kwargs,
    )


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def assert_whole(out: Path, k: int) -> None:
    """The folder holds one complete result of a run with ``k`` segments, consistent in every file."""
    assert writing.check_result(out) == []
    listed = writing.read_manifest(out)
    summary = json.loads((out / "summary.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert summary["k"] == run["k"] == k
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    segment_files = [rel for rel in listed if rel.startswith("segments/")]
    assert len(segment_files) == k == len(list((out / "segments").iterdir()))
    sizes = [len(pd.read_csv(out / rel)) for rel in segment_files]
    assert sum(sizes) == len(customers) == summary["customers"]
    assert not [
        p for p in out.iterdir() if p.name.startswith((".rfm-lock", ".rfm-pending", ".rfm-staging"))
    ]


@pytest.fixture
def previous(sample_path: Path, tmp_path: Path) -> Path:
    """An output folder with a complete K=4 result, plus a file of the analyst's."""
    out = tmp_path / "out"
    assert cli.main(["segment", str(sample_path), "--out", str(out), "--k", "4", "--quiet"]) == 0
    assert_whole(out, 4)
    (out / "README-mine.txt").write_text("the analyst's own notes")
    return out


@pytest.mark.parametrize("pause", ["stage:1", "stage:3", "commit:1", "commit:4"])
def test_a_real_ctrl_c_during_the_export_leaves_a_whole_result(
    previous: Path, sample_path: Path, tmp_path: Path, pause: str
) -> None:
    before = snapshot(previous)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_HOOK)
    marker = tmp_path / "paused"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
        "RFM_TEST_PAUSE": pause,
        "RFM_TEST_MARKER": str(marker),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rfm_desktop",
            "segment",
            str(sample_path),
            "--out",
            str(previous),
            "--k",
            "3",
            "--quiet",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        preexec_fn=hears_ctrl_c if os.name == "posix" else None,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "Traceback" not in err and err.count("\n") == 1
    if pause.startswith("stage"):  # before the point of no return: exactly the previous folder
        assert err.strip() == "interrupted: nothing was written"
        assert snapshot(previous) == before
    else:  # held until the commit was done: the complete new result, said so
        assert "the new result was already complete" in err
        assert_whole(previous, 3)
        assert (previous / "README-mine.txt").read_text() == "the analyst's own notes"


def test_a_smaller_run_removes_the_files_of_a_bigger_one(sample_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        segment(str(sample_path), "--out", str(out), "--k", "8", "--xlsx", "--quiet").returncode
        == 0
    )
    assert_whole(out, 8)
    assert (out / "segments.xlsx").exists()
    (out / "segments" / "my list.csv").write_text(
        "id\n1\n"
    )  # the analyst's, inside the product's folder
    done = segment(str(sample_path), "--out", str(out), "--k", "3")
    assert done.returncode == 0, done.stderr
    (out / "segments" / "my list.csv").unlink()
    assert_whole(out, 3)
    assert not (out / "segments.xlsx").exists()
    listed = sorted(writing.read_manifest(out))
    printed = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert sorted(printed) == listed  # the written-files list is the real one


def test_a_second_run_on_a_busy_folder_stops_with_exit_2(previous: Path, sample_path: Path) -> None:
    before = snapshot(previous)
    with writing.folder_lock(previous):
        done = segment(str(sample_path), "--out", str(previous), "--k", "3")
    assert done.returncode == cli.EXIT_BAD_INPUT
    assert (
        done.stderr.strip()
        .split("\r")[-1]
        .startswith(f"error: Another run is writing to '{previous}'")
    )
    assert done.stderr.count("\n") == 1
    assert snapshot(previous) == before


def test_two_runs_at_once_never_mix(previous: Path, sample_path: Path) -> None:
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rfm_desktop",
                "segment",
                str(sample_path),
                "--out",
                str(previous),
                "--k",
                k,
                "--quiet",
            ],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
        )
        for k in ("3", "5")
    ]
    codes = []
    for run in runs:
        _, err = run.communicate(timeout=300)  # waits and closes the pipe
        codes.append((run.returncode, err))
    for code, err in codes:
        assert code == 0 or (code == 2 and "Another run is writing" in err), err
    winners = [k for k, (code, _) in zip((3, 5), codes, strict=True) if code == 0]
    assert winners  # at least one ran; the folder holds one whole result, of a run that succeeded
    assert_whole(previous, json.loads((previous / "summary.json").read_text())["k"])
    assert json.loads((previous / "summary.json").read_text())["k"] in winners


def test_a_full_disk_is_one_line_exit_2_and_the_previous_result_stays(
    previous: Path,
    sample_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    before = snapshot(previous)
    real, calls = writing._write_new, []

    def filling(path: Path, data: bytes) -> int:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(writing, "_write_new", filling)
    code = cli.main(["segment", str(sample_path), "--out", str(previous), "--k", "3", "--quiet"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT and err.count("\n") == 1
    assert "No space left on device" in err
    assert snapshot(previous) == before


def test_exports_honour_the_umask(sample_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = segment(
        str(sample_path),
        "--out",
        str(out),
        "--k",
        "3",
        "--xlsx",
        "--quiet",
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(out).as_posix() for p in files) == sorted(
        [*writing.read_manifest(out), writing.MANIFEST]
    )
    assert "segments.xlsx" in writing.read_manifest(out)
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o644)}
    assert oct((out / "segments").stat().st_mode & 0o777) == oct(0o755)
