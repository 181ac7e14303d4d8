"""Where the views draw customers: the Outliers segment in the scaled and PCA space, the
PCA's explained variance, and the t-SNE map (reproducible, sampled, cancellable)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core import pipeline, tsne
from rfm_desktop.core.errors import Cancelled
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, ClusteringOptions
from rfm_desktop.core.sample import write_sample


@pytest.fixture(scope="module")
def outlier_result(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("proj") / "sales.csv"
    write_sample(path, rows=6_000, seed=3)
    params = AnalysisParams(
        input_path=str(path),
        cleaning=CleaningOptions(outliers="segment"),
        clustering=ClusteringOptions(k=3),
    )
    return pipeline.run(params)


def test_outliers_are_placed_in_the_scaled_and_pca_space(outlier_result) -> None:
    result = outlier_result
    frame = result.customers
    outliers = frame["is_outlier"].to_numpy()
    assert outliers.sum() > 0 and result.cluster(result.k).is_outlier_segment
    columns = ["x_recency", "x_frequency", "x_monetary", "pc1", "pc2", "pc3"]
    assert np.isfinite(frame.loc[outliers, columns].to_numpy(float)).all()
    # the same transform and scaler as the clustered customers: log1p, then (v - mean) / std of those
    clustered = frame.loc[~outliers]
    logged = np.log1p(clustered["monetary"].to_numpy(float))
    expected = (
        np.log1p(frame.loc[outliers, "monetary"].to_numpy(float)) - logged.mean()
    ) / logged.std()
    assert np.allclose(frame.loc[outliers, "x_monetary"].to_numpy(float), expected)
    # they lie farther out than the clustered customers, as outliers should
    radius = np.linalg.norm(frame[["pc1", "pc2", "pc3"]].to_numpy(float), axis=1)
    assert np.median(radius[outliers]) > np.median(radius[~outliers])


def test_pca_variance_shares_are_reported(outlier_result) -> None:
    variance = outlier_result.pca_variance
    assert len(variance) == 3
    assert variance[0] >= variance[1] >= variance[2] > 0
    assert sum(variance) == pytest.approx(1.0)  # three features, three components


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centres = np.eye(3) * 12  # three well separated blobs
    x = centres[np.arange(n) % 3] + rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["x_recency", "x_frequency", "x_monetary"])
    frame.loc[0, "x_monetary"] = np.nan  # not mappable: left out
    return frame


def test_tsne_is_reproducible_for_a_seed_and_keeps_groups_apart() -> None:
    frame = _customers(240)
    steps: list[tuple[float, str]] = []
    a = tsne.tsne_map(frame, 7, lambda f, s: steps.append((f, s)))
    b = tsne.tsne_map(frame, 7)
    assert np.array_equal(a.rows, np.arange(1, 240)) and not a.sampled
    assert a.coords.shape == (239, 2)
    assert np.array_equal(a.coords, b.coords)  # the same seed, the same map
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(steps) > 5
    # the three blobs stay apart: each point's nearest neighbour is in its own blob
    labels = a.rows % 3
    d = np.linalg.norm(a.coords[:, None] - a.coords[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.95


def test_tsne_maps_a_fixed_seed_sample_above_the_limit() -> None:
    frame = _customers(400)
    a = tsne.tsne_map(frame, 3, limit=150)
    b = tsne.tsne_map(frame, 3, limit=150)
    assert a.sampled and a.total == 400 and len(a.rows) == 150
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.coords, b.coords)
    assert 0 not in a.rows  # the customer without features is never picked
    assert not np.array_equal(a.rows, tsne.tsne_map(frame, 4, limit=150).rows)


def test_tsne_stops_when_cancelled() -> None:
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 30  # after a few iterations

    with pytest.raises(Cancelled):
        tsne.tsne_map(_customers(200), 1, cancelled=cancelled)
    assert len(calls) == 31  # checked every iteration, stopped at once
