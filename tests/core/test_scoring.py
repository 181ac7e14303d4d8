"""Scoring policy: equal values get equal scores, quantile or custom breaks, 2-10 scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_desktop.core import rfm, scoring
from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import AnalysisParams, ScoringOptions
from rfm_desktop.core.rules import RFM_03, parse_rules

TIED = [1, 1, 1, 1, 1, 1, 2, 2, 3, 10]


def test_ties_leave_scores_empty_instead_of_splitting_equal_values():
    scale = scoring.build_scale(TIED, "frequency")
    # quantiles (linear, R type 7) at 20/40/60/80 %: 1, 1, 1.4, 2.2
    assert scale.breaks == (1.0, 1.0, 1.4, 2.2)
    assert scale.scores(TIED).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert scale.used_scores == (1, 4, 5)
    bands = [b.to_dict() for b in scale.bands]
    assert bands[0] == {
        "score": 1,
        "lower": 1,
        "upper": 1,
        "above": None,
        "up_to": 1,
        "customers": 6,
    }
    assert bands[1]["customers"] == 0 and bands[1]["lower"] is None
    assert bands[4] == {
        "score": 5,
        "lower": 3,
        "upper": 10,
        "above": 2.2,
        "up_to": None,
        "customers": 2,
    }
    assert not scale.reachable(3)  # (1, 1.4] holds no whole number of orders
    assert scale.reachable(4)
    warnings = scoring.scale_warnings([scale], pd.DataFrame({"frequency": TIED}))
    assert warnings == [
        "Frequency uses 3 of 5 scores (F 1, F 4, F 5): 60% of customers share frequency 1, and equal "
        "values keep equal scores, so quantile breaks coincide. Thresholds: F 1 = 1 order; F 4 = 2 orders; "
        "F 5 = 3–10 orders."
    ]


def test_everyone_bought_once_gives_one_f_score_and_a_warning():
    customers = pd.DataFrame(
        {
            "recency": np.arange(1, 11),
            "frequency": np.ones(10, int),
            "monetary": np.arange(10, 110, 10.0),
        }
    )
    scales = scoring.build_scales(customers)
    scored = rfm.score_customers(customers, scales)
    assert set(scored["f_score"]) == {1}
    assert (
        set(scored["rfm_segment"])
        & {"Champions", "Loyal Customers", "Need Attention", "At Risk", "Can't Lose Them"}
        == set()
    )
    (warning,) = scoring.scale_warnings(scales, customers)
    assert warning.startswith("Frequency uses 1 of 5 scores (F 1): every customer has frequency 1")


def test_everyone_bought_on_the_last_day_is_recent_not_lost():
    customers = pd.DataFrame(
        {
            "recency": np.ones(8, int),
            "frequency": np.arange(1, 9),
            "monetary": np.arange(1, 9) * 10.0,
        }
    )
    scored = rfm.score_customers(customers, scoring.build_scales(customers))
    assert set(scored["r_score"]) == {5}
    assert "Lost" not in set(scored["rfm_segment"])


def test_recency_is_reversed():
    scale = scoring.build_scale(np.arange(1, 11), "recency")
    assert scale.breaks == (2.8, 4.6, 6.4, 8.2)
    assert scale.scores(np.arange(1, 11)).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scale.band(5).to_dict() == {
        "score": 5,
        "lower": 1,
        "upper": 2,
        "above": None,
        "up_to": 2.8,
        "customers": 2,
    }
    assert scale.band(1).above == 8.2 and scale.band(1).up_to is None


@pytest.mark.parametrize("reverse", [False, True])
def test_scores_are_those_of_a_sorted_search_of_the_breaks(reverse):
    """MeasureScale.scores counts the breaks below each value by comparisons: the scores of
    np.searchsorted(breaks, values, side="left"), also for values on a break, repeated breaks,
    infinities, NaN values and the NaN breaks of values with a NaN."""
    measure = "recency" if reverse else "monetary"
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [rng.normal(size=500).round(1), [np.nan, np.inf, -np.inf, 0.5, 1.0, -0.0]]
    )
    for breaks in ((-0.5, 0.0, 0.5, 1.0), (0.0, 0.0, 1.0, 1.0), (0.5,), (np.nan,) * 4):
        scale = scoring.MeasureScale(measure, len(breaks) + 1, breaks, "custom")
        below = np.searchsorted(np.asarray(breaks), values, side="left")
        expected = (scale.bins - below if reverse else below + 1).astype(np.int8)
        scores = scale.scores(pd.Series(values))
        assert scores.dtype == np.int8 and np.array_equal(scores, expected)


def test_three_bins_give_scores_one_to_three():
    assert scoring.build_scale(np.arange(1, 10), "monetary", bins=3).scores(
        np.arange(1, 10)
    ).tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_custom_breaks_are_upper_bounds_of_each_score():
    values = [1, 2, 3, 4, 5, 8, 9, 20]
    scale = scoring.build_scale(values, "frequency", breaks=[1, 2, 4, 8])
    assert scale.method == "custom"
    assert scale.scores(values).tolist() == [1, 2, 3, 3, 4, 4, 5, 5]
    assert scale.band(3) == scoring.ScoreBand(3, 2.0, 4.0, 3.0, 4.0, 2)
    recency = scoring.build_scale([10, 30, 31, 400], "recency", breaks=[30, 90, 180, 365])
    assert recency.scores([10, 30, 31, 400]).tolist() == [5, 5, 4, 1]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=200),
    st.integers(min_value=2, max_value=10),
)
def test_equal_values_equal_scores_and_order_kept(values, bins):
    for measure in ("recency", "frequency"):
        scale = scoring.build_scale(values, measure, bins)
        scores = scale.scores(values)
        assert scores.min() >= 1 and scores.max() <= bins
        frame = pd.DataFrame({"v": values, "s": scores})
        assert (frame.groupby("v")["s"].nunique() == 1).all()
        order = np.argsort(values, kind="stable")
        steps = np.diff(scores[order].astype(int))
        assert np.all(steps <= 0) if measure == "recency" else np.all(steps >= 0)
        assert sum(b.customers for b in scale.bands) == len(values)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=2, max_value=10), st.integers(min_value=1, max_value=20))
def test_distinct_values_fill_every_score_equally(bins, per_bin):
    values = np.arange(bins * per_bin)
    counts = np.bincount(
        scoring.build_scale(values, "monetary", bins).scores(values), minlength=bins + 1
    )[1:]
    assert counts.tolist() == [per_bin] * bins


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bins": 1}, "from 2 to 10, not 1"),
        ({"bins": 11}, "from 2 to 10, not 11"),
        (
            {"breaks": (("frequency", (1, 2, 4)),)},
            "3 break points for frequency make 4 scores, but the run uses 5",
        ),
        ({"breaks": (("frequency", (1, 4, 2, 8)),)}, "must be increasing"),
        ({"breaks": (("basket", (1, 2, 4, 8)),)}, "Unknown measure for break points basket"),
    ],
)
def test_bad_scoring_options_are_refused(kwargs, message):
    with pytest.raises(ParamsError, match=message):
        ScoringOptions(**kwargs)


def test_scoring_options_round_trip_through_run_json():
    rules = parse_rules(
        "segment,r_min,r_max,f_min,f_max,m_min,m_max,strategy\nTop,3,3,2,3,1,3,Call them\n"
        "Rest,1,3,1,3,1,3,\n",
        scale=3,
    )
    params = AnalysisParams(
        "x.csv", scoring=ScoringOptions(bins=3, breaks=(("frequency", (1, 3)),), rules=rules)
    )
    data = json.loads(json.dumps(params.to_dict()))
    assert data["scoring"]["breaks"] == {"frequency": [1.0, 3.0]}
    assert data["scoring"]["rules"]["table"][0] == {
        "segment": "Top",
        "r_min": 3,
        "r_max": 3,
        "f_min": 2,
        "f_max": 3,
        "m_min": 1,
        "m_max": 3,
        "strategy": "Call them",
    }
    assert AnalysisParams.from_dict(data) == params
    old = AnalysisParams.from_dict(
        {"input_path": "x.csv"}
    )  # a saved analysis from before scoring options
    assert old.scoring == ScoringOptions()
    assert (
        AnalysisParams.from_dict({**data, "scoring": {"rules": RFM_03.to_dict()}}).scoring.rules
        == RFM_03
    )


def test_thresholds_table_lists_every_score():
    scales = scoring.build_scales(
        pd.DataFrame(
            {
                "recency": np.arange(1, 11),
                "frequency": TIED,
                "monetary": np.arange(10.0, 110.0, 10.0),
            }
        )
    )
    table = scoring.thresholds_frame(scales)
    assert len(table) == 15 and list(table["measure"].unique()) == [
        "recency",
        "frequency",
        "monetary",
    ]
    row = table[(table.measure == "frequency") & (table.score == 4)].iloc[0]
    assert (row["lower"], row["upper"], row["above"], row["up_to"], row["customers"]) == (
        2,
        2,
        1.4,
        2.2,
        2,
    )
