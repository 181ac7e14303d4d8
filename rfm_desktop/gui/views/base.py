"""The base class every result tab derives from, and small drawing helpers they share.

A view receives an :class:`AnalysisResult` through :meth:`ResultView.set_result` and draws
it; it computes nothing beyond presentation (formatting, sorting, picking colours).
"""

from __future__ import annotations

import html
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from rfm_desktop.core.errors import ImageError
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui.hints import make_hint

pg.setConfigOptions(antialias=True)

#: what :meth:`ResultView.save_image` can export, by a view's ``image_formats``
PNG_ONLY: tuple[str, ...] = ("png",)
PNG_AND_SVG: tuple[str, ...] = ("png", "svg")


def foreground(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.WindowText)


def background(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.Window)


def is_dark(color: QColor) -> bool:
    return color.lightnessF() < 0.5


def text_color_on(color: QColor) -> QColor:
    """Black or white, whichever reads better on ``color`` (WCAG relative luminance)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )
    return QColor("#000000") if lum > 0.179 else QColor("#FFFFFF")


def style_plot(plot: pg.PlotItem, widget: QWidget, *, title: str | None = None) -> None:
    """Axes, labels and title in the palette's text colour, a light grid."""
    fg = foreground(widget)
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))
    plot.showGrid(x=True, y=True, alpha=0.18)
    if title is not None:
        plot.setTitle(title, color=fg.name(), size="11pt")
    plot.hideButtons()  # the small "A" auto-range button looks like a glitch to analysts


class TitledPlotWidget(pg.PlotWidget):
    """A plot whose title is elided to the width above its view ("P(alive) by repeat…"), the
    whole title in the title's tooltip: pyqtgraph centres a title over the view box, between
    the axes, and draws a longer one cut at both ends."""

    #: the title's size, as style_plot's
    TITLE_SIZE = 11.0
    #: the title item's document margins and the plot's layout margins, in pixels
    TITLE_MARGIN = 16

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._title = ""
        self._title_color = ""
        # an axis that widens (longer tick labels) narrows the room above the view box
        self.getPlotItem().getViewBox().sigResized.connect(self._fit_title)

    def set_title(self, title: str, color: QColor) -> None:
        """Show ``title`` (plain text) in ``color``, elided to the room the plot has now and
        again whenever it or its axes change size."""
        self._title, self._title_color = title, color.name()
        self._fit_title(force=True)

    def full_title(self) -> str:
        return self._title

    def title_room(self) -> int:
        """Pixels for the title: the plot's width less the axes beside the view box."""
        plot = self.getPlotItem()
        axes = sum(
            plot.getAxis(side).width()
            for side in ("left", "right")
            if plot.getAxis(side).isVisible()
        )
        return max(int(self.width() - axes) - self.TITLE_MARGIN, 0)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        self._fit_title()

    def _fit_title(self, *_args: object, force: bool = False) -> None:
        if not getattr(self, "_title", ""):  # pyqtgraph resizes the plot while it is made
            return
        font = QFont(self.font())
        font.setPointSizeF(self.TITLE_SIZE)
        text = QFontMetrics(font).elidedText(
            self._title, Qt.TextElideMode.ElideRight, self.title_room()
        )
        plot = self.getPlotItem()
        if force or plot.titleLabel.text != html.escape(text):
            plot.setTitle(html.escape(text), color=self._title_color, size=f"{self.TITLE_SIZE:g}pt")
        plot.titleLabel.setToolTip(self._title if text != self._title else "")


def style_graphics_view(view: pg.GraphicsView, widget: QWidget) -> None:
    view.setBackground(background(widget))


def message_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setMargin(24)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    make_hint(label)
    return label


