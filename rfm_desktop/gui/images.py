"""Pictures of the result views, as PNG bytes (for the HTML report and the selftest)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from rfm_desktop.core.errors import ImageError
from rfm_desktop.core.report import K_CHARTS
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.views.base import ResultView
from rfm_desktop.gui.views.gl_probe import gl_available
from rfm_desktop.gui.views.kcharts import KEvaluationView
from rfm_desktop.gui.views.view3d import View3D


def can_render_gl() -> bool:
    """False under the offscreen platform (no OpenGL there) or when the views say so."""
    if QGuiApplication.platformName() == "offscreen":
        return False
    return gl_available()


def is_3d(view: ResultView) -> bool:
    return isinstance(view, View3D)


def is_plot(view: ResultView) -> bool:
    return "svg" in view.image_formats


def is_k_charts(view: ResultView) -> bool:
    return isinstance(view, KEvaluationView)


#: the size a report picture is drawn at, whatever the window's size
REPORT_SIZE = (1200, 800)


def view_png(view: ResultView) -> bytes | None:
    """The view's own picture (save_image: the plot, or for 3D the scene and its legend);
    None if it has none."""
    if view.result is None:
        return None
    try:
        return _view_png(view)
    except OSError as exc:  # the temporary folder: said as a failed picture, not a bug
        raise ImageError(
            f"Could not draw the {view.title} picture: {exc.strerror or exc}."
        ) from exc


def _view_png(view: ResultView) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="rfm-img-") as tmp:
        path = Path(tmp) / f"{view.view_name}.png"
        if isinstance(view, View3D):
            gl = view.gl_widget()
            if gl is None or not view.is_gl_active():
                return None
            image = (
                gl.grabFramebuffer()
            )  # the GL scene alone: no combo boxes, buttons or tick boxes
            if image.isNull() or not image.save(str(path), "PNG"):
                return None
        else:
            view.save_image(path)
        return path.read_bytes() if path.exists() else None


def fresh_view(view: ResultView, result: AnalysisResult) -> ResultView:
    """A new view of the same kind, drawn from ``result`` alone (no selection, zoom, rotation or
    hidden segments of the one on screen), laid out at :data:`REPORT_SIZE` without showing it."""
    fresh = type(view)()
    fresh.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    fresh.resize(*REPORT_SIZE)
    fresh.show()
    fresh.set_result(result)
    QApplication.processEvents()
    return fresh


def report_images(
    views: list[ResultView], result: AnalysisResult | None = None
) -> dict[str, bytes]:
    """K charts first, then the other plots (and the 3D view when OpenGL is there), each drawn
    by a fresh view from ``result`` (default: the views' own result), not taken from the screen.

    The 3D picture is the GL scene of the view on screen without its controls (a second GL view
    cannot be drawn off screen reliably: its shaders belong to another context)."""
    chosen = [v for v in views if is_plot(v) or (is_3d(v) and can_render_gl())]
    chosen.sort(key=lambda v: 0 if is_k_charts(v) else 1)
    images: dict[str, bytes] = {}
    for view in chosen:
        source = result if result is not None else view.result
        if source is None:
            continue
        if is_3d(view):
            png = view_png(view)
        else:
            fresh = fresh_view(view, source)
            try:
                png = view_png(fresh)
            finally:
                fresh.close()
                fresh.deleteLater()
        if png:
            caption = f"{K_CHARTS}: {view.title}" if is_k_charts(view) else str(view.title)
            images[caption] = png
    return images
