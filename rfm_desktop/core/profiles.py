"""Per-cluster profiles: sizes, shares, means, a unique name from the RFM rule table, a strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfm_desktop.core.palette import cluster_color
from rfm_desktop.core.result import ClusterProfile
from rfm_desktop.core.rfm import DEFAULT_RULES, STRATEGIES, SegmentRule, score_value

OUTLIER_NAME = "Outliers"


def centroid_scores(
    centroid: dict[str, float], population: pd.DataFrame
) -> tuple[float, float, float]:
    """R/F/M scores (1..5) a centroid in original units would get among all customers."""
    r = score_value(population["recency"].to_numpy(), centroid["recency"], reverse=True)
    f = score_value(population["frequency"].to_numpy(), centroid["frequency"])
    m = score_value(population["monetary"].to_numpy(), centroid["monetary"])
    return r, f, m


def name_clusters(
    centroids: list[dict[str, float]],
    population: pd.DataFrame,
    rules: tuple[SegmentRule, ...] = DEFAULT_RULES,
) -> list[str]:
    """Unique names: each cluster (highest monetary first) takes the closest free rule.

    Closeness is how many score points the centroid lies outside the rule's box, then how far
    it is from the box's centre, then the rule's place in the table.
    """
    names: list[str] = [""] * len(centroids)
    taken: set[str] = set()
    order = sorted(range(len(centroids)), key=lambda i: -centroids[i]["monetary"])
    for i in order:
        scores = centroid_scores(centroids[i], population)
        free = [(rule.distance(*scores), pos, rule.name) for pos, rule in enumerate(rules) if rule.name not in taken]
        if free:
            name = min(free)[2]
        else:  # more clusters than rules
            name = f"Segment {i + 1}"
        names[i] = name
        taken.add(name)
    return names


def build_profiles(customers: pd.DataFrame, names: dict[int, str], outlier_id: int | None) -> tuple[ClusterProfile, ...]:
    total = len(customers)
    revenue_total = float(customers["monetary"].sum()) or 1.0
    profiles = []
    for cluster_id in sorted(names):
        members = customers[customers["cluster"] == cluster_id]
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
                strategy=STRATEGIES.get(name, STRATEGIES["Others"]),
                color=cluster_color(cluster_id, outlier=is_outlier),
                is_outlier_segment=is_outlier,
            )
        )
    return tuple(profiles)
