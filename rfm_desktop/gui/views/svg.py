"""SVG export through pyqtgraph, tolerant of closed paths; and the 2D view's faint brushes.

pyqtgraph 0.14.0's SVG exporter parses each ``<path d="...">`` as space-separated
``x,y`` pairs and fails on the ``Z`` (close path) that Qt 6 writes for closed shapes
such as the ViewBox background (pyqtgraph issue #3495, fixed after 0.14.0). While we
export, its ``correctCoordinates`` first rewrites every ``Z`` as a line back to the start
of the sub-path, which draws the same shape; the original function is restored afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def close_paths_as_lines(d: str) -> str:
    """'M0,0 L1,0 L1,1 Z' -> 'M0,0 L1,0 L1,1 L0,0' (absolute commands, as Qt writes them)."""
    out: list[str] = []
    start = ""
    for token in d.split():
        if token in ("Z", "z"):
            if start:
                out.append("L" + start)
            continue
        if token[:1] in ("Z", "z"):  # "ZM1,2" written without a space
            if start:
                out.append("L" + start)
            token = token[1:]
        if token[:1] == "M":
            start = token[1:]
        out.append(token)
    return " ".join(out)


@contextmanager
def _tolerate_closed_paths() -> Iterator[None]:
    import pyqtgraph.exporters  # noqa: F401 - makes sure the module is loaded

    module: Any = sys.modules["pyqtgraph.exporters.SVGExporter"]  # pyqtgraph ships no types
    original = getattr(module, "correctCoordinates", None)
    if original is None:  # a pyqtgraph without the helper: nothing to work around
        yield
        return

    def correct(node: Any, defs: Any, item: Any, options: Any) -> Any:
        for element in node.getElementsByTagName("path"):
            d = element.getAttribute("d")
            if "Z" in d or "z" in d:
                element.setAttribute("d", close_paths_as_lines(d))
        return original(node, defs, item, options)

    module.correctCoordinates = correct
    try:
        yield
    finally:
        module.correctCoordinates = original


def export_svg(target: Any, path: str | Path) -> None:
    """Write ``target`` (a PlotItem or a GraphicsScene) to ``path`` as SVG."""
    from pyqtgraph import exporters

    with _tolerate_closed_paths():
        exporters.SVGExporter(target).export(str(path))


@contextmanager
def faint_brushes(
    items: Sequence[tuple[Any, str]], restore: Callable[[Any], Any]
) -> Iterator[None]:
    """While exporting, draw each (scatter item, colour) with a faint brush, then put back
    ``restore(QColor(colour))``: the SVG exporter ignores item opacity, so a selection's
    dimming of the other points would be lost otherwise. No items: nothing changes."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor

    for item, color in items:
        faint = QColor(color)
        faint.setAlpha(50)
        item.setBrush(pg.mkBrush(faint))
    try:
        yield
    finally:
        for item, color in items:
            item.setBrush(restore(QColor(color)))
