"""`rfm-desktop segment` and `sample` end to end, in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, hears_ctrl_c


def rfm(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "rfm_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_segment_defaults_on_sample(sample_path, tmp_path):
    done = rfm("segment", str(sample_path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "customers in" in done.stderr and "%" in done.stderr  # progress bar and the final line
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["k"] == summary["suggested_k"]
    assert [s["k"] for s in summary["k_scores"]] == list(range(2, 11))
    customers = pd.read_csv(tmp_path / "out" / "customers.csv")
    assert len(customers) == summary["customers"]
    assert len(list((tmp_path / "out" / "segments").glob("*.csv"))) == summary["k"]


def test_segment_flags_are_honoured(sample_path, tmp_path):
    done = rfm(
        "segment",
        str(sample_path),
        "--out",
        str(tmp_path),
        "--k",
        "3",
        "--transform",
        "none",
        "--scaler",
        "robust",
        "--outliers",
        "segment",
        "--snapshot",
        "2012-01-01",
        "--seed",
        "3",
        "--xlsx",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["k"] == 3 and summary["k_scores"] == []
    assert summary["params"]["clustering"]["scaler"] == "robust"
    assert summary["snapshot_date"].startswith("2012-01-01")
    names = [c["name"] for c in summary["clusters"]]
    assert names[-1] == "C4 · Outliers" and len(names) == 4
    assert (tmp_path / "segments.xlsx").exists()


def test_seed_preset_on_real_data(real_data_path, tmp_path):
    done = rfm(
        "segment", str(real_data_path), "--out", str(tmp_path), "--preset", "seed", "--quiet"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["customers"] == 4338
    assert summary["k"] == 4
    assert abs(summary["silhouette"] - 0.616) < 0.01


def test_sample_command_writes_a_readable_file(tmp_path):
    out = tmp_path / "s.csv"
    done = rfm("sample", "--out", str(out), "--rows", "3000")
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    assert abs(len(frame) - 3000) <= 30
    assert "CustomerID" in frame.columns


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path):
    big = tmp_path / "big.parquet"
    assert rfm("sample", "--out", str(big), "--rows", "1500000").returncode == 0
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rfm_desktop", "segment", str(big), "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        preexec_fn=hears_ctrl_c if os.name == "posix" else None,
    )
    # Ctrl-C once the run is under way (its progress shows), not after a fixed wait: the run
    # takes about 3 s now and could be over before a wait of 4 s ended
    seen: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(
        target=lambda: seen.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True
    )
    reader.start()
    deadline = time.monotonic() + 120
    while "Reading file" not in "".join(seen) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    reader.join(10)
    proc.stderr.close()
    err = "".join(seen)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not out.exists() or not any(Path(out).rglob("*"))


def test_no_arguments_would_open_the_gui_and_version_works():
    done = rfm("--version")
    assert done.returncode == 0 and "rfm-desktop" in done.stdout


def test_a_command_ends_without_teardown_once_its_output_is_flushed(monkeypatch, capsys):
    # a headless command ends by os._exit after flushing (the interpreter's teardown only made
    # the shell wait: 0.25 s at a million customers); the app (no command) exits normally
    from rfm_desktop import cli

    ended: list[int] = []

    class Ended(Exception):
        pass

    def exit_now(code: int) -> None:
        ended.append(code)
        raise Ended

    monkeypatch.setattr(cli.os, "_exit", exit_now)
    monkeypatch.setattr(sys, "argv", ["rfm-desktop", "rules"])
    with pytest.raises(Ended):
        cli.entry()
    assert ended == [0] and "Champions" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["rfm-desktop", "segment", "missing.csv", "--out", "x"])
    with pytest.raises(Ended):
        cli.entry()
    assert ended == [0, cli.EXIT_BAD_INPUT] and "missing.csv" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["rfm-desktop"])
    monkeypatch.setattr(cli, "main", lambda: 0)  # the app: not opened here
    with pytest.raises(SystemExit):
        cli.entry()
    assert ended == [0, cli.EXIT_BAD_INPUT]


def test_a_long_output_through_a_pipe_arrives_whole():
    # os._exit skips the interpreter's flush at exit: the command's output is flushed first
    done = rfm("rules", "--score-bins", "10")  # a table of every cell's segment
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("rfm-0.2 on scores 1-10 (1000 cells)")
    cells = [int(line.split(" cells")[0].split()[-1]) for line in lines[1:] if " cells" in line]
    assert sum(cells) == 1000 and lines[-1].split()[0] == "Others"  # the last line came too
