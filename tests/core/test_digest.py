"""core.digest: the input's sha256 hashed in a thread, begun early by the CLI for a large input."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from rfm_desktop import cli
from rfm_desktop.core import digest
from rfm_desktop.core.engines import duckdb_engine
from rfm_desktop.core.errors import InputFileError


@pytest.fixture(autouse=True)
def no_early_digests(monkeypatch):
    monkeypatch.setattr(digest, "_early", {})


def test_the_digest_is_the_files_bytes_in_order(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(b"x" * 5_000_000)
    b.write_bytes(b"y,z\n" * 1000)
    sha256, size = digest.FileDigest([a, b]).result()
    assert sha256 == hashlib.sha256(a.read_bytes() + b.read_bytes()).hexdigest()
    assert size == 5_004_000


def test_a_file_that_cannot_be_read_is_an_input_error(tmp_path):
    with pytest.raises(InputFileError, match="'gone.parquet' cannot be read"):
        digest.FileDigest([tmp_path / "gone.parquet"]).result()


def test_a_digest_begun_early_is_taken_up_once(tmp_path, monkeypatch):
    monkeypatch.setattr(digest, "EARLY_BYTES", 100)
    big, small = tmp_path / "big.parquet", tmp_path / "small.csv"
    big.write_bytes(b"p" * 1000)
    small.write_bytes(b"s" * 99)
    assert digest.start_early([str(big), str(small), str(tmp_path / "none.parquet")]) == 1
    assert digest.start_early([str(big)]) == 0  # already begun
    early = digest._early[digest._stamp([big])]
    assert digest.digest_of([big]) is early
    assert digest.digest_of([big]) is not early  # taken: a new one
    assert early.result() == (hashlib.sha256(b"p" * 1000).hexdigest(), 1000)


def test_a_file_changed_since_is_hashed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(digest, "EARLY_BYTES", 10)
    path = tmp_path / "t.parquet"
    path.write_bytes(b"old" * 10)
    digest.start_early([str(path)])
    path.write_bytes(b"newer" * 10)
    assert digest.digest_of([path]).result() == (hashlib.sha256(b"newer" * 10).hexdigest(), 50)


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
    path = tmp_path / "t.parquet"
    pd.DataFrame(
        {
            "CustomerID": [f"{100 + i % 7}" for i in range(40)],
            "InvoiceNo": [f"A{i // 2}" for i in range(40)],
            "InvoiceDate": pd.date_range("2024-01-01", periods=40, freq="D"),
            "Quantity": [1 + i % 3 for i in range(40)],
            "UnitPrice": [2.5] * 40,
        }
    ).to_parquet(path)
    out = tmp_path / "out"
    args = ["segment", str(path), "--out", str(out), "--engine", "duckdb", "--k", "2"]
    assert cli.main([*args, "--quiet"]) == 0, capsys.readouterr().err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["input"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["input"]["size"] == path.stat().st_size
    assert taken == [True] and len(made) == 1 and made[0].files == (path,)
