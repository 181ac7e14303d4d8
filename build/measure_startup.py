"""Time from process start to the main window shown, for the frozen app (or any command).

Linux/X11 (e.g. under ``xvfb-run -a``): starts the app with no arguments and polls the X
server (``xwininfo``) until a top-level window whose title contains ``--title`` is mapped,
then terminates the app. No cooperation from the app is needed::

    xvfb-run -a python build/measure_startup.py                 # dist/rfm-desktop/rfm-desktop
    xvfb-run -a python build/measure_startup.py --runs 7 -- python -m rfm_desktop

With ``--until-exit`` it times the whole run instead, for an app flag that quits once the
window is shown (e.g. ``--until-exit -- dist/rfm-desktop/rfm-desktop --quit-after-show``).
The first run warms the disk cache and is reported separately ("cold"); the median of the
others is the "warm" start-up time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXE = (
    ROOT / "dist" / "rfm-desktop" / ("rfm-desktop.exe" if os.name == "nt" else "rfm-desktop")
)
_WINDOW_LINE = re.compile(r'^\s*(0x[0-9a-f]+) "(.*?)":', re.MULTILINE)


def _mapped_window(title: str) -> bool:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    for wid, name in _WINDOW_LINE.findall(tree):
        if title in name:
            info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
            if "IsViewable" in info:
                return True
    return False


def time_until_window(cmd: list[str], title: str, timeout: float, env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while time.perf_counter() - started < timeout:
            if _mapped_window(title):
                return time.perf_counter() - started
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(
                    f"the app exited ({proc.returncode}) before showing a window:\n{err[-2000:]}"
                )
            time.sleep(0.05)
        raise SystemExit(f"no window titled {title!r} within {timeout:.0f} s")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def time_until_exit(cmd: list[str], timeout: float, env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"exit {proc.returncode}: {proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the app's start-up time.")
    parser.add_argument(
        "--runs", type=int, default=5, help="warm runs after one cold run (default 5)"
    )
    parser.add_argument("--title", default="RFM Desktop", help="part of the main window's title")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--until-exit", action="store_true", help="time until the command exits")
    parser.add_argument("--limit", type=float, help="exit 1 when the warm median is above this (s)")
    parser.add_argument("command", nargs="*", help="command to run (default: the frozen app)")
    args = parser.parse_args(argv)

    cmd = args.command or [str(DEFAULT_EXE)]
    if not shutil.which(cmd[0]) and not Path(cmd[0]).exists():
        raise SystemExit(f"not found: {cmd[0]} (build it with python build/build.py)")
    if not args.until_exit and not (os.environ.get("DISPLAY") and shutil.which("xwininfo")):
        raise SystemExit(
            "needs an X display and xwininfo: run under `xvfb-run -a`, or use --until-exit"
        )

    with tempfile.TemporaryDirectory(prefix="rfm-startup-") as tmp:
        env = dict(os.environ)
        env.pop("QT_QPA_PLATFORM", None)
        # A fresh user: no saved window state or recent files, logs kept out of the real folders.
        env.update(
            XDG_CONFIG_HOME=str(Path(tmp) / "config"),
            XDG_CACHE_HOME=str(Path(tmp) / "cache"),
            RFM_DESKTOP_LOG_DIR=str(Path(tmp) / "logs"),
        )
        times = []
        for _ in range(args.runs + 1):
            if args.until_exit:
                times.append(time_until_exit(cmd, args.timeout, env))
            else:
                times.append(time_until_window(cmd, args.title, args.timeout, env))
    cold, warm = times[0], times[1:]
    what = "exit" if args.until_exit else "window shown"
    print(f"command: {' '.join(cmd)}")
    print(f"cold (first run) to {what}: {cold:.2f} s")
    if warm:
        print(
            f"warm to {what}: median {statistics.median(warm):.2f} s, "
            f"min {min(warm):.2f} s, max {max(warm):.2f} s over {len(warm)} runs"
        )
    if args.limit is not None and warm and statistics.median(warm) > args.limit:
        print(f"FAIL: warm start-up above {args.limit:.2f} s")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
