"""How long does the GUI event loop stall while an analysis runs on the real data?

Opens the real main window, reads ../shared/data/online_retail.parquet through the
wizard (the same code path as File > Open), then runs the default analysis RUNS times
through the worker helper. A 10 ms QTimer records the longest gap between its ticks
during each run (see rfm_desktop.gui.stall). Prints every run and the median; the goal
is under 100 ms.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_stall.py [--runs 5] [--data PATH] [--busy]
    xvfb-run -a python benchmarks/bench_gui_stall.py

--busy runs two CPU-bound processes alongside (both cores loaded by another program).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "online_retail.parquet"
GOAL_MS = 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--with-load", action="store_true", help="also measure while the file is read"
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="keep both cores busy with two other processes (as on a loaded machine)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="the GIL switch interval in ms (default: Python's, 5 ms), to compare",
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"real data not found at {args.data}", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    burners = (
        [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
        if args.busy
        else []
    )
    try:
        return _measure(args)
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()


def _measure(args: argparse.Namespace) -> int:

    from rfm_desktop.gui import dialogs, worker
    from rfm_desktop.gui.app import create_app, create_main_window
    from rfm_desktop.gui.autopilot import settle, wait_until
    from rfm_desktop.gui.settings import use_settings_dir
    from rfm_desktop.gui.stall import StallMeter

    errors: list[BaseException] = []
    dialogs.show_error = lambda _parent, exc: errors.append(exc)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as settings_dir:
        use_settings_dir(settings_dir)
        app = create_app()
        if args.switch_interval is not None:
            sys.setswitchinterval(args.switch_interval / 1000)
        print(f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
        window = create_main_window()  # as the app does (with gc.freeze)
        window.resize(1400, 900)
        window.show()
        wizard = window.wizard

        meter = StallMeter()
        meter.start()
        started = time.perf_counter()
        window.open_path(str(args.data), remember=False)
        wait_until(
            lambda: wizard.state.transactions is not None or bool(errors), 300, "the file to load"
        )
        load_stall = meter.stop()
        if errors:
            print(f"loading failed: {errors[0]}", file=sys.stderr)
            return 1
        rows = wizard.state.transactions.rows_read
        print(
            f"read {rows:,} rows in {time.perf_counter() - started:.1f} s"
            + (f"; longest stall while reading: {load_stall:.1f} ms" if args.with_load else "")
        )

        stalls: list[float] = []
        for i in range(args.runs):
            settle(500)  # let the previous result's views finish drawing first
            before = window.result  # read-only now (gui/current_result.py): a new run replaces it
            if not wizard.run():
                print("the run did not start", file=sys.stderr)
                return 1
            wait_until(lambda: not wizard.run_page.is_running(), 600, "the run")
            if errors or window.result is None or window.result is before:
                print(f"run failed: {errors[0] if errors else 'no result'}", file=sys.stderr)
                return 1
            stall = float(wizard.run_page.last_stall_ms or 0.0)
            stalls.append(stall)
            print(
                f"run {i + 1}: {window.result.customer_count:,} customers, K={window.result.k}, "
                f"{window.result.seconds:.1f} s, longest stall {stall:.1f} ms "
                f"(during: {wizard.run_page.stall.worst_where or '?'})"
            )
        window.close()
        worker.shutdown(5000)
        app.processEvents()

    median = statistics.median(stalls)
    verdict = "OK" if median < GOAL_MS else "TOO SLOW"
    print(
        f"median longest GUI stall over {len(stalls)} runs: {median:.1f} ms (goal < {GOAL_MS:.0f} ms) {verdict}"
    )
    return 0 if median < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
