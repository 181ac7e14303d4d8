"""The analysis again with one choice changed: how far do K, silhouette, stability, cluster sizes
and the customers' clusters and named segments move?

Each variant changes one setting of the main run (one at a time, so a change in the table has
one cause): the outlier mode (keep / drop / own segment), the transform (log1p / none), the
scaler (standard / robust) and the score bins (5 / 3 scores, or quantile breaks instead of the
analyst's own). K is the main run's fixed K, or each variant's own suggested K when the main run
swept. A variant's clusters are matched to the main run's by centroid: both sets of centroids
are means of the members' features in the MAIN run's scaled space, paired by the optimal
assignment (core.matching); a customer changes cluster when their variant cluster's partner is
not their main cluster (or it has none, when K differs).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rfm_desktop.core import engines, io, matching, pipeline
from rfm_desktop.core.choices import OUTLIER_MODES, SCALERS
from rfm_desktop.core.errors import InputFileError
from rfm_desktop.core.params import (
    AnalysisParams,
    CancelledFn,
    ProgressFn,
    Transform,
    never_cancelled,
    no_progress,
)
from rfm_desktop.core.result import AnalysisResult

#: The scalers tried (keys of core.choices.SCALERS): the usual one and the one that resists outliers.
SENSITIVITY_SCALERS = ("standard", "robust")
#: The number of scores tried instead of the main run's (or 5 when the main run has 3).
OTHER_BINS = 3

#: Share of :func:`compare_again`'s progress for reading the file again (the variants take the rest).
READ_SHARE = 0.05

#: The columns of ``sensitivity.csv``, in order.
COLUMNS = (
    "variant",
    "setting",
    "value",
    "k",
    "silhouette",
    "stability_ari",
    "clusters_dissolving",
    "cluster_sizes",
    "customers",
    "customers_changing_cluster",
    "share_changing_cluster",
    "customers_changing_segment",
    "share_changing_segment",
)


def variants(params: AnalysisParams) -> list[tuple[str, str, str, AnalysisParams]]:
    """The main run's params with one choice changed: (label, setting, value, params).

    Parameters
    ----------
    params : the main run's settings.

    Returns
    -------
    One entry per alternative outlier mode, transform, scaler and score-bin policy.
    """
    cleaning, clustering, scoring = params.cleaning, params.clustering, params.scoring
    out = []

    def add(label: str, setting: str, value: str, **changes: Any) -> None:
        out.append((label, setting, value, params.replace(**changes)))

    for mode, choice in OUTLIER_MODES.items():
        if mode != cleaning.outliers:
            add(
                f"outliers {choice.short}",
                "outliers",
                mode,
                cleaning=dataclasses.replace(cleaning, outliers=mode),
            )
    other: Transform = "none" if clustering.transform == "log1p" else "log1p"
    add(
        f"transform {other}",
        "transform",
        other,
        clustering=dataclasses.replace(clustering, transform=other),
    )
    for scaler in SENSITIVITY_SCALERS:
        if scaler != clustering.scaler:
            add(
                f"scaler {SCALERS[scaler].label}",
                "scaler",
                scaler,
                clustering=dataclasses.replace(clustering, scaler=scaler),
            )
    if scoring.breaks:
        add(
            "quantile score breaks",
            "score_breaks",
            "quantile",
            scoring=dataclasses.replace(scoring, breaks=()),
        )
    bins = OTHER_BINS if scoring.bins != OTHER_BINS else 5
    if not scoring.breaks:
        add(
            f"{bins} scores",
            "score_bins",
            str(bins),
            scoring=dataclasses.replace(scoring, bins=bins),
        )
    return out


def _row(
    label: str, setting: str, value: str, main: AnalysisResult, variant: AnalysisResult
) -> dict[str, Any]:
    """One line of the table: the variant's figures and what moved against ``main``."""
    ours = main.customers.set_index("customer_id")
    theirs = variant.customers.set_index("customer_id")
    shared = ours.index.intersection(theirs.index)
    space = [c for c in ours.columns if c.startswith("x_")]
    points = ours.loc[shared, space].to_numpy(dtype=np.float64)
    main_cluster = ours.loc[shared, "cluster"].to_numpy()
    variant_cluster = theirs.loc[shared, "cluster"].to_numpy()
    main_ids = sorted(set(main_cluster.tolist()))
    variant_ids = sorted(set(variant_cluster.tolist()))
    pairs, _, _ = matching.match_centroids(
        matching.centroids(points, main_cluster, main_ids),
        matching.centroids(points, variant_cluster, variant_ids),
    )
    partner = {variant_ids[new]: main_ids[old] for new, old, _ in pairs}
    moved = np.array([partner.get(int(c), -1) for c in variant_cluster]) != main_cluster
    segment_moved = (
        ours.loc[shared, "rfm_segment"].astype(str).to_numpy()
        != theirs.loc[shared, "rfm_segment"].astype(str).to_numpy()
    )
    n = len(shared)
    return {
        "variant": label,
        "setting": setting,
        "value": value,
        "k": variant.k,
        "silhouette": variant.silhouette,
        "stability_ari": variant.stability.ari_mean if variant.stability else np.nan,
        "clusters_dissolving": sum(c.dissolves for c in variant.clusters),
        "cluster_sizes": " / ".join(f"{c.size}" for c in variant.clusters),
        "customers": variant.customer_count,
        "customers_changing_cluster": int(moved.sum()),
        "share_changing_cluster": moved.mean() if n else np.nan,
        "customers_changing_segment": int(segment_moved.sum()),
        "share_changing_segment": segment_moved.mean() if n else np.nan,
    }


