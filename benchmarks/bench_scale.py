"""Benchmark (issue 15): time and peak RSS of `rfm-desktop segment` at 1 M, 10 M and 100 M rows.

Each size is a parquet file made once by the project's chunked generator (`write_sample`, seed
11, cached outside the repo in $RFM_BENCH_DIR or ~/.cache/rfm-desktop-bench): 1 M rows / 100,000
customers, 10 M / 1,000,000 and 100 M / 5,000,000. Every run is `segment` with its defaults plus
`--engine ENGINE` (and any flags after `--`, e.g. `-- --memory-limit 1GB`) in a fresh process
under `/usr/bin/time -v` (the package's modules compiled to bytecode first, as an installed app
has them); the script prints each run's wall time and peak RSS, then the medians
per engine and size as a table, and checks the issue's goals.

A size is not attempted when the peak RSS it would need, extrapolated linearly in rows from the
sizes already measured with the same engine, is above `--max-gb` (default: 60 % of the machine's
memory): the in-memory engine at 100 M rows would need far more than this machine has. A watchdog
also ends a run whose resident memory passes `--max-gb`, so the benchmark never takes the machine
down. Run one benchmark at a time: the runs measure the whole machine.

    python benchmarks/bench_scale.py --engine memory duckdb --rows 1000000 10000000 100000000
    python benchmarks/bench_scale.py --engine duckdb --rows 100000000 --runs 1 -- --memory-limit 1GB
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from _common import ROOT, compile_package, median

CACHE = Path(os.environ.get("RFM_BENCH_DIR", Path.home() / ".cache" / "rfm-desktop-bench"))
#: Customers per size: a tenth of the rows up to 10 M rows, 5 M customers at 100 M rows.
CUSTOMERS = {1_000_000: 100_000, 10_000_000: 1_000_000, 100_000_000: 5_000_000}
SEED = 11

#: The issue's goals on this 2-core, 24 GB machine.
GOAL_10M_SECONDS = 8.0
GOAL_100M_SECONDS = 120.0
GOAL_100M_GB = 3.0


@dataclass
class Figure:
    """The medians of one engine at one size, or why it was not run."""

    engine: str
    rows: int
    customers: int
    runs: int
    seconds: float | None = None  # median wall time
    peak_gb: float | None = None  # median peak RSS
    cpu_seconds: float | None = None  # median user + system time (less hurt by a busy machine)
    note: str = ""


def customers_for(rows: int) -> int:
    return CUSTOMERS.get(rows, max(1, min(rows // 10, 5_000_000)))


def data_file(rows: int, customers: int) -> Path:
    """The generated parquet file of this size (made once, in chunks: ~1.4 GB at 100 M rows)."""
    path = CACHE / f"chunked_{rows}_{customers}.parquet"
    if not path.exists():
        from rfm_desktop.core.sample import write_sample

        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".part.parquet")
        write_sample(partial, rows=rows, seed=SEED, customers=customers)
        partial.replace(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def machine_gb() -> float:
    with open("/proc/meminfo") as handle:
        total_kb = int(re.search(r"MemTotal:\s+(\d+)", handle.read()).group(1))
    return total_kb / 1024 / 1024


def tree_rss_gb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        found = re.search(r"VmRSS:\s+(\d+)", status)
        rss[int(entry.name)] = int(found.group(1)) if found else 0
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total / 1024 / 1024


def engine_flag(engine: str) -> list[str]:
    """``--engine ENGINE``; before the CLI had the flag, the one path was the memory engine."""
    done = subprocess.run(
        [sys.executable, "-m", "rfm_desktop", "segment", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if "--engine" in done.stdout:
        return ["--engine", engine]
    if engine == "memory":
        return []
    raise SystemExit(f"this checkout's CLI has no --engine flag: cannot run engine {engine!r}")


def run_once(
    path: Path, engine: str, extra: list[str], max_gb: float
) -> tuple[float, float, float]:
    """One `segment` run: (wall seconds, peak RSS in GB, CPU seconds). Ends the run above
    ``max_gb``."""
    with tempfile.TemporaryDirectory() as out:
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "rfm_desktop", "segment", str(path)]
        cmd += ["--out", out, "--quiet", *engine_flag(engine), *extra]
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,
        )
        killed: list[float] = []

        def watch() -> None:
            while proc.poll() is None:
                used = tree_rss_gb(proc.pid)
                if used > max_gb:
                    killed.append(used)
                    os.killpg(proc.pid, signal.SIGKILL)
                    return
                time.sleep(0.5)

        watchdog = threading.Thread(target=watch, daemon=True)
        watchdog.start()
        _, err = proc.communicate()
        wall = time.perf_counter() - started
        watchdog.join()
    if killed:
        raise MemoryError(f"ended at {killed[0]:.1f} GB resident (limit {max_gb:.1f} GB)")
    if proc.returncode != 0:
        said = [line for line in err.splitlines() if line.startswith(("error:", "Traceback"))]
        cpu = sum(float(v) for v in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", err))
        raise RuntimeError(
            f"segment exited {proc.returncode} after {wall:.0f} s ({cpu:.0f} s CPU): "
            + (said[0] if said else err.strip().splitlines()[-1])
        )
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    cpu = sum(float(v) for v in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", err))
    return wall, rss_kb / 1024 / 1024, cpu


def estimate_gb(done: list[Figure], rows: int) -> float | None:
    """Peak RSS at ``rows`` on the straight line through the engine's measured sizes."""
    points = [(f.rows, f.peak_gb) for f in done if f.peak_gb is not None]
    if not points:
        return None
    if len(points) == 1:
        ((r, gb),) = points
        return gb * rows / r
    (r0, g0), (r1, g1) = sorted(points)[-2:]
    slope = (g1 - g0) / (r1 - r0)
    return g1 + slope * (rows - r1)


