from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_samples, silhouette_score

from rfm_desktop.core import clustering
from rfm_desktop.core.errors import Cancelled, ParamsError
from rfm_desktop.core.params import ClusteringOptions
from rfm_desktop.core.result import KScore


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_blobs(n_samples=600, centers=4, n_features=3, random_state=3, cluster_std=0.8)
    return x, y


def test_silhouette_from_one_matrix_equals_sklearn(blobs):
    x, y = blobs
    basis = clustering.SilhouetteBasis.build(x, seed=0)
    assert not basis.sampled
    for k in (2, 3, 5):
        labels, _, _ = clustering.fit_kmeans(x, k, seed=1)
        ours = basis.samples(labels)
        np.testing.assert_allclose(ours, silhouette_samples(x, labels), atol=1e-4)


def test_silhouette_is_sampled_above_limit(monkeypatch, blobs):
    x, _ = blobs
    monkeypatch.setattr(clustering, "SILHOUETTE_EXACT_LIMIT", 200)
    basis = clustering.SilhouetteBasis.build(x, seed=5)
    assert basis.sampled and len(basis.index) == 200 and basis.points.shape == (200, 3)
    again = clustering.SilhouetteBasis.build(x, seed=5)
    np.testing.assert_array_equal(basis.index, again.index)


def test_sweep_streams_each_k_and_suggests_true_k(blobs):
    x, _ = blobs
    seen: list[KScore] = []
    sweep = clustering.evaluate(
        x,
        ClusteringOptions(k_min=2, k_max=7),
        clustering.SilhouetteBasis.build(x, 0),
        on_score=seen.append,
    )
    assert [s.k for s in seen] == [2, 3, 4, 5, 6, 7]
    assert sweep.suggested_k == 4
    assert "K=4" in sweep.reason
    assert [s.k for s in sweep.scores] == [2, 3, 4, 5, 6, 7]
    inertias = [s.inertia for s in seen]
    assert all(a > b for a, b in zip(inertias, inertias[1:], strict=False))
    labels, _, _ = clustering.fit_kmeans(x, 4, seed=42, n_init=clustering.SWEEP_N_INIT)
    assert seen[2].silhouette == pytest.approx(silhouette_score(x, labels), abs=1e-4)


def test_each_k_is_heard_while_later_k_are_fitted_with_the_figures_of_one_pass(blobs, monkeypatch):
    """The wizard draws each K as it is fitted: K=2's score is heard while a later K is still
    being fitted (that fit waits for it; a sweep that spoke only after every fit would leave it
    waiting). A run without ``on_score`` scores every K in one pass after the fits: the same
    figures."""
    x, _ = blobs
    x = np.vstack([x] * 8)  # from FUSED_MIN customers on: the one-pass path
    assert len(x) >= clustering.FUSED_MIN
    heard_two = threading.Event()
    fit = clustering.fit_kmeans

    def fitting(x, k, *args, **kwargs):
        if k == 5:
            assert heard_two.wait(timeout=60), "K=5 was fitted before K=2 was heard"
        return fit(x, k, *args, **kwargs)

    def hear(score: KScore) -> None:
        heard.append(score.k)
        if score.k == 2:
            heard_two.set()

    monkeypatch.setattr(clustering, "fit_kmeans", fitting)
    options = ClusteringOptions(k_min=2, k_max=5)
    basis = clustering.SilhouetteBasis.build(x, 0)
    heard: list[int] = []
    streamed = clustering.evaluate(x, options, basis, on_score=hear)
    assert heard == [2, 3, 4, 5]
    heard_two.set()  # the run without on_score need not wait
    quiet = clustering.evaluate(x, options, basis)
    assert [s.silhouette for s in quiet.scores] == pytest.approx(
        [s.silhouette for s in streamed.scores], abs=1e-6
    )


def test_sweep_can_be_cancelled(blobs):
    x, _ = blobs
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        clustering.evaluate(
            x, ClusteringOptions(), clustering.SilhouetteBasis.build(x, 0), cancelled=cancelled
        )


def test_k_range_larger_than_customers_is_a_params_error():
    x = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ParamsError, match="distinct customers"):
        clustering.evaluate(
            x, ClusteringOptions(k_min=3, k_max=5), clustering.SilhouetteBasis.build(x, 0)
        )


