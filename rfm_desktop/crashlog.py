"""Write a log file when the app crashes, and tell the user where it is.

No Qt here: the CLI uses this too. The GUI passes a ``notify`` callback that shows
:func:`crash_message` in a dialog; the CLI keeps the default, which prints it to stderr.

Logs go to the user's log folder (``platformdirs.user_log_dir("rfm-desktop")``), or to
``$RFM_DESKTOP_LOG_DIR`` when set (tests, portable setups) - never next to the executable.
When that folder cannot be made, they go to ``<temp>/rfm-desktop-<user id>/logs``. Logs hold
paths and data values, so they are private: files 0600, folders made 0700, and the shared temp
folder's is refused when someone else owns it or others may enter it (it could be planted).
"""

from __future__ import annotations

import atexit
import datetime as dt
import faulthandler
import os
import platform
import re
import stat
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import TracebackType

import platformdirs

APP_NAME = "rfm-desktop"
DISPLAY_NAME = "RFM Desktop"
#: Overrides the log folder (used by the tests; handy for portable installs).
ENV_LOG_DIR = "RFM_DESKTOP_LOG_DIR"
#: How many crash logs to keep; older ones are deleted when a new one is written.
KEEP_LOGS = 20
FATAL_LOG_NAME = "last-fatal-error.log"

#: Distributions whose versions go into the log (metadata only: nothing gets imported).
_VERSIONS_OF = (
    ("PySide6", ("PySide6-Essentials", "PySide6")),
    ("pyqtgraph", ("pyqtgraph",)),
    ("PyOpenGL", ("PyOpenGL",)),
    ("numpy", ("numpy",)),
    ("pandas", ("pandas",)),
    ("scikit-learn", ("scikit-learn",)),
    ("scipy", ("scipy",)),
    ("pyarrow", ("pyarrow",)),
    ("fastexcel", ("fastexcel",)),
    ("openpyxl", ("openpyxl",)),
)
#: Fallback for a frozen bundle without dist-info: module.__version__ if already imported.
_MODULE_OF = {
    "PySide6": "PySide6",
    "pyqtgraph": "pyqtgraph",
    "PyOpenGL": "OpenGL",
    "numpy": "numpy",
    "pandas": "pandas",
    "scikit-learn": "sklearn",
    "scipy": "scipy",
    "pyarrow": "pyarrow",
    "fastexcel": "fastexcel",
    "openpyxl": "openpyxl",
}

Notify = Callable[[Path], None]

_state: dict[str, object] = {}


def log_dir(app_name: str = APP_NAME) -> Path:
    """The folder crash logs go to (not created here)."""
    override = os.environ.get(ENV_LOG_DIR)
    if override:
        return Path(override).expanduser()
    # appauthor=False: no extra "<author>" level on Windows.
    return Path(platformdirs.user_log_dir(app_name, appauthor=False))


def crash_message(log_path: Path | str) -> str:
    """What the user reads after a crash (GUI dialog or CLI stderr)."""
    return (
        f"{DISPLAY_NAME} hit an unexpected error. A log was written to:\n"
        f"{log_path}\n"
        "Please attach this file when you report the problem."
    )


def _app_version() -> str:
    try:
        from rfm_desktop import __version__

        return __version__
    except Exception:  # pragma: no cover - never fail while reporting a failure
        return "unknown"


def _dist_version(label: str, dists: tuple[str, ...]) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        except Exception:  # pragma: no cover
            break
    module = sys.modules.get(_MODULE_OF.get(label, ""))
    version = getattr(module, "__version__", None)
    return str(version) if version else None


def environment_report(app_name: str = APP_NAME) -> str:
    """Versions and platform, one fact a line."""
    lines = [
        f"app: {app_name} {_app_version()}",
        f"time: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"python: {sys.version.splitlines()[0]} ({platform.python_implementation()})",
        f"platform: {platform.platform()} ({platform.machine()})",
        f"frozen: {bool(getattr(sys, 'frozen', False))}",
        f"executable: {sys.executable}",
        f"argv: {sys.argv!r}",
        f"cwd: {_safe_cwd()}",
    ]
    for key in ("QT_QPA_PLATFORM", "QT_OPENGL", "PYOPENGL_PLATFORM", "WAYLAND_DISPLAY"):
        if os.environ.get(key):
            lines.append(f"env {key}: {os.environ[key]}")
    for label, dists in _VERSIONS_OF:
        version = _dist_version(label, dists)
        if version:
            lines.append(f"{label}: {version}")
    return "\n".join(lines)


def _safe_cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return "?"


def _writable_dir(preferred: Path) -> Path:
    try:
        preferred.mkdir(mode=0o700, parents=True, exist_ok=True)
        return preferred
    except OSError:
        return _private_temp_dir()


def _user_tag() -> str:
    """This user's id (POSIX) or name, for a per-user folder name."""
    if hasattr(os, "getuid"):
        return str(os.getuid())
    try:
        import getpass

        return re.sub(r"[^\w.-]", "_", getpass.getuser()) or "user"
    except Exception:  # no user name in the environment
        return "user"


def fallback_dir() -> Path:
    """The per-user fallback log folder under the system temp folder (not created here)."""
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{_user_tag()}" / "logs"


def _private_temp_dir() -> Path:
    """:func:`fallback_dir`, made 0700; OSError when a part of it is not this user's own and private."""
    folder = fallback_dir()
    for level in (folder.parent, folder):
        try:
            level.mkdir(mode=0o700)
        except FileExistsError:
            pass
        if os.name == "posix":
            info = os.lstat(level)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                raise PermissionError(
                    f"{level} is not a folder of this user; no crash log written there"
                )
            if info.st_mode & 0o077:
                raise PermissionError(f"{level} is open to other users; no crash log written there")
    return folder


