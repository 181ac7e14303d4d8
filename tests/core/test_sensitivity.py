"""Sensitivity: the variants, and what moves, held against an independent count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from rfm_desktop.core import pipeline, sensitivity
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ScoringOptions


def _orders_csv(tmp_path) -> str:
    """150 customers in three groups of order counts and spend, a few big spenders among them."""
    rng = np.random.default_rng(4)
    rows = []
    for customer in range(150):
        group = customer % 3
        orders = int(rng.integers(1, 3) if group == 0 else rng.integers(6, 12) if group == 1 else 3)
        big = 20.0 if customer % 29 == 0 else 1.0
        for order in range(orders):
            rows.append(
                {
                    "InvoiceNo": f"{customer}-{order}",
                    "InvoiceDate": pd.Timestamp("2011-01-01")
                    + pd.Timedelta(days=int(rng.integers(0, 300))),
                    "CustomerID": f"c{customer}",
                    "Quantity": 1,
                    "UnitPrice": big
                    * float(rng.uniform(5, 15) if group != 1 else rng.uniform(40, 60)),
                }
            )
    path = tmp_path / "orders.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_variants_change_one_choice_each():
    params = AnalysisParams(input_path="x")
    got = [(setting, value) for _, setting, value, _ in sensitivity.variants(params)]
    assert got == [
        ("outliers", "drop"),
        ("outliers", "segment"),
        ("transform", "none"),
        ("scaler", "robust"),
        ("score_bins", "3"),
    ]
    for *_, changed in sensitivity.variants(params):
        differing = [
            f
            for f in ("cleaning", "clustering", "scoring")
            if getattr(changed, f) != getattr(params, f)
        ]
        assert len(differing) == 1  # one change at a time
    custom = params.replace(
        scoring=ScoringOptions(breaks=(("frequency", (1.0, 2.0, 4.0, 8.0)),)),
        clustering=ClusteringOptions(scaler="robust", transform="none"),
    )
    got = [(s, v) for _, s, v, _ in sensitivity.variants(custom)]
    assert ("score_breaks", "quantile") in got and ("score_bins", "3") not in got
    assert ("scaler", "standard") in got and ("transform", "log1p") in got


def _independent_moves(main, variant) -> tuple[int, int]:
    """Customers changing cluster (centroids of the main run's scaled features, optimal pairs)
    and changing named segment, counted with pandas and scipy directly."""
    space = [c for c in main.customers.columns if c.startswith("x_")]
    both = main.customers.merge(
        variant.customers[["customer_id", "cluster", "rfm_segment"]],
        on="customer_id",
        suffixes=("", "_v"),
    )
    old = both.groupby("cluster")[space].mean()
    new = both.groupby("cluster_v")[space].mean()
    cost = np.linalg.norm(new.to_numpy()[:, None, :] - old.to_numpy()[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    partner = {new.index[r]: old.index[c] for r, c in zip(rows, cols, strict=True)}
    moved = both["cluster_v"].map(partner).fillna(-1).to_numpy() != both["cluster"].to_numpy()
    segment = (both["rfm_segment"].astype(str) != both["rfm_segment_v"].astype(str)).sum()
    return int(moved.sum()), int(segment)


def test_table_against_independent_counts(tmp_path):
    path = _orders_csv(tmp_path)
    params = AnalysisParams(
        input_path=path, clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=3)
    )
    main = pipeline.run(params)
    transactions = pipeline.load(params)
    heard = []
    table = sensitivity.compare(main, transactions, lambda f, s: heard.append(f))
    assert list(table.columns) == list(sensitivity.COLUMNS)
    assert table["variant"].iloc[0] == "main run"
    first = table.iloc[0]
    assert first["customers_changing_cluster"] == 0 and first["customers_changing_segment"] == 0
    assert first["k"] == 3 and first["silhouette"] == pytest.approx(main.silhouette)
    assert first["stability_ari"] == pytest.approx(main.stability.ari_mean)
    assert heard[-1] == 1.0 and heard == sorted(heard)

    for (_, setting, value, changed), (_, row) in zip(
        sensitivity.variants(params), table.iloc[1:].iterrows(), strict=True
    ):
        assert (row["setting"], row["value"]) == (setting, value)
        variant = pipeline.run(changed, transactions=transactions)
        assert row["k"] == variant.k
        assert row["cluster_sizes"] == " / ".join(str(c.size) for c in variant.clusters)
        assert row["customers"] == variant.customer_count
        moved, segment = _independent_moves(main, variant)
        assert row["customers_changing_cluster"] == moved, setting
        assert row["customers_changing_segment"] == segment, setting
    by_setting = table.set_index("setting")
    # scores do not enter k-means: 3 scores move named segments, not clusters
    assert by_setting.loc["score_bins", "customers_changing_cluster"] == 0
    assert by_setting.loc["score_bins", "customers_changing_segment"] > 0
    assert by_setting.loc["outliers", "customers"].tolist()[0] < main.customer_count  # drop


def test_variants_fit_no_customer_lifetime_value(tmp_path, monkeypatch):
    from rfm_desktop.core.params import ValueOptions

    path = _orders_csv(tmp_path)
    params = AnalysisParams(
        input_path=path,
        clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=0),
        clv=ValueOptions(enabled=True),
    )
    fitted = []  # the runs that reached the CLV stage (its models do not fit these few rows)
    monkeypatch.setattr(
        pipeline, "with_value", lambda result, rows: fitted.append(len(rows)) or result
    )
    transactions = pipeline.load(params)
    main = pipeline.run(params, transactions=transactions)
    assert len(fitted) == 1  # the main run asked for its CLV
    ran = []
    run = pipeline.run
    monkeypatch.setattr(pipeline, "run", lambda p, *a, **kw: ran.append(p) or run(p, *a, **kw))
    table = sensitivity.compare(main, transactions)
    assert len(fitted) == 1  # no variant fitted the CLV models
    assert len(ran) == len(table) - 1 == 5
    assert not any(p.clv.enabled for p in ran)
    # the same figures as the variants of the run without CLV
    plain = pipeline.run(params.replace(clv=ValueOptions()), transactions=transactions)
    pd.testing.assert_frame_equal(table, sensitivity.compare(plain, transactions))


def test_compare_again_reads_the_file_and_the_table_exports_as_the_cli_writes_it(tmp_path):
    import json

    from rfm_desktop.core import export
    from rfm_desktop.core.errors import ExportError

    params = AnalysisParams(
        input_path=_orders_csv(tmp_path),
        clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=0),
    )
    main = pipeline.run(params)
    with pytest.raises(ExportError, match="no sensitivity table"):
        export.export_sensitivity(main, tmp_path / "s.csv")
    heard = []
    table = sensitivity.compare_again(main, lambda f, s: heard.append(f))
    pd.testing.assert_frame_equal(table, sensitivity.compare(main, pipeline.load(params)))
    assert heard == sorted(heard) and heard[-1] == 1.0
    main.sensitivity = table
    with pytest.raises(ExportError, match=r"\.csv"):
        export.export_sensitivity(main, tmp_path / "s.xlsx")
    written = export.export_sensitivity(main, tmp_path / "out" / "s.csv")
    assert written.read_bytes() == export.result_files(main)["sensitivity.csv"]
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["files"] == ["s.csv"]


def test_the_report_shows_the_table_and_how_to_read_it(tmp_path):
    import html
    import re

    from rfm_desktop.core import report

    params = AnalysisParams(
        input_path=_orders_csv(tmp_path),
        clustering=ClusteringOptions(k=3, sweep=False, stability_resamples=3),
    )
    result = pipeline.run(params)
    assert "<h2>Sensitivity</h2>" not in report.build_report_html(result, {})
    result.sensitivity = sensitivity.compare(result, pipeline.load(params))

    page = report.build_report_html(result, {})
    section = page.split("<h2>Sensitivity</h2>", 1)[1].split("<h2>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    shown = [
        [
            html.unescape(re.sub("<[^>]+>", "", cell))
            for cell in re.findall("<td[^>]*>(.*?)</td>", tr)
        ]
        for tr in re.findall("<tr>(.*?)</tr>", body)
    ]
    expected = [
        [
            row["variant"],
            str(row["k"]),
            f"{row['silhouette']:.3f}",
            f"{row['stability_ari']:.2f}",
            str(row["clusters_dissolving"]),
            row["cluster_sizes"],
            f"{row['customers']:,}",
            f"{row['customers_changing_cluster']:,} ({100 * row['share_changing_cluster']:.1f}%)",
            f"{row['customers_changing_segment']:,} ({100 * row['share_changing_segment']:.1f}%)",
        ]
        for row in result.sensitivity.to_dict("records")
    ]
    assert shown == expected and len(shown) == 6 and shown[0][0] == "main run"
    assert "<td><b>main run</b></td>" in body  # the main run stands out
    # the two sentences on how to read it, under the table
    after = html.unescape(section.split("</table>", 1)[1])
    assert report.SENSITIVITY_READING in after
    assert after.startswith("<p>Read each row against the first")
    assert len(re.findall(r"\.(?:\s|$)", report.SENSITIVITY_READING)) == 2  # two sentences
