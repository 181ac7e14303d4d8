"""Find bundled resources from a source tree, an installed package or a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources/`` folder: next to the package in a checkout, in ``sys._MEIPASS`` when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def sample_data_path() -> Path:
    return resource_path("sample", "online_retail_sample.csv.gz")
