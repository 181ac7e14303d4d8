"""Feature preparation, the K sweep with four quality scores, and the final k-means fit."""

from __future__ import annotations

import dataclasses
import gc
import importlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from rfm_desktop.core.choices import SCALERS
from rfm_desktop.core.errors import Cancelled, ParamsError
from rfm_desktop.core.params import (
    K_LIMIT,
    CancelledFn,
    ClusteringOptions,
    ProgressFn,
    never_cancelled,
    no_progress,
)
from rfm_desktop.core.result import FeatureSpace, KScore, KStability, KSweep

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

#: Measures one K's stability from its labels (core.stability.check_k with the run's settings).
StabilityFn = Callable[[np.ndarray, np.ndarray, int], KStability | None]

#: Silhouette is exact up to this many customers, and on a fixed-seed sample of this size above.
SILHOUETTE_EXACT_LIMIT = 10_000
#: Above this many customers k-means++ runs (with fewer initialisations) on a fixed-seed sample
#: of FIT_SAMPLE customers; every customer is then assigned to its nearest centre, and the final
#: fit refines those centres with Lloyd iterations over all customers.
LARGE_LIMIT = 100_000
FIT_SAMPLE = 20_000
LARGE_N_INIT = 3
#: Above this many customers the final k-means is fitted on the FIT_SAMPLE customers alone (no
#: refinement over all) and every customer is assigned to its nearest centre ASSIGN_CHUNK rows at
#: a time; the sweep's Davies–Bouldin and Calinski–Harabasz are computed on that sample too.
#: Measured at 1,000,000 customers (3 features, 2 cores): scoring one K over all customers took
#: 1.3 s (12 s for K = 2..10) and the refinement 1.4 s, against 0.1 s on the sample, whose labels
#: agreed with the refined fit at an adjusted Rand index of 0.98. So the cost of clustering stops
#: growing with the customers there; memory is the feature matrix and the labels.
SAMPLED_LIMIT = 500_000
ASSIGN_CHUNK = 1_000_000

SINGLE_THREAD_LIMIT = 50_000
#: K fitted at once by the sweep, each on one thread (see sweep_k)
SWEEP_THREADS = min(2, os.cpu_count() or 1)
#: customers whose profiles are counted first (see Features.distinct)
DISTINCT_PREFIX = 10_000
#: scikit-learn's modules a run uses, imported when first needed (about 1 s: scipy comes with
#: them), so the CLI can import them in a thread while the rows are reduced (:func:`import_models`)
MODEL_MODULES = (
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.metrics",
    "sklearn.preprocessing",
)


def import_models() -> None:
    """Import :data:`MODEL_MODULES` (what the first fit would otherwise wait for).

    Python's cyclic garbage collector is off meanwhile: the imports make some hundred
    thousand objects and no garbage, and the collections they set off (two of them full)
    took 0.2 s of CPU, while DuckDB was reducing the rows on both cores. What they made is
    then frozen out of later collections (``gc.freeze``): modules and functions, kept to the end.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        for name in MODEL_MODULES:
            importlib.import_module(name)
    finally:
        if collecting:
            gc.enable()
    gc.freeze()


_threadpools: ThreadpoolController | None = None
_threadpools_lock = threading.Lock()


def _controller() -> ThreadpoolController:
    """The libraries' thread-pool controller, made once (finding the libraries costs ~2 ms).
    It knows the libraries loaded when it is made: scikit-learn's OpenMP comes with its k-means."""
    global _threadpools
    with _threadpools_lock:
        if _threadpools is None:
            import sklearn.cluster  # noqa: F401

            _threadpools = ThreadpoolController()
        return _threadpools


def threadpool_limits(limits: int | None) -> Any:  # threadpoolctl's context manager
    """Cap BLAS/OpenMP threads for the block (None: unchanged).

    Safe from several threads at once, as threadpoolctl makes it: OpenMP's count is each
    thread's own, and BLAS's, the process's, is set only by the one thread that controls it
    (the first to set it while alive); the others' settings of it are ignored.
    """
    return _controller().limit(limits=limits)


