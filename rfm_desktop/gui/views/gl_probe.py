"""Can this display draw OpenGL? Checked once per process, without importing
pyqtgraph.opengl until a QApplication exists (and never on a display that has no GL)."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtGui import QGuiApplication

#: set to any value to force the message instead of the GL view (remote desktops with broken GL)
NO_GL_ENV = "RFM_DESKTOP_NO_GL"

_GL_STATE: dict[str, Any] = {}


def gl_available() -> bool:
    """True when a 3D (OpenGL) view can be shown: a real display, pyqtgraph.opengl and a
    working OpenGL context. Checked once per process."""
    if "ok" in _GL_STATE:
        return bool(_GL_STATE["ok"])
    ok, why = _probe_gl()
    if QGuiApplication.instance() is not None:  # the answer can change once a QApplication exists
        _GL_STATE["ok"], _GL_STATE["why"] = ok, why
    else:
        _GL_STATE.pop("ok", None)
    return ok


def gl_unavailable_reason() -> str:
    """Why :func:`gl_available` said no, in words for the analyst ("" when it said yes)."""
    gl_available()
    return str(_GL_STATE.get("why", ""))


def _probe_gl() -> tuple[bool, str]:
    if os.environ.get(NO_GL_ENV):
        return False, f"3D drawing was switched off ({NO_GL_ENV} is set)"
    if QGuiApplication.instance() is None:
        return False, "the application has not started yet"
    platform = QGuiApplication.platformName()
    if platform in ("offscreen", "minimal", "vnc", "linuxfb"):
        return False, f"this display ('{platform}') has no OpenGL"
    try:
        import pyqtgraph.opengl  # noqa: F401
        from OpenGL import GL  # noqa: F401
        from PySide6.QtGui import QOffscreenSurface, QOpenGLContext
    except Exception as exc:
        return False, f"the OpenGL libraries could not be loaded ({exc.__class__.__name__}: {exc})"
    context = QOpenGLContext()
    if not context.create():
        return False, "no OpenGL context could be created"
    surface = QOffscreenSurface()
    surface.create()
    if not context.makeCurrent(surface):
        return False, "the OpenGL context could not be used"
    context.doneCurrent()
    return True, ""
