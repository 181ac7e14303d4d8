"""Per-cluster profiles: sizes, shares, means, a name, a strategy.

Cluster names never coincide with named RFM segment names: a cluster is "C<number> · <rule>-like"
(e.g. "C1 · Champions-like"; the outlier segment "C5 · Outliers"), where the number is the cluster
id + 1 and the rule is the one its centroid falls closest to. Rule names may not look like this
(core.rules), and a cluster cannot be renamed to a segment name (AnalysisResult.rename_cluster).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfm_desktop.core.palette import cluster_color
from rfm_desktop.core.result import ClusterProfile
from rfm_desktop.core.rfm import continuous_scores
from rfm_desktop.core.rules import RFM_02, STRATEGIES, RuleSet, SegmentRule

OUTLIER_NAME = "Outliers"


def cluster_label(cluster_id: int, descriptor: str | None = None) -> str:
    """'C1 · Champions-like' for cluster 0 closest to Champions; 'C1' without a descriptor."""
    return f"C{cluster_id + 1} · {descriptor}" if descriptor else f"C{cluster_id + 1}"


def outlier_label(cluster_id: int) -> str:
    """The label of the Outliers segment when it is cluster ``cluster_id`` (0-based): 'C5 · Outliers'."""
    return cluster_label(cluster_id, OUTLIER_NAME)


def centroid_scores(
    centroids: list[dict[str, float]], population: pd.DataFrame, bins: int = 5
) -> list[tuple[float, float, float]]:
    """R/F/M scores (continuous, 1..bins) each centroid in original units would get among all
    customers (:func:`~rfm_desktop.core.rfm.score_value`; each measure sorted once for all)."""
    r, f, m = (
        continuous_scores(
            population[measure].to_numpy(),
            [c[measure] for c in centroids],
            reverse=measure == "recency",
            bins=bins,
        ).tolist()
        for measure in ("recency", "frequency", "monetary")
    )
    return list(zip(r, f, m, strict=True))


def closest_rules(
    centroids: list[dict[str, float]], population: pd.DataFrame, rules: RuleSet = RFM_02
) -> list[SegmentRule | None]:
    """Each cluster's rule, unique: each cluster (highest monetary first) takes the closest free rule.

    Closeness is how many score points the centroid lies outside the rule's box, then how far it
    is from the box's centre, then the rule's place in the table. None when rules run out.
    """
    picked: list[SegmentRule | None] = [None] * len(centroids)
    taken: set[str] = set()
    order = sorted(range(len(centroids)), key=lambda i: -centroids[i]["monetary"])
    every = centroid_scores(centroids, population, rules.scale)
    for i in order:
        scores = every[i]
        free = [
            (rule.distance(*scores), pos)
            for pos, rule in enumerate(rules.rules)
            if rule.name not in taken and not rule.is_empty
        ]
        if free:
            rule = rules.rules[min(free)[1]]
            picked[i] = rule
            taken.add(rule.name)
    return picked


def cluster_names(picked: list[SegmentRule | None]) -> list[str]:
    """ "C<i+1> · <rule>-like" for cluster i and its rule (just "C<i+1>" without one)."""
    return [
        cluster_label(i, f"{rule.name}-like" if rule else None) for i, rule in enumerate(picked)
    ]


def name_clusters(
    centroids: list[dict[str, float]], population: pd.DataFrame, rules: RuleSet = RFM_02
) -> list[str]:
    """Unique cluster names after each centroid's closest rule (see :func:`closest_rules`)."""
    return cluster_names(closest_rules(centroids, population, rules))


def build_profiles(
    customers: pd.DataFrame,
    names: dict[int, str],
    outlier_id: int | None,
    strategies: dict[int, str] | None = None,
) -> tuple[ClusterProfile, ...]:
    """One profile per cluster id in ``names``; ``strategies`` per id (default: the Others text)."""
    strategies = strategies or {}
    total = len(customers)
    revenue_total = float(customers["monetary"].sum()) or 1.0
    profiles = []
    # only the columns a profile reads: a boolean mask copies every column it is given
    measured = customers[["cluster", "recency", "frequency", "monetary", "silhouette"]]
    for cluster_id in sorted(names):
        members = measured[measured["cluster"] == cluster_id]
        is_outlier = cluster_id == outlier_id
        name = names[cluster_id]
        orders = float(members["frequency"].sum())
        revenue = float(members["monetary"].sum())
        sil = members["silhouette"].to_numpy(dtype=np.float64)
        sil = sil[~np.isnan(sil)]
        profiles.append(
            ClusterProfile(
                id=int(cluster_id),
                name=name,
                size=len(members),
                share=len(members) / total if total else 0.0,
                recency_mean=float(members["recency"].mean()),
                frequency_mean=float(members["frequency"].mean()),
                monetary_mean=float(members["monetary"].mean()),
                recency_median=float(members["recency"].median()),
                frequency_median=float(members["frequency"].median()),
                monetary_median=float(members["monetary"].median()),
                revenue_share=revenue / revenue_total,
                average_order_value=revenue / orders if orders else 0.0,
                silhouette_mean=float(sil.mean()) if len(sil) else float("nan"),
                strategy=strategies.get(cluster_id)
                or STRATEGIES[OUTLIER_NAME if is_outlier else "Others"],
                color=cluster_color(cluster_id, outlier=is_outlier),
                is_outlier_segment=is_outlier,
            )
        )
    return tuple(profiles)