def test_suggest_k_prefers_three_or_more_and_explains():
    scores = [
        KScore(2, 100, 0.9, 0.5, 500),
        KScore(3, 80, 0.6, 0.6, 450),
        KScore(4, 60, 0.5, 0.7, 400),
    ]
    k, reason = clustering.suggest_k(scores)
    assert k == 3 and "3 or more" in reason
    assert clustering.suggest_k(scores[:1])[0] == 2


def test_order_by_monetary_is_descending_and_stable():
    labels = np.array([0, 0, 1, 1, 2])
    monetary = np.array([1.0, 1.0, 100.0, 50.0, 10.0])
    centres = np.array([[0.0], [1.0], [2.0]])
    new_labels, new_centres = clustering.order_by_monetary(labels, monetary, centres)
    assert new_labels.tolist() == [2, 2, 0, 0, 1]
    assert new_centres.ravel().tolist() == [1.0, 2.0, 0.0]


def test_features_round_trip_to_original_units():
    customers = pd.DataFrame(
        {"recency": [1, 10, 100], "frequency": [1, 2, 30], "monetary": [5.0, 50.0, 5000.0]}
    )
    for transform in ("log1p", "none"):
        for scaler in ("standard", "robust", "minmax", "none"):
            f = clustering.prepare_features(
                customers, ClusteringOptions(transform=transform, scaler=scaler)
            )
            np.testing.assert_allclose(f.to_original_units(f.scaled), f.raw, rtol=1e-9)


def test_negative_monetary_is_clipped_for_log_with_warning():
    customers = pd.DataFrame({"recency": [1, 2], "frequency": [1, 1], "monetary": [-5.0, 10.0]})
    f = clustering.prepare_features(customers, ClusteringOptions())
    assert np.isfinite(f.scaled).all()
    assert "negative" in f.warnings[0]


def test_cluster_names_follow_the_centroid_and_are_unique():
    from rfm_desktop.core import profiles

    rng = np.random.default_rng(0)
    population = pd.DataFrame(
        {
            "recency": rng.integers(1, 365, 1000),
            "frequency": rng.integers(1, 30, 1000),
            "monetary": rng.gamma(2, 300, 1000),
        }
    )
    best = {"recency": 3.0, "frequency": 40.0, "monetary": 20_000.0}
    gone = {"recency": 360.0, "frequency": 1.0, "monetary": 5.0}
    assert profiles.name_clusters([best, gone], population) == [
        "C1 · Champions-like",
        "C2 · Lost-like",
    ]
    names = profiles.name_clusters([best] * 4, population)
    assert names[0] == "C1 · Champions-like" and len(set(names)) == 4
    # the descriptors stay unique too: each cluster takes a different rule
    assert len({name.split(" · ")[1] for name in names}) == 4


@pytest.mark.parametrize("block", [2, 7, 256])
def test_distances_in_blocks_of_rows_are_those_of_the_whole_product(monkeypatch, block):
    """The silhouette distances are computed a block of rows at a time: every value (float32)
    is exactly the one of the whole matrix at once, so silhouettes and the suggested K stay
    the same figures; the diagonal is 0. 531 rows in blocks of 2 leave
    one row, which joins the block before it (a product of one row is rounded differently)."""
    x, _ = make_blobs(n_samples=531, centers=4, n_features=3, random_state=2)
    x = x * [1.0, 30.0, 0.01]
    points = clustering.SilhouetteBasis.build(x, seed=0).points
    monkeypatch.setattr(clustering, "DISTANCE_BLOCK", len(x))
    whole = clustering.euclidean_matrix(points)
    monkeypatch.setattr(clustering, "DISTANCE_BLOCK", block)
    blocked = clustering.euclidean_matrix(points)
    assert blocked.dtype == np.float32 and np.array_equal(blocked, whole)
    assert not np.diag(blocked).any()
    exact = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(blocked, exact, atol=1e-4 * exact.max())  # float32 round-off


