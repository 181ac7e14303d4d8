"""Quiet hint texts that stay readable: grey, but at least 4.5:1 contrast (WCAG 2 AA) on the window.

A disabled label's grey is ~1.7:1 on the light Fusion theme; :func:`make_hint` gives a label the
palette's text colour blended towards the background only as far as 4.5:1 allows, and follows
theme changes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QSizePolicy

MIN_CONTRAST = 4.5  # WCAG 2.x AA for body text


def luminance(color: QColor) -> float:
    """WCAG relative luminance, 0 (black) .. 1 (white)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours, 1 .. 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hint_color(palette: QPalette) -> QColor:
    """The text colour moved towards the window colour as far as :data:`MIN_CONTRAST` allows
    (at most halfway, so a hint never looks disabled)."""
    fg = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)
    bg = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Window)
    best = fg
    for step in range(1, 11):
        t = step * 0.05
        mixed = QColor.fromRgbF(
            fg.redF() + (bg.redF() - fg.redF()) * t,
            fg.greenF() + (bg.greenF() - fg.greenF()) * t,
            fg.blueF() + (bg.blueF() - fg.blueF()) * t,
        )
        if contrast_ratio(mixed, bg) < MIN_CONTRAST:
            break
        best = mixed
    return best


class _Follow(QObject):
    """Re-colours a hint when the application palette changes (light/dark switch)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange and isinstance(watched, QLabel):
            _apply(watched)
        return False


def _apply(label: QLabel) -> None:
    palette = label.palette()
    color = hint_color(QApplication.palette(label))
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.WindowText, color)
    label.setPalette(palette)


def make_hint(label: QLabel) -> QLabel:
    """Show ``label`` as a quiet hint (readable grey); returns it."""
    _apply(label)
    follower = _Follow(label)
    label.installEventFilter(follower)
    return label


class ElidedLabel(QLabel):
    """One line of text that never widens the window: elided ("…") when narrow, whole in the tooltip."""

    def __init__(self, text: str = "", parent: Any = None):
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("Mmmmmm…"))
        self.setToolTip(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(
            self.contentsRect(),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            shown,
        )