class FittedScaler(Protocol):
    """A scikit-learn scaler (see :data:`rfm_desktop.core.choices.SCALERS`): fitted on the
    clustered customers, it maps their (transformed) values to the scaled space and back."""

    def fit_transform(self, values: np.ndarray) -> np.ndarray:
        """Fit on ``values`` (customers × features) and return them scaled, same shape."""

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale ``values`` (customers × features) with the fitted centre and scale."""

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: scaled points back to (log-)transformed values."""


def make_scaler(name: str) -> FittedScaler | None:
    """A new, unfitted scaler of the table :data:`~rfm_desktop.core.choices.SCALERS`.

    Parameters
    ----------
    name : str
        A key of the table (``ClusteringOptions.scaler``, already checked).

    Returns
    -------
    FittedScaler or None
        The scikit-learn object the table names; None for a choice without one ("none").
    """
    path = SCALERS[name].estimator
    if path is None:
        return None
    module, _, cls = path.rpartition(".")
    scaler: FittedScaler = getattr(importlib.import_module(module), cls)()
    return scaler


@dataclass
class Features:
    """The matrix k-means sees, and how it was made (to map centroids back to original units)."""

    names: tuple[str, ...]
    raw: np.ndarray  # original units, n x len(names)
    scaled: np.ndarray  # after transform + scaler
    transform: str
    scaler: FittedScaler | None
    warnings: tuple[str, ...] = ()

    @cached_property
    def distinct(self) -> int:
        """How many distinct customer profiles (rows of ``scaled``) there are: the most clusters
        k-means can find. Only a count up to K_LIMIT is ever used (to cut a K range or refuse a
        K): when the first DISTINCT_PREFIX customers alone hold more profiles, their count is
        given, a lower bound above any K, without hashing every customer (0.1 s at 1 M)."""
        head = distinct_rows(self.scaled[:DISTINCT_PREFIX])
        return head if head > K_LIMIT else distinct_rows(self.scaled)

    def space(self) -> FeatureSpace:
        """The transform and the fitted scaler as plain numbers: ``(value - center) / scale``."""
        n = len(self.names)
        center, scale = np.zeros(n), np.ones(n)
        if self.scaler is not None:
            # every scaler of the table is per feature and affine, (value - center) / scale:
            # read it off the fitted scaler at 0 and 1 rather than from each class's attributes
            at_0, at_1 = self.scaler.transform(np.array([np.zeros(n), np.ones(n)]))
            scale = 1 / (at_1 - at_0)
            center = -at_0 * scale
        return FeatureSpace(
            self.names,
            self.transform,
            tuple(float(v) for v in center),
            tuple(float(v) for v in scale),
        )

    def to_original_units(self, points: np.ndarray) -> np.ndarray:
        """Points of the scaled space (n × features) back in the analyst's units: recency in
        days, frequency in orders, monetary in the file's currency (the scaler and any log1p undone).
        """
        values = self.scaler.inverse_transform(points) if self.scaler is not None else points.copy()
        return np.expm1(values) if self.transform == "log1p" else values

    def scale_more(self, customers: pd.DataFrame) -> np.ndarray:
        """Other customers (e.g. the Outliers segment, which k-means did not see) put through the
        same transform and the scaler fitted on the clustered customers, so every customer has a
        place in the feature space the views draw.

        Parameters
        ----------
        customers : DataFrame with the columns in ``names`` (days, orders, the file's currency).

        Returns
        -------
        ndarray, len(customers) x len(names)
        """
        raw = customers[list(self.names)].to_numpy(dtype=np.float64)
        values = np.log1p(np.clip(raw, 0, None)) if self.transform == "log1p" else raw
        if self.scaler is not None and len(values):
            values = self.scaler.transform(values)
        return np.ascontiguousarray(values)


def distinct_rows(x: np.ndarray) -> int:
    """Number of distinct rows of ``x`` (hashing, so a million customers take a fraction of a second)."""
    return int((~pd.DataFrame(x).duplicated()).sum()) if len(x) else 0


