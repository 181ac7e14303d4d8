"""t-SNE map of the customers (scikit-learn's Barnes-Hut TSNE), with progress and cancel.

The map is made from the scaled features the clustering saw (``x_recency``, ``x_frequency``,
``x_monetary`` in ``AnalysisResult.customers``; the Outliers segment is in that space too).
t-SNE costs O(n log n) per iteration and keeps every customer in memory several times over,
so above ``SAMPLE_LIMIT`` customers it maps a fixed-seed random sample of that size: the
same seed gives the same sample and the same map.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_desktop.core.clustering import threadpool_limits
from rfm_desktop.core.decimate import sample_rows
from rfm_desktop.core.errors import Cancelled, DataError
from rfm_desktop.core.params import CancelledFn, ProgressFn, never_cancelled, no_progress

#: most customers mapped; above it a fixed-seed random sample of this many is mapped
SAMPLE_LIMIT = 20_000
#: t-SNE's perplexity (its default; about the number of neighbours each point keeps close)
PERPLEXITY = 30.0
#: gradient-descent iterations (scikit-learn's default); progress counts against it
ITERATIONS = 1000


@dataclass(frozen=True)
class TsneMap:
    """Two t-SNE coordinates for ``rows`` (positions in ``AnalysisResult.customers``)."""

    rows: np.ndarray  # int64, ascending
    coords: np.ndarray  # len(rows) x 2, float64
    total: int  # customers in the result
    seed: int
    sampled: bool  # True when a random sample of the customers was mapped


def feature_matrix(customers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the customers with every scaled feature finite, their scaled features).

    Raises
    ------
    DataError
        when the table has no scaled features (``x_*`` columns).
    """
    columns = [c for c in ("x_recency", "x_frequency", "x_monetary") if c in customers.columns]
    if not columns:
        raise DataError(
            "The result has no scaled R, F, M columns to map with t-SNE.",
            hint="Run the analysis again with this version of RFM Desktop.",
        )
    x = customers[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    rows = np.flatnonzero(np.isfinite(x).all(axis=1))
    return rows, x[rows]


#: what a cancelled t-SNE map says
TSNE_CANCELLED = "The t-SNE map was cancelled."


def tsne_map(
    customers: pd.DataFrame,
    seed: int,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    *,
    limit: int = SAMPLE_LIMIT,
) -> TsneMap:
    """Map the customers to two dimensions with t-SNE.

    Parameters
    ----------
    customers : ``AnalysisResult.customers`` (one row a customer, with ``x_*`` scaled features).
    seed : chooses the sample (above ``limit`` customers) and t-SNE's random state; the same
        seed and customers give the same map.
    progress, cancelled : callbacks; progress is reported about every 50 iterations, and a
        cancel stops the work at the next iteration.
    limit : most customers mapped.

    Returns
    -------
    TsneMap

    Raises
    ------
    Cancelled
        when ``cancelled()`` became true.
    DataError
        with fewer than 5 customers (t-SNE needs neighbours) or no scaled features.
    """
    from sklearn.manifold import TSNE

    finite, x = feature_matrix(customers)
    if len(finite) < 5:
        raise DataError(f"t-SNE needs at least 5 customers; this result has {len(finite)}.")
    pick = sample_rows(len(finite), seed, limit)
    rows, x = finite[pick], x[pick]
    progress(0.0, f"t-SNE: finding neighbours of {len(rows):,} customers")
    if cancelled():
        raise Cancelled(TSNE_CANCELLED)
    model = TSNE(
        n_components=2,
        perplexity=min(PERPLEXITY, (len(rows) - 1) / 3),
        init="pca",
        learning_rate="auto",
        random_state=seed,
        method="barnes_hut",
    )
    # one thread: OpenMP's threads spin while they wait, and on a busy 2-core machine two of
    # them made a 150-customer map take 14-27 s instead of 1.3 s (and starve the window)
    with (
        threadpool_limits(limits=1),
        _iteration_hook(lambda i: _on_iteration(i, progress, cancelled)),
    ):
        coords = model.fit_transform(x)
    progress(1.0, "t-SNE: done")
    return TsneMap(
        rows=rows,
        coords=np.asarray(coords, dtype=np.float64),
        total=len(customers),
        seed=seed,
        sampled=len(pick) < len(finite),
    )


def _on_iteration(i: int, progress: ProgressFn, cancelled: CancelledFn) -> None:
    if cancelled():
        raise Cancelled(TSNE_CANCELLED)
    if i % 50 == 0:
        progress(
            min(0.99, 0.05 + 0.95 * i / ITERATIONS),
            f"t-SNE: iteration {i:,} of up to {ITERATIONS:,}",
        )


# scikit-learn's TSNE has no callback. Its optimiser calls the module's objective function once
# per iteration, so that function is wrapped (once per process) to call a per-thread hook: the
# hook reports progress and raises Cancelled, which ends fit_transform at once.
_HOOKS = threading.local()
_PATCH_LOCK = threading.Lock()


class _iteration_hook:
    def __init__(self, hook: Callable[[int], None]) -> None:
        self._hook = hook

    def __enter__(self) -> None:
        _install_wrapper()
        _HOOKS.hook, _HOOKS.count = self._hook, 0

    def __exit__(self, *exc: object) -> None:
        _HOOKS.hook = None


def _install_wrapper() -> None:
    from sklearn.manifold import _t_sne

    with _PATCH_LOCK:
        original = _t_sne._kl_divergence_bh
        if getattr(original, "_rfm_wrapped", False):
            return

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            hook = getattr(_HOOKS, "hook", None)
            if hook is not None:
                _HOOKS.count += 1
                hook(_HOOKS.count)
            return original(*args, **kwargs)

        wrapped._rfm_wrapped = True  # type: ignore[attr-defined]
        _t_sne._kl_divergence_bh = wrapped
