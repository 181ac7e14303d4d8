"""One categorical palette for clusters and named RFM segments, shared by the 2D and 3D views,
tables and exports.

The ten hues are Okabe & Ito's seven ("Color Universal Design", 2008) with Paul Tol's indigo,
wine and olive (personal.sron.nl/~pault, "muted"). Under simulated protanopia, deuteranopia and
tritanopia (Machado, Oliveira & Fernandes 2009, severity 1) every two of them stay at least
13 CIELAB ΔE apart (normal vision: 26), and the two greys (Others, Outliers) at least 8 from
every hue: tests/core/test_palette.py measures it.
"""

from __future__ import annotations

import zlib

CATEGORICAL = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#332288",  # indigo
    "#882255",  # wine
    "#999933",  # olive
)
OUTLIER_COLOR = "#666666"
OTHERS_COLOR = "#DDDDDD"

#: the named segments of the bundled rule tables (rfm-0.2, rfm-0.3), each its own hue: good
#: customers blue/green, new ones light, slipping ones orange/olive, lost ones red/dark
_SEGMENT_INDEX = {
    "Champions": 0,
    "Loyal Customers": 2,
    "Potential Loyalist": 4,
    "New Customers": 6,
    "Promising": 3,
    "Need Attention": 1,
    "About To Sleep": 9,
    "At Risk": 5,
    "Can't Lose Them": 8,
    "Lost": 7,
}


def categorical_color(index: int) -> str:
    """Hex colour number ``index`` (0-based) of :data:`CATEGORICAL`, repeating after ten."""
    return CATEGORICAL[index % len(CATEGORICAL)]


def cluster_color(index: int, *, outlier: bool = False) -> str:
    """Hex colour for cluster ``index`` (0-based); grey for the Outliers segment."""
    return OUTLIER_COLOR if outlier else categorical_color(index)


def segment_color(name: str) -> str:
    """Hex colour for a named RFM segment; "Others" and "Outliers" grey; a stable hue (from the
    name) for segments of other rule tables."""
    if name == "Others":
        return OTHERS_COLOR
    if name == "Outliers":
        return OUTLIER_COLOR
    if name in _SEGMENT_INDEX:
        return CATEGORICAL[_SEGMENT_INDEX[name]]
    return categorical_color(zlib.crc32(str(name).encode("utf-8")))


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#1f77b4"`` (or without ``#``) to its red, green and blue, each 0..255."""
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)
