"""Rule tables, the coverage map, "why this segment", and the per-segment statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core import coverage, explain, rfm, rules, scoring
from rfm_desktop.core.errors import ParamsError

POP = pd.DataFrame(
    {
        "recency": np.arange(1, 11),
        "frequency": [1, 1, 1, 1, 2, 2, 3, 4, 6, 9],
        "monetary": np.arange(10.0, 110.0, 10.0),
    }
)


def _one(r: int, f: int, m: int, table: rules.RuleSet) -> str:
    return rules.assign_segments(np.array([r]), np.array([f]), np.array([m]), table).iloc[0]


def test_builtin_tables_differ_as_published():
    assert rules.builtin_rules("rfm-0.2") is rules.RFM_02
    # rfm 0.3.0: Champions became R5/F5/M5; R4/F4/M4 is a Potential Loyalist there
    assert _one(4, 4, 4, rules.RFM_02) == "Champions"
    assert _one(4, 4, 4, rules.RFM_03) == "Potential Loyalist"
    assert _one(5, 5, 5, rules.RFM_03) == "Champions"
    assert _one(1, 5, 1, rules.RFM_03) == "Lost"  # 0.3.0: Lost is R1 with any F and M
    assert _one(1, 5, 1, rules.RFM_02) == "Others"
    with pytest.raises(ParamsError, match="Unknown rule table 'rfm-9'"):
        rules.builtin_rules("rfm-9")


def test_rules_csv_round_trip(tmp_path):
    text = (
        "segment,r_min,r_max,f_min,f_max,m_min,m_max,strategy\n"
        "Big spenders,1,5,1,5,5,5,Call them\nRecent,4,5,1,5,1,5,\n"
    )
    table = rules.parse_rules(text)
    assert [r.name for r in table.rules] == ["Big spenders", "Recent"]
    assert table.rules[0] == rules.SegmentRule("Big spenders", (1, 5), (1, 5), (5, 5), "Call them")
    saved = rules.save_rules(table, tmp_path / "mine.csv")
    again = rules.load_rules(saved)
    assert again.rules == table.rules and again.name == "mine" and again.source == str(saved)
    assert rules.parse_rules(rules.rules_csv(rules.RFM_03).decode()).rules == rules.RFM_03.rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("segment,r_min,r_max,f_min,f_max,m_min\nA,1,5,1,5,1\n", r"lacks the column\(s\) m_max"),
        (
            "segment,r_min,r_max,f_min,f_max,m_min,m_max\nA,1,x,1,5,1,5\n",
            "Line 2: r_max 'x' is not a whole score",
        ),
        ("segment,r_min,r_max,f_min,f_max,m_min,m_max\nA,1,2.5,1,5,1,5\n", "Line 2: r_max '2.5'"),
        (
            "segment,r_min,r_max,f_min,f_max,m_min,m_max\nA,1,6,1,5,1,5\n",
            "R bound 6 is outside the scores 1–5",
        ),
        (
            "segment,r_min,r_max,f_min,f_max,m_min,m_max\nA,1,5,1,5,1,5\na,1,2,1,2,1,2\n",
            "Two rules are called 'a'",
        ),
        ("segment,r_min,r_max,f_min,f_max,m_min,m_max\nOthers,1,5,1,5,1,5\n", "'Others' is kept"),
        (
            "segment,r_min,r_max,f_min,f_max,m_min,m_max\nC1 · Best,1,5,1,5,1,5\n",
            "looks like a cluster name",
        ),
        ("segment,r_min,r_max,f_min,f_max,m_min,m_max\n", "has no rules"),
    ],
)
def test_bad_rules_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError, match=message) as info:
        rules.load_rules(path)
    assert str(info.value).startswith("Rules file 'bad.csv': ")


def test_rules_written_for_five_scores_read_on_three():
    three = rules.RFM_02.rescaled(3)  # scores 1, 2, 3 read as 1, 3, 5
    by_name = {r.name: r for r in three.rules}
    assert by_name["Champions"].boxes == ((3, 3), (3, 3), (3, 3))
    assert by_name["Loyal Customers"].boxes == ((2, 3), (2, 3), (2, 3))
    assert by_name["Lost"].boxes == ((1, 1), (1, 1), (1, 1))
    assert three.scale == 3 and rules.RFM_02.rescaled(5) is rules.RFM_02
    ten = rules.RFM_02.rescaled(10)  # 1-2 read as 1, 3-4 as 2, ... 9-10 as 5
    assert {r.name: r for r in ten.rules}["Champions"].boxes == ((7, 10), (7, 10), (7, 10))


def test_coverage_map_of_the_builtin_tables():
    cov = coverage.rule_coverage(rules.RFM_02)
    assert len(cov.cells) == 125 and cov.unreachable == ()
    assert [s.cells for s in cov.rule_stats] == [8, 28, 2, 1, 21, 3, 3, 4, 16, 3]
    assert len(cov.uncovered) == 36 and cov.uncovered[0] == (1, 1, 3)
    assert cov.segment_at(5, 5, 5) == "Champions" and cov.segment_at(5, 5, 1) == "Others"
    assert cov.warnings() == [
        "36 of 125 score cells match no rule and fall to 'Others' "
        "(e.g. R 1 F 1 M 3, R 1 F 1 M 4, R 1 F 1 M 5)."
    ]
    assert len(coverage.rule_coverage(rules.RFM_03).uncovered) == 10
    # read on 2 scores, rules that need score 1 of 5 can never match
    two = coverage.rule_coverage(rules.RFM_02, 2)
    assert {s.name: s.status for s in two.rule_stats if s.status != "ok"} == {
        "New Customers": "never",
        "Promising": "never",
        "Can't Lose Them": "never",
        "About To Sleep": "shadowed",
        "Lost": "shadowed",
    }


def test_coverage_flags_unreachable_shadowed_and_uncovered():
    table = rules.parse_rules(
        "segment,r_min,r_max,f_min,f_max,m_min,m_max\n"
        "Recent,4,5,1,5,1,5\nRecent big,5,5,1,5,5,5\nNever,3,2,1,5,1,5\nOld,1,2,1,5,1,5\n"
    )
    cov = coverage.rule_coverage(table)
    stats = {s.name: s for s in cov.rule_stats}
    assert stats["Recent"].cells == 50 and stats["Recent"].status == "ok"
    assert stats["Recent big"].status == "shadowed" and stats["Recent big"].shadowed_by == (
        "Recent",
    )
    assert stats["Never"].status == "never" and stats["Never"].box_cells == 0
    assert cov.unreachable == ("Recent big", "Never") and cov.shadowed == ("Recent big",)
    assert len(cov.uncovered) == 25 and {c[0] for c in cov.uncovered} == {3}
    assert cov.warnings() == [
        "Rule 'Recent big' (R 5, F 1–5, M 5) can never match: every score cell it covers is taken by "
        "earlier rules (Recent).",
        "Rule 'Never' can never match on scores 1–5: its R range is empty.",
        "25 of 125 score cells match no rule and fall to 'Others' (e.g. R 3 F 1 M 1, R 3 F 1 M 2, R 3 F 1 M 3).",
    ]
    customers = pd.DataFrame({"r_score": [3, 3, 5], "f_score": [1, 2, 1], "m_score": [1, 1, 1]})
    assert cov.warnings(customers)[-1].startswith("2 customers (66.7%) have scores no rule covers")
    assert cov.to_dict()["rules"][1] == {
        "segment": "Recent big",
        "cells": 0,
        "box_cells": 5,
        "status": "shadowed",
        "shadowed_by": ["Recent"],
    }


def test_why_this_segment():
    scales = scoring.build_scales(POP)  # R breaks 2.8/4.6/6.4/8.2, F 1/1.6/2.4/4.4, M 28/46/64/82
    lost = explain.explain_scores((10, 1, 10.0), scales, rules.RFM_02, "A")
    assert lost.scores == (1, 1, 1) and lost.segment == "Lost" and lost.rule.name == "Lost"
    assert (lost.measures[0].band.above, lost.measures[0].band.up_to) == (8.2, None)
    assert lost.better_segment == "About To Sleep"
    assert [(c.measure, c.score_from, c.score_to, c.needed) for c in lost.changes] == [
        ("recency", 1, 2, 8.0)
    ]
    assert lost.text == (
        "Customer A: recency 10 days (R 1: > 8.20 days), 1 order (F 1: ≤ 1 order), spend 10.00 "
        "(M 1: ≤ 28.00) match 'Lost' (R 1–2, F 1–2, M 1–2); a purchase within 8 days → 'About To Sleep'."
    )
    loyal = explain.explain_scores((5, 2, 50.0), scales, rules.RFM_02)
    assert loyal.segment == "Loyal Customers" and loyal.better_segment == "Champions"
    assert [c.text for c in loyal.changes] == [
        "a purchase within 4 days",
        "1 more order (3 in total)",
        "spend above 64.00 in total (14.00 more)",
    ]
    champion = explain.explain_scores((1, 9, 100.0), scales, rules.RFM_02)
    assert champion.better_segment is None and champion.text.endswith(", the best segment.")
    # F 2 = (1, 1.6] holds no whole number of orders, so the move skips it: 2 orders is F 3
    other = explain.explain_scores((3, 1, 100.0), scales, rules.RFM_02)
    assert other.segment == "Others" and other.rule is None
    assert other.better_segment == "Loyal Customers"
    assert [(c.score_from, c.score_to, c.needed) for c in other.changes] == [(1, 3, 2.0)]


def test_segment_statistics_and_distributions():
    scored = rfm.score_customers(POP, scoring.build_scales(POP))
    assert (
        scored["rfm_segment"].tolist()
        == ["New Customers"] * 2
        + ["Potential Loyalist"] * 2
        + ["Loyal Customers"] * 4
        + ["Can't Lose Them"] * 2
    )
    table = rfm.segment_summary(scored).set_index("segment")
    assert list(table.index) == [
        "Loyal Customers",
        "Potential Loyalist",
        "New Customers",
        "Can't Lose Them",
    ]
    loyal = table.loc["Loyal Customers"]
    assert (loyal.customers, loyal.orders, loyal.revenue) == (4, 11, 260.0)
    assert loyal.average_order_value == pytest.approx(260 / 11)
    assert (loyal.recency_median, loyal.frequency_median, loyal.monetary_median) == (6.5, 2.5, 65.0)
    assert loyal.frequency_mean == 2.75
    assert loyal.share == 0.4 and loyal.revenue_share == pytest.approx(260 / 550)
    hist = rfm.distributions(POP, bins=3)
    assert hist["recency"].to_dict("list") == {
        "lower": [1.0, 4.0, 7.0],
        "upper": [4.0, 7.0, 10.0],
        "customers": [3, 3, 4],
    }
    assert hist["orders"].to_dict("list") == {
        "orders": [1, 2, 3, 4, 6, 9],
        "customers": [4, 2, 1, 1, 1, 1],
    }
    three = rfm.score_customers(POP, scoring.build_scales(POP, 3), rules.RFM_02.rescaled(3))
    assert set(three["r_score"]) == {1, 2, 3} and three["rfm_score"].iloc[0] == 311
    grid = rfm.score_heatmap(three, 3)
    assert len(grid) == 9 and grid["customers"].sum() == 10


@pytest.mark.parametrize(
    "table", [rules.RFM_02, rules.RFM_02.rules[:3], ()], ids=["set", "three", "none"]
)
def test_segments_of_many_customers_are_the_first_rule_of_each(table):
    """assign_segments takes each customer's name by its rule's number (Arrow): the names are
    those of a loop over the customers, a string column without missing values."""
    rng = np.random.default_rng(11)
    r, f, m = (rng.integers(1, 6, 3_000) for _ in range(3))
    listed = table.rules if isinstance(table, rules.RuleSet) else tuple(table)
    expected = [
        next((rule.name for rule in listed if rule.matches(*map(np.array, cell))), rules.OTHERS)
        for cell in zip(r, f, m, strict=True)
    ]
    got = rules.assign_segments(r, f, m, table)
    assert got.tolist() == expected and got.dtype == pd.StringDtype() and not got.isna().any()
    assert got.index.tolist() == list(range(3_000))
    if not listed:
        assert set(got) == {rules.OTHERS}
