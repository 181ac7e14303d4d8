"""`segment --score-bins/--score-breaks/--rules` and `rules` end to end, in a real subprocess."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_cli import rfm


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> str:
    """40 customers: customer i bought (i % 4) + 1 times, the last time i days before 2011-12-10."""
    rows = []
    for i in range(40):
        for n in range(i % 4 + 1):
            day = pd.Timestamp("2011-12-09") - pd.Timedelta(days=i + 30 * n)
            rows.append(
                {
                    "InvoiceNo": f"{i}-{n}",
                    "StockCode": "A1",
                    "Description": "Mug",
                    "Quantity": 1 + i % 3,
                    "InvoiceDate": day.strftime("%Y-%m-%d %H:%M"),
                    "UnitPrice": 2.5 + i,
                    "CustomerID": 10000 + i,
                    "Country": "United Kingdom",
                }
            )
    path = tmp_path_factory.mktemp("shop") / "shop.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def _read(out) -> tuple[pd.DataFrame, dict, dict]:
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    return (
        customers,
        json.loads((out / "summary.json").read_text()),
        json.loads((out / "run.json").read_text()),
    )


def test_default_scores_thresholds_and_distinct_names(shop, tmp_path):
    done = rfm("segment", shop, "--out", str(tmp_path), "--k", "3", "--xlsx")
    assert done.returncode == 0, done.stderr
    customers, summary, run = _read(tmp_path)
    # equal values, equal scores: frequency takes 4 values, 10 customers each; the quantile breaks
    # are 1, 2, 3, 4 and a value on a break takes the lower band (R rfm), so F 5 stays empty
    assert customers.groupby("frequency")["f_score"].nunique().max() == 1
    assert customers.groupby("frequency")["f_score"].first().to_dict() == {1: 1, 2: 2, 3: 3, 4: 4}
    f = summary["score_thresholds"]["frequency"]
    assert f["method"] == "quantile" and f["breaks"] == [1, 2, 3, 4]
    assert [(s["score"], s["lower"], s["upper"], s["customers"]) for s in f["scores"]] == [
        (1, 1, 1, 10),
        (2, 2, 2, 10),
        (3, 3, 3, 10),
        (4, 4, 4, 10),
        (5, None, None, 0),
    ]
    assert (
        "warning: Frequency uses 4 of 5 scores (F 1, F 2, F 3, F 4): 25% of customers share frequency 1, "
        "and equal values keep equal scores, so quantile breaks coincide. Thresholds: F 1 = 1 order; "
        "F 2 = 2 orders; F 3 = 3 orders; F 4 = 4 orders.\n"
    ) in done.stderr
    assert summary["score_bins"] == 5 and summary["rules"]["name"] == "rfm-0.2"
    assert run["params"]["scoring"]["rules"]["table"][0]["segment"] == "Champions"
    # the two vocabularies never meet
    assert set(customers["cluster_name"]) & set(customers["rfm_segment"]) == set()
    assert all(name.startswith(("C1 · ", "C2 · ", "C3 · ")) for name in customers["cluster_name"])
    segments = {row["segment"]: row for row in summary["rfm_segments"]}
    assert set(segments) == set(customers["rfm_segment"])
    assert sum(row["customers"] for row in segments.values()) == 40
    files = sorted(p.stem for p in (tmp_path / "rfm_segments").glob("*.csv"))
    assert files == sorted(segments)


def test_three_bins_and_the_rfm_03_table(shop, tmp_path):
    done = rfm(
        "segment",
        shop,
        "--out",
        str(tmp_path),
        "--k",
        "3",
        "--score-bins",
        "3",
        "--rules",
        "rfm-0.3",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    customers, summary, run = _read(tmp_path)
    for column in ("r_score", "f_score", "m_score"):
        assert set(customers[column]) == {1, 2, 3}
    assert [
        len(summary["score_thresholds"][m]["scores"]) for m in ("recency", "frequency", "monetary")
    ] == [3, 3, 3]
    assert (
        run["params"]["scoring"]["bins"] == 3
        and run["params"]["scoring"]["rules"]["name"] == "rfm-0.3"
    )
    assert summary["rules"]["scale"] == 3  # the table as used: read on scores 1-3
    assert summary["rules"]["table"][0] == {
        "segment": "Champions",
        "r_min": 3,
        "r_max": 3,
        "f_min": 3,
        "f_max": 3,
        "m_min": 3,
        "m_max": 3,
        "strategy": summary["rules"]["table"][0]["strategy"],
    }


def test_rules_file_changes_segments_and_warns_about_a_shadowed_rule(shop, tmp_path):
    table = tmp_path / "rules.csv"
    table.write_text(
        "segment,r_min,r_max,f_min,f_max,m_min,m_max,strategy\n"
        "Regulars,1,5,4,5,1,5,Thank them\nRegulars recent,4,5,4,5,1,5,\n"
        "Recent,4,5,1,3,1,5,Welcome\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    done = rfm(
        "segment",
        shop,
        "--out",
        str(out),
        "--k",
        "3",
        "--rules",
        str(table),
        "--score-breaks",
        "frequency=1,2,3,3.5",
    )
    assert done.returncode == 0, done.stderr
    assert (
        "warning: Rule 'Regulars recent' (R 4–5, F 4–5, M 1–5) can never match: every score cell it "
        "covers is taken by earlier rules (Regulars)."
    ) in done.stderr
    customers, summary, run = _read(out)
    expected = customers["f_score"].ge(4).map({True: "Regulars"})
    expected = expected.fillna(customers["r_score"].ge(4).map({True: "Recent", False: "Others"}))
    assert customers["rfm_segment"].tolist() == expected.tolist()
    assert customers.groupby("frequency")["f_score"].first().to_dict() == {1: 1, 2: 2, 3: 3, 4: 5}
    assert summary["score_thresholds"]["frequency"]["method"] == "custom"
    assert run["params"]["scoring"]["breaks"] == {"frequency": [1.0, 2.0, 3.0, 3.5]}
    assert [r["segment"] for r in run["params"]["scoring"]["rules"]["table"]] == [
        "Regulars",
        "Regulars recent",
        "Recent",
    ]
    assert {p.stem for p in (out / "rfm_segments").glob("*.csv")} == set(customers["rfm_segment"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "rfm-0.9"], "error: Cannot read the rules file 'rfm-0.9'"),
        (
            ["--score-bins", "12"],
            "error: The number of scores must be a whole number from 2 to 10, not 12.",
        ),
        (
            ["--score-breaks", "frequency=1,2"],
            "error: 2 break points for frequency make 3 scores, but the run uses 5.",
        ),
        (["--score-breaks", "frequency"], "is not MEASURE=V1,V2,..."),
    ],
)
def test_bad_scoring_arguments_exit_2_with_one_line(shop, tmp_path, args, message):
    done = rfm("segment", shop, "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_rules_file_exits_2(shop, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("segment,r_min,r_max\nA,1,5\n", encoding="utf-8")
    done = rfm("segment", shop, "--out", str(tmp_path / "out"), "--rules", str(bad))
    assert done.returncode == 2
    assert done.stderr == (
        "error: Rules file 'bad.csv': The rules file lacks the column(s) f_min, f_max, "
        "m_min, m_max.\n"
    )


def test_rules_command_prints_the_coverage_and_saves_the_table(tmp_path):
    saved = tmp_path / "start.csv"
    done = rfm("rules", "--rules", "rfm-0.3", "--score-bins", "3", "--save", str(saved))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "rfm-0.3 on scores 1-3 (27 cells), first match wins:"
    assert "Loyal Customers" in done.stdout and "shadowed" in done.stdout
    assert done.stderr.splitlines() == [
        "warning: Rule 'Loyal Customers' (R 2, F 2, M 2) can never match: every score cell it covers is taken "
        "by earlier rules (Potential Loyalist).",
        "warning: 2 of 27 score cells match no rule and fall to 'Others' (e.g. R 2 F 3 M 1, R 3 F 3 M 1).",
    ]
    assert saved.read_text(encoding="utf-8").splitlines()[:2] == [
        "segment,r_min,r_max,f_min,f_max,m_min,m_max,strategy",
        'Champions,3,3,3,3,3,3,"Reward them: early access, loyalty perks, ask for reviews and referrals."',
    ]