def prepare_features(customers: pd.DataFrame, options: ClusteringOptions) -> Features:
    """The matrix k-means fits: the chosen features, transformed, then scaled.

    Parameters
    ----------
    customers
        One row per customer with the columns named in ``options.features`` (recency in days,
        frequency in orders, monetary in the file's currency).
    options
        ``features``, ``transform`` ("log1p" or "none") and ``scaler`` (a key of
        ``core.choices.SCALERS``).

    Returns
    -------
    Features
        ``raw`` (n customers x features, original units), ``scaled`` (the same shape, after
        ``log1p`` of values clipped at 0, then the fitted scaler), the fitted scaler (None for no
        scaling) and a warning when negative values were set to 0 before the log.
    """
    names = tuple(options.features)
    raw = customers[list(names)].to_numpy(dtype=np.float64)
    warnings: list[str] = []
    values = raw
    if options.transform == "log1p":
        negative = raw < 0
        if negative.any():
            warnings.append(
                f"{int(negative.any(axis=1).sum()):,} customers have negative values; they were set to 0 "
                "before the log transform."
            )
        values = np.log1p(np.clip(raw, 0, None))
    scaler = make_scaler(options.scaler)
    if scaler is not None:
        values = scaler.fit_transform(values)
    return Features(
        names, raw, np.ascontiguousarray(values), options.transform, scaler, tuple(warnings)
    )


#: Initialisations per K while sweeping; the final fit of the chosen K uses FINAL_N_INIT.
SWEEP_N_INIT = 3
FINAL_N_INIT = 10


def fit_kmeans(
    x: np.ndarray, k: int, seed: int, n_init: int = FINAL_N_INIT, *, refine: bool = True
) -> tuple[np.ndarray, np.ndarray, float]:
    """k-means++ fit: (labels, centres, inertia).

    Up to LARGE_LIMIT customers: KMeans with ``n_init`` on all of them. Above: see LARGE_LIMIT;
    ``refine=False`` (the sweep) stops after the nearest-centre assignment.
    Below SINGLE_THREAD_LIMIT customers one thread is faster: OpenMP start-up and contention cost
    more than the work (measured 0.2 s vs 0.5-1.8 s for the real data's sweep on a busy 2-core machine).
    """
    from sklearn.cluster import KMeans

    n = len(x)
    if n <= LARGE_LIMIT:
        threads = 1 if n <= SINGLE_THREAD_LIMIT else None
        with threadpool_limits(limits=threads):
            model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
        return model.labels_.astype(np.int32), model.cluster_centers_, float(model.inertia_)
    sample = fit_sample(n, seed)
    sampled = n > SAMPLED_LIMIT
    with threadpool_limits(limits=1):
        model = KMeans(
            n_clusters=k, n_init=n_init if sampled else min(n_init, LARGE_N_INIT), random_state=seed
        ).fit(x[sample])
    if sampled:
        labels, inertia = assign(model, x)
        return labels, model.cluster_centers_, inertia
    if refine:
        model = KMeans(
            n_clusters=k, init=model.cluster_centers_, n_init=1, max_iter=30, random_state=seed
        ).fit(x)
        return model.labels_.astype(np.int32), model.cluster_centers_, float(model.inertia_)
    labels = model.predict(x).astype(np.int32)
    inertia = float(np.sum((x - model.cluster_centers_[labels]) ** 2))
    return labels, model.cluster_centers_, inertia


def fit_sample(n: int, seed: int) -> np.ndarray:
    """The FIT_SAMPLE customers (row numbers, sorted) k-means is fitted on above LARGE_LIMIT
    customers; the same for the same ``n`` and ``seed``."""
    return np.sort(np.random.default_rng(seed).choice(n, FIT_SAMPLE, replace=False))