class ResultView(QWidget):
    """One tab of the results window.

    Subclasses set ``title`` (the tab title), ``view_name`` (a file-name slug),
    ``placeholder`` (shown before the first result), build their content in
    ``__init__`` and pass it to :meth:`set_content`, and implement :meth:`set_result`.
    """

    title: str = "View"
    view_name: str = "view"
    placeholder: str = "Run an analysis to see the results here."
    #: formats :meth:`save_image` writes; PNG only for tables and the 3D view
    image_formats: tuple[str, ...] = PNG_ONLY

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: AnalysisResult | None = None
        self._stack = QStackedWidget(self)
        self._placeholder = message_label(self.placeholder)
        self._stack.addWidget(self._placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    # -- for subclasses ---------------------------------------------------------
    def set_content(self, widget: QWidget) -> None:
        """The view's content, in a scroll area: below its minimum size (small screens, 150 %/200 %
        scaling) it scrolls instead of being squeezed or cut off."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(widget)
        self._stack.addWidget(scroll)

    def show_content(self, shown: bool = True) -> None:
        self._stack.setCurrentIndex(1 if shown and self._stack.count() > 1 else 0)

    def show_message(self, text: str) -> None:
        """Replace the content by a plain message (e.g. "no K sweep was run")."""
        self._placeholder.setText(text)
        self._stack.setCurrentIndex(0)

    def _plot_for_export(self) -> pg.PlotItem | pg.GraphicsScene | None:
        """The plot (or scene) that :meth:`save_image` exports; None for table views."""
        return None

    def _widget_for_png(self) -> QWidget:
        """The widget that a PNG of a non-plot view shows."""
        return self

    def _palette_changed(self) -> None:
        """Re-apply colours that come from the palette; redraws the current result."""
        if self._result is not None:
            self.set_result(self._result)

    # -- public API ---------------------------------------------------------------
    @property
    def result(self) -> AnalysisResult | None:
        return self._result

    def has_result(self) -> bool:
        return self._result is not None

    def set_result(self, result: AnalysisResult) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def save_image(self, path: str | Path) -> None:
        """Write the view's picture to ``path``: PNG or SVG by extension.

        Raises
        ------
        ImageError
            The format is not one the view has, there is nothing drawn yet, or the file cannot
            be written.
        """
        path = Path(path)
        ext = path.suffix.lower().lstrip(".")
        if ext not in ("png", "svg"):
            raise ImageError(f"Save the picture as .png or .svg, not '{path.suffix or path.name}'.")
        if ext not in self.image_formats:
            raise ImageError(
                f"The {self.title} view can be saved as PNG only, not as {ext.upper()}."
            )
        if self._result is None:
            raise ImageError(
                f"There is nothing to save yet: run an analysis to fill the {self.title} view."
            )
        target = self._plot_for_export()
        if target is None:
            if ext != "png":
                raise ImageError(
                    f"The {self.title} view has no chart to save as {ext.upper()}: save it as PNG."
                )
            self._save_widget_png(self._widget_for_png(), path)
            return
        try:
            if ext == "svg":
                from rfm_desktop.gui.views.svg import export_svg

                export_svg(target, path)
            else:
                from pyqtgraph import exporters

                exporter = exporters.ImageExporter(target)
                params = exporter.parameters()
                if int(params["width"]) < 1200:  # crisper for reports than the on-screen size
                    params["width"] = 1200
                exporter.export(str(path))
            written = path.exists() and path.stat().st_size > 0
        except OSError as exc:  # the disk's answer, said as the analyst's failed save
            raise ImageError(
                f"Could not write the picture to {path}: {exc.strerror or exc}."
            ) from exc
        if not written:
            raise ImageError(f"Could not write the picture to {path}.")

    def grab_png(self, path: str | Path) -> None:
        """A screenshot of the whole tab (controls included) as PNG."""
        self._save_widget_png(self, Path(path))

    def _save_widget_png(self, widget: QWidget, path: Path) -> None:
        if not widget.grab().save(str(path), "PNG"):
            raise ImageError(f"Could not write the picture to {path}.")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._palette_changed()
