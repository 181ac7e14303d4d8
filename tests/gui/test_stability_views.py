"""The stability chart, the segment table's stability column and the missing-id panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_desktop.core import pipeline
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.gui.views import segments as seg
from rfm_desktop.gui.views.cleaning import CleaningView, missing_id_rows
from rfm_desktop.gui.views.kcharts import KChartsWidget


@pytest.fixture(scope="module")
def run_result(tmp_path_factory):
    """A run on generated orders: a fifth of the invoices without customer id, larger ones."""
    rng = np.random.default_rng(2)
    rows = []
    for invoice in range(500):
        no_id = invoice % 5 == 0
        customer = "" if no_id else f"c{int(rng.integers(0, 120))}"
        for _ in range(int(rng.integers(6, 12) if no_id else rng.integers(1, 4))):
            rows.append(
                {
                    "InvoiceNo": str(invoice),
                    "InvoiceDate": pd.Timestamp("2011-01-01")
                    + pd.Timedelta(days=int(rng.integers(0, 300))),
                    "CustomerID": customer,
                    "Quantity": int(rng.integers(1, 6)),
                    "UnitPrice": float(rng.uniform(1, 9)),
                    "Country": "United Kingdom" if no_id or rng.random() < 0.6 else "France",
                }
            )
    path = tmp_path_factory.mktemp("orders") / "orders.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    params = AnalysisParams(
        input_path=str(path), clustering=ClusteringOptions(k_min=2, k_max=5, stability_resamples=4)
    )
    return pipeline.run(params)


def test_kcharts_stream_stability_with_its_spread(qtbot, run_result) -> None:
    charts = KChartsWidget()
    qtbot.addWidget(charts)
    charts.resize(900, 700)
    charts.show()
    assert not charts.stability_plot.isVisible()  # nothing measured yet
    for n, score in enumerate(run_result.sweep.scores, start=1):
        charts.add_score(score)
        xs, ys = charts.stability_curve.getData()
        assert len(xs) == n and ys[-1] == pytest.approx(score.stability.ari_mean)
    assert charts.stability_plot.isVisible()
    # 0, 0.5 and 1 are labelled at any height (a short axis showed "0.5" alone)
    axis = charts.stability_plot.getAxis("left")
    assert [[(v, t) for v, t in level] for level in axis._tickLevels] == [
        [(0.0, "0"), (0.5, "0.5"), (1.0, "1")],
        [],
    ]
    spread = charts.stability_spread.opts["height"]
    assert spread == pytest.approx([2 * s.stability.ari_sd for s in run_result.sweep.scores])
    charts.clear()
    assert not charts.stability_plot.isVisible()


def test_the_stability_axes_are_labelled_in_their_first_paint(qtbot, run_result, monkeypatch):
    """Filled while hidden (a results tab not shown, a window resized meanwhile), the stability
    chart's first paint has its axes' room and labels: pyqtgraph gave the hidden axes no room
    and a grab before its second paint showed a bare left axis."""
    charts = KChartsWidget()
    qtbot.addWidget(charts)
    charts.resize(1000, 700)
    charts.set_scores(run_result.sweep.scores)
    charts.resize(1400, 900)
    painted: dict[str, list[list[str]]] = {"left": [], "bottom": []}
    for side, texts in painted.items():
        axis = charts.stability_plot.getAxis(side)

        def spy(painter, axis=axis, texts=texts, original=axis.generateDrawSpecs):
            specs = original(painter)
            texts.append(sorted(text for _rect, _flags, text in specs[2]))
            return specs

        monkeypatch.setattr(axis, "generateDrawSpecs", spy)
    charts.show()
    qtbot.waitUntil(lambda: all(painted.values()))
    assert painted["left"][0] == ["0", "0.5", "1"]
    assert painted["bottom"][0] == sorted(str(s.k) for s in run_result.sweep.scores)
    assert charts.stability_plot.getAxis("left").geometry().width() == 62


def test_segment_table_shows_each_clusters_stability_and_flag(qtbot, run_result) -> None:
    view = seg.SegmentsView()
    qtbot.addWidget(view)
    view.set_result(run_result)
    model = view.model
    for row, profile in enumerate(model.profiles()):
        text = model.index(row, seg.COL_STABILITY).data()
        assert text.startswith(f"{profile.stability:.2f}")
        assert seg.STABILITY_WORDS[profile.stability_flag] in text
        assert model.index(row, seg.COL_STABILITY).data(seg.SORT_ROLE) == profile.stability
    dissolving = run_result.clusters[0].__class__(
        **{**run_result.clusters[0].__dict__, "stability": 0.41, "stability_flag": "dissolves"}
    )
    model.set_profiles([dissolving])
    assert model.index(0, seg.COL_STABILITY).data() == "0.41 ⚠ dissolves"
    assert "dissolves" in model.index(0, seg.COL_STABILITY).data(seg.Qt.ItemDataRole.ToolTipRole)


def test_cleaning_report_shows_the_missing_id_comparison(qtbot, run_result) -> None:
    check = run_result.cleaning.missing_ids
    assert check is not None and check.differs
    view = CleaningView()
    qtbot.addWidget(view)
    view.resize(1000, 800)
    view.show()
    view.set_result(run_result)
    assert view.missing_table.isVisible() and view.missing_verdict.text().startswith("⚠ ")
    assert check.verdict.split(".")[0] in view.missing_verdict.text()
    rows = [
        tuple(view.missing_model.index(r, c).data() for c in range(3))
        for r in range(view.missing_model.rowCount())
    ]
    assert rows == missing_id_rows(check)
    share = dict((name, (a, b)) for name, a, b in rows)["Share of the sales rows"]
    assert share == (
        f"{100 * check.with_id.row_share:.1f}%",
        f"{100 * check.without_id.row_share:.1f}%",
    )
