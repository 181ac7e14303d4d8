"""One colour per cluster, shared by the 2D and 3D views, tables and exports."""

from __future__ import annotations

# Okabe-Ito + Tableau-like hues: readable on light and dark backgrounds, colour-blind aware.
_BASE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#7F3C8D",  # purple
    "#11A579",  # teal
    "#8C564B",  # brown
    "#E377C2",  # rose
    "#17BECF",  # cyan
)
OUTLIER_COLOR = "#7F7F7F"


def cluster_color(index: int, *, outlier: bool = False) -> str:
    """Hex colour for cluster ``index`` (0-based); grey for the Outliers segment."""
    if outlier:
        return OUTLIER_COLOR
    return _BASE[index % len(_BASE)]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)
