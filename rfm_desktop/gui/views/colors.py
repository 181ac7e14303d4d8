"""Colours the views need beyond the cluster palette: named RFM segments and the heat scale.

Cluster colours always come from ``ClusterProfile.color`` (``rfm_desktop.core.palette``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QIcon, QPixmap

from rfm_desktop.core import palette


def segment_color(name: str) -> str:
    """Hex colour for a named RFM segment (core.palette: distinct also for colour-blind readers)."""
    return palette.segment_color(name)


def swatch_icon(color: str) -> QIcon:
    """A 14 px square of ``color`` (hex), the mark of a segment in lists and legends."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


# Sequential scale for the R x F heatmap (viridis stops): light cells = high mean monetary.
_HEAT_STOPS = np.array(
    [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ],
    dtype=float,
)


def heat_color(fraction: float) -> QColor:
    """Colour for ``fraction`` in 0..1 on the sequential scale; grey for NaN (empty cell)."""
    if not np.isfinite(fraction):
        return QColor("#9E9E9E")
    t = float(np.clip(fraction, 0.0, 1.0)) * (len(_HEAT_STOPS) - 1)
    i = min(int(t), len(_HEAT_STOPS) - 2)
    rgb = _HEAT_STOPS[i] + (_HEAT_STOPS[i + 1] - _HEAT_STOPS[i]) * (t - i)
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]))
