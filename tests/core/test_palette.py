"""The categorical palette stays distinct for normal and colour-blind vision (simulated)."""

from __future__ import annotations

import itertools

import numpy as np

from rfm_desktop.core import palette
from rfm_desktop.core.rules import RFM_02, RFM_03

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
CVD = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}


def _lab(colors: list[str], matrix: np.ndarray) -> np.ndarray:
    rgb = np.array([palette.hex_to_rgb(c) for c in colors], dtype=float) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(linear @ matrix.T, 0, 1)
    xyz = (
        linear
        @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    )
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


def _closest(colors: list[str], vision: str) -> float:
    lab = _lab(colors, CVD[vision])
    return min(
        float(np.linalg.norm(lab[i] - lab[j]))
        for i, j in itertools.combinations(range(len(colors)), 2)
    )


def test_every_two_hues_stay_apart_for_every_vision() -> None:
    hues = list(palette.CATEGORICAL)
    assert len(set(hues)) == 10
    for vision in CVD:
        assert _closest(hues, vision) >= 13, vision
    assert _closest(hues, "normal") >= 25


def test_named_segments_each_get_their_own_colour_and_greys_stay_apart() -> None:
    for rules in (RFM_02, RFM_03):
        names = [*rules.segment_names, "Outliers"]
        colors = [palette.segment_color(n) for n in names]
        assert len(set(colors)) == len(names), dict(zip(names, colors, strict=True))
        for vision in CVD:
            assert _closest(colors, vision) >= 8, vision
    assert palette.segment_color("Others") == palette.OTHERS_COLOR
    assert palette.segment_color("A custom segment") in palette.CATEGORICAL
    assert palette.cluster_color(11) == palette.cluster_color(1)
    assert palette.cluster_color(3, outlier=True) == palette.OUTLIER_COLOR


def test_the_old_segment_colours_would_have_failed() -> None:
    old = [
        "#1B7837",
        "#5AAE61",
        "#A6D96A",
        "#2C7BB6",
        "#74ADD1",
        "#FDB863",
        "#E08214",
        "#D73027",
        "#9E0142",
        "#8073AC",
    ]
    assert _closest(old, "protanopia") < 8  # three similar greens, two similar blues
