"""Would the clusters survive a re-run? k-means refitted on subsamples of the customers.

For a K, each of B subsamples is clustered again and compared with the full fit on the customers
they share: the adjusted Rand index (ARI) for the partition as a whole, and for each cluster of
the final K the Jaccard similarity with its best-matching cluster of the refit (Hennig 2007,
"Cluster-wise assessment of cluster stability", Computational Statistics & Data Analysis 52,
258-271; the scheme of R's ``fpc::clusterboot``).

Subsamples, not bootstrap resamples: a bootstrap sample repeats about a third of the customers,
and k-means reads a repeated customer as a heavier one, so the refit sees a distorted data set and
the repeats agree with themselves for free. A subsample of distinct customers (half of them, the
"subsetting" scheme of Hennig 2007 with fpc::clusterboot's default size floor(n/2)) has neither
problem, compares with the full fit on exactly its customers, and costs half a refit on all.
Above 2 x SAMPLE_LIMIT customers the subsample has a fixed size, so a million customers cost what
ten thousand do.
"""

from __future__ import annotations

import numpy as np

from rfm_desktop.core import clustering, libwarnings
from rfm_desktop.core.errors import Cancelled
from rfm_desktop.core.params import CancelledFn, ProgressFn, never_cancelled, no_progress
from rfm_desktop.core.result import KStability

#: Share of the customers in each subsample (fpc::clusterboot's default for subsetting).
SUBSAMPLE_SHARE = 0.5
#: Most customers per subsample (a fixed size above SAMPLE_LIMIT / SUBSAMPLE_SHARE customers).
SAMPLE_LIMIT = 5_000
#: A resample "keeps" the clustering when its ARI with the full fit reaches this. Our choice, the
#: same level Hennig 2007 calls a stable cluster by Jaccard.
STABLE_ARI = 0.75
#: Hennig 2007 (and fpc::clusterboot's help): below a mean Jaccard of 0.6 a cluster should not be
#: trusted, we flag it as "dissolves"; 0.6-0.75 points at a pattern with doubtful members; 0.75
#: or more is a valid, stable cluster.
DISSOLVES = 0.6
STABLE_JACCARD = 0.75


def sample_size(n: int) -> int:
    """Customers in each subsample of a fit on ``n`` customers (half, at most SAMPLE_LIMIT)."""
    return min(max(2, round(SUBSAMPLE_SHARE * n)), SAMPLE_LIMIT, n)


def measurable(n: int, k: int) -> bool:
    """Whether K clusters can be refitted on subsamples of ``n`` customers.

    A subsample needs more customers than clusters: with as many or fewer, k-means cannot fit
    or puts each customer in its own cluster, which says nothing about stability. Small files
    (a few customers at a high K) get no stability figure rather than an error.
    """
    return sample_size(n) > k


def subsamples(n: int, resamples: int, seed: int) -> list[np.ndarray]:
    """The customers (row numbers, sorted) of each subsample; the same for the same n and seed.

    Parameters
    ----------
    n : customers in the fit.
    resamples : number of subsamples.
    seed : the run's seed (the subsamples come from their own stream of it).
    """
    size = sample_size(n)
    rng = np.random.default_rng([seed, 2007])
    return [np.sort(rng.choice(n, size, replace=False)) for _ in range(resamples)]


def _refits(
    x: np.ndarray,
    k: int,
    seed: int,
    samples: list[np.ndarray],
    progress: ProgressFn,
    cancelled: CancelledFn,
) -> list[np.ndarray]:
    """k-means with K on each subsample (the sweep's initialisations; seed + 1 + b, so the
    refits also differ in their starting centres, as a re-run would)."""
    labels = []
    for b, index in enumerate(samples):
        if cancelled():
            raise Cancelled("The run was cancelled.")
        progress(b / len(samples), f"Stability of K={k}: resample {b + 1} of {len(samples)}")
        # a subsample may hold fewer distinct customers than K: sklearn's warning about it says
        # nothing about the analysis' own fit, so it is kept out of the run's warnings
        with libwarnings.captured():
            fit, _, _ = clustering.fit_kmeans(
                x[index], k, (seed + 1 + b) % 2**32, n_init=clustering.SWEEP_N_INIT, refine=False
            )
        labels.append(fit)
    return labels


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of customers in cluster i of ``a`` and j of ``b``."""
    table = np.zeros((int(a.max()) + 1, int(b.max()) + 1), dtype=np.int64)
    np.add.at(table, (a, b), 1)
    return table


def best_jaccard(full: np.ndarray, refit: np.ndarray, k: int) -> np.ndarray:
    """For each cluster 0..k-1 of ``full``: the highest Jaccard similarity |A∩B| / |A∪B| with a
    cluster of ``refit`` (the same customers); NaN for a cluster with no customer here."""
    table = _contingency(full, refit)
    table = np.vstack([table, np.zeros((max(0, k - len(table)), table.shape[1]), np.int64)])[:k]
    union = table.sum(axis=1)[:, None] + table.sum(axis=0)[None, :] - table
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, table / union, 0.0).max(axis=1)
    jaccard[table.sum(axis=1) == 0] = np.nan
    return jaccard


def check_k(
    x: np.ndarray,
    labels: np.ndarray,
    k: int,
    seed: int,
    resamples: int,
    *,
    per_cluster: bool = False,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> KStability:
    """Stability of one K's clustering over ``resamples`` subsamples.

    Parameters
    ----------
    x : the scaled features k-means saw, customers x features.
    labels : the full fit's cluster of each row of ``x`` (0..k-1).
    k : number of clusters.
    seed : the run's seed; the same inputs give the same figures.
    resamples : number of subsamples (at least 1).
    per_cluster : also give each cluster's mean best-match Jaccard (the final K).

    Returns
    -------
    KStability: ARI mean, standard deviation and minimum, resamples with ARI >= STABLE_ARI, and
    with ``per_cluster`` the mean Jaccard per cluster id.

    Raises
    ------
    Cancelled : ``cancelled()`` turned true between two refits.
    """
    from sklearn.metrics import adjusted_rand_score

    samples = subsamples(len(x), resamples, seed)
    refits = _refits(x, k, seed, samples, progress, cancelled)
    ari = np.array(
        [
            adjusted_rand_score(labels[index], fit)
            for index, fit in zip(samples, refits, strict=True)
        ]
    )
    jaccard: tuple[float, ...] = ()
    if per_cluster:
        per_resample = np.array(
            [
                best_jaccard(labels[index], fit, k)
                for index, fit in zip(samples, refits, strict=True)
            ]
        )
        with np.errstate(invalid="ignore"):
            jaccard = tuple(float(v) for v in np.nanmean(per_resample, axis=0))
    progress(1.0, f"Stability of K={k} done")
    return KStability(
        k=k,
        resamples=resamples,
        sample_size=len(samples[0]),
        ari_mean=float(ari.mean()),
        ari_sd=float(ari.std()),
        ari_min=float(ari.min()),
        stable_resamples=int((ari >= STABLE_ARI).sum()),
        cluster_jaccard=jaccard,
    )


def flag(jaccard: float) -> str:
    """ "stable" (mean Jaccard >= STABLE_JACCARD), "doubtful" (DISSOLVES up to STABLE_JACCARD) or
    "dissolves" (below DISSOLVES): Hennig 2007's reading of a cluster's stability."""
    if jaccard >= STABLE_JACCARD:
        return "stable"
    return "doubtful" if jaccard >= DISSOLVES else "dissolves"
