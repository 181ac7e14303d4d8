"""core.digest: the input's sha256 hashed in a thread, begun early by the CLI for a large input."""

from __future__ import annotations

import hashlib

import pytest

from rfm_desktop.core import digest
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
