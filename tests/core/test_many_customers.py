"""Clustering at many customers: above clustering.SAMPLED_LIMIT k-means is fitted on a fixed-seed
sample, every customer is assigned to its nearest centre in chunks, and the results say so.

The limits are lowered here so a few thousand generated customers take the path a few million
take in real use.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from rfm_desktop.core import clustering, export, pipeline, report
from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.core.sample import write_sample


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clustering, "LARGE_LIMIT", 1_000)
    monkeypatch.setattr(clustering, "SAMPLED_LIMIT", 1_500)
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 400)
    monkeypatch.setattr(clustering, "ASSIGN_CHUNK", 333)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    points, _ = make_blobs(n_samples=3_000, centers=4, n_features=3, random_state=8)
    return points


def test_fit_on_a_sample_labels_every_customer(small_limits, x) -> None:
    labels, centres, inertia = clustering.fit_kmeans(x, 4, seed=3)
    sample = clustering.fit_sample(len(x), 3)
    assert len(sample) == 400 and len(np.unique(sample)) == 400
    # the centres are those of k-means on the sample alone: no pass over all customers
    alone = KMeans(n_clusters=4, n_init=clustering.FINAL_N_INIT, random_state=3).fit(x[sample])
    np.testing.assert_allclose(centres, alone.cluster_centers_)
    # every customer (not only the sample) has the label of its nearest centre
    squared = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    assert labels.shape == (3_000,) and labels.dtype == np.int32
    np.testing.assert_array_equal(labels, squared.argmin(axis=1))
    assert inertia == pytest.approx(squared.min(axis=1).sum(), rel=1e-9)


def test_same_seed_same_labels(small_limits, x) -> None:
    first, _, _ = clustering.fit_kmeans(x, 4, seed=3)
    again, _, _ = clustering.fit_kmeans(x, 4, seed=3)
    np.testing.assert_array_equal(first, again)
    other = clustering.fit_sample(len(x), 4)
    assert not np.array_equal(other, clustering.fit_sample(len(x), 3))


def test_assignment_in_chunks_matches_one_pass(monkeypatch, x) -> None:
    model = KMeans(n_clusters=5, n_init=1, random_state=0).fit(x[:500])
    monkeypatch.setattr(clustering, "ASSIGN_CHUNK", 701)  # 5 chunks, the last short
    labels, inertia = clustering.assign(model, x)
    np.testing.assert_array_equal(labels, model.predict(x))
    assert inertia == pytest.approx(-model.score(x), rel=1e-9)


def test_sweep_scores_on_the_fit_sample(small_limits, x) -> None:
    basis = clustering.SilhouetteBasis.build(x, seed=2)
    (score,) = clustering.sweep_k(x, range(3, 4), 2, basis)
    labels, _, _ = clustering.fit_kmeans(x, 3, 2, n_init=clustering.SWEEP_N_INIT, refine=False)
    sample = clustering.fit_sample(len(x), 2)
    assert score.davies_bouldin == pytest.approx(davies_bouldin_score(x[sample], labels[sample]))
    assert score.calinski_harabasz == pytest.approx(
        calinski_harabasz_score(x[sample], labels[sample])
    )


@pytest.mark.parametrize("helper", [True, False])
def test_nearest_centres_are_predict_and_score(monkeypatch, x, helper) -> None:
    """One nearest-centre search gives exactly predict's labels and score's inertia, with
    scikit-learn's private helper and (when a version lacks it) with the two public calls."""
    model = KMeans(n_clusters=4, n_init=1, random_state=0).fit(x[:500])
    if not helper:
        monkeypatch.setattr(clustering, "NEAREST_HELPER", "_not_in_this_version")
    labels, inertia = clustering.nearest_centres(model, x)
    np.testing.assert_array_equal(labels, model.predict(x))
    assert inertia == -model.score(x)


def test_note_only_above_the_limit() -> None:
    n = clustering.SAMPLED_LIMIT
    assert clustering.sampled_fit_note(n) is None
    assert clustering.sampled_fit_note(n + 1) == (
        f"k-means fitted on a sample of {clustering.FIT_SAMPLE:,} of {n + 1:,} customers (fixed "
        "seed); every customer was then assigned to the nearest cluster centre. Silhouette, "
        "Davies–Bouldin, Calinski–Harabasz and stability are measured on samples too."
    )


def test_the_results_say_the_fit_was_sampled(small_limits, tmp_path) -> None:
    path = write_sample(tmp_path / "many.csv", rows=40_000, seed=3, customers=2_500)
    params = AnalysisParams(input_path=str(path))
    result = pipeline.run(params)
    n = int(result.customers["cluster"].notna().sum())
    fitted = int((result.customers["cluster"] < result.k).sum())
    assert n == len(result.customers) and fitted > 1_500
    note = f"k-means fitted on a sample of 400 of {fitted:,} customers (fixed seed)"
    (warning,) = [w for w in result.warnings if w.text.startswith(note)]
    assert warning.stage == "clustering"
    summary = json.loads(json.dumps(export.summary_dict(result)))
    assert any(w["text"].startswith(note) for w in summary["warnings"])
    assert note.encode() in report.report_bytes(result)
    again = pipeline.run(params)
    np.testing.assert_array_equal(result.customers["cluster"], again.customers["cluster"])


def test_no_note_below_the_limit(tmp_path) -> None:
    path = write_sample(tmp_path / "few.csv", rows=8_000, seed=3)
    result = pipeline.run(AnalysisParams(input_path=str(path)))
    assert not [w for w in result.warnings if "fitted on a sample" in w.text]