def assign(model: KMeans, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row of ``x`` (customers × features) to the nearest centre of the fitted ``model``,
    ASSIGN_CHUNK rows at a time (scikit-learn's own chunked nearest-centre search within each),
    so no temporary grows with all customers.

    Returns
    -------
    (labels 0..k-1 as int32, one per row; inertia: the sum of squared distances to the centres)
    """
    labels = np.empty(len(x), dtype=np.int32)
    inertia = 0.0
    for start in range(0, len(x), ASSIGN_CHUNK):
        part = x[start : start + ASSIGN_CHUNK]
        labels[start : start + len(part)], part_inertia = nearest_centres(model, part)
        inertia += part_inertia
    return labels, inertia


#: scikit-learn's private function behind KMeans.predict and KMeans.score (see nearest_centres)
NEAREST_HELPER = "_labels_inertia_threadpool_limit"


def nearest_centres(model: KMeans, x: np.ndarray) -> tuple[np.ndarray, float]:
    """``model.predict(x)`` and the inertia ``-model.score(x)`` from one nearest-centre search.

    Both public calls run scikit-learn's helper ``_labels_inertia_threadpool_limit`` on the same
    input (labels, then labels and inertia); one call of it with the inertia gives both figures
    and halves the work (0.1 s of the sweep at a million customers). It is private: a version
    of scikit-learn without it (or without the model's ``_n_threads``) gets the two calls.
    """
    from sklearn.cluster import _kmeans

    both = getattr(_kmeans, NEAREST_HELPER, None)
    threads = getattr(model, "_n_threads", None)
    if both is None or threads is None:
        return model.predict(x), -float(model.score(x))
    x = np.ascontiguousarray(x, dtype=np.float64)  # as predict's and score's input check gives it
    labels, inertia = both(x, np.ones(len(x), dtype=x.dtype), model.cluster_centers_, threads)
    return labels, float(inertia)


def sampled_fit_note(n: int) -> str | None:
    """The sentence the results carry when k-means was fitted on a sample (more than
    SAMPLED_LIMIT customers); None otherwise."""
    if n <= SAMPLED_LIMIT:
        return None
    return (
        f"k-means fitted on a sample of {FIT_SAMPLE:,} of {n:,} customers (fixed seed); every "
        f"customer was then assigned to the nearest cluster centre. Silhouette, Davies–Bouldin, "
        f"Calinski–Harabasz and stability are measured on samples too."
    )


def silhouette_from_sums(sums: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-point silhouette from each point's sum of distances to each cluster.

    ``sums`` is n x k (float32, see :func:`distance_sums`) for the clusters 0..k-1 of
    ``labels``; the own cluster's sum includes the point's 0 to itself. Points in a cluster of
    one get 0, as in sklearn.
    """
    k = sums.shape[1]
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    own_size = sizes[labels]
    rows = np.arange(len(labels))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[rows, labels] / np.maximum(own_size - 1, 1)
        mean_other = sums / sizes
        mean_other[rows, labels] = np.inf
        b = mean_other.min(axis=1)
        s = (b - a) / np.maximum(a, b)
    s[own_size <= 1] = 0.0
    return np.nan_to_num(s, nan=0.0)


def one_hot(labelings: Sequence[np.ndarray]) -> tuple[np.ndarray, list[slice]]:
    """One or more labelings (each 0..k-1, of the same points) side by side as one float32 0/1
    matrix, one column per cluster, and the columns of each labeling."""
    columns, end = [], 0
    for labels in labelings:
        columns.append(slice(end, end + int(labels.max()) + 1))
        end = columns[-1].stop
    n = len(labelings[0])
    onehot = np.zeros((n, end), dtype=np.float32)
    for labels, where in zip(labelings, columns, strict=True):
        onehot[np.arange(n), where.start + labels] = 1
    return onehot, columns


#: rows of the distance matrix computed at a time: a block (256 x 10,000 float32, 10 MB) goes
#: through its steps while it is in the processor's cache
DISTANCE_BLOCK = 256
#: From this many customers on the distances are never kept whole (400 MB at 10,000 customers,
#: whose first writes alone cost 0.3 s of page faults): each block of rows is multiplied by the
#: one-hot columns of every K at once (:func:`distance_sums`). Each sum is then the one of the
#: whole matrix times one K's columns: both products take BLAS' blocked kernel, whose order of
#: summation depends on neither the rows nor the columns. For smaller products (M·N·K up to
#: 10⁶ on AVX-512 processors) BLAS takes kernels that sum in another order; with 2,000 points,
#: blocks of 256 rows or more and 2 columns or more the fused products stay above that, and
#: below it the whole matrix (16 MB at most) is multiplied by each K's columns, as it always was.
FUSED_MIN = 2_000
#: threads of the fused pass (numpy and BLAS release the GIL; each row's sums are the same
#: whichever thread makes them): 0.27 s of CPU for the sweep's pass at 10,000 customers
DISTANCE_THREADS = min(4, os.cpu_count() or 1)


def distance_blocks(n: int) -> list[tuple[int, int]]:
    """(start, stop) of the blocks of DISTANCE_BLOCK rows of an n x n distance matrix. A block
    of one row would be a matrix-vector product, whose sums BLAS rounds differently: a last row
    left alone joins the block before."""
    starts = list(range(0, n, max(DISTANCE_BLOCK, 2)))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return list(zip(starts, [*starts[1:], n], strict=True))


def distances_into(
    points: np.ndarray, squared: np.ndarray, start: int, stop: int, out: np.ndarray
) -> None:
    """The euclidean distances of ``points[start:stop]`` to every point into ``out`` (float32,
    (stop - start) x n), by |a|^2 + |b|^2 - 2ab (``squared``: each point's |a|^2); the
    distance of a point to itself is 0. Call under ``threadpool_limits(1)``."""
    np.matmul(points[start:stop], points.T, out=out)
    out *= -2
    out += squared[start:stop, None]
    out += squared[None, :]
    np.maximum(out, 0, out=out)
    np.sqrt(out, out=out)
    own = np.arange(stop - start)
    out[own, start + own] = 0


def euclidean_matrix(points: np.ndarray) -> np.ndarray:
    """All pairwise distances (float32) of ``points`` (n x features, float32, centred so the
    squared norms stay small against the distances), DISTANCE_BLOCK rows at a time."""
    squared = np.einsum("ij,ij->i", points, points)
    distances = np.empty((len(points), len(points)), dtype=np.float32)
    with threadpool_limits(limits=1):
        for start, stop in distance_blocks(len(points)):
            distances_into(points, squared, start, stop, distances[start:stop])
    return distances


def distance_sums(points: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """For each point, the sum of its euclidean distances to the points of each column of
    ``onehot`` (n x m, 0/1 float32): n x m float32.

    The distances of :func:`euclidean_matrix` are made block by block in a buffer, in
    DISTANCE_THREADS threads, and each block is multiplied by ``onehot`` at once, so all the
    sweep's K take one pass and the whole matrix is never kept. For FUSED_MIN points or more
    every sum is the float32 value of the whole matrix times one K's columns (tests hold it).
    A short last block is multiplied together with the block before it, so every product has
    DISTANCE_BLOCK rows or more.
    """
    n = len(points)
    squared = np.einsum("ij,ij->i", points, points)
    sums = np.empty((n, onehot.shape[1]), dtype=np.float32)
    blocks = distance_blocks(n)
    groups = [[block] for block in blocks]
    if len(groups) > 1 and blocks[-1][1] - blocks[-1][0] < DISTANCE_BLOCK:
        groups[-2:] = [blocks[-2:]]

    def rows(part: list[list[tuple[int, int]]]) -> None:
        """The sums of the rows of these groups of blocks, in one buffer of the largest group."""
        buffer = np.empty((max(group[-1][1] - group[0][0] for group in part), n), np.float32)
        for group in part:
            first = group[0][0]
            for start, stop in group:
                distances_into(points, squared, start, stop, buffer[start - first : stop - first])
            last = group[-1][1]
            np.matmul(buffer[: last - first], onehot, out=sums[first:last])

    threads = max(1, min(DISTANCE_THREADS, len(groups)))
    parts = [groups[i::threads] for i in range(threads)]
    # one BLAS thread per product (small products; more only add contention), set once here:
    # the limit is process-wide, so the workers must not each set and restore it
    with threadpool_limits(limits=1), ThreadPoolExecutor(threads) as pool:
        list(pool.map(rows, parts))
    return sums


def cluster_sums(points: np.ndarray, labelings: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For each labeling (0..k-1 per point), each point's sum of distances to each cluster
    (n x k float32): fused (:func:`distance_sums`) from FUSED_MIN points on, else the whole
    matrix times each labeling's one-hot columns."""
    if len(points) >= FUSED_MIN:
        onehot, columns = one_hot(labelings)
        every = distance_sums(points, onehot)
        return [every[:, where] for where in columns]
    distances = euclidean_matrix(points)
    with threadpool_limits(limits=1):  # small products; BLAS threads only add contention here
        return [distances @ one_hot([labels])[0] for labels in labelings]


@dataclass
class SilhouetteBasis:
    """The customers silhouettes are measured on (all, or a fixed-seed sample), for every K."""

    index: np.ndarray  # rows of the feature matrix it covers
    points: np.ndarray  # their features, centred, as float32: what the distances are made of
    sampled: bool

    @classmethod
    def build(cls, x: np.ndarray, seed: int) -> SilhouetteBasis:
        """The customers silhouettes are computed on: all of ``x`` (customers × features), or
        a seeded sample of :data:`SILHOUETTE_EXACT_LIMIT` customers when there are more (then
        ``sampled`` is True), the same for every K of the sweep.
        """
        n = len(x)
        if n > SILHOUETTE_EXACT_LIMIT:
            index = np.sort(
                np.random.default_rng(seed).choice(n, SILHOUETTE_EXACT_LIMIT, replace=False)
            )
        else:
            index = np.arange(n)
        points = x[index]
        # centred, so the squared norms of |a|^2 + |b|^2 - 2ab stay small against the distances
        points = (points - points.mean(axis=0)).astype(np.float32)
        return cls(index, points, n > SILHOUETTE_EXACT_LIMIT)

    def samples(self, labels: np.ndarray) -> np.ndarray:
        """Per-customer silhouette (-1..1) of ``labels`` (one per customer of ``x``) on the
        basis' customers, as float64.
        """
        return self.samples_of([self.own(labels)])[0]

    def own(self, labels: np.ndarray) -> np.ndarray:
        """The part of ``labels`` (one per customer of ``x``) that falls on the basis' customers."""
        return labels[self.index]

    def samples_of(self, labelings: Sequence[np.ndarray]) -> list[np.ndarray]:
        """:meth:`samples` of each labeling of the basis' customers (see :meth:`own`), from one
        pass over the distances: the sweep's K together compute each distance once, not once
        per K."""
        if not labelings:
            return []
        subs = [np.unique(labels, return_inverse=True)[1] for labels in labelings]
        return [
            silhouette_from_sums(sums, sub).astype(np.float64)
            for sums, sub in zip(cluster_sums(self.points, subs), subs, strict=True)
        ]


def sweep_k(
    x: np.ndarray,
    k_values: range,
    seed: int,
    basis: SilhouetteBasis,
    *,
    on_score: Callable[[KScore], None] | None = None,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    stability_of: StabilityFn | None = None,
) -> list[KScore]:
    """Fit each K and score it; ``on_score`` hears about each K as soon as it is scored (its
    silhouette taken at once; without ``on_score`` the silhouettes of all K are computed in one
    pass once all are fitted, the same figures), with its stability when
    ``stability_of(x, labels, k)`` is given.

    Parameters
    ----------
    x
        Feature matrix, shape (customers, features), already scaled.
    k_values
        The K to try, e.g. ``range(2, 11)``.
    seed
        Random seed of k-means.
    basis
        Computes per-customer silhouettes (on all customers or a sample of them).
    on_score, progress, cancelled, stability_of
        Callbacks: each finished K, progress in 0..1 with a text, a cancel check, and the
        stability of one K's labels.

    Returns
    -------
    list of KScore
        One per K that produced at least two clusters, in the order of ``k_values``.
        Silhouette (-1..1, higher better), Davies–Bouldin (lower better) and Calinski–Harabasz
        (higher better) as in scikit-learn.

    Raises
    ------
    Cancelled
        ``cancelled()`` became true before a K.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    from rfm_desktop.core import libwarnings

    # above SAMPLED_LIMIT both scores are taken on the fit sample: over all customers they
    # cost more than the fit itself (1.3 s per K at a million customers)
    scored = fit_sample(len(x), seed) if len(x) > SAMPLED_LIMIT else slice(None)

    def fit(k: int) -> tuple[KScore | None, np.ndarray, list[Any]]:
        """One K's fit and scores but its silhouette; None for one cluster. Runs in a worker:
        its warnings are handed back, to reach the run's in the order of K."""
        if cancelled():
            raise Cancelled()
        with libwarnings.captured() as caught:
            labels, _, inertia = fit_kmeans(x, k, seed, n_init=SWEEP_N_INIT, refine=False)
            # one cluster: no silhouette (a min and max, not a sort)
            if labels.min() == labels.max():
                return None, labels, caught
            score = KScore(
                k=k,
                inertia=inertia,
                silhouette=float("nan"),  # once heard in order, or below with the other K
                davies_bouldin=float(davies_bouldin_score(x[scored], labels[scored])),
                calinski_harabasz=float(calinski_harabasz_score(x[scored], labels[scored])),
                stability=stability_of(x, labels, k) if stability_of is not None else None,
            )
        return score, labels, caught

    # The K are fitted SWEEP_THREADS at a time (each fit on one thread; scikit-learn's loops
    # leave Python's lock) and heard in order. Heard as they come (``on_score``: the window
    # draws each K as it is fitted), each K's silhouette is taken at once; else the fits come
    # first, then the silhouettes of every K in one pass over the distances (the pass costs
    # what the silhouette of one K did).
    scores: list[KScore] = []
    waiting: list[np.ndarray] = []  # each K's labels on the basis, for the one pass
    steps = len(k_values) + 1
    # between SINGLE_THREAD_LIMIT and LARGE_LIMIT customers each fit runs on every core
    workers = 1 if SINGLE_THREAD_LIMIT < len(x) <= LARGE_LIMIT else SWEEP_THREADS
    # one BLAS thread for every fit, set here: BLAS's count is the process's, and the workers'
    # own settings of it are ignored (see threadpool_limits)
    with threadpool_limits(1 if workers > 1 else None), ThreadPoolExecutor(workers) as pool:
        fits = [pool.submit(fit, k) for k in k_values]
        try:
            for i, (k, fitted) in enumerate(zip(k_values, fits, strict=True)):
                progress(i / steps, f"Evaluating K={k}")
                score, labels, caught = fitted.result()
                libwarnings.hand_on(caught)
                if score is None:
                    continue
                if on_score is not None:
                    score = dataclasses.replace(
                        score, silhouette=float(basis.samples(labels).mean())
                    )
                    on_score(score)
                else:
                    waiting.append(basis.own(labels))
                scores.append(score)
        finally:  # cancelled, or a K failed: the K not started are not
            for future in fits:
                future.cancel()
    if on_score is None:
        if cancelled():
            raise Cancelled()
        progress(len(k_values) / steps, "Silhouette of each K")
        scores = [
            dataclasses.replace(score, silhouette=float(sil.mean()))
            for score, sil in zip(scores, basis.samples_of(waiting), strict=True)
        ]
    progress(1.0, "K sweep done")
    return scores


def suggest_k(scores: list[KScore]) -> tuple[int, str]:
    """The K with the best mean rank over silhouette (high), Davies–Bouldin (low), Calinski–Harabasz (high).

    Ties go to the higher silhouette. Inertia always falls with K, so it informs the elbow chart
    but not the vote. K=2 only splits customers into a better and a worse half, which is rarely
    a usable campaign plan, so it is suggested only when no K of 3 or more was evaluated.

    Parameters
    ----------
    scores
        The K sweep (:func:`sweep_k`).

    Returns
    -------
    tuple of (int, str)
        The suggested K and the sentence that explains it to the analyst.

    Raises
    ------
    ParamsError
        ``scores`` is empty: no K could be evaluated (too few distinct customers).
    """
    if not scores:
        raise ParamsError("No K could be evaluated: there are too few distinct customers.")
    if len(scores) == 1:
        only = scores[0]
        return only.k, f"K={only.k} is the only value evaluated (silhouette {only.silhouette:.2f})."
    candidates = [s for s in scores if s.k >= 3] or list(scores)
    if len(candidates) == 1:
        only = candidates[0]
        return (
            only.k,
            f"K={only.k} is the only usable value evaluated (silhouette {only.silhouette:.2f}).",
        )
    table = pd.DataFrame([s.__dict__ for s in candidates]).set_index("k")
    ranks = pd.DataFrame(
        {
            "silhouette": table["silhouette"].rank(ascending=False, method="min"),
            "davies_bouldin": table["davies_bouldin"].rank(ascending=True, method="min"),
            "calinski_harabasz": table["calinski_harabasz"].rank(ascending=False, method="min"),
        }
    )
    mean_rank = ranks.mean(axis=1)
    best = min(table.index, key=lambda k: (mean_rank[k], -table.loc[k, "silhouette"], k))
    row, r = table.loc[best], ranks.loc[best]
    among = "" if len(candidates) == len(scores) else " among K of 3 or more"
    reason = (
        f"K={best} has the best average rank{among} over silhouette ({row['silhouette']:.2f}, "
        f"#{int(r['silhouette'])}), Davies–Bouldin ({row['davies_bouldin']:.2f}, #{int(r['davies_bouldin'])}) "
        f"and Calinski–Harabasz ({row['calinski_harabasz']:,.0f}, #{int(r['calinski_harabasz'])})."
    )
    stability = next(s.stability for s in candidates if s.k == best)
    if stability is not None:
        reason = f"{reason[:-1]}; {stability_phrase(stability)}."
    return int(best), reason


def stability_phrase(stability: KStability) -> str:
    """ "stable in 19 of 20 resamples (mean adjusted Rand 0.93)": for the suggested K's reason."""
    return (
        f"stable in {stability.stable_resamples} of {stability.resamples} resamples "
        f"(mean adjusted Rand {stability.ari_mean:.2f})"
    )


def evaluate(
    x: np.ndarray,
    options: ClusteringOptions,
    basis: SilhouetteBasis,
    *,
    on_score: Callable[[KScore], None] | None = None,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    distinct: int | None = None,
    stability_of: StabilityFn | None = None,
) -> KSweep:
    """Sweep K over ``options.k_min … k_max`` and suggest one.

    The top of the range is cut to the number of distinct customer profiles (``distinct``, counted
    when None) and to customers - 1, with a warning in the sweep: k-means cannot find more groups
    than there are different points, and silhouette needs fewer clusters than customers.

    Raises
    ------
    ParamsError
        Fewer distinct profiles than ``k_min``.
    """
    n_distinct = distinct_rows(x) if distinct is None else distinct
    k_max = min(options.k_max, n_distinct, len(x) - 1)
    if k_max < options.k_min:
        raise ParamsError(
            f"There are only {n_distinct:,} distinct customers (different {'/'.join(options.features)} values), "
            f"too few for a K range starting at {options.k_min}."
        )
    notes: tuple[str, ...] = ()
    if k_max < options.k_max:
        why = (
            f"the customers have only {n_distinct:,} distinct {'/'.join(options.features)} profiles"
            if n_distinct <= len(x) - 1
            else f"there are only {len(x):,} customers"
        )
        notes = (
            f"The K range {options.k_min}:{options.k_max} was cut to {options.k_min}:{k_max}: {why}.",
        )
    scores = sweep_k(
        x,
        range(options.k_min, k_max + 1),
        options.seed,
        basis,
        on_score=on_score,
        progress=progress,
        cancelled=cancelled,
        stability_of=stability_of,
    )
    k, reason = suggest_k(scores)
    return KSweep(tuple(scores), k, reason, basis.sampled, notes)


def order_by_monetary(
    labels: np.ndarray, monetary: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Renumber clusters so 0 has the highest mean monetary: the same input gives the same numbers."""
    k = len(centres)
    means = np.array(
        [monetary[labels == c].mean() if np.any(labels == c) else -np.inf for c in range(k)]
    )
    order = np.argsort(-means, kind="stable")
    new_id = np.empty(k, dtype=np.int32)
    new_id[order] = np.arange(k, dtype=np.int32)
    return new_id[labels], centres[order]


def pca_coordinates(
    x: np.ndarray, seed: int, also: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, tuple[float, ...]]:
    """PCA 1..3 of the scaled features (zero-padded when fewer than three features).

    Parameters
    ----------
    x : the scaled features k-means saw (customers x features); the PCA is fitted on these.
    seed : random state of the PCA solver.
    also : more rows in the same scaled space (the Outliers segment) projected with the same
        fit, so they are drawn where they lie instead of being left out.

    Returns
    -------
    (coordinates of ``x``, coordinates of ``also`` or None, the share of the variance each
    component explains, 0..1, three values; 0 for a padded component)
    """
    from sklearn.decomposition import PCA

    n_components = min(3, x.shape[1], len(x))
    model = PCA(n_components=n_components, random_state=seed).fit(x)

    def pad(coords: np.ndarray) -> np.ndarray:
        return (
            np.hstack([coords, np.zeros((len(coords), 3 - n_components))])
            if n_components < 3
            else coords
        )

    # the projection is one small product per customer: BLAS threads started for it wait on
    # k-means' OpenMP threads of the fits before (1 M customers: 0.6 s of CPU against 0.1 s)
    with threadpool_limits(limits=1):
        more = pad(model.transform(also)) if also is not None and len(also) else None
        coords = pad(model.transform(x))
    explained = tuple(float(v) for v in model.explained_variance_ratio_) + (0.0,) * (
        3 - n_components
    )
    return coords, more, explained
