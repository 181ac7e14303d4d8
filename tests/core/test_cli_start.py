"""What the CLI does as a run starts: the input hashed early (core.digest), scikit-learn
imported once the reduction has begun."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from rfm_desktop import cli
from rfm_desktop.core import digest
from rfm_desktop.core.engines import duckdb_engine


@pytest.fixture(autouse=True)
def no_early_digests(monkeypatch):
    monkeypatch.setattr(digest, "_early", {})


def small_parquet(path: Path) -> Path:
    """40 lines of 7 customers in a Parquet file."""
    pd.DataFrame(
        {
            "CustomerID": [f"{100 + i % 7}" for i in range(40)],
            "InvoiceNo": [f"A{i // 2}" for i in range(40)],
            "InvoiceDate": pd.date_range("2024-01-01", periods=40, freq="D"),
            "Quantity": [1 + i % 3 for i in range(40)],
            "UnitPrice": [2.5] * 40,
        }
    ).to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("arguments", "hashed"),
    [
        (["t.parquet", "--out", "o"], ["t.parquet"]),
        (["t.csv", "--rules", "r.csv", "--out", "o"], []),  # auto: a CSV this size is in memory
        (["t.csv", "--engine", "duckdb", "--out", "o"], ["t.csv"]),
        (["t.csv", "--engine=duckdb", "--rules", "r.csv"], ["t.csv", "r.csv"]),
        (["t.parquet", "--engine", "memory"], []),
        (["t.parquet", "--engine=spark"], []),
    ],
)
def test_the_cli_hashes_early_what_duckdb_will_read(arguments, hashed, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(digest, "start_early", lambda paths: asked.extend(paths))
    cli._hash_early(arguments)
    assert asked == hashed


def test_segment_records_the_early_digest(tmp_path, monkeypatch, capsys):
    """The run's sha256 is the early digest's (one digest made, not two), and the file's."""
    monkeypatch.setattr(digest, "EARLY_BYTES", 0)
    made: list[digest.FileDigest] = []
    real = digest.FileDigest.__init__

    def counted(self, files):
        made.append(self)
        real(self, files)

    monkeypatch.setattr(digest.FileDigest, "__init__", counted)
    taken: list[bool] = []  # was the engine's digest one begun before the run?

    def taking(files):
        waiting = list(digest._early.values())
        got = digest.digest_of(files)
        taken.append(any(got is early for early in waiting))
        return got

    monkeypatch.setattr(duckdb_engine, "digest_of", taking)
    path = small_parquet(tmp_path / "t.parquet")
    out = tmp_path / "out"
    args = ["segment", str(path), "--out", str(out), "--engine", "duckdb", "--k", "2"]
    assert cli.main([*args, "--quiet"]) == 0, capsys.readouterr().err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["input"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["input"]["size"] == path.stat().st_size
    assert taken == [True] and len(made) == 1 and made[0].files == (path,)


def test_segment_imports_the_models_once_the_reduction_has_begun(tmp_path, monkeypatch, capsys):
    """The CLI imports scikit-learn in a thread from the reduction's first progress on, not
    before it: the engine's own Python work before its first query does not share Python's
    lock with the import. It is imported once, progress coming from two threads or not."""
    import threading

    from rfm_desktop.core import clustering, pipeline

    # the events in the order of the threads that make them: the import thread's start is
    # recorded by the thread that starts it (its body may run later)
    events: list[str] = []
    real_reduce, real_import = pipeline.reduce, clustering.import_models
    real_start = threading.Thread.start

    def reduce(params, progress=None, *args, **kwargs):
        events.append("reduce")

        def told(fraction, step):
            events.append("progress")
            progress(fraction, step)

        return real_reduce(params, told, *args, **kwargs)

    def import_models():
        events.append("imported")
        real_import()

    def start(thread):
        if getattr(thread, "_target", None) is import_models:
            events.append("import")
        real_start(thread)

    monkeypatch.setattr(pipeline, "reduce", reduce)
    monkeypatch.setattr(clustering, "import_models", import_models)
    monkeypatch.setattr(threading.Thread, "start", start)
    path = small_parquet(tmp_path / "t.parquet")
    args = ["segment", str(path), "--out", str(tmp_path / "out"), "--engine", "duckdb"]
    assert cli.main([*args, "--k", "2", "--quiet"]) == 0, capsys.readouterr().err
    assert events.count("import") == 1 and events.count("imported") == 1
    # after the engine's first progress (the engine's watching thread may report one more
    # between that and the start): not before the reduction began
    assert events.index("reduce") < events.index("progress") < events.index("import")


@pytest.mark.parametrize(
    "name",
    ["~no-such-user-here/sales.parquet", "x" * 5000 + ".parquet", "a\0b.parquet"],
    ids=["no-home", "too-long", "nul"],
)
def test_a_name_the_early_hash_cannot_look_at_is_left_to_the_run(
    tmp_path, name, capsys, monkeypatch
):
    """The early hash is best effort: a name it cannot look at (no such user's home, too long,
    a NUL byte) leaves the run to say what is wrong, in one line, as without it (a crash log
    names its own file)."""
    from rfm_desktop import crashlog

    monkeypatch.setenv(crashlog.ENV_LOG_DIR, str(tmp_path / "logs"))
    args = ["segment", name, "--out", str(tmp_path / "out"), "--quiet"]

    def said() -> tuple[int, str]:
        code = cli.main(args)
        return code, capsys.readouterr().err.split("; details in")[0]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(digest, "start_early", lambda paths: list(paths) and 0)
        before = said()
    assert said() == before
    assert before[0] in (1, 2) and len(before[1].strip().splitlines()) == 1


def test_a_copy_that_keeps_the_time_is_hashed_again(tmp_path, monkeypatch):
    """A file replaced by one of the same size with its modification time set back (as
    ``cp -p`` leaves it) is not taken for the file hashed early: its change time moved."""
    import os
    import time

    monkeypatch.setattr(digest, "EARLY_BYTES", 10)
    path = tmp_path / "t.parquet"
    path.write_bytes(b"a" * 100)
    before = os.stat(path)
    digest.start_early([str(path)])
    time.sleep(0.01)
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert digest.digest_of([path]).result() == (hashlib.sha256(b"b" * 100).hexdigest(), 100)
