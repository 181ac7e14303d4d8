"""What the 2D scatter view shows, as one frozen value (issue 11: one source of truth).

The view draws from a :class:`Scatter2DState` and changes only through
``Scatter2DView.set_state`` / ``update_state``; its widgets, its setters and the legend all go
through there. The HTML report draws a fresh view from the result and the default state, so
nothing chosen on screen (selection, hidden groups, axes) leaks into it. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class AxisSpec:
    """One plottable column: ``column`` of ``result.customers``, its labels and unit."""

    key: str
    column: str
    label: str
    short: str
    unit: str = ""
    loggable: bool = True


AXES: dict[str, AxisSpec] = {
    "recency": AxisSpec(
        "recency", "recency", "Recency (days since last purchase)", "Recency", "days"
    ),
    "frequency": AxisSpec("frequency", "frequency", "Frequency (orders)", "Frequency", "orders"),
    "monetary": AxisSpec("monetary", "monetary", "Monetary (total spend)", "Monetary"),
    "pc1": AxisSpec("pc1", "pc1", "PCA 1 (of the scaled R, F, M)", "PCA 1", loggable=False),
    "pc2": AxisSpec("pc2", "pc2", "PCA 2 (of the scaled R, F, M)", "PCA 2", loggable=False),
}
#: the t-SNE map's axes (not offered in the X / Y lists: they only make sense together)
MAP_AXES: dict[str, AxisSpec] = {
    "tsne1": AxisSpec(
        "tsne1", "tsne1", "t-SNE 1 (no unit: only neighbourhoods matter)", "t-SNE 1", loggable=False
    ),
    "tsne2": AxisSpec("tsne2", "tsne2", "t-SNE 2", "t-SNE 2", loggable=False),
}
ALL_AXES = {**AXES, **MAP_AXES}
PROJECTIONS = {"axes": "R, F, M axes", "pca": "PCA", "tsne": "t-SNE"}
COLOR_BY = {"cluster": "Cluster", "segment": "RFM segment"}


@dataclass(frozen=True)
class Scatter2DState:
    """The 2D view's choices: map, axes, log scales, colouring, hidden groups, selection.

    Parameters
    ----------
    projection : str
        "axes" (``x`` against ``y``), "pca" (PCA 1 x PCA 2) or "tsne" (the t-SNE map).
    x, y : str
        Keys of :data:`AXES` plotted when ``projection`` is "axes".
    x_log, y_log : bool
        Logarithmic axes (ignored on an axis that is not loggable, e.g. PCA).
    color_by : str
        "cluster" or "segment" (the named RFM segment).
    hidden_clusters, hidden_segments : frozenset
        Cluster ids and segment names not drawn (each colouring keeps its own).
    selected : frozenset of str
        Customer ids (as text) of the selected customers.

    Raises
    ------
    ValueError
        For an unknown projection, axis or colouring.
    """

    projection: str = "axes"
    x: str = "recency"
    y: str = "monetary"
    x_log: bool = False
    y_log: bool = True
    color_by: str = "cluster"
    hidden_clusters: frozenset[object] = field(default_factory=frozenset)
    hidden_segments: frozenset[str] = field(default_factory=frozenset)
    selected: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.projection not in PROJECTIONS:
            raise ValueError(f"Unknown map '{self.projection}': use {', '.join(PROJECTIONS)}.")
        for key in (self.x, self.y):
            if key not in AXES:
                raise ValueError(f"Unknown axis '{key}': use one of {', '.join(AXES)}.")
        if self.color_by not in COLOR_BY:
            raise ValueError(f"Colour by 'cluster' or 'segment', not '{self.color_by}'.")

    @property
    def hidden(self) -> frozenset[object]:
        """The hidden groups of the current colouring."""
        return self.hidden_clusters if self.color_by == "cluster" else self.hidden_segments

    def with_hidden(self, hidden: frozenset[object]) -> Scatter2DState:
        """This state with ``hidden`` as the hidden groups of the current colouring."""
        if self.color_by == "cluster":
            return replace(self, hidden_clusters=frozenset(hidden))
        return replace(self, hidden_segments=frozenset(str(k) for k in hidden))

    def axis_key(self, axis: str) -> str:
        """The key (of :data:`ALL_AXES`) plotted on ``axis`` ("x" or "y")."""
        if self.projection == "pca":
            return "pc1" if axis == "x" else "pc2"
        if self.projection == "tsne":
            return "tsne1" if axis == "x" else "tsne2"
        return self.x if axis == "x" else self.y

    def log_on(self, axis: str) -> bool:
        """True when ``axis`` ("x" or "y") is drawn on a log scale."""
        wanted = self.x_log if axis == "x" else self.y_log
        return wanted and ALL_AXES[self.axis_key(axis)].loggable