@pytest.mark.parametrize(("n", "threads"), [(2_049, 1), (2_050, 2), (2_304, 3)])
def test_fused_distance_sums_are_those_of_the_whole_matrix(monkeypatch, n, threads):
    """From FUSED_MIN customers on, the silhouette's distances are made a block of rows at a
    time, in threads, and multiplied by the one-hot columns of every K at once: each sum
    (float32) is exactly the one of the whole matrix times that K's columns (how silhouettes
    were computed before), so silhouettes and the suggested K stay the same figures. 2,049
    rows leave a last row alone (it joins the block before), 2,050 a short block of two (its
    product takes the block before too), 2,304 nine full blocks."""
    assert n >= clustering.FUSED_MIN
    monkeypatch.setattr(clustering, "DISTANCE_THREADS", threads)
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3)) * [1.0, 30.0, 0.01]
    labelings = [rng.integers(0, k, n) for k in (2, 3, 5, 10)]
    points = clustering.SilhouetteBasis.build(x, seed=0).points
    together = clustering.cluster_sums(points, labelings)
    distances = clustering.euclidean_matrix(points)
    for labels, sums in zip(labelings, together, strict=True):
        onehot = np.zeros((n, int(labels.max()) + 1), dtype=np.float32)
        onehot[np.arange(n), labels] = 1
        with clustering.threadpool_limits(limits=1):
            whole = distances @ onehot
        # equal here (OpenBLAS' blocked kernel sums in one order for both products); another
        # processor's BLAS may pick kernels that round the last bit differently
        assert sums.dtype == np.float32
        np.testing.assert_allclose(sums, whole, rtol=1e-6)
        (alone,) = clustering.cluster_sums(points, [labels])
        np.testing.assert_allclose(alone, whole, rtol=1e-6)
    exact = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(together[0], exact @ onehot_of(labelings[0]), rtol=1e-4)


def onehot_of(labels: np.ndarray) -> np.ndarray:
    return np.eye(int(labels.max()) + 1)[labels]


@pytest.mark.parametrize("n", [700, 2_100])
def test_silhouettes_of_many_k_in_one_pass_equal_sklearn(n):
    """``samples_of`` scores several labelings at once (from FUSED_MIN customers on in one
    pass): each equals scikit-learn's silhouette_samples, and exactly what ``samples`` gives
    for that labeling alone (a cluster of one gets 0, label numbers with gaps are renumbered)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2]
    labelings = [rng.integers(0, k, len(x)) for k in (2, 4, 7, 10)]
    labelings.append(np.where(np.arange(len(x)) == 0, 9, rng.integers(0, 3, len(x))))
    basis = clustering.SilhouetteBasis.build(x, seed=0)
    together = basis.samples_of([basis.own(labels) for labels in labelings])
    for labels, ours in zip(labelings, together, strict=True):
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours, silhouette_samples(x, labels), atol=1e-4)
        np.testing.assert_allclose(ours, basis.samples(labels), rtol=0, atol=1e-6)
    assert together[-1][0] == 0.0  # the only customer of cluster 9
    assert basis.samples_of([]) == []


def test_scikit_learn_is_imported_when_a_run_first_needs_it() -> None:
    """Importing the engine's run and export modules does not import scikit-learn (about 1 s
    with scipy): the CLI imports it in a thread while the rows are reduced
    (clustering.import_models)."""
    code = (
        "import sys\n"
        "from rfm_desktop.core import clustering, compare, export, pipeline, report, stability\n"
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))\n"
        "clustering.import_models()\n"
        "print(all(m in sys.modules for m in clustering.MODEL_MODULES))\n"
    )
    assert _printed_by_fresh_python(code)[:2] == ["[]", "True"]


def _printed_by_fresh_python(code: str) -> list[str]:
    """The lines ``code`` prints when run by a new interpreter (nothing imported yet)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split("\n")


def test_scikit_learn_is_imported_without_garbage_collections_and_then_frozen() -> None:
    """The import makes objects and no garbage: no collection runs during it (two full ones
    took 0.2 s of CPU), the collector is on again after it, and what it made is frozen out of
    later collections."""
    code = (
        "import gc\n"
        "from rfm_desktop.core import clustering\n"
        "ran = []\n"
        "gc.callbacks.append(lambda phase, info: ran.append(info['generation']))\n"
        "clustering.import_models()\n"
        "print(len(ran), gc.isenabled(), gc.get_freeze_count() > 100_000)\n"
    )
    assert _printed_by_fresh_python(code)[0].split() == ["0", "True", "True"]


