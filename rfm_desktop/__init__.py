"""RFM Desktop: customer segmentation for offline retail analysts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rfm-desktop")
except PackageNotFoundError:  # running from a source tree or a frozen bundle without metadata
    __version__ = "0.1.0"
