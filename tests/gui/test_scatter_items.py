"""FastScatter leans on private pyqtgraph methods (pyqtgraph is pinned below 0.15 in
pyproject.toml for it): these tests fail loudly when a pyqtgraph release renames them or
changes what they take, before the 2D scatter silently draws nothing."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg
from pyqtgraph.graphicsItems.ScatterPlotItem import SymbolAtlas

from rfm_desktop.gui.views.scatter_items import FastScatter


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_private_pyqtgraph_hooks_fastscatter_overrides_or_calls_are_there() -> None:
    assert _parameters(pg.ScatterPlotItem.updateSpots) == ["self", "dataSet"]
    assert _parameters(pg.ScatterPlotItem._maybeRebuildAtlas)[0] == "self"
    assert all(
        p.default is not inspect.Parameter.empty
        for p in list(inspect.signature(pg.ScatterPlotItem._maybeRebuildAtlas).parameters.values())[
            1:
        ]
    )
    updater = inspect.signature(pg.ScatterPlotItem._updateMaxSpotSizes).parameters
    assert "data" in updater or any(p.kind is p.VAR_KEYWORD for p in updater.values())
    assert _parameters(pg.ScatterPlotItem.invalidate) == ["self"]
    assert _parameters(SymbolAtlas.__getitem__) == ["self", "styles"]


@pytest.mark.parametrize("count", [1, 500])
def test_fastscatter_places_every_point_as_pyqtgraph_itself_does(qtbot, count: int) -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=count), rng.normal(size=count)
    style = dict(pxMode=True, useCache=True, symbol="o", size=6.0, pen=None, brush=pg.mkBrush("r"))
    fast, plain = FastScatter(**style), pg.ScatterPlotItem(**style)
    for item in (fast, plain):
        item.setData(x=x, y=y)
    for field in ("x", "y", "w", "h"):
        got = fast.data["sourceRect"][field]
        assert (fast.data["sourceRect"]["w"] > 0).all()
        np.testing.assert_array_equal(got, plain.data["sourceRect"][field])
    assert fast.boundingRect() == plain.boundingRect()
    assert fast.pixelPadding() == plain.pixelPadding()
