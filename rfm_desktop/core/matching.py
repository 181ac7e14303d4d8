"""Cluster identity across runs: new centroids matched one-to-one to old ones.

k-means numbers its clusters anew on every run, so "C2" in June need not be May's "C2". The
new clusters' centroids are put into the OLD run's feature space (its transform and scaler) and
paired with the old centroids by the optimal assignment (Hungarian method, scipy's
``linear_sum_assignment``) that minimises the summed Euclidean distance; with different K the
surplus clusters on either side stay unmatched. The distance of a pair is its drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClusterMatch:
    """One cluster of the new run and the old cluster whose identity it took, if any."""

    fitted_id: int  # the id k-means gave it in this run
    id: int  # its id after matching: the old cluster's id, or a new one
    name: str  # after matching: the old cluster's name (with the analyst's renames), or its own
    old_id: int | None  # None: no old cluster matched (a new cluster)
    drift: float | None  # centroid distance in the old run's scaled feature space; None unmatched

    def to_dict(self) -> dict[str, object]:
        """This match as JSON-ready values, for summary.json and run.json."""
        return {
            "cluster": self.id,
            "name": self.name,
            "fitted_cluster": self.fitted_id,
            "old_cluster": self.old_id,
            "drift": None if self.drift is None else round(self.drift, 6),
        }


@dataclass(frozen=True)
class Matching:
    """How a run's clusters were matched to a previous run's (written to summary.json)."""

    source: str  # the previous result: a folder or a saved analysis
    matches: tuple[ClusterMatch, ...]
    gone: tuple[tuple[int, str], ...]  # old clusters (id, name) that no new cluster matched

    @property
    def unmatched(self) -> tuple[ClusterMatch, ...]:
        """The new clusters that took no old cluster's identity."""
        return tuple(m for m in self.matches if m.old_id is None)

    def to_dict(self) -> dict[str, object]:
        """The matching to the previous run as JSON-ready values, for summary.json and run.json."""
        return {
            "compared_with": self.source,
            "method": "optimal assignment of centroids in the previous run's feature space",
            "clusters": [m.to_dict() for m in self.matches],
            "new_clusters": [m.id for m in self.unmatched],
            "gone_clusters": [{"cluster": i, "name": n} for i, n in self.gone],
        }


def centroids(points: np.ndarray, labels: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """The mean point of each cluster in ``ids`` (rows in that order).

    Parameters
    ----------
    points : ndarray, n x d
        Customers in one feature space (scaled units).
    labels : ndarray, n
        Each customer's cluster id.
    ids : the clusters wanted; each must have members.

    Returns
    -------
    ndarray, len(ids) x d
    """
    return np.array([points[labels == i].mean(axis=0) for i in ids]).reshape(len(ids), -1)


def match_centroids(
    old: np.ndarray, new: np.ndarray
) -> tuple[list[tuple[int, int, float]], list[int], list[int]]:
    """Pair new centroids with old ones one-to-one at the least summed Euclidean distance.

    Parameters
    ----------
    old, new : ndarray, k_old x d and k_new x d
        Centroids in the same feature space (the old run's scaled units).

    Returns
    -------
    pairs : (new row, old row, distance), by new row
    new_only : new rows without a partner (when k_new > k_old)
    old_only : old rows without a partner (when k_old > k_new)
    """
    from scipy.optimize import linear_sum_assignment

    if len(old) == 0 or len(new) == 0:
        return [], list(range(len(new))), list(range(len(old)))
    distance = np.linalg.norm(new[:, None, :] - old[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(distance)
    pairs = sorted((int(r), int(c), float(distance[r, c])) for r, c in zip(rows, cols, strict=True))
    matched_new = {r for r, _, _ in pairs}
    matched_old = {c for _, c, _ in pairs}
    return (
        pairs,
        [r for r in range(len(new)) if r not in matched_new],
        [c for c in range(len(old)) if c not in matched_old],
    )
