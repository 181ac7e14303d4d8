"""Result views: one tab each, all drawing an :class:`~rfm_desktop.core.result.AnalysisResult`.

``ALL_VIEWS`` lists the view classes in tab order; ``view_name`` gives a file-name slug.
"""

from __future__ import annotations

from rfm_desktop.gui.views.backtest import BacktestView
from rfm_desktop.gui.views.base import ResultView
from rfm_desktop.gui.views.cleaning import CleaningView
from rfm_desktop.gui.views.customers import CustomersView
from rfm_desktop.gui.views.distributions import DistributionsView
from rfm_desktop.gui.views.gl_probe import gl_available
from rfm_desktop.gui.views.kcharts import KChartsWidget, KEvaluationView
from rfm_desktop.gui.views.migration import MigrationView
from rfm_desktop.gui.views.rfmgrid import RFMView
from rfm_desktop.gui.views.rfmsegments import RFMSegmentsView
from rfm_desktop.gui.views.scatter2d import Scatter2DView
from rfm_desktop.gui.views.segments import SegmentsView
from rfm_desktop.gui.views.sensitivity import SensitivityView
from rfm_desktop.gui.views.silhouette import SilhouetteView
from rfm_desktop.gui.views.value import ValueView
from rfm_desktop.gui.views.view3d import View3D

ALL_VIEWS: list[type[ResultView]] = [
    SegmentsView,
    Scatter2DView,
    View3D,
    KEvaluationView,
    RFMView,
    RFMSegmentsView,
    DistributionsView,
    ValueView,
    MigrationView,
    BacktestView,
    CustomersView,
    SilhouetteView,
    SensitivityView,
    CleaningView,
]


def view_name(view: ResultView | type[ResultView]) -> str:
    """File-name slug of a view (class or instance), e.g. "scatter-2d", "scatter-3d"."""
    return view.view_name


VIEWS_BY_NAME: dict[str, type[ResultView]] = {cls.view_name: cls for cls in ALL_VIEWS}

__all__ = [
    "ALL_VIEWS",
    "VIEWS_BY_NAME",
    "BacktestView",
    "CleaningView",
    "CustomersView",
    "DistributionsView",
    "KChartsWidget",
    "KEvaluationView",
    "MigrationView",
    "RFMSegmentsView",
    "RFMView",
    "ResultView",
    "Scatter2DView",
    "SegmentsView",
    "SensitivityView",
    "SilhouetteView",
    "ValueView",
    "View3D",
    "gl_available",
    "view_name",
]
