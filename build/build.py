"""Build the one-folder bundle dist/rfm-desktop/ with PyInstaller and check it.

Run from anywhere after ``pip install -e '.[build]'``::

    python build/build.py            # build + strip (Linux) + checks
    python build/build.py --clean    # also drop PyInstaller's cache in build/_work

After PyInstaller (work folder build/_work, never build/ itself), on Linux the bundled
libraries lose their symbol tables (``strip``; each must still load, else it is restored).
Checks: the executable exists; ``--version`` runs; the frozen ``sample`` + ``segment``
commands run (numpy, scipy, scikit-learn, pandas, pyarrow load); on Linux every bundled
library resolves its dependencies and the bundle is at most ``--max-mb``. Prints the bundle
size and its 20 largest entries. Exit status non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build" / "rfm_desktop.spec"
WORK = ROOT / "build" / "_work"  # never the repo's build/ itself (it holds this script)
DIST = ROOT / "dist"
APP_NAME = "rfm-desktop"
BUNDLE = DIST / APP_NAME
ICONS = ROOT / "resources" / "icons"
# The goal was 350 MB for the desktop app alone (~346 MB). DuckDB, the stack's out-of-core engine
# (issue 15: `segment --engine duckdb`, and `auto` above 10 M parquet rows / 1 GB of CSV), adds its
# one 65.6 MB library: the bundle's headless `segment` is how monthly re-runs of big exports run,
# so it ships, and the limit is 420 MB (412.1 MB measured; see README.md, "Size (Linux)").
MAX_MB_LINUX = 420


def executable(bundle: Path = BUNDLE) -> Path:
    return bundle / (APP_NAME + (".exe" if sys.platform == "win32" else ""))


def console_executable(bundle: Path = BUNDLE) -> Path:
    """The executable that prints to a terminal: rfm-desktop-cli.exe on Windows."""
    if sys.platform == "win32":
        return bundle / (APP_NAME + "-cli.exe")
    return executable(bundle)


def tree_size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def report_size(bundle: Path = BUNDLE, top: int = 20) -> int:
    total = tree_size(bundle)
    print(f"bundle size: {_mb(total)}  ({bundle})")
    internal = bundle / "_internal"
    if internal.is_dir():
        entries = sorted(((tree_size(p), p.name) for p in internal.iterdir()), reverse=True)
        print(f"largest entries of {internal.name}/:")
        for size, name in entries[:top]:
            print(f"  {size / 1024 / 1024:8.1f} MB  {name}")
    return total


def missing_libraries(bundle: Path = BUNDLE) -> list[str]:
    """Linux: 'lib.so => not found' lines of ldd over the bundled .so files (with _internal on the path)."""
    if not sys.platform.startswith("linux") or not shutil.which("ldd"):
        return []
    internal = bundle / "_internal"
    dirs = {str(p.parent) for p in internal.rglob("*.so*")}
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(sorted(dirs)))
    problems = []
    for lib in sorted(internal.rglob("*.so*")):
        if not lib.is_file() or lib.is_symlink():
            continue
        out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            if "not found" in line:
                problems.append(f"{lib.relative_to(bundle)}: {line.strip()}")
    return problems


_LOAD_CHECK = """
import ctypes, json, sys
ok = []
for path in json.load(sys.stdin):
    try:
        ctypes.CDLL(path)
        ok.append(path)
    except OSError:
        pass
print(json.dumps(ok))
"""


def _loadable(paths: list[Path], bundle: Path) -> set[str] | None:
    """The paths dlopen accepts (with the bundle's folders on the library path); None if the check died."""
    internal = bundle / "_internal"
    dirs = sorted({str(p.parent) for p in internal.rglob("*.so*")})
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([str(internal), *dirs]))
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_CHECK],
        input=json.dumps([str(p) for p in paths]),
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        return None
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def strip_binaries(bundle: Path = BUNDLE) -> int:
    """Linux: drop symbol tables and debug info from the bundled libraries; returns bytes saved.

    Skips the executable (its archive is appended to it), libraries grafted by auditwheel into
    ``*.libs/`` folders (stripping patchelf-edited files can break them) and files with .hmac
    checksums. Every stripped file must still load with dlopen, else it is restored.
    """
    if not sys.platform.startswith("linux"):
        return 0
    if not (shutil.which("strip") and shutil.which("readelf")):
        print(
            "WARNING: strip/readelf (binutils) not found: libraries left unstripped (~60 MB more)"
        )
        return 0
    internal = bundle / "_internal"
    candidates = []
    for lib in sorted(internal.rglob("*.so*")):
        if lib.is_symlink() or not lib.is_file() or any(p.endswith(".libs") for p in lib.parts):
            continue
        if (lib.parent / f".{lib.name}.hmac").exists() or lib.with_name(
            lib.name + ".hmac"
        ).exists():
            continue
        sections = subprocess.run(["readelf", "-S", "-W", str(lib)], capture_output=True, text=True)
        if sections.returncode == 0 and (
            ".symtab" in sections.stdout or ".debug_" in sections.stdout
        ):
            candidates.append(lib)
    if not candidates:
        return 0
    before_ok = _loadable(candidates, bundle)
    backup = WORK / "strip-backup"
    shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir(parents=True)
    saved = 0
    stripped: dict[Path, Path] = {}
    for i, lib in enumerate(candidates):
        size = lib.stat().st_size
        keep = backup / f"{i}-{lib.name}"
        shutil.copy2(lib, keep)
        if subprocess.run(["strip", "--strip-unneeded", str(lib)], capture_output=True).returncode:
            shutil.copy2(keep, lib)
            continue
        stripped[lib] = keep
        saved += size - lib.stat().st_size
    after_ok = _loadable(list(stripped), bundle)
    broken = [
        lib
        for lib in stripped
        if after_ok is None
        or ((before_ok is None or str(lib) in before_ok) and str(lib) not in after_ok)
    ]
    for lib in broken:
        saved -= stripped[lib].stat().st_size - lib.stat().st_size
        shutil.copy2(stripped[lib], lib)
    if broken:
        print(f"strip: restored {len(broken)} libraries that no longer loaded after stripping")
    shutil.rmtree(backup, ignore_errors=True)
    print(f"strip: {len(stripped) - len(broken)} libraries stripped, {_mb(saved)} saved")
    return saved


