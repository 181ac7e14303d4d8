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

Each refit is one k-means++ start (REFIT_N_INIT), as fpc::clusterboot's k-means method
(``kmeansCBI``, runs=1) does: a re-run of the analysis differs in its start as well as in its
customers, and one start costs a third of the sweep's three. The final K's check reuses the
sweep's refits of the same K (same subsamples, same starts), and the adjusted Rand index comes
from the contingency table in integers: with these the check of the real data's sweep went from
0.76 s to about 0.25 s of CPU, which keeps it on by default (issue 13).
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
#: k-means++ starts per refit (the sweep's fits take clustering.SWEEP_N_INIT).
REFIT_N_INIT = 1
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
    """k-means with K on each subsample, one k-means++ start each, seeded per (seed, K,
    subsample), so the refits also differ in their starting centres, as a re-run would."""
    labels = []
    for b, index in enumerate(samples):
        if cancelled():
            raise Cancelled("The run was cancelled.")
        progress(b / len(samples), f"Stability of K={k}: resample {b + 1} of {len(samples)}")
        start = int(np.random.SeedSequence([seed, k, b]).generate_state(1)[0])
        # a subsample may hold fewer distinct customers than K: sklearn's warning about it says
        # nothing about the analysis' own fit, so it is kept out of the run's warnings
        with libwarnings.captured():
            fit, _, _ = clustering.fit_kmeans(x[index], k, start, n_init=REFIT_N_INIT, refine=False)
        labels.append(fit)
    return labels


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of customers in cluster i of ``a`` and j of ``b``."""
    table = np.zeros((int(a.max()) + 1, int(b.max()) + 1), dtype=np.int64)
    np.add.at(table, (a, b), 1)
    return table


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings (0..k-1) of the same customers (Hubert & Arabie
    1985; scikit-learn's ``adjusted_rand_score``, here from the contingency table in integers,
    without its input checks): 1 for the same partition, about 0 for chance agreement."""
    table = _contingency(a, b)

    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    n = len(a)
    index, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (rows + cols) / 2
    if top == expected:  # one cluster on both sides, or each customer alone on both
        return 1.0
    return float((index - expected) / (top - expected))


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
    refits: dict[int, list[np.ndarray]] | None = None,
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
    refits : the refits' labels per K already made for this ``x``, ``seed`` and ``resamples``
        (a refit does not depend on the full fit, so the final K's check reuses the sweep's);
        filled with this K's refits when they are made here. None: refit, keep nothing.

    Returns
    -------
    KStability: ARI mean, standard deviation and minimum, resamples with ARI >= STABLE_ARI, and
    with ``per_cluster`` the mean Jaccard per cluster id.

    Raises
    ------
    Cancelled : ``cancelled()`` turned true between two refits.
    """
    samples = subsamples(len(x), resamples, seed)
    fits = refits.get(k) if refits is not None else None
    if fits is None:
        fits = _refits(x, k, seed, samples, progress, cancelled)
        if refits is not None:
            refits[k] = fits
    ari = np.array(
        [adjusted_rand(labels[index], fit) for index, fit in zip(samples, fits, strict=True)]
    )
    jaccard: tuple[float, ...] = ()
    if per_cluster:
        per_resample = np.array(
            [best_jaccard(labels[index], fit, k) for index, fit in zip(samples, fits, strict=True)]
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
