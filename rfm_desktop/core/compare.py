"""A run compared with a previous one: cluster identity carried over, and who moved where.

The previous result is a result folder (its ``customers.csv`` and ``summary.json``) or a saved
analysis, which is run again. The new run's clusters are matched to the previous run's
(:mod:`rfm_desktop.core.matching`) and matched clusters take the previous ids, names (with the
analyst's renames) and colours; then every customer's segment and cluster are compared:
``migration_rfm.csv`` and ``migration_clusters.csv`` (from × to counts, a ``(new)`` row for
customers the previous run did not have and a ``(gone)`` column for those this run lacks) and
``movers.csv`` (customers in both runs whose named segment or cluster changed).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rfm_desktop.core.errors import InputFileError, ParamsError
from rfm_desktop.core.matching import ClusterMatch, Matching, centroids, match_centroids
from rfm_desktop.core.palette import cluster_color
from rfm_desktop.core.profiles import cluster_label
from rfm_desktop.core.result import AnalysisResult, FeatureSpace, KStability
from rfm_desktop.core.rules import OTHERS

NEW, GONE = "(new)", "(gone)"
MOVER_COLUMNS = ("customer_id", "from_segment", "to_segment", "from_cluster", "to_cluster")
_HINT = "Give --compare a result folder written by `rfm-desktop segment` or a saved analysis."


@dataclass(frozen=True)
class Previous:
    """What a comparison needs of the previous result."""

    source: str  # the folder or saved analysis it came from
    #: one row per customer: customer_id, rfm_segment, cluster, cluster_name
    customers: pd.DataFrame
    names: dict[int, str]  # every cluster id -> its name, in id order
    centroids: dict[int, np.ndarray]  # k-means clusters (not Outliers) -> centroid in ``space``
    space: FeatureSpace
    outlier_id: int | None = None  # the Outliers segment's id, when the run had one


def previous_from_result(result: AnalysisResult, source: str) -> Previous:
    """The :class:`Previous` of a result in memory (a saved analysis run again, or the GUI's).

    Parameters
    ----------
    result
        The earlier analysis.
    source
        How the analyst knows it (a file name, "previous run"), used in messages.

    Returns
    -------
    Previous
        Its customers' segments and clusters, cluster names, k-means centroids in its own
        feature space, and the id of its outlier segment (None without one).

    Raises
    ------
    ParamsError
        ``result`` records no feature space (results from the pipeline always do).
    """
    if result.feature_space is None:  # pragma: no cover - every pipeline run records it
        raise ParamsError(f"The previous result ({source}) does not record its feature space.")
    customers = result.customers
    points = result.feature_space.apply(customers)
    labels = customers["cluster"].to_numpy()
    kmeans = [c.id for c in result.clusters if not c.is_outlier_segment and c.size]
    found = centroids(points, labels, kmeans)
    outliers = [c.id for c in result.clusters if c.is_outlier_segment]
    return Previous(
        source,
        customers[["customer_id", "rfm_segment", "cluster", "cluster_name"]].copy(),
        {c.id: c.name for c in result.clusters},
        dict(zip(kmeans, found, strict=True)),
        result.feature_space,
        outliers[0] if outliers else None,
    )


def load_previous(path: str | Path) -> Previous:
    """The previous result at ``path``: a result folder, or a saved analysis (``.rfm.json`` or a
    ``run.json``), which is run again here.

    Raises
    ------
    InputFileError
        ``path`` does not exist, or a file of the folder cannot be read.
    ParamsError
        It is neither a result folder nor a saved analysis, or the folder was written by a
        version that did not record centroids (run it again).
    """
    path = Path(path)
    if path.is_dir():
        return _from_folder(path)
    if not path.exists():
        raise InputFileError(f"The previous result '{path}' does not exist.", hint=_HINT)
    from rfm_desktop.core import pipeline
    from rfm_desktop.core.analysis_file import load_analysis

    return previous_from_result(pipeline.run(load_analysis(path)), str(path))


def _from_folder(folder: Path) -> Previous:
    summary_path, customers_path = folder / "summary.json", folder / "customers.csv"
    if not summary_path.exists() or not customers_path.exists():
        raise ParamsError(
            f"'{folder}' is not a result folder: it has no summary.json and customers.csv.",
            hint=_HINT,
        )
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        customers = pd.read_csv(
            customers_path,
            usecols=["customer_id", "rfm_segment", "cluster", "cluster_name"],
            dtype={"customer_id": "string", "rfm_segment": "string", "cluster_name": "string"},
            keep_default_na=False,
        )
    except OSError as exc:
        raise InputFileError(f"Cannot read the previous result in '{folder}': {exc}.") from exc
    except ValueError as exc:
        raise ParamsError(
            f"The previous result in '{folder}' cannot be read: {exc}.", hint=_HINT
        ) from exc
    try:
        space = FeatureSpace.from_dict(summary["feature_space"])
        clusters = summary["clusters"]
        names = {int(c["id"]): str(c["name"]) for c in clusters}
        found = {
            int(c["id"]): np.asarray(c["centroid"], dtype=np.float64)
            for c in clusters
            if c.get("centroid") is not None
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ParamsError(
            f"The result in '{folder}' does not record its clusters' centroids and feature space "
            "(it was written by an older version).",
            hint="Run that analysis again with this version, or compare with its saved analysis (run.json).",
        ) from exc
    outliers = [i for i in names if i not in found]
    for column in ("customer_id", "rfm_segment", "cluster_name"):  # undo the formula guard
        values = customers[column]
        guarded = values.str.match(r"^'[=+\-@\t\r]").fillna(False)
        customers[column] = values.mask(guarded, values.str[1:])
    return Previous(str(folder), customers, names, found, space, outliers[0] if outliers else None)


def match_to(result: AnalysisResult, previous: Previous) -> AnalysisResult:
    """``result`` with its clusters matched to ``previous``'s: matched clusters take the previous
    id, name and colour, unmatched ones get ids after the previous run's (their "C<n>" renumbered);
    ``result.matching`` records every pair's drift and the clusters on either side left over."""
    customers = result.customers
    labels = customers["cluster"].to_numpy()
    kmeans = [c for c in result.clusters if not c.is_outlier_segment and c.size]
    old_ids = list(previous.centroids)
    new_points = previous.space.apply(customers)
    new_centroids = centroids(new_points, labels, [c.id for c in kmeans])
    old_centroids = np.array([previous.centroids[i] for i in old_ids]).reshape(
        len(old_ids), len(previous.space.features)
    )
    pairs, _, old_only = match_centroids(old_centroids, new_centroids)
    ids: dict[int, int] = {}
    drift: dict[int, float] = {}
    for row, col, distance in pairs:
        ids[kmeans[row].id] = old_ids[col]
        drift[kmeans[row].id] = distance
    outlier = next((c for c in result.clusters if c.is_outlier_segment), None)
    if outlier is not None and previous.outlier_id is not None:
        ids[outlier.id] = previous.outlier_id
    next_id = max([*previous.names, -1]) + 1
    for c in result.clusters:
        if c.id not in ids:
            ids[c.id], next_id = next_id, next_id + 1
    names: dict[int, str] = {}
    for c in result.clusters:
        new_id = ids[c.id]
        if new_id in previous.names and (c.id in drift or c is outlier):
            names[c.id] = previous.names[new_id]
        else:
            names[c.id] = _renumbered(c.name, c.id, new_id)
    taken = {names[c.id] for c in result.clusters if ids[c.id] in previous.names}
    for c in result.clusters:
        if ids[c.id] not in previous.names and names[c.id] in taken:
            names[c.id] += f" {NEW}"
    clusters = tuple(
        sorted(
            (
                dataclasses.replace(
                    c,
                    id=ids[c.id],
                    name=names[c.id],
                    color=cluster_color(ids[c.id], outlier=c.is_outlier_segment),
                )
                for c in result.clusters
            ),
            key=lambda c: c.id,
        )
    )
    out = customers.copy()
    out["cluster"] = out["cluster"].map(ids).astype(customers["cluster"].dtype)
    out["cluster_name"] = out["cluster"].map({c.id: c.name for c in clusters}).astype("string")
    matching = Matching(
        previous.source,
        tuple(
            ClusterMatch(
                c.id,
                ids[c.id],
                names[c.id],
                ids[c.id] if c.id in drift else None,
                drift.get(c.id),
            )
            for c in kmeans
        ),
        tuple((old_ids[i], previous.names[old_ids[i]]) for i in old_only),
    )
    return dataclasses.replace(
        result,
        customers=out,
        clusters=clusters,
        matching=matching,
        stability=_renumbered_stability(result, ids),
    )


def _renumbered_stability(result: AnalysisResult, ids: dict[int, int]) -> KStability | None:
    """``result.stability`` with its per-cluster Jaccard in the order of the renumbered clusters.

    ``cluster_jaccard`` lists the fitted clusters (not Outliers) in id order; once ``ids`` (fitted
    id -> new id) renumbers them, that order changes, and the figures must follow their clusters.
    """
    checked = result.stability
    if checked is None or not checked.cluster_jaccard:
        return checked
    fitted = range(len(checked.cluster_jaccard))  # the fit's ids 0..k-1
    order = sorted(fitted, key=lambda i: ids.get(i, i))
    return dataclasses.replace(
        checked, cluster_jaccard=tuple(checked.cluster_jaccard[i] for i in order)
    )


def _renumbered(name: str, fitted_id: int, new_id: int) -> str:
    """An automatic "C<fitted+1> · …" name with the cluster's new number; other names unchanged."""
    old_label = cluster_label(fitted_id)
    if name == old_label or name.startswith(old_label + " · "):
        return cluster_label(new_id) + name[len(old_label) :]
    return name


def migration(
    previous: Previous,
    result: AnalysisResult,
    column: str,
    order_from: list[Any],
    order_to: list[Any],
) -> pd.DataFrame:
    """From × to customer counts of ``column`` ("rfm_segment" or "cluster_name"): one row per
    previous value and ``(new)``, one column per current value and ``(gone)``; the first column
    ``from`` names the row."""
    pairs = _pairs(previous, result, column)
    table = pd.crosstab(pairs["from"], pairs["to"])
    rows = [*order_from, *[v for v in table.index if v not in order_from and v != NEW], NEW]
    cols = [*order_to, *[v for v in table.columns if v not in order_to and v != GONE], GONE]
    table = table.reindex(index=rows, columns=cols, fill_value=0).astype(np.int64)
    table.index.name, table.columns.name = "from", None
    return table.reset_index()


def _pairs(previous: Previous, result: AnalysisResult, column: str) -> pd.DataFrame:
    """Every customer of either run: ``customer_id``, ``from`` (``(new)`` when absent before) and
    ``to`` (``(gone)`` when absent now) of ``column``."""
    both = previous.customers[["customer_id", column]].merge(
        result.customers[["customer_id", column]],
        on="customer_id",
        how="outer",
        suffixes=("_from", "_to"),
    )
    source = both[f"{column}_from"].astype("object").where(both[f"{column}_from"].notna(), NEW)
    target = both[f"{column}_to"].astype("object").where(both[f"{column}_to"].notna(), GONE)
    return pd.DataFrame(
        {"customer_id": both["customer_id"].astype("object"), "from": source, "to": target}
    )


def cell_customers(
    previous: Previous, result: AnalysisResult, column: str, source: object, target: object
) -> list[str]:
    """The customers counted in one cell of :func:`migration` (e.g. "Champions" → "At Risk"),
    sorted: the campaign list of that move.

    Parameters
    ----------
    previous, result
        The previous result and the (matched) current one.
    column
        "rfm_segment" or "cluster_name".
    source, target
        The row (a previous value or ``(new)``) and the column (a current value or ``(gone)``).

    Returns
    -------
    list of str
        Customer ids as text; customers of the ``(gone)`` column are not in ``result``.
    """
    pairs = _pairs(previous, result, column)
    chosen = pairs.loc[((pairs["from"] == source) & (pairs["to"] == target)).to_numpy(dtype=bool)]
    return sorted(str(c) for c in chosen["customer_id"])


@dataclass(frozen=True)
class Comparison:
    """A result compared with a previous one: the matched result and its migration tables."""

    previous: Previous
    result: AnalysisResult  # after :func:`match_to`: the previous run's cluster ids and names
    tables: dict[str, pd.DataFrame]  # :func:`migration_tables`


def compare_with(result: AnalysisResult, previous: Previous) -> Comparison:
    """``result`` matched to ``previous`` (:func:`match_to`) and its :func:`migration_tables`.

    Parameters
    ----------
    result
        The current analysis, as the pipeline made it.
    previous
        The earlier one (:func:`load_previous` or :func:`previous_from_result`).

    Returns
    -------
    Comparison
    """
    matched = match_to(result, previous)
    return Comparison(previous, matched, migration_tables(previous, matched))


def migration_tables(previous: Previous, result: AnalysisResult) -> dict[str, pd.DataFrame]:
    """``migration_rfm``, ``migration_clusters`` and ``movers`` of a matched ``result``
    (:func:`match_to`) against ``previous``."""
    segments = list(dict.fromkeys([*result.segment_names, OTHERS]))
    rfm = migration(
        previous,
        result,
        "rfm_segment",
        [s for s in segments if s in set(previous.customers["rfm_segment"])],
        [s for s in segments if s in set(result.customers["rfm_segment"])],
    )
    clusters = migration(
        previous,
        result,
        "cluster_name",
        list(previous.names.values()),
        [c.name for c in result.clusters],
    )
    both = previous.customers.merge(
        result.customers[["customer_id", "rfm_segment", "cluster", "cluster_name"]],
        on="customer_id",
        suffixes=("_from", "_to"),
    )
    moved = (both["rfm_segment_from"] != both["rfm_segment_to"]) | (
        both["cluster_from"] != both["cluster_to"]
    )
    movers = (
        both.loc[moved.to_numpy(dtype=bool)]
        .rename(
            columns={
                "rfm_segment_from": "from_segment",
                "rfm_segment_to": "to_segment",
                "cluster_name_from": "from_cluster",
                "cluster_name_to": "to_cluster",
            }
        )[list(MOVER_COLUMNS)]
        .sort_values("customer_id", kind="stable")
        .reset_index(drop=True)
    )
    return {"migration_rfm": rfm, "migration_clusters": clusters, "movers": movers}