def measure(
    engine: str, rows: int, runs: int, extra: list[str], max_gb: float, done: list[Figure]
) -> Figure:
    customers = customers_for(rows)
    figure = Figure(engine, rows, customers, 0)
    estimate = estimate_gb(done, rows)
    if estimate is not None and estimate > max_gb:
        figure.note = (
            f"not attempted: about {estimate:.0f} GB peak RSS expected (straight line through "
            f"the smaller sizes), above the {max_gb:.1f} GB allowed on this machine"
        )
        print(f"{engine} {rows:,} rows: {figure.note}", flush=True)
        return figure
    path = data_file(rows, customers)
    walls, peaks, cpus = [], [], []
    for i in range(runs):
        try:
            wall, peak, cpu = run_once(path, engine, extra, max_gb)
        except (MemoryError, RuntimeError) as error:
            figure.note = f"run {i + 1} did not complete: {error}"
            print(f"{engine} {rows:,} rows: {figure.note}", flush=True)
            break
        walls.append(wall)
        peaks.append(peak)
        cpus.append(cpu)
        print(
            f"{engine} {rows:,} rows run {i + 1}: {wall:.1f} s, CPU {cpu:.1f} s, peak RSS "
            f"{peak:.2f} GB, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    if walls:
        figure.runs = len(walls)
        figure.seconds = median(walls)
        figure.peak_gb = median(peaks)
        figure.cpu_seconds = median(cpus)
    return figure


def table(figures: list[Figure]) -> str:
    lines = [
        "| engine | rows | customers | median wall | median CPU | median peak RSS | runs | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for f in figures:
        wall = f"{f.seconds:.1f} s" if f.seconds is not None else "–"
        peak = f"{f.peak_gb:.2f} GB" if f.peak_gb is not None else "–"
        cpu = f"{f.cpu_seconds:.1f} s" if f.cpu_seconds is not None else "–"
        lines.append(
            f"| {f.engine} | {f.rows:,} | {f.customers:,} | {wall} | {cpu} | {peak} | {f.runs} "
            f"| {f.note} |"
        )
    return "\n".join(lines)


def goals(figures: list[Figure], extra: list[str]) -> list[str]:
    def find(rows: int, engine: str) -> Figure | None:
        return next((f for f in figures if f.rows == rows and f.engine == engine), None)

    out = []
    for engine in dict.fromkeys(f.engine for f in figures):
        ten = find(10_000_000, engine)
        if ten is not None and ten.seconds is not None:
            met = "met" if ten.seconds <= GOAL_10M_SECONDS else "missed"
            out.append(
                f"{engine}: 10 M rows end to end {ten.seconds:.1f} s (goal <= {GOAL_10M_SECONDS:.0f} s): {met}"
            )
        hundred = find(100_000_000, engine)
        if hundred is None:
            continue
        if hundred.seconds is None:
            out.append(f"{engine}: 100 M rows: {hundred.note}")
            continue
        limited = " with " + " ".join(extra) if extra else ""
        met = hundred.seconds <= GOAL_100M_SECONDS and (hundred.peak_gb or 0) <= GOAL_100M_GB
        out.append(
            f"{engine}{limited}: 100 M rows / 5 M customers {hundred.seconds:.1f} s, peak RSS "
            f"{hundred.peak_gb:.2f} GB (goal <= {GOAL_100M_SECONDS:.0f} s and <= {GOAL_100M_GB:.0f} GB): "
            + ("met" if met else "missed")
        )
    return out


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", nargs="+", default=["memory", "duckdb"])
    parser.add_argument("--rows", nargs="+", type=int, default=sorted(CUSTOMERS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-gb", type=float, default=round(0.6 * machine_gb(), 1))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(own)
    compile_package()  # as installed: every run reads the modules' bytecode
    figures: list[Figure] = []
    for engine in args.engine:
        done: list[Figure] = []
        for rows in sorted(args.rows):
            figure = measure(engine, rows, args.runs, extra, args.max_gb, done)
            done.append(figure)
            figures.append(figure)
    flags = " ".join(["segment defaults", *extra])
    print(
        f"\n{flags}; medians of up to {args.runs} runs; {os.cpu_count()} cores, {machine_gb():.0f} GB"
    )
    print(table(figures))
    for line in goals(figures, extra):
        print(line)
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")


if __name__ == "__main__":
    main()
