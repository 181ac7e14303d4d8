"""Pictures of the result views, as PNG bytes (for the HTML report and the selftest)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication

from rfm_desktop.gui.report import K_CHARTS


def can_render_gl() -> bool:
    """False under the offscreen platform (no OpenGL there) or when the views say so."""
    if QGuiApplication.platformName() == "offscreen":
        return False
    try:
        from rfm_desktop.gui.views.view3d import gl_available
    except ImportError:
        return False
    return bool(gl_available())


def is_3d(view: Any) -> bool:
    return "3d" in str(getattr(view, "view_name", "")).lower()


def is_plot(view: Any) -> bool:
    return "svg" in tuple(getattr(view, "image_formats", ()))


def is_k_charts(view: Any) -> bool:
    name = str(getattr(view, "view_name", "")).lower()
    return name in ("k", "kcharts", "k-charts", "k_charts", "choose-k", "elbow") or name.startswith("k")


def view_png(view: Any) -> bytes | None:
    """The view's own picture (save_image for plots, grab_png otherwise); None if it has none."""
    if getattr(view, "result", None) is None:
        return None
    with tempfile.TemporaryDirectory(prefix="rfm-img-") as tmp:
        path = Path(tmp) / f"{getattr(view, 'view_name', 'view')}.png"
        if is_3d(view):
            view.grab_png(path)
        else:
            view.save_image(path)
        return path.read_bytes() if path.exists() else None


def report_images(views: list[Any]) -> dict[str, bytes]:
    """K charts first, then the other plots (and the 3D view when OpenGL is there)."""
    chosen = [v for v in views if is_plot(v) or (is_3d(v) and can_render_gl())]
    chosen.sort(key=lambda v: 0 if is_k_charts(v) else 1)
    images: dict[str, bytes] = {}
    for view in chosen:
        png = view_png(view)
        if png:
            caption = f"{K_CHARTS}: {view.title}" if is_k_charts(view) else str(view.title)
            images[caption] = png
    return images
