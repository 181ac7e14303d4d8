"""The pieces moved out of the 2D view (issue 11, point 4): the faint brushes of an SVG export
and the note on the t-SNE map's sample."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg
from PySide6.QtGui import QColor

from rfm_desktop.gui.views.svg import faint_brushes
from rfm_desktop.gui.views.tsne_job import sample_note


def _brush(item: pg.ScatterPlotItem) -> QColor:
    return item.opts["brush"].color()


def test_faint_brushes_dim_each_item_while_exporting_and_restore_them_after_a_failure(qtbot):
    items = [pg.ScatterPlotItem(x=[0, 1], y=[0, 1]) for _ in range(2)]
    colors = ["#123456", "#abcdef"]
    restore = lambda color: pg.mkBrush(color.red(), color.green(), color.blue(), 200)  # noqa: E731
    with pytest.raises(OSError), faint_brushes(list(zip(items, colors, strict=True)), restore):
        for item, color in zip(items, colors, strict=True):
            seen = _brush(item)
            assert (seen.name(), seen.alpha()) == (color, 50)
        raise OSError("disk full")
    for item, color in zip(items, colors, strict=True):
        assert (_brush(item).name(), _brush(item).alpha()) == (color, 200)


def test_no_items_change_nothing(qtbot):
    item = pg.ScatterPlotItem(x=[0], y=[0], brush=pg.mkBrush("#ff0000"))
    with faint_brushes([], lambda c: pg.mkBrush("#00ff00")):
        pass
    assert _brush(item).name() == "#ff0000"


def test_the_tsne_note_says_whether_the_map_is_of_a_sample():
    sampled = SimpleNamespace(rows=np.arange(120), total=200, seed=7, sampled=True)
    whole = SimpleNamespace(rows=np.arange(200), total=200, seed=7, sampled=False)
    assert "random sample of 120 of the 200 customers (seed 7" in sample_note(sampled)
    assert "outside the sample are not drawn" in sample_note(sampled)
    assert sample_note(whole).startswith("t-SNE map of all 200 customers (seed 7")
