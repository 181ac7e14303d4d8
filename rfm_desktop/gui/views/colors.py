"""Colours the views need beyond the cluster palette: named RFM segments and the heat scale.

Cluster colours always come from ``ClusterProfile.color`` (``rfm_desktop.core.palette``).
"""

from __future__ import annotations

import zlib

import numpy as np
from PySide6.QtGui import QColor

# One fixed hue per named segment of core.rfm: good customers green/blue, slipping ones
# amber/orange, lost ones red/grey, so the meaning reads at a glance in the 2D view and tables.
_SEGMENT_COLORS: dict[str, str] = {
    "Champions": "#1B7837",
    "Loyal Customers": "#5AAE61",
    "Potential Loyalist": "#A6D96A",
    "New Customers": "#2C7BB6",
    "Promising": "#74ADD1",
    "Need Attention": "#FDB863",
    "About To Sleep": "#E08214",
    "At Risk": "#D73027",
    "Can't Lose Them": "#9E0142",
    "Lost": "#8073AC",
    "Others": "#A0A0A0",
    "Outliers": "#606060",
}
_FALLBACK = ("#B35806", "#542788", "#01665E", "#C51B7D", "#4D9221", "#2166AC")


def segment_color(name: str) -> str:
    """Hex colour for a named RFM segment; a stable colour for names outside the rule table."""
    if name in _SEGMENT_COLORS:
        return _SEGMENT_COLORS[name]
    return _FALLBACK[zlib.crc32(str(name).encode("utf-8")) % len(_FALLBACK)]


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
