"""A read cache you can trust: keyed on content, verified on read, private, never in the way.

Also: the input's bytes are read once; run.json records their sha256; a file that changes
while it is read stops the run.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

from rfm_desktop import cli
from rfm_desktop.core import cache, export, io, pipeline, source
from rfm_desktop.core.errors import InputFileError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def rows(customer_base: int, n: int = 60) -> str:
    return "".join(
        f"{536365 + i},85123A,THING,{1 + i % 5},2010-12-{1 + i % 28:02d} 08:26:00,2.50,"
        f"{customer_base + i % 7},United Kingdom\n"
        for i in range(n)
    )


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{cache.SUFFIX}"))


def test_a_replaced_file_with_the_same_size_and_time_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    first = io.read_transactions(path)
    stamp = path.stat()
    path.write_text(HEADER + rows(20000))  # same length: only the customer ids differ
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size and path.stat().st_mtime_ns == stamp.st_mtime_ns
    second = io.read_transactions(path)
    assert not second.from_cache
    assert set(second.frame["customer_id"]) == {str(20000 + i) for i in range(7)}
    assert (
        second.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != first.source_sha256
    )
    assert io.read_transactions(path).from_cache  # and the new content is cached in turn


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "swap"])
def test_a_damaged_or_tampered_entry_is_never_used(
    tmp_path: Path, own_cache: Path, damage: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    good = io.read_transactions(path).frame
    [entry] = entries(own_cache)
    data = bytearray(entry.read_bytes())
    tries = range(12) if damage == "flip" else range(1)
    for i in tries:
        if damage == "flip":  # one byte anywhere: header, parquet metadata, values
            broken = bytearray(data)
            broken[(i * 7919) % len(broken)] ^= 0xFF
        elif damage == "truncate":
            broken = data[: len(data) * 2 // 3]
        elif damage == "empty":
            broken = bytearray()
        else:  # the whole, valid entry of another file copied under this key
            other = tmp_path / "o.csv"
            other.write_text(HEADER + rows(30000))
            io.read_transactions(other)
            broken = bytearray(next(e for e in entries(own_cache) if e != entry).read_bytes())
        entry.write_bytes(bytes(broken))
        tx = io.read_transactions(path)
        assert not tx.from_cache, f"damaged entry used (try {i})"
        assert tx.frame.equals(good)
        assert entry.read_bytes() == bytes(data)  # replaced by a good entry again
        assert io.read_transactions(path).from_cache


class ModuleWith:
    """A module (``os`` unless told) for one module under test with some functions replaced; the rest of the
    process keeps the real one."""

    def __init__(self, module=os, **replaced):
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str):
        return getattr(self._module, name)


def fail_with(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


def test_an_unreadable_or_unwritable_cache_never_fails_a_run(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    io.read_transactions(path)
    monkeypatch.setattr(cache, "pq", ModuleWith(cache.pq, read_table=fail_with(MemoryError())))
    tx = io.read_transactions(path)
    assert len(tx.frame) == 60 and not tx.from_cache
    monkeypatch.setattr(
        cache, "os", ModuleWith(replace=fail_with(OSError(28, "No space left on device")))
    )
    (path.parent / "u.csv").write_text(HEADER + rows(40000))
    assert len(io.read_transactions(path.parent / "u.csv").frame) == 60
    assert not list(own_cache.glob(".*.tmp"))


def test_ctrl_c_while_storing_leaves_no_temporary_file(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))

    def interrupted(a, b):
        assert Path(a).stat().st_size > 1000  # the temporary entry was written
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "os", ModuleWith(replace=interrupted))
    with pytest.raises(KeyboardInterrupt):
        io.read_transactions(path)
    assert list(own_cache.iterdir()) == []


def test_stale_temporary_files_and_old_entries_are_removed_others_kept(
    tmp_path: Path, own_cache: Path
) -> None:
    own_cache.mkdir()
    stale = own_cache / f".{'a' * 40}.{'b' * 32}.tmp"
    fresh = own_cache / f".{'c' * 40}.{'d' * 32}.tmp"  # another process may be writing it right now
    old_entry = own_cache / f"{'e' * 40}.parquet"  # version 1: plain parquet keyed on size + mtime
    foreign = own_cache / "notes.parquet"
    for p in (stale, fresh, old_entry, foreign):
        p.write_bytes(b"x" * 100)
    os.utime(stale, (1, 1))
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    io.read_transactions(path)
    assert sorted(p.name for p in own_cache.iterdir()) == sorted(
        [fresh.name, foreign.name, entries(own_cache)[0].name]
    )


def test_entries_are_private_to_the_user(tmp_path: Path, own_cache: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "t.csv"
        path.write_text(HEADER + rows(10000))
        io.read_transactions(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(own_cache.stat().st_mode) == 0o700
    [entry] = entries(own_cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_the_default_folder_is_made_private_also_when_an_older_version_made_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setattr(
        platformdirs, "user_cache_dir", lambda name: str(tmp_path / "home-cache" / name)
    )
    folder = tmp_path / "home-cache" / "rfm-desktop" / "tables"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    io.read_transactions(path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert len(entries(folder)) == 1


# --------------------------------------------------------------------------- the bytes that were read
def test_run_json_records_the_bytes_that_were_analysed_not_what_is_on_disk_later(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    analysed = path.read_bytes()
    result = pipeline.run(
        AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=2, sweep=False))
    )
    path.write_text(HEADER + rows(20000, n=90))  # replaced before the export
    export.export_all(result, tmp_path / "out")
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["input"]["sha256"] == hashlib.sha256(analysed).hexdigest()
    assert run["input"]["size"] == len(analysed)


def test_a_file_truncated_while_it_is_read_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000, n=3000))

    def truncate_after_open(fd: int) -> os.stat_result:
        before = os.fstat(fd)
        with open(path, "r+b") as handle:  # another program cuts the file while we read it
            handle.truncate(before.st_size * 63 // 100)
        return before

    monkeypatch.setattr(source, "os", ModuleWith(fstat=truncate_after_open))
    code = cli.main(["segment", str(path), "--out", str(tmp_path / "out"), "--k", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert "'t.csv' changed while it was being read" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_file_that_grows_while_it_is_read_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(10000))
    size = path.stat().st_size

    def append_then_stat(p, *args, **kwargs):
        with open(path, "a") as handle:  # the exporting program writes more rows meanwhile
            handle.write(rows(30000, n=5))
        return os.stat(p, *args, **kwargs)

    monkeypatch.setattr(source, "os", ModuleWith(stat=append_then_stat))
    with pytest.raises(
        InputFileError,
        match=rf"changed while it was being read \({size:,} bytes when opened, "
        rf"{size:,} read, {size + len(rows(30000, n=5)):,} now",
    ):
        io.read_transactions(path)


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.xlsx", "stacked.xlsx", "t.parquet"])
def test_the_file_is_read_and_hashed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    text = HEADER + rows(10000)
    frame = pd.read_csv(StringIO(text), dtype=str)
    path = tmp_path / name
    if name == "stacked.xlsx":  # two sheets of one layout, the second under a title line
        with pd.ExcelWriter(path) as book:
            frame.iloc[:30].to_excel(book, sheet_name="2010", index=False)
            frame.iloc[30:].to_excel(book, sheet_name="2011", index=False, startrow=2)
            book.sheets["2011"]["A1"] = "Sales report 2011"
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    elif name.endswith(".xlsx"):
        frame.to_excel(path, index=False)
    elif name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        path.write_text(text)
    content = path.read_bytes()
    hashed, real_read = [], source.read_input

    def read_then_delete(p: Path) -> source.InputBytes:
        got = real_read(p)
        p.unlink()  # whatever reads the path again from here on fails
        return got

    def counting(data: bytes):
        hashed.append(len(data))
        return hashlib.sha256(data)

    monkeypatch.setattr(source, "read_input", read_then_delete)
    monkeypatch.setattr(source, "hashlib", ModuleWith(hashlib, sha256=counting))
    tx = io.read_transactions(path)
    assert len(tx.frame) == 60 and set(tx.frame["customer_id"]) == {
        str(10000 + i) for i in range(7)
    }
    assert hashed == [len(content)]
    assert (tx.source_sha256, tx.source_size) == (hashlib.sha256(content).hexdigest(), len(content))
