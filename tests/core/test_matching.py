"""Centroid matching across runs (core.matching) and the feature space a run records."""

from __future__ import annotations

import numpy as np
import pytest

from rfm_desktop.core import pipeline
from rfm_desktop.core.export import summary_dict
from rfm_desktop.core.matching import centroids, match_centroids
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.core.result import FeatureSpace


def test_the_optimal_assignment_beats_the_greedy_one():
    # greedy (closest pair first) would pair new 0 with old 0 (distance 1) and leave new 1 with
    # old 1 at distance 10: 11 in all; the optimum crosses over: 2 + 2 = 4
    old = np.array([[0.0, 0.0], [3.0, 0.0]])
    new = np.array([[1.0, 0.0], [-2.0, 0.0]])
    pairs, new_only, old_only = match_centroids(old, new)
    assert pairs == [(0, 1, 2.0), (1, 0, 2.0)]
    assert (new_only, old_only) == ([], [])


def test_surplus_clusters_on_either_side_stay_unmatched():
    old = np.array([[0.0], [10.0], [20.0]])
    new = np.array([[19.0], [1.5]])
    assert match_centroids(old, new) == ([(0, 2, 1.0), (1, 0, 1.5)], [], [1])
    assert match_centroids(new, old) == ([(0, 1, 1.5), (2, 0, 1.0)], [1], [])
    assert match_centroids(old, np.empty((0, 1))) == ([], [], [0, 1, 2])


def test_centroids_are_member_means_in_the_given_order():
    points = np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 10.0]])
    labels = np.array([4, 4, 1])
    assert centroids(points, labels, [1, 4]).tolist() == [[10.0, 10.0], [1.0, 2.0]]


@pytest.mark.parametrize("scaler", ["standard", "robust", "minmax", "none"])
def test_the_recorded_space_reproduces_the_scaled_features(sample_path, scaler):
    result = pipeline.run(
        AnalysisParams(
            input_path=str(sample_path),
            clustering=ClusteringOptions(k=3, sweep=False, scaler=scaler),
        )
    )
    space = result.feature_space
    x = result.customers[[f"x_{f}" for f in space.features]].to_numpy()
    assert np.allclose(space.apply(result.customers), x, atol=1e-12)
    summary = summary_dict(result)
    again = FeatureSpace.from_dict(summary["feature_space"])
    assert np.allclose(again.apply(result.customers), x, atol=1e-12)
    for cluster in summary["clusters"]:
        members = x[result.customers["cluster"].to_numpy() == cluster["id"]]
        assert cluster["centroid"] == pytest.approx(members.mean(axis=0).tolist(), abs=1e-6)


def test_a_hand_made_space_scales_as_written():
    import pandas as pd

    space = FeatureSpace(("recency", "monetary"), "log1p", (1.0, 2.0), (2.0, 0.5))
    frame = pd.DataFrame({"recency": [np.e - 1], "monetary": [np.e**2 - 1], "frequency": [3]})
    assert np.allclose(space.apply(frame), [[0.0, 0.0]])
    with pytest.raises(ValueError):
        FeatureSpace.from_dict({**space.to_dict(), "scale": [1.0, 0.0]})