def engine_smoke_test(bundle: Path = BUNDLE) -> bool:
    """Frozen `sample` + `segment` on a workbook and a Parquet file: numpy, scipy, scikit-learn,
    pandas, fastexcel, openpyxl and pyarrow load and run."""
    exe = console_executable(bundle)
    with tempfile.TemporaryDirectory(prefix="rfm-build-check ") as tmp:
        for suffix in (".xlsx", ".parquet"):
            data = Path(tmp) / f"sample{suffix}"
            out = Path(tmp) / f"out{suffix}"
            steps = [
                [str(exe), "sample", "--out", str(data), "--rows", "3000"],
                [str(exe), "segment", str(data), "--out", str(out), "--k", "3", "--quiet"],
            ]
            for cmd in steps:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp)
                if proc.returncode != 0:
                    print(
                        f"FAIL: {cmd[1]} {suffix} -> exit {proc.returncode}: {proc.stderr[-800:]}"
                    )
                    return False
            outputs = sorted(p.name for p in out.iterdir())
            print(f"frozen sample + segment ({suffix}) OK: {', '.join(outputs)}")
    return True


def smoke_test(bundle: Path = BUNDLE) -> bool:
    exe = console_executable(bundle)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    try:
        proc = subprocess.run(
            [str(exe), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd="/" if os.name != "nt" else None,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"FAIL: {exe} --version: {exc}")
        return False
    out = (proc.stdout + proc.stderr).strip()
    print(f"{exe.name} --version -> exit {proc.returncode}: {out[-500:]}")
    return proc.returncode == 0


def ensure_icons() -> None:
    wanted = [ICONS / n for n in ("app.png", "app.ico", "app.icns")]
    if all(p.exists() for p in wanted):
        return
    print("icons missing: rendering them from resources/icons/app.svg")
    subprocess.run([sys.executable, str(ROOT / "build" / "make_icons.py")], check=True)


def run_pyinstaller(clean: bool, log_level: str) -> None:
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        log_level,
        "--workpath",
        str(WORK),
        "--distpath",
        str(DIST),
    ]
    if clean:
        cmd.append("--clean")
    cmd.append(str(SPEC))
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dist/rfm-desktop with PyInstaller.")
    parser.add_argument("--clean", action="store_true", help="clear PyInstaller's cache first")
    parser.add_argument("--skip-checks", action="store_true", help="only build")
    parser.add_argument("--no-strip", action="store_true", help="keep symbols in the libraries")
    parser.add_argument("--log-level", default="WARN", help="PyInstaller log level (default WARN)")
    parser.add_argument(
        "--max-mb", type=float, default=MAX_MB_LINUX, help="size limit checked on Linux"
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    ensure_icons()
    try:
        run_pyinstaller(args.clean, args.log_level)
    except subprocess.CalledProcessError as exc:
        print(f"FAIL: PyInstaller exited with {exc.returncode}")
        return 1
    print(f"build time: {time.monotonic() - started:.0f} s")

    exe = executable()
    if not exe.exists():
        print(f"FAIL: {exe} was not built")
        return 1
    if not args.no_strip:
        strip_binaries()
    print(f"build + strip time: {time.monotonic() - started:.0f} s")
    total = report_size()
    if args.skip_checks:
        return 0

    ok = True
    missing = missing_libraries()
    if missing:
        ok = False
        print("FAIL: bundled libraries with unresolved dependencies:")
        print("\n".join("  " + m for m in missing))
    if sys.platform.startswith("linux") and total > args.max_mb * 1024 * 1024:
        ok = False
        print(f"FAIL: bundle is {_mb(total)}, over the {args.max_mb:.0f} MB limit")
    if not smoke_test() or not engine_smoke_test():
        ok = False
    print("build OK" if ok else "build checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