def _private_file(path: Path, *, exclusive: bool = True):
    """Open ``path`` for writing, readable by this user only (0600 whatever the umask)."""
    flags = os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC) | getattr(os, "O_NOFOLLOW", 0)

    def opener(name: str, mode: int) -> int:
        fd = os.open(name, mode | flags, 0o600)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_TRUNC
        return fd

    return open(path, "w", encoding="utf-8", errors="backslashreplace", opener=opener)


def _prune(folder: Path, keep: int = KEEP_LOGS) -> None:
    try:
        logs = sorted(folder.glob("crash-*.log"))
        for old in logs[:-keep] if keep > 0 else logs:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def write_crash_log(
    exc_type: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
    *,
    app_name: str = APP_NAME,
    thread_name: str | None = None,
    folder: Path | None = None,
) -> Path:
    """Write one timestamped crash log and return its path."""
    target = _writable_dir(folder if folder is not None else log_dir(app_name))
    _prune(target, KEEP_LOGS - 1)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = target / f"crash-{stamp}-{os.getpid()}.log"
    where = f" in thread {thread_name!r}" if thread_name else ""
    text = (
        f"{DISPLAY_NAME} crash report\n"
        f"{'=' * 40}\n"
        f"{environment_report(app_name)}\n\n"
        f"Unhandled {exc_type.__name__}{where}:\n"
        + "".join(traceback.format_exception(exc_type, exc, tb))
    )
    with _private_file(path) as handle:
        handle.write(text)
    return path


def write_log(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
    app_name: str = APP_NAME,
) -> Path:
    """Log a caught exception, e.g. ``write_log(*sys.exc_info())`` in an ``except`` block."""
    if exc_type is None:
        exc_type = type(exc) if exc is not None else RuntimeError
    return write_crash_log(exc_type, exc, tb, app_name=app_name)


def _print_to_stderr(log_path: Path) -> None:
    if sys.stderr is not None:  # None in a windowed (no console) frozen app
        try:
            print(crash_message(log_path), file=sys.stderr)
        except Exception:
            pass


def install_excepthook(
    app_name: str = APP_NAME,
    *,
    notify: Notify | None = None,
    fatal_errors: bool = True,
) -> Path:
    """Log uncaught exceptions (main thread and other threads) and tell the user.

    ``notify(log_path)`` is called after the log is written; by default it prints
    :func:`crash_message` to stderr. With ``fatal_errors`` hard crashes (segfault in a
    GL driver, ...) are dumped by :mod:`faulthandler` to ``last-fatal-error.log`` in the
    same folder (the file is removed at a clean exit when empty).

    Returns the log folder. Calling it again replaces the previous installation.
    """
    folder = log_dir(app_name)
    tell = notify or _print_to_stderr
    previous_hook = _state.get("previous_excepthook", sys.excepthook)
    previous_thread_hook = _state.get("previous_threading_excepthook", threading.excepthook)
    _state["previous_excepthook"] = previous_hook
    _state["previous_threading_excepthook"] = previous_thread_hook

    def handle(
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
        thread_name: str | None = None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous_hook(exc_type, exc, tb)  # type: ignore[operator]
            return
        try:
            path = write_crash_log(exc_type, exc, tb, app_name=app_name, thread_name=thread_name)
        except Exception:  # pragma: no cover - the disk is full or similar
            if sys.stderr is not None:
                traceback.print_exception(exc_type, exc, tb)
            return
        if sys.stderr is not None:  # keep the usual traceback on a console
            try:
                traceback.print_exception(exc_type, exc, tb)
            except Exception:
                pass
        try:
            tell(path)
        except Exception:  # pragma: no cover - the dialog itself failed
            _print_to_stderr(path)

    def excepthook(exc_type, exc, tb) -> None:
        handle(exc_type, exc, tb)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else None
        handle(args.exc_type, args.exc_value, args.exc_traceback, thread_name=name)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    if fatal_errors:
        _enable_faulthandler(folder)
    return folder


def _enable_faulthandler(folder: Path) -> None:
    old = _state.pop("fatal_file", None)
    if old is not None:
        faulthandler.disable()
        _close_fatal(old)  # type: ignore[arg-type]
    _state.setdefault("faulthandler_was_enabled", faulthandler.is_enabled())
    try:
        target = _writable_dir(folder)
        handle = _private_file(target / FATAL_LOG_NAME, exclusive=False)
        faulthandler.enable(file=handle, all_threads=True)
    except (OSError, ValueError, RuntimeError):
        return
    _state["fatal_file"] = handle
    atexit.register(_close_fatal, handle)


def _close_fatal(handle) -> None:
    """At a clean exit: drop the fatal-error file when nothing was written to it."""
    try:
        if _state.get("fatal_file") is handle:
            faulthandler.disable()
            _state.pop("fatal_file", None)
        name = handle.name
        handle.close()
        path = Path(name)
        if path.exists() and path.stat().st_size == 0:
            path.unlink()
    except Exception:
        pass


def uninstall_excepthook() -> None:
    """Restore the hooks that were there before :func:`install_excepthook` (tests)."""
    if "previous_excepthook" in _state:
        sys.excepthook = _state.pop("previous_excepthook")  # type: ignore[assignment]
    if "previous_threading_excepthook" in _state:
        threading.excepthook = _state.pop("previous_threading_excepthook")  # type: ignore[assignment]
    handle = _state.get("fatal_file")
    if handle is not None:
        _close_fatal(handle)
    if _state.pop("faulthandler_was_enabled", False) and sys.stderr is not None:
        try:
            faulthandler.enable()
        except (OSError, ValueError, RuntimeError, AttributeError):
            pass