def test_the_k_fitted_side_by_side_give_the_figures_of_one_at_a_time(monkeypatch):
    """Two K are fitted at once (each on one thread): every figure of the sweep, stability
    included, is the one the K fitted one after another give, bit for bit."""
    from rfm_desktop.core import stability

    x, _ = make_blobs(n_samples=3000, centers=5, n_features=3, random_state=8)

    def sweep() -> list[KScore]:
        basis = clustering.SilhouetteBasis.build(x, 0)

        def stability_of(x, labels, k):
            return stability.check_k(x, labels, k, 0, 4)

        return clustering.sweep_k(x, range(2, 9), 0, basis, stability_of=stability_of)

    assert clustering.SWEEP_THREADS == min(2, os.cpu_count() or 1)
    monkeypatch.setattr(clustering, "SWEEP_THREADS", 2)
    together = sweep()
    monkeypatch.setattr(clustering, "SWEEP_THREADS", 1)
    alone = sweep()
    assert [s.k for s in together] == list(range(2, 9))
    assert together == alone


@pytest.mark.filterwarnings("always")  # as in a run: shown, not raised
def test_a_warning_of_a_k_fitted_in_a_worker_reaches_the_run_in_the_order_of_k(monkeypatch):
    """The sweep's fits run in worker threads; what they warn reaches the caller's captured
    warnings (the run's), in the order of K, and nothing is printed."""
    from rfm_desktop.core import libwarnings

    x, _ = make_blobs(n_samples=400, centers=3, n_features=3, random_state=2)
    fit = clustering.fit_kmeans

    def fitting(x, k, *args, **kwargs):
        if k in (3, 5):
            warnings.warn_explicit(f"odd fit at K={k}", RuntimeWarning, "fit.py", k)
        return fit(x, k, *args, **kwargs)

    monkeypatch.setattr(clustering, "fit_kmeans", fitting)
    monkeypatch.setattr(clustering, "SWEEP_THREADS", 2)
    with libwarnings.captured() as caught:
        clustering.sweep_k(x, range(2, 7), 0, clustering.SilhouetteBasis.build(x, 0))
    assert [str(w.message) for w in caught] == ["odd fit at K=3", "odd fit at K=5"]


def test_a_cancelled_sweep_fits_no_more_k(monkeypatch):
    """Cancelled while two K are fitted side by side: the sweep raises Cancelled, and the K
    after them are not fitted."""
    x, _ = make_blobs(n_samples=400, centers=3, n_features=3, random_state=2)
    fitted: list[int] = []
    fit = clustering.fit_kmeans

    def fitting(x, k, *args, **kwargs):
        fitted.append(k)
        return fit(x, k, *args, **kwargs)

    monkeypatch.setattr(clustering, "fit_kmeans", fitting)
    monkeypatch.setattr(clustering, "SWEEP_THREADS", 2)
    with pytest.raises(Cancelled):
        clustering.sweep_k(
            x,
            range(2, 11),
            0,
            clustering.SilhouetteBasis.build(x, 0),
            cancelled=lambda: len(fitted) >= 2,
        )
    # the two first K, and at most one more that a worker began before the second was
    assert 2 <= len(fitted) <= 3 and set(fitted) <= {2, 3, 4}


def test_the_k_fitted_side_by_side_each_run_on_one_openmp_thread(monkeypatch):
    """Two K fitted at once on two cores: each k-means runs its loops on one thread (more would
    oversubscribe the cores, and OpenMP's threads spin while they wait)."""
    from sklearn.cluster import _kmeans

    seen: list[int] = []
    effective = _kmeans._openmp_effective_n_threads

    def counted(*args, **kwargs):
        seen.append(effective(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(_kmeans, "_openmp_effective_n_threads", counted)
    monkeypatch.setattr(clustering, "SWEEP_THREADS", 2)
    x, _ = make_blobs(n_samples=3000, centers=4, n_features=3, random_state=1)
    clustering.sweep_k(x, range(2, 8), 0, clustering.SilhouetteBasis.build(x, 0))
    assert len(seen) >= 6 and set(seen) == {1}
