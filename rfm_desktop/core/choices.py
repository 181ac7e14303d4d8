"""The choices of a run that the analyst picks from a list, one table each: the scalers and
the outlier modes. The parameters (:mod:`rfm_desktop.core.params`) check against these tables,
the CLI offers their keys, the wizard lists their labels, the engine follows them, and
tests/core/test_vocabularies.py checks every place. Adding a scaler is one row here (and its
tests). Kept free of heavy imports so the window's start page can use it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScalerChoice:
    """One way to put recency (days), frequency (orders) and monetary (money) on one scale.

    ``label``: the wizard's list. ``help``: its sentence in the tooltip ("" for none).
    ``estimator``: the scikit-learn class that does it, as ``"module.Class"`` (imported only
    when k-means runs); None leaves the values as they are. It must be per feature and affine,
    ``(value - center) / scale``: a run records its space that way (``Features.space``).
    """

    label: str
    help: str
    estimator: str | None


#: The scalers, in the wizard's order; the first is the default of a new analysis.
SCALERS: dict[str, ScalerChoice] = {
    "standard": ScalerChoice(
        "Standard (mean 0, spread 1)",
        "Standard: mean 0, spread 1.",
        "sklearn.preprocessing.StandardScaler",
    ),
    "robust": ScalerChoice(
        "Robust (median and IQR)",
        "Robust: median and IQR, less sensitive to outliers.",
        "sklearn.preprocessing.RobustScaler",
    ),
    "minmax": ScalerChoice(
        "Min–max (0 to 1)", "Min-max: 0 to 1.", "sklearn.preprocessing.MinMaxScaler"
    ),
    "none": ScalerChoice("None", "", None),
}


@dataclass(frozen=True)
class OutlierChoice:
    """What happens to outlier customers (beyond the IQR fences).

    ``label``: the wizard's list. ``action``: the end of "they will be …" on the cleaning page.
    ``short``: the run summary's word.
    """

    label: str
    action: str
    short: str


#: The outlier modes, in the wizard's order.
OUTLIER_MODES: dict[str, OutlierChoice] = {
    "keep": OutlierChoice("Keep them with everyone else", "kept with everyone else", "kept"),
    "drop": OutlierChoice("Drop them from the analysis", "dropped", "dropped"),
    "segment": OutlierChoice(
        "Put them in their own 'Outliers' segment", "put into their own segment", "own segment"
    ),
}


def one_of(names: Iterable[str]) -> str:
    """``"a, b or c"``: the names of a table for a message."""
    items = list(names)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
