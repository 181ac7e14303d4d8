"""Benchmark 5: what "whole or not at all" costs on the real data.

1. Hashing the input: sha256 vs blake2b of the real parquet and of a CSV of the same data
   (written once to the temp folder), next to reading the file and parsing it, so the share
   of the hash in a read is visible. The product hashes once, with sha256 (``core/source.py``).
2. The staged export: the unit writer (lock, staging folder, manifest, commit) against the
   writer it replaced (each file to a temporary file, fsync, rename), writing the same bytes of
   the real-data result into a folder that already holds a result; and the whole run (read,
   analyse, export) for scale.

Medians of alternating runs. Run: ``python benchmarks/bench_results_unit.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from pathlib import Path

from _common import median, require_real_data, timed


def write_csv(parquet: Path, target: Path) -> Path:
    if not target.exists():
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        pa_csv.write_csv(pq.read_table(parquet), target)
    return target


def old_writer(folder: Path, files: dict[str, bytes]) -> None:
    """The writer before the unit writer: temp file + fsync + rename, file by file."""
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def hashing(paths: list[Path], runs: int) -> None:
    from rfm_desktop.core import io, source

    os.environ["RFM_DESKTOP_CACHE_DIR"] = ""  # parse every time
    print("input hashing (median ms of", runs, "runs)")
    print(
        f"{'file':<28}{'MB':>7}{'read':>8}{'sha256':>8}{'blake2b':>9}{'read+sha256':>13}{'full read':>11}{'hash share':>12}"
    )
    for path in paths:
        data = path.read_bytes()
        times: dict[str, list[float]] = {
            k: [] for k in ("read", "sha256", "blake2b", "read_input", "full")
        }
        for _ in range(runs):
            times["read"].append(timed(path.read_bytes))
            times["sha256"].append(timed(lambda d=data: hashlib.sha256(d).digest()))
            times["blake2b"].append(timed(lambda d=data: hashlib.blake2b(d).digest()))
            times["read_input"].append(timed(lambda p=path: source.read_input(p)))
        for _ in range(max(3, runs // 3)):
            times["full"].append(timed(lambda p=path: io.read_transactions(p, use_cache=False)))
        m = {k: median(v) * 1000 for k, v in times.items()}
        print(
            f"{path.name:<28}{len(data) / 1e6:>7.1f}{m['read']:>8.1f}{m['sha256']:>8.1f}{m['blake2b']:>9.1f}"
            f"{m['read_input']:>13.1f}{m['full']:>11.0f}{m['sha256'] / m['full']:>11.1%}"
        )


def export(parquet: Path, runs: int) -> None:
    from rfm_desktop.core import export as exp
    from rfm_desktop.core import pipeline, writing
    from rfm_desktop.core.params import AnalysisParams

    params = AnalysisParams(input_path=str(parquet))
    result = pipeline.run(params)
    files = exp.result_files(result)
    size = sum(map(len, files.values()))
    with tempfile.TemporaryDirectory() as tmp:
        unit, old = Path(tmp) / "unit", Path(tmp) / "old"
        writing.write_files(unit, files, replace=True)
        old_writer(old, files)
        t_unit, t_old = [], []
        for _ in range(runs):  # alternating, each into a folder that holds the previous result
            t_unit.append(timed(lambda: writing.write_files(unit, files, replace=True)))
            t_old.append(timed(lambda: old_writer(old, files)))
        render = median([timed(lambda: exp.result_files(result)) for _ in range(runs)])
        end_to_end = median(
            [
                timed(lambda: exp.export_all(pipeline.run(params), Path(tmp) / "e2e"))
                for _ in range(max(3, runs // 3))
            ]
        )
    a, b = median(t_unit), median(t_old)
    print(
        f"\nwriting the real-data result ({len(files)} files, {size / 1e6:.2f} MB; segment defaults), "
        f"median ms of {runs} alternating runs"
    )
    print(f"  unit writer (lock, stage, manifest, commit): {a * 1000:7.1f}")
    print(f"  old writer (temp + fsync + rename per file): {b * 1000:7.1f}")
    print(f"  difference:                                  {(a - b) * 1000:+7.1f}")
    print(f"  rendering the files in memory (both):        {render * 1000:7.1f}")
    print(f"  segment defaults end to end incl. export:    {end_to_end * 1000:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    parquet = require_real_data()
    csv = write_csv(parquet, Path(tempfile.gettempdir()) / "rfm-bench-online_retail.csv")
    hashing([parquet, csv], args.runs)
    export(parquet, args.runs)


if __name__ == "__main__":
    main()