def compare(
    main: AnalysisResult,
    source: io.Transactions | engines.Reduced,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> pd.DataFrame:
    """Run every variant of ``main``'s settings on the same rows and tabulate them.

    Parameters
    ----------
    main : the main run's result.
    source : the rows it read, or the customers its engine reduced them to (read once, shared
        by the variants: none of them changes the reading or the cleaning of rows).

    Returns
    -------
    DataFrame with :data:`COLUMNS`: the main run first (nothing changes against itself), then one
    row per variant. Silhouette and stability_ari are -1..1, shares 0..1.

    Raises
    ------
    Cancelled : between two variants (or inside one).

    Notes
    -----
    The variants run without customer lifetime value (``params.clv`` off): nothing in the table
    reads it.
    """
    # the table has no value column: the variants need no customer lifetime value models (the
    # slowest fit of a run when the main run asked for them)
    params = main.params.replace(sensitivity=False, clv=type(main.params.clv)())
    todo = variants(params)
    rows = [_row("main run", "", "", main, main)]
    for i, (label, setting, value, changed) in enumerate(todo):

        def step(fraction: float, text: str, i: int = i, label: str = label) -> None:
            progress((i + fraction) / len(todo), f"Sensitivity, {label}: {text}")

        if isinstance(source, engines.Reduced):
            result = pipeline.run(changed, step, cancelled, reduced=source)
        else:
            result = pipeline.run(changed, step, cancelled, transactions=source)
        rows.append(_row(label, setting, value, main, result))
    progress(1.0, "Sensitivity done")
    return pd.DataFrame(rows, columns=list(COLUMNS))


def compare_again(
    main: AnalysisResult,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> pd.DataFrame:
    """:func:`compare` for a finished run whose rows are no longer at hand (the GUI's result):
    its file is read again with its own settings (the raw-table cache of core.io makes a second
    read of the same file quick) and must be the file that run analysed.

    Parameters
    ----------
    main : the main run's result.
    progress : called with (fraction 0..1, label); reading is the first READ_SHARE.
    cancelled : polled while reading and between (and inside) the variants.

    Returns
    -------
    The table of :func:`compare`: the same values ``segment --sensitivity`` writes for these
    settings and file.

    Raises
    ------
    InputFileError : the file is gone, or its content changed since the run (its sha256).
    Cancelled : ``cancelled()`` turned true.
    """
    transactions = pipeline.load(
        main.params, lambda f, step: progress(READ_SHARE * f, step), cancelled
    )
    if main.input_sha256 and transactions.source_sha256 != main.input_sha256:
        raise InputFileError(
            f"{Path(main.params.input_path).name} changed since the analysis ran: the variants "
            "would not be comparable with it.",
            hint="Run the analysis again, then the sensitivity.",
        )
    return compare(
        main,
        transactions,
        lambda f, step: progress(READ_SHARE + (1.0 - READ_SHARE) * f, step),
        cancelled,
    )
