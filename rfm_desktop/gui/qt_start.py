"""Starting Qt: when its platform plugin cannot load, say what to install in one line, exit 2.

Qt reports a platform plugin that cannot load (no display, a missing X/XCB library, an
unknown ``QT_QPA_PLATFORM``) as a few ``qt.qpa.*`` warnings and then a fatal message, after
which it aborts (exit 134, "libxcb-cursor0 is needed", "Reinstalling the application may fix
this problem"). :func:`platform_guard` holds those messages back while the QApplication is
made, and on the fatal one prints a single line naming the packages and exits with 2.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

#: what Qt's X11 (xcb) platform plugin and OpenGL need on Debian/Ubuntu; the README's and
#: .ci/run's apt-get lines install these (tests/gui/test_qt_start.py checks they agree)
DEBIAN_PACKAGES = (
    "libgl1-mesa-dri",
    "libegl1",
    "libxkbcommon-x11-0",
    "libdbus-1-3",
    "libfontconfig1",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-image0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-randr0",
    "libxcb-xkb1",
    "libxcb-cursor0",
)
EXIT_NO_WINDOW = 2


def install_hint() -> str:
    return "on Debian/Ubuntu: sudo apt-get install -y " + " ".join(DEBIAN_PACKAGES)


def failure_line(messages: list[str], platform: str | None, display: str | None) -> str:
    """The one line for the analyst, from what Qt said before giving up.

    Parameters
    ----------
    messages : Qt's messages while the QApplication was made (qt.qpa.* and the fatal one).
    platform : ``QT_QPA_PLATFORM`` if set.
    display : ``DISPLAY`` if set.
    """
    text = "\n".join(messages)
    plugin = re.search(r'platform plugin "([^"]*)"', text)
    name = plugin.group(1) if plugin else (platform or "xcb")
    if "could not connect to display" in text:
        where = f"the display '{display}'" if display else "a display (DISPLAY is not set)"
        return (
            f"rfm-desktop: cannot open a window: Qt could not connect to {where}; start it in a "
            f"desktop session, and if the window still does not open, install Qt's X11 libraries, "
            f"{install_hint()}"
        )
    if "Could not find the Qt platform plugin" in text:
        available = re.search(r"Available platform plugins are: ([^\n]*)", text)
        choices = f" (available: {available.group(1).strip().rstrip('.')})" if available else ""
        return (
            f"rfm-desktop: cannot open a window: Qt has no '{name}' platform plugin{choices}; "
            f"unset QT_QPA_PLATFORM, or for the X11 window {install_hint()}"
        )
    needed = re.search(r"(\S+) is needed to load the Qt xcb platform plugin", text)
    why = f" ({needed.group(1)} is needed)" if needed else ""
    return (
        f"rfm-desktop: cannot open a window: Qt's '{name}' platform plugin did not load{why}; "
        f"install the X11/XCB libraries it needs, {install_hint()}"
    )


@contextmanager
def platform_guard() -> Iterator[None]:
    """Around making the QApplication: a platform plugin failure becomes one line and exit 2."""
    held: list[tuple[str, str]] = []  # (category, message) of qt.qpa.* messages, shown on success

    def handler(mode: QtMsgType, context: object, message: str) -> None:
        category = str(getattr(context, "category", "") or "default")
        if mode == QtMsgType.QtFatalMsg:
            line = failure_line(
                [m for _, m in held] + [message],
                os.environ.get("QT_QPA_PLATFORM"),
                os.environ.get("DISPLAY"),
            )
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
            os._exit(EXIT_NO_WINDOW)  # before Qt aborts
        if category.startswith("qt.qpa"):
            held.append((category, message))
        else:
            sys.stderr.write(
                f"{category}: {message}\n" if category != "default" else f"{message}\n"
            )

    qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(None)
        for category, message in held:  # it started after all: what Qt said is not lost
            sys.stderr.write(f"{category}: {message}\n")
