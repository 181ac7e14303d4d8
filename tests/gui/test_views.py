"""The result views: each draws a fabricated and a real AnalysisResult; selection, legend,
rename, sorting, streaming K charts, images, and the 3D fallback/rendering."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from rfm_desktop.core import palette, rfm, scoring
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.core.result import (
    AnalysisResult,
    CleaningReport,
    CleaningStep,
    ClusterProfile,
    KScore,
    KSweep,
)

ROOT = Path(__file__).resolve().parents[2]

# Several GL views are made one after another in these tests; pyqtgraph's GL items keep
# their shader programs per class, so the GL contexts must be shared (as the app does).
if QGuiApplication.instance() is None:
    QGuiApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

# --------------------------------------------------------------------------------------------
# A fabricated result: customers in well separated blobs, every documented column present.
# --------------------------------------------------------------------------------------------

BLOBS = (  # recency days, frequency, monetary: centre of each blob
    (20.0, 12.0, 4000.0),
    (150.0, 3.0, 600.0),
    (320.0, 1.0, 150.0),
    (60.0, 6.0, 1500.0),
)


def fabricate_result(
    n: int = 300,
    k: int = 3,
    *,
    seed: int = 7,
    sweep: bool = True,
    outliers: int = 0,
    sampled_silhouette: bool = False,
) -> AnalysisResult:
    """``n`` customers in ``k`` blobs (+ ``outliers`` in an Outliers segment), like core.pipeline.run."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    centres = np.array([BLOBS[i % len(BLOBS)] for i in range(k)])
    recency = np.clip(centres[labels, 0] * rng.lognormal(0, 0.25, n), 0, 373).round()
    frequency = np.maximum(1, (centres[labels, 1] * rng.lognormal(0, 0.3, n)).round())
    monetary = (centres[labels, 2] * rng.lognormal(0, 0.3, n)).round(2)
    if outliers:
        labels[-outliers:] = k  # the Outliers segment has id k
        monetary[-outliers:] *= 40
    snapshot = pd.Timestamp("2011-12-10")
    last = snapshot - pd.to_timedelta(recency, unit="D")
    customers = pd.DataFrame(
        {
            "customer_id": pd.array([str(12000 + i) for i in range(n)], dtype="string"),
            "recency": recency.astype(np.int64),
            "frequency": frequency.astype(np.int64),
            "monetary": monetary,
            "first_purchase": last - pd.to_timedelta(30, unit="D"),
            "last_purchase": last,
            "tenure_days": (recency + 30).astype(np.int64),
            "country": pd.array(["United Kingdom"] * n, dtype="string"),
        }
    )
    scales = scoring.build_scales(customers)
    customers = rfm.score_customers(customers, scales)
    customers["is_outlier"] = labels == k
    customers["cluster"] = labels.astype(np.int64)
    names = {i: f"Cluster {i + 1}" for i in range(k)} | {k: "Outliers"}
    customers["cluster_name"] = pd.Series(labels).map(names).astype("string")
    feats = np.column_stack([np.log1p(recency), np.log1p(frequency), np.log1p(monetary)])
    scaled = (feats - feats.mean(0)) / feats.std(0)
    for i, col in enumerate(("x_recency", "x_frequency", "x_monetary")):
        customers[col] = scaled[:, i]
    for i in range(3):
        customers[f"pc{i + 1}"] = scaled @ np.linalg.qr(rng.normal(size=(3, 3)))[0][:, i]
    sil = np.clip(rng.normal(0.55, 0.2, n), -0.3, 1.0)
    sil[labels == k] = np.nan
    if sampled_silhouette:
        sil[rng.random(n) < 0.5] = np.nan
    customers["silhouette"] = sil

    total = monetary.sum()
    profiles = []
    for cid in sorted(set(labels.tolist())):
        m = labels == cid
        outlier = cid == k
        profiles.append(
            ClusterProfile(
                id=cid,
                name=names[cid],
                size=int(m.sum()),
                share=float(m.mean()),
                recency_mean=float(recency[m].mean()),
                frequency_mean=float(frequency[m].mean()),
                monetary_mean=float(monetary[m].mean()),
                recency_median=float(np.median(recency[m])),
                frequency_median=float(np.median(frequency[m])),
                monetary_median=float(np.median(monetary[m])),
                revenue_share=float(monetary[m].sum() / total),
                average_order_value=float(monetary[m].sum() / frequency[m].sum()),
                silhouette_mean=float("nan") if outlier else float(np.nanmean(sil[m])),
                strategy=rfm.STRATEGIES["Outliers" if outlier else "Champions"] * (1 + cid % 2),
                color=palette.cluster_color(cid, outlier=outlier),
                is_outlier_segment=outlier,
            )
        )
    k_sweep = None
    if sweep:
        scores = tuple(
            KScore(
                k=kk,
                inertia=1000.0 / kk,
                silhouette=0.3 + 0.1 * (kk == k),
                davies_bouldin=1.2 - 0.05 * kk,
                calinski_harabasz=500.0 + 20 * kk,
            )
            for kk in range(2, 9)
        )
        k_sweep = KSweep(scores=scores, suggested_k=k, reason=f"K={k} has the highest silhouette.")
    steps = (
        CleaningStep("missing_customer", "Rows without customer id", 5000, 1200, 3800),
        CleaningStep("cancellations", "Cancelled invoices", 3800, 100, 3700),
        CleaningStep("nonpositive", "Zero or negative quantity or price", 3700, 12, 3688),
    )
    return AnalysisResult(
        params=AnalysisParams(
            input_path="fabricated.csv", clustering=ClusteringOptions(k=None if sweep else k)
        ),
        rows_read=5000,
        date_format="%Y-%m-%d %H:%M:%S",
        cleaning=CleaningReport(
            rows_read=5000,
            steps=steps,
            customers_before_outliers=n,
            outliers_found=outliers,
            outlier_mode="segment" if outliers else "keep",
        ),
        customers=customers,
        k=k,
        silhouette=float(np.nanmean(sil)),
        clusters=tuple(profiles),
        sweep=k_sweep,
        segments=rfm.segment_summary(customers),
        heatmap=rfm.score_heatmap(customers),
        snapshot_date=snapshot,
        input_sha256="0" * 64,
        scales=scales,
        distributions=rfm.distributions(customers),
    )


@pytest.fixture
def result() -> AnalysisResult:
    return fabricate_result()


@pytest.fixture(scope="session")
def real_result() -> AnalysisResult:
    """A real engine result from the bundled sample (or the shared real data)."""
    try:
        from rfm_desktop.core.pipeline import run
    except ImportError:
        pytest.skip("core.pipeline.run is not there yet")
    from rfm_desktop.resources import sample_data_path

    path = sample_data_path()
    if not path.exists():
        path = ROOT.parent / "shared" / "data" / "online_retail.parquet"
    if not path.exists():
        pytest.skip("neither the bundled sample nor the shared real data is there")
    return run(AnalysisParams(input_path=str(path)))


def _offscreen() -> bool:
    return QGuiApplication.platformName() in ("offscreen", "minimal")


def _png_ok(path: Path) -> QImage:
    assert path.exists() and path.stat().st_size > 0, path
    image = QImage(str(path))
    assert not image.isNull(), path
    return image


def _pixel_std(image: QImage) -> float:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    data = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(
        image.height(), image.bytesPerLine()
    )
    return float(data[:, : image.width() * 4].std())


def _make(qtbot, cls):
    view = cls()
    qtbot.addWidget(view)
    view.resize(1100, 720)
    view.show()
    return view


# --------------------------------------------------------------------------------------------
# every view
# --------------------------------------------------------------------------------------------

from rfm_desktop.gui.views import ALL_VIEWS, VIEWS_BY_NAME, view_name  # noqa: E402
from rfm_desktop.gui.views.base import ResultView  # noqa: E402


def test_all_views_listed_in_tab_order_with_unique_slugs() -> None:
    titles = [cls.title for cls in ALL_VIEWS]
    assert titles == [
        "Segments",
        "2D scatter",
        "3D",
        "K evaluation",
        "RFM scores",
        "RFM segments",
        "RFM distributions",
        "Value",
        "Migration",
        "Backtest",
        "Customers",
        "Silhouette",
        "Sensitivity",
        "Cleaning report",
    ]
    slugs = [view_name(cls) for cls in ALL_VIEWS]
    assert len(set(slugs)) == len(slugs)
    assert all(s and s == s.lower() and " " not in s for s in slugs)
    assert [s for s in slugs if "3d" in s] == ["scatter-3d"]
    assert set(VIEWS_BY_NAME) == set(slugs)
    assert all(issubclass(cls, ResultView) for cls in ALL_VIEWS)


@pytest.mark.parametrize("cls", ALL_VIEWS, ids=lambda c: c.view_name)
def test_view_shows_a_placeholder_before_the_first_result(qtbot, cls, tmp_path) -> None:
    view = _make(qtbot, cls)
    assert not view.has_result()
    assert view._stack.currentIndex() == 0
    assert view._placeholder.text().startswith("Run an analysis")
    with pytest.raises(ValueError, match="nothing to save"):
        view.save_image(tmp_path / "x.png")


@pytest.mark.parametrize("cls", ALL_VIEWS, ids=lambda c: c.view_name)
def test_view_draws_a_fabricated_result_repeatedly(qtbot, cls, result, tmp_path) -> None:
    view = _make(qtbot, cls)
    view.set_result(result)
    view.set_result(result.rename_cluster(0, "Best buyers"))  # the host redraws after a rename
    assert view.result is not None and view.result.cluster(0).name == "Best buyers"
    assert view._stack.currentIndex() == 1
    view.grab_png(tmp_path / "tab.png")
    assert _png_ok(tmp_path / "tab.png").width() > 100


@pytest.mark.parametrize("cls", ALL_VIEWS, ids=lambda c: c.view_name)
def test_view_draws_a_real_pipeline_result(qtbot, cls, real_result, tmp_path) -> None:
    view = _make(qtbot, cls)
    view.set_result(real_result)
    assert view._stack.currentIndex() == 1
    view.grab_png(tmp_path / "tab.png")
    _png_ok(tmp_path / "tab.png")


@pytest.mark.parametrize("cls", ALL_VIEWS, ids=lambda c: c.view_name)
def test_save_image_png_and_svg(qtbot, cls, result, tmp_path) -> None:
    view = _make(qtbot, cls)
    view.set_result(result)
    if cls.view_name == "scatter-3d" and not view.is_gl_active():
        with pytest.raises(ValueError, match="OpenGL"):
            view.save_image(tmp_path / "v.png")
    else:
        view.save_image(tmp_path / "v.png")
        _png_ok(tmp_path / "v.png")
    if "svg" in cls.image_formats:
        view.save_image(tmp_path / "v.svg")
        text = (tmp_path / "v.svg").read_text(encoding="utf-8")
        assert "<svg" in text and len(text) > 1000
    else:
        with pytest.raises(ValueError, match="PNG"):
            view.save_image(tmp_path / "v.svg")
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        view.save_image(tmp_path / "v.jpg")


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------

from rfm_desktop.gui.views import segments as seg  # noqa: E402
from rfm_desktop.gui.views.tables import SORT_ROLE  # noqa: E402


def test_segments_model_rows_sizes_and_colours(qtbot) -> None:
    result = fabricate_result(400, 3, outliers=20)
    view = _make(qtbot, seg.SegmentsView)
    view.set_result(result)
    model = view.model
    assert model.rowCount() == len(result.clusters) == 4
    for row, profile in enumerate(result.clusters):
        assert model.index(row, seg.COL_NAME).data() == profile.name
        assert model.index(row, seg.COL_CUSTOMERS).data(SORT_ROLE) == profile.size
        assert model.index(row, seg.COL_CUSTOMERS).data() == f"{profile.size:,}"
        assert (
            model.index(row, seg.COL_NAME).data(Qt.ItemDataRole.DecorationRole).name().lower()
            == profile.color.lower()
        )
        assert (
            model.index(row, seg.COL_STRATEGY).data(Qt.ItemDataRole.ToolTipRole) == profile.strategy
        )
    assert sum(model.index(r, seg.COL_CUSTOMERS).data(SORT_ROLE) for r in range(4)) == 400
    outlier_row = [r for r in range(4) if result.clusters[r].is_outlier_segment][0]
    assert (
        model.index(outlier_row, seg.COL_NAME).data(Qt.ItemDataRole.DecorationRole).name().upper()
        == palette.OUTLIER_COLOR
    )


def test_segments_rename_in_place_emits_the_cluster_id(qtbot, result) -> None:
    view = _make(qtbot, seg.SegmentsView)
    view.set_result(result)
    view.table.sortByColumn(seg.COL_CUSTOMERS, Qt.SortOrder.DescendingOrder)
    proxy_index = view.proxy.index(0, seg.COL_NAME)
    cluster_id = view.model.profile(view.proxy.mapToSource(proxy_index).row()).id
    with qtbot.waitSignal(view.renameRequested, timeout=1000) as blocker:
        assert view.proxy.setData(proxy_index, "  Big spenders ", Qt.ItemDataRole.EditRole)
    assert blocker.args == [cluster_id, "Big spenders"]
    # the host renames and redraws every view
    view.set_result(view.result.rename_cluster(cluster_id, "Big spenders"))
    names = [view.model.index(r, seg.COL_NAME).data() for r in range(view.model.rowCount())]
    assert "Big spenders" in names
    # an unchanged or empty name is no request
    with qtbot.assertNotEmitted(view.renameRequested):
        view.model.setData(view.model.index(0, seg.COL_NAME), "   ", Qt.ItemDataRole.EditRole)
        view.model.setData(
            view.model.index(0, seg.COL_NAME), view.model.profile(0).name, Qt.ItemDataRole.EditRole
        )
    assert view.model.flags(view.model.index(0, seg.COL_NAME)) & Qt.ItemFlag.ItemIsEditable
    assert not view.model.flags(view.model.index(0, seg.COL_CUSTOMERS)) & Qt.ItemFlag.ItemIsEditable


def test_segments_sort_by_customers_is_numeric(qtbot) -> None:
    result = fabricate_result(300, 3)
    sizes = {
        0: 1500,
        1: 200,
        2: 30,
    }  # as text "1,500" < "200" < "30"; as numbers the other way round
    import dataclasses

    result = dataclasses.replace(
        result, clusters=tuple(dataclasses.replace(c, size=sizes[c.id]) for c in result.clusters)
    )
    view = _make(qtbot, seg.SegmentsView)
    view.set_result(result)
    view.table.sortByColumn(seg.COL_CUSTOMERS, Qt.SortOrder.AscendingOrder)
    shown = [view.proxy.index(r, seg.COL_CUSTOMERS).data(SORT_ROLE) for r in range(3)]
    assert shown == [30, 200, 1500]
    view.table.sortByColumn(seg.COL_CUSTOMERS, Qt.SortOrder.DescendingOrder)
    assert [view.proxy.index(r, seg.COL_CUSTOMERS).data(SORT_ROLE) for r in range(3)] == [
        1500,
        200,
        30,
    ]


def test_segments_checkable_selection(qtbot, result) -> None:
    view = _make(qtbot, seg.SegmentsView)
    view.set_result(result)
    assert view.selected_cluster_ids() == [0, 1, 2]
    with qtbot.waitSignal(view.checkedChanged, timeout=1000) as blocker:
        view.model.setData(
            view.model.index(1, seg.COL_NAME),
            Qt.CheckState.Unchecked.value,
            Qt.ItemDataRole.CheckStateRole,
        )
    assert blocker.args == [[0, 2]]
    assert view.selected_cluster_ids() == [0, 2]
    view.set_result(result.rename_cluster(2, "Renamed"))  # ticks survive a redraw
    assert view.selected_cluster_ids() == [0, 2]
    view.model.set_all_checked(False)
    assert view.selected_cluster_ids() == []
    view.set_selected_cluster_ids([1])
    assert view.selected_cluster_ids() == [1]


# --------------------------------------------------------------------------------------------
# 2D scatter
# --------------------------------------------------------------------------------------------

from rfm_desktop.gui.views import scatter2d  # noqa: E402
from rfm_desktop.gui.views.colors import segment_color  # noqa: E402
from rfm_desktop.gui.views.geometry import points_in_polygon  # noqa: E402


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> set[str]:
    return set(frame["customer_id"].astype(str).to_numpy()[mask])


def test_scatter_one_item_per_cluster_with_the_cluster_colour(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    items = view.group_items()
    assert list(items) == [c.id for c in result.clusters]
    for c in result.clusters:
        item = items[c.id]
        assert len(item.data) == c.size
        assert item.opts["brush"].color().name().lower() == c.color.lower()


def test_scatter_rectangle_selection_selects_exactly_the_customers_inside(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("recency", "frequency")
    frame = result.customers
    x, y = frame["recency"].to_numpy(float), frame["frequency"].to_numpy(float)
    with qtbot.waitSignal(view.selectionChanged, timeout=1000) as blocker:
        n = view.select_rect(100, 2, 250, 8)
    expected = (x >= 100) & (x <= 250) & (y >= 2) & (y <= 8)
    assert 0 < expected.sum() < len(frame)
    assert n == expected.sum() == view.selected_count()
    assert set(view.selected_customer_ids()) == _ids(frame, expected)
    assert set(blocker.args[0]) == _ids(frame, expected)
    assert f"{n:,}" in view.count_label.text()
    # highlighted: the overlays hold exactly the selected points, the rest is dimmed
    assert sum(len(g.overlay.data) for g in view._groups) == n
    assert all(g.item.opacity() < 1 for g in view._groups)
    # Shift adds to the selection; a corner order does not matter
    view.select_rect(0, 10, 30, 100, add=True)
    expected |= (x >= 0) & (x <= 30) & (y >= 10) & (y <= 100)
    assert set(view.selected_customer_ids()) == _ids(frame, expected)
    view.clear_selection()
    assert view.selected_customer_ids() == [] and view.selected_count() == 0
    assert all(g.item.opacity() == 1 for g in view._groups)


def test_scatter_lasso_selection_matches_a_numpy_point_in_polygon(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("pc1", "pc2")
    frame = result.customers
    x, y = frame["pc1"].to_numpy(float), frame["pc2"].to_numpy(float)
    # a concave "L" shape around the middle of the cloud
    poly = [(-2, -2), (1, -2), (1, -0.5), (-0.5, -0.5), (-0.5, 2), (-2, 2)]
    view.set_select_mode("lasso")
    n = view.select_polygon(poly)
    inside_box = (x >= -2) & (x <= 1) & (y >= -2) & (y <= 2)
    notch = (x > -0.5) & (y > -0.5)
    expected = inside_box & ~notch
    assert 0 < expected.sum() < len(frame)
    assert n == expected.sum()
    assert set(view.selected_customer_ids()) == _ids(frame, expected)


def test_point_in_polygon_agrees_with_qt(qtbot) -> None:
    from PySide6.QtGui import QPainterPath, QPolygonF

    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 11, 3000), rng.uniform(-1, 11, 3000)
    star = [
        (5, 0),
        (6.5, 4),
        (10, 4.5),
        (7.2, 7),
        (8.5, 10.5),
        (5, 8.4),
        (1.5, 10.5),
        (2.8, 7),
        (0, 4.5),
        (3.5, 4),
    ]
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(a, b) for a, b in star]))
    path.closeSubpath()
    expected = np.array([path.contains(QPointF(a, b)) for a, b in zip(x, y, strict=True)])
    got = points_in_polygon(x, y, star)
    # points exactly on an edge may differ; random floats never are
    assert (got == expected).all()
    assert not points_in_polygon(x, y, [(0, 0), (1, 1)]).any()


def test_scatter_log_axis_selects_in_plotted_coordinates(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("recency", "monetary", y_log=True)
    assert view.axes() == ("recency", "monetary", False, True)
    assert view.plot.getAxis("left").logMode
    assert "log scale" in view.plot.getAxis("left").labelText
    frame = result.customers
    x, m = frame["recency"].to_numpy(float), frame["monetary"].to_numpy(float)
    n = view.select_rect(0, 3, 400, 4)  # spend between 1,000 and 10,000
    expected = (m >= 1000) & (m <= 10000)
    assert n == expected.sum() > 0
    assert set(view.selected_customer_ids()) == _ids(frame, expected & (x <= 400))
    # a PCA axis cannot be logarithmic
    view.set_axes("pc1", "pc2", x_log=True)
    assert not view.plot.getAxis("bottom").logMode and not view.x_log.isEnabled()


def test_scatter_legend_click_hides_a_cluster_and_its_customers_are_not_selected(
    qtbot, result
) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("recency", "frequency")
    qtbot.wait(50)
    sample, label = view.legend.items[1]
    item = view.group_items()[1]
    assert sample.item is item and item.isVisible()
    # a real click on the legend label
    centre = view.graphics.mapFromScene(label.sceneBoundingRect().center())
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert not item.isVisible()
    assert not view.is_group_visible(1)
    n = view.select_rect(-1e9, -1e9, 1e9, 1e9)
    assert n == len(result.customers) - result.cluster(1).size
    # clicking again shows it; toggle_group is the same action
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert item.isVisible()
    view.toggle_group(1)
    assert not item.isVisible()
    # hiding a group unselects its customers
    view.toggle_group(1)
    view.select_rect(-1e9, -1e9, 1e9, 1e9)
    view.toggle_group(2)
    assert view.selected_count() == len(result.customers) - result.cluster(2).size


def test_scatter_colour_by_rfm_segment(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_color_by("segment")
    items = view.group_items()
    assert set(items) == set(result.customers["rfm_segment"].astype(str))
    for name, item in items.items():
        assert item.opts["brush"].color().name().lower() == segment_color(name).lower()
        assert len(item.data) == int((result.customers["rfm_segment"] == name).sum())
    # deterministic, and distinct for the 11 named segments
    names = list(rfm.SEGMENT_ORDER)
    assert len({segment_color(n) for n in names}) == len(names)
    assert segment_color("Something else") == segment_color("Something else")


def test_scatter_hover_describes_the_nearest_customer(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("recency", "frequency")
    qtbot.wait(50)
    row = 17
    frame = result.customers
    text = view.hover_at(float(frame["recency"].iat[row]), float(frame["frequency"].iat[row]))
    assert text is not None
    assert f"Customer {frame['customer_id'].iat[row]}" in text
    assert "Recency" in text and "Frequency" in text and "Monetary" in text
    assert view._hover_text.isVisible()
    assert view.hover_at(1e9, 1e9) is None


def test_scatter_hover_card_stays_inside_the_plot_and_goes_when_the_mouse_leaves(
    qtbot, result
) -> None:
    from PySide6.QtCore import QEvent

    view = _make(qtbot, scatter2d.Scatter2DView)
    view.resize(700, 500)
    view.set_result(result)
    view.set_axes("recency", "frequency")
    qtbot.wait(50)
    frame = result.customers
    x, y = frame["recency"].to_numpy(float), frame["frequency"].to_numpy(float)
    area = view.plot_area()
    # the customers at the four edges of the cloud: the card must fit inside the plot for each
    for row in {int(np.argmin(x)), int(np.argmax(x)), int(np.argmin(y)), int(np.argmax(y))}:
        text = view.hover_at(x[row], y[row])
        assert text is not None and f"Customer {frame['customer_id'].iat[row]}" in text
        card = view._hover_text.geometry()
        assert view._hover_text.isVisible() and card.width() > 100
        assert area.contains(card), (row, card, area)
        assert view._hover_text.text() == text  # the whole text, nothing cut
    view._pointer_inside = True
    QApplication.sendEvent(view.graphics.viewport(), QEvent(QEvent.Type.Leave))
    assert not view._hover_text.isVisible() and not view._hover_ring.isVisible()
    view._on_mouse_moved(
        (view.viewbox.sceneBoundingRect().center(),)
    )  # a move queued before leaving
    assert not view._hover_text.isVisible()


def test_scatter_tsne_map_runs_in_the_background_and_says_it_is_a_sample(
    qtbot, monkeypatch
) -> None:
    from rfm_desktop.core import tsne

    monkeypatch.setattr(tsne, "SAMPLE_LIMIT", 120)
    result = fabricate_result(200, 3)
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    progress: list[int] = []
    view.tsne_bar.valueChanged.connect(progress.append)
    with qtbot.waitSignal(view.tsneEnded, timeout=60_000) as ended:
        view.set_projection("tsne")
        assert view.is_computing_tsne() and view.tsne_panel.isVisibleTo(
            view
        )  # not in the GUI thread
        assert "random sample of 120 of the 200 customers" in view.tsne_label.text()
    assert ended.args == ["done"] and not view.tsne_panel.isVisibleTo(view)
    assert progress and max(progress) > 500
    tsne_map = view.tsne_map()
    assert tsne_map.sampled and len(tsne_map.rows) == 120
    assert view.axes()[:2] == ("tsne1", "tsne2") and not view.x_combo.isEnabled()
    assert "random sample of 120 of the 200 customers" in view.sample_label.text()
    assert view.sample_label.isVisibleTo(view)
    # the drawn points are the mapped customers at their t-SNE coordinates, the others are not drawn
    assert view.drawn_point_count() == 120
    again = tsne.tsne_map(result.customers, result.params.clustering.seed, limit=120)
    assert np.array_equal(again.rows, tsne_map.rows) and np.array_equal(
        again.coords, tsne_map.coords
    )
    x0, y0 = tsne_map.coords.min(axis=0) - 1
    x1, y1 = tsne_map.coords.max(axis=0) + 1
    assert view.select_rect(x0, y0, x1, y1) == 120  # only mapped customers can be selected here
    view.set_projection("pca")
    assert view.axes()[:2] == ("pc1", "pc2") and view.selected_count() == 120
    view.set_projection("tsne")  # computed once per result
    assert not view.is_computing_tsne() and view.tsne_map() is tsne_map


def test_scatter_tsne_can_be_cancelled(qtbot) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(fabricate_result(1500, 3))
    with qtbot.waitSignal(view.tsneEnded, timeout=10_000) as ended:
        view.set_projection("tsne")
        assert view.is_computing_tsne()
        job = view._tsne_worker
        view.tsne_cancel.click()
    assert ended.args == ["cancelled"]
    assert (
        view.projection() == "axes"
        and view.tsne_map() is None
        and not view.tsne_panel.isVisibleTo(view)
    )
    assert job.wait(30)  # the computation itself stopped too (it checks every iteration)


def test_scatter_keeps_the_selection_across_a_rename(qtbot, result) -> None:
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("recency", "frequency")
    n = view.select_rect(0, 0, 100, 100)
    view.set_result(result.rename_cluster(0, "Renamed"))
    assert view.selected_count() == n
    view.set_axes("pc1", "pc2")  # the same customers stay selected on other axes
    assert view.selected_count() == n


def test_scatter_state_round_trip_and_checks(qtbot, result) -> None:
    from rfm_desktop.gui.views.scatter_state import Scatter2DState

    view = _make(qtbot, scatter2d.Scatter2DView)
    assert view.state() == Scatter2DState()  # the default: recency x monetary (log), clusters
    assert view.axes() == ("recency", "monetary", False, True)
    view.set_result(result)
    ids = result.customers["customer_id"].astype(str)
    chosen = frozenset(ids.iloc[[3, 10, 42]])
    wanted = Scatter2DState(
        x="frequency",
        y="recency",
        x_log=True,
        y_log=False,
        color_by="segment",
        hidden_clusters=frozenset({2}),
        selected=chosen,
    )
    with qtbot.waitSignal(view.selectionChanged, timeout=1000) as blocker:
        view.set_state(wanted)
    assert view.state() == wanted
    assert set(blocker.args[0]) == set(chosen) and view.selected_count() == 3
    assert view.axes() == ("frequency", "recency", True, False)
    # the widgets follow the state, and an edit of a widget is a state change
    assert view.x_combo.currentData() == "frequency" and view.x_log.isChecked()
    assert view.color_combo.currentData() == "segment"
    view.y_log.setChecked(True)
    assert view.state() == replace(wanted, y_log=True)
    # each colouring keeps its hidden groups; customers of a hidden group are not selected
    view.update_state(color_by="cluster")
    assert not view.is_group_visible(2) and not view.group_items()[2].isVisible()
    in_two = frozenset(ids[result.customers["cluster"].to_numpy() == 2].iloc[:2])
    view.update_state(selected=chosen | in_two | {"no such customer"})
    kept = view.state().selected
    assert not kept & in_two and "no such customer" not in kept
    assert len(kept) == view.selected_count()
    for bad in ({"x": "tsne1"}, {"projection": "umap"}, {"color_by": "rfm"}):
        with pytest.raises(ValueError):
            view.update_state(**bad)
        with pytest.raises(ValueError):
            Scatter2DState(**bad)


def test_scatter_set_state_draws_the_same_as_the_setters(qtbot, result) -> None:
    by_setters = _make(qtbot, scatter2d.Scatter2DView)
    by_setters.set_result(result)
    by_setters.set_axes("frequency", "monetary", x_log=True, y_log=True)
    by_setters.toggle_group(1)
    by_setters.select_rect(0, 0, 1, 5)
    by_state = _make(qtbot, scatter2d.Scatter2DView)
    by_state.set_result(result)
    by_state.set_state(by_setters.state())
    assert by_state.state() == by_setters.state() and by_state.selected_count() > 0

    def drawn(view) -> dict:
        return {
            g.key: (
                sorted(zip(g.item.data["x"], g.item.data["y"], strict=True)),
                sorted(zip(g.overlay.data["x"], g.overlay.data["y"], strict=True)),
                g.item.isVisible(),
                g.item.opacity(),
            )
            for g in view._groups
        }

    assert drawn(by_state) == drawn(by_setters)
    for side in ("bottom", "left"):
        axis, other = by_state.plot.getAxis(side), by_setters.plot.getAxis(side)
        assert (axis.logMode, axis.labelText) == (other.logMode, other.labelText)
    assert by_state.selected_customer_ids() == by_setters.selected_customer_ids()
    assert by_state.count_label.text() == by_setters.count_label.text()


def test_scatter_report_view_draws_from_the_default_state(qtbot, result) -> None:
    from rfm_desktop.gui.images import fresh_view
    from rfm_desktop.gui.views.scatter_state import Scatter2DState

    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("pc1", "pc2")
    view.toggle_group(0)
    assert view.select_rect(-1e9, -1e9, 1e9, 1e9) > 0
    fresh = fresh_view(view, result)
    try:
        assert fresh.state() == Scatter2DState() and fresh.selected_count() == 0
        assert all(item.isVisible() for item in fresh.group_items().values())
    finally:
        fresh.close()
        fresh.deleteLater()


def test_scatter_million_customers_density_when_many_points_when_zoomed_in(qtbot) -> None:
    big = fabricate_result(1_000_000, 4, sweep=False, outliers=50)
    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(big)
    items = view.group_items()
    assert len(items) == 5  # one item per cluster, not per point
    assert all(item.opts["pxMode"] and item.opts["useCache"] for item in items.values())
    assert view.level_of_detail() == "density" and view.drawn_point_count() == 0
    assert view.sample_label.isVisibleTo(view) and "zoom in" in view.sample_label.text()
    assert (
        view._overview.isVisible()
    )  # the coarse image of every customer, until the sharp one comes
    qtbot.waitUntil(
        lambda: view.density_image() is not None, timeout=20_000
    )  # drawn in the background
    image = view.density_image()
    assert image is not None and image.ndim == 3 and image.shape[2] == 4
    # every group stays visible, the 50 outliers among a million included: cells holding only
    # one group's customers show exactly that group's colour
    drawn = {tuple(int(v) for v in px[:3]) for px in image.reshape(-1, 4) if px[3] > 0}
    for c in big.clusters:
        assert palette.hex_to_rgb(c.color) in drawn, c.name

    view.set_axes("recency", "frequency")
    x = big.customers["recency"].to_numpy(float)
    y = big.customers["frequency"].to_numpy(float)
    expected = (x >= 10) & (x <= 60) & (y >= 5) & (y <= 20)
    assert view.select_rect(10, 5, 60, 20) == expected.sum()  # selection counts every customer
    polygon = [(0, 0), (400, 0), (0, 40)]
    assert view.select_polygon(polygon) == points_in_polygon(x, y, polygon).sum()
    assert view.level_of_detail() == "density"
    with pytest.raises(ValueError, match="Too many customers"):
        view.save_image("/nonexistent/x.svg")

    # zoomed in until few customers are near the view: they are drawn as points, exactly those
    view.viewbox.setRange(xRange=(200, 202), yRange=(2.5, 3.5), padding=0)
    qtbot.wait(10)
    assert view.level_of_detail() == "points" and view.density_image() is None
    region = view._region
    near = (x >= region.x0) & (x <= region.x1) & (y >= region.y0) & (y <= region.y1)
    assert 0 < near.sum() <= scatter2d.POINT_LIMIT
    assert view.drawn_point_count() == near.sum()
    assert (
        view.select_rect(10, 5, 60, 20) == expected.sum()
    )  # still every customer, not just the drawn
    view.reset_view()
    assert view.level_of_detail() == "density"


# --------------------------------------------------------------------------------------------
# K evaluation
# --------------------------------------------------------------------------------------------

from rfm_desktop.gui.views.kcharts import METRICS, KChartsWidget, KEvaluationView  # noqa: E402


def _score(k: int) -> KScore:
    return KScore(
        k=k,
        inertia=900.0 / k,
        silhouette=0.3 + 0.02 * k,
        davies_bouldin=1.0 - 0.03 * k,
        calinski_harabasz=400.0 + 10 * k,
    )


def test_kcharts_stream_scores_suggest_and_choose(qtbot) -> None:
    charts = KChartsWidget()
    qtbot.addWidget(charts)
    charts.resize(900, 600)
    charts.show()
    for n, k in enumerate(range(2, 8), start=1):
        charts.add_score(_score(k))
        for metric in METRICS:
            xs, ys = charts.curves[metric.field].getData()
            assert len(xs) == n  # one more point per score, drawn at once
            assert ys[-1] == pytest.approx(getattr(_score(k), metric.field))
    ticks = charts.plots["inertia"].getAxis("bottom")._tickLevels[0]
    assert [t[0] for t in ticks] == list(range(2, 8))  # integer K ticks
    charts.add_score(_score(3))  # the same K again replaces, not appends
    assert len(charts.curves["silhouette"].getData()[0]) == 6

    charts.set_suggested(4, "K=4 has the best mean rank.")
    for metric in METRICS:
        line = charts._suggested_lines[metric.field]
        assert line.isVisible() and line.value() == 4
        assert line.pen.style() == Qt.PenStyle.DashLine
    assert "K=4 has the best mean rank." in charts.reason_label.text()
    charts.set_chosen(5)
    for metric in METRICS:
        xs, ys = charts._chosen_marks[metric.field].getData()
        assert list(xs) == [5] and ys[0] == pytest.approx(getattr(_score(5), metric.field))
    assert charts.chosen() == 5 and charts.suggested() == 4

    charts.clear()
    assert all(charts.curves[m.field].getData()[0] is None for m in METRICS)  # pyqtgraph: no data
    assert not charts._suggested_lines["inertia"].isVisible()


def test_kcharts_click_picks_the_nearest_k(qtbot) -> None:
    charts = KChartsWidget()
    qtbot.addWidget(charts)
    charts.resize(900, 600)
    charts.show()
    for k in range(2, 9):
        charts.add_score(_score(k))
    qtbot.wait(50)
    with qtbot.waitSignal(charts.kPicked, timeout=1000) as blocker:
        charts.pick_k(6)
    assert blocker.args == [6]
    # a real click near K=3 on the Davies–Bouldin chart
    vb = charts.plots["davies_bouldin"].getViewBox()
    scene_pos = vb.mapViewToScene(QPointF(3.2, _score(3).davies_bouldin))
    pos = charts.graphics.mapFromScene(scene_pos)
    with qtbot.waitSignal(charts.kPicked, timeout=1000) as blocker:
        qtbot.mouseClick(charts.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [3]
    assert charts.k_near(5.6) is None or charts.k_near(5.6) == 6
    assert charts.k_near(20) is None


def test_k_evaluation_view_shows_the_sweep_and_the_used_k(qtbot, result) -> None:
    view = _make(qtbot, KEvaluationView)
    view.set_result(result)
    assert view._stack.currentIndex() == 1
    assert len(view.charts.scores()) == len(result.sweep.scores)
    assert view.charts.suggested() == result.sweep.suggested_k
    assert view.charts.chosen() == result.k
    assert result.sweep.reason in view.charts.reason_label.text()


def test_k_evaluation_view_without_a_sweep_says_so(qtbot) -> None:
    view = _make(qtbot, KEvaluationView)
    view.set_result(fabricate_result(sweep=False))
    assert view._stack.currentIndex() == 0
    assert "A fixed K was used without a K sweep" in view._placeholder.text()


# --------------------------------------------------------------------------------------------
# Silhouette, RFM, cleaning
# --------------------------------------------------------------------------------------------

from rfm_desktop.gui.views.cleaning import CleaningView, readable_date_format  # noqa: E402
from rfm_desktop.gui.views.rfmgrid import RFMView  # noqa: E402
from rfm_desktop.gui.views.silhouette import SilhouetteView  # noqa: E402


def test_silhouette_one_item_per_cluster_and_the_mean_line(qtbot, result) -> None:
    view = _make(qtbot, SilhouetteView)
    view.set_result(result)
    items = view.cluster_items()
    assert list(items) == [c.id for c in result.clusters]
    for c in result.clusters:
        assert items[c.id].brush().color().name().lower() == c.color.lower()
    assert view.mean_line.isVisible()
    assert view.mean_line.value() == pytest.approx(result.silhouette)
    assert f"{result.silhouette:.3f}" in view.mean_line.label.toPlainText()
    assert "sample" not in view.note.text()


def test_silhouette_skips_nan_notes_the_sample_and_the_outliers(qtbot) -> None:
    result = fabricate_result(600, 3, outliers=30, sampled_silhouette=True)
    view = _make(qtbot, SilhouetteView)
    view.set_result(result)
    assert set(view.cluster_items()) == {0, 1, 2}  # no bars for the Outliers segment
    counted = int(result.customers["silhouette"].notna().sum())
    assert f"Silhouette computed on a sample of {counted:,} customers" in view.note.text()
    assert "Outliers" in view.note.text()


def test_rfm_grid_cells_and_thresholds(qtbot, result) -> None:
    view = _make(qtbot, RFMView)
    view.set_result(result)
    assert view.grid.rowCount() == 5 and view.grid.columnCount() == 5
    assert view.grid.verticalHeaderItem(0).text().startswith("R 5\n")
    assert view.grid.horizontalHeaderItem(0).text().startswith("F 1\n")
    heat = result.heatmap.set_index(["r_score", "f_score"])
    for r in range(1, 6):
        for f in range(1, 6):
            values = view.cell_values(r, f)
            assert values["customers"] == heat.loc[(r, f), "customers"]
            if values["customers"]:
                assert view.cell(r, f).text().startswith(f"{values['customers']:,}\ncustomers")
    assert len(view.threshold_rows()) == 15  # 5 scores x recency, frequency, monetary
    assert [row[0] for row in view.threshold_rows()[:5]] == ["R 1", "R 2", "R 3", "R 4", "R 5"]


def test_cleaning_report(qtbot, result) -> None:
    view = _make(qtbot, CleaningView)
    view.set_result(result)
    assert view.model.rowCount() == len(result.cleaning.steps)
    first = result.cleaning.steps[0]
    assert view.model.index(0, 0).data() == first.label
    assert view.model.index(0, 2).data() == f"{first.removed:,}"
    assert view.model.index(0, 4).data() == f"{100 * first.removed / first.before:.1f}%"
    assert view.facts["rows_read"].text() == f"{result.rows_read:,}"
    assert "DD" in view.facts["date_format"].text()
    assert readable_date_format("%d/%m/%Y %H:%M") == "DD/MM/YYYY hh:mm (%d/%m/%Y %H:%M)"
    assert readable_date_format("ISO (YYYY-MM-DD)") == "ISO (YYYY-MM-DD)"


# --------------------------------------------------------------------------------------------
# 3D
# --------------------------------------------------------------------------------------------

from rfm_desktop.gui.views import gl_probe, view3d  # noqa: E402


def test_3d_shows_a_message_without_opengl(qtbot, result, monkeypatch) -> None:
    monkeypatch.setattr(gl_probe, "_GL_STATE", {"ok": False, "why": "no GL in this test"})
    view = _make(qtbot, view3d.View3D)
    view.set_result(result)
    assert not view.gl_available() and not view.is_gl_active()
    assert view.gl_widget() is None and view.cluster_items() == {}
    message = view.fallback_message()
    assert message is not None and "needs OpenGL" in message and "no GL in this test" in message
    assert view.gl_stack.currentWidget() is view.gl_message
    assert len(view._checks) == len(result.clusters)  # the legend is still there


@pytest.mark.skipif(
    os.environ.get("QT_QPA_PLATFORM", "") != "offscreen", reason="only under offscreen"
)
def test_3d_under_offscreen_is_the_fallback(qtbot, result) -> None:
    assert _offscreen()
    assert not view3d.gl_available()
    view = _make(qtbot, view3d.View3D)
    view.set_result(result)
    assert "needs OpenGL" in (view.fallback_message() or "")


def _real_display() -> bool:
    return bool(os.environ.get("DISPLAY")) and os.environ.get("QT_QPA_PLATFORM", "") not in (
        "offscreen",
        "minimal",
    )


@pytest.mark.skipif(
    not _real_display(),
    reason="needs a display with OpenGL (run under xvfb-run with QT_QPA_PLATFORM=xcb)",
)
def test_3d_renders_under_a_display(qtbot, tmp_path) -> None:
    result = fabricate_result(3000, 4)
    assert view3d.gl_available(), view3d.gl_unavailable_reason()
    view = _make(qtbot, view3d.View3D)
    view.set_result(result)
    qtbot.wait(200)
    assert view.is_gl_active() and view.fallback_message() is None
    items = view.cluster_items()
    assert list(items) == [c.id for c in result.clusters]
    for c in result.clusters:
        r, g, b = palette.hex_to_rgb(c.color)
        assert tuple(np.round(np.asarray(items[c.id].color)[:3] * 255).astype(int)) == (r, g, b)
        assert len(items[c.id].pos) == c.size
    view.grab_png(tmp_path / "3d.png")
    image = _png_ok(tmp_path / "3d.png")
    assert _pixel_std(image) > 0
    view.save_image(tmp_path / "3d_plot.png")
    assert _pixel_std(_png_ok(tmp_path / "3d_plot.png")) > 0
    with pytest.raises(ValueError, match="PNG"):
        view.save_image(tmp_path / "3d.svg")
    assert view.axis_labels() == ["Recency (scaled)", "Frequency (scaled)", "Monetary (scaled)"]
    view.set_cluster_visible(1, False)
    assert not items[1].visible()
    view.set_space("pca")
    assert view.cluster_items()[0].pos.shape[1] == 3
    assert view.axis_labels() == ["PCA 1", "PCA 2", "PCA 3"]  # a result without the variance shares
    view.gl_widget().setCameraPosition(azimuth=120)  # what a mouse drag does
    qtbot.wait(50)
    view.reset_view()
    assert view.gl_widget().opts["azimuth"] == view3d.CAMERA["azimuth"]


@pytest.mark.skipif(
    not _real_display(),
    reason="needs a display with OpenGL (run under xvfb-run with QT_QPA_PLATFORM=xcb)",
)
def test_3d_draws_the_outliers_inside_centred_axes_with_ticks_and_calm_rotation(qtbot) -> None:
    import dataclasses

    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent, QVector3D

    result = dataclasses.replace(
        fabricate_result(2000, 3, outliers=40), pca_variance=(0.612, 0.254, 0.134)
    )
    view = _make(qtbot, view3d.View3D)
    view.set_result(result)
    qtbot.wait(200)
    items = view.cluster_items()
    outliers = next(c for c in result.clusters if c.is_outlier_segment)
    assert "Outliers (40)" in [box.text() for box in view._checks.values()]
    assert len(items[outliers.id].pos) == 40  # the legend's Outliers are in the scene
    scene = np.concatenate([item.pos for item in items.values()])
    assert len(scene) == result.customer_count
    assert np.abs(scene).max() <= view3d.CUBE + 1e-6  # every point inside the axes' box
    gl = view.gl_widget()
    assert gl.opts["center"] == QVector3D(0, 0, 0)  # the box centre is the camera's centre
    ticks = view.tick_labels()
    assert len(ticks) >= 9 and "0" in ticks
    # the axes' numbers enclose the data: the outliers' scaled monetary is below the top tick
    top = max(float(t.replace(",", "")) for t in ticks[-len(ticks) // 3 :])
    assert top >= np.nanmax(result.customers["x_monetary"])

    # no title covers a drawn point
    transform = gl.labels._transform(gl)
    points = [transform.map(QVector3D(*map(float, p))).toPointF() for p in scene]
    titles = [rect for _text, rect, is_title in gl.labels.placed() if is_title]
    assert len(titles) == 3
    assert not any(rect.contains(p) for rect in titles for p in points)

    view.set_space("pca")
    assert view.axis_labels() == [
        "PCA 1 (61% of variance)",
        "PCA 2 (25% of variance)",
        "PCA 3 (13% of variance)",
    ]
    assert len(view.cluster_items()[outliers.id].pos) == 40

    # a 100 px drag turns the view by ROTATE_DEGREES_PER_PX * 100 degrees, not 100
    before = gl.opts["azimuth"]
    left = Qt.MouseButton.LeftButton
    for x in (200, 300):
        event = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(x, 200),
            gl.mapToGlobal(QPointF(x, 200)),
            Qt.MouseButton.NoButton,
            left,
            Qt.KeyboardModifier.NoModifier,
        )
        gl.mouseMoveEvent(event)
    assert gl.opts["azimuth"] == pytest.approx(before - 100 * view3d.ROTATE_DEGREES_PER_PX)


@pytest.mark.skipif(
    not _real_display(),
    reason="needs a display with OpenGL (run under xvfb-run with QT_QPA_PLATFORM=xcb)",
)
def test_3d_axis_titles_stay_inside_a_small_view(qtbot) -> None:
    """At 150 %/200 % scaling the 3D tab has few logical pixels (683×427, 800×500 windows);
    a title beside the projected axis then fell off the widget ("onetary (scaled)")."""
    import dataclasses

    from PySide6.QtGui import QVector3D

    result = dataclasses.replace(
        fabricate_result(2000, 3, outliers=40), pca_variance=(0.612, 0.254, 0.134)
    )
    view = _make(qtbot, view3d.View3D)
    view.set_result(result)
    gl = view.gl_widget()

    def titles() -> list[tuple[str, QRectF]]:
        qtbot.wait(50)
        return [(text, rect) for text, rect, is_title in gl.labels.placed() if is_title]

    for space in ("scaled", "pca"):
        view.set_space(space)
        scene = np.concatenate([item.pos for item in view.cluster_items().values()])
        for width, height in ((1100, 720), (683, 380), (560, 480), (480, 300)):
            view.resize(width, height)  # the 3D tab of a 683×427 window is about 683×380
            placed = titles()
            assert len(placed) == 3
            transform = gl.labels._transform(gl)
            points = [transform.map(QVector3D(*map(float, p))).toPointF() for p in scene]
            for (text, rect), title in zip(placed, view.axis_labels(), strict=True):
                assert text == title  # room enough for the whole title
                inside = QRectF(gl.rect()).contains(rect)
                assert inside, f"{title!r} at {rect} outside {gl.rect()} ({space}, {width})"
                assert not any(rect.contains(p) for p in points), (
                    f"{title!r} covers a point ({space}, {width})"
                )
                assert gl.labels.title_tip(rect.center()) == ""  # nothing hidden, no tooltip
            assert not any(
                a.intersects(b) for i, (_, a) in enumerate(placed) for _, b in placed[:i]
            )

    # narrower than a title: elided, inside, and the full title is the tooltip over it
    gl.setFixedSize(150, 600)
    placed = titles()
    for (text, rect), title in zip(placed, view.axis_labels(), strict=True):
        assert QRectF(gl.rect()).contains(rect)
        assert text.endswith("…") and title.startswith(text[:-1])
    alone = [
        (rect, title)
        for (_, rect), title in zip(placed, view.axis_labels(), strict=True)
        if sum(rect.intersects(other) for _, other in placed) == 1  # only itself
    ]
    assert alone
    assert all(gl.labels.title_tip(rect.center()) == title for rect, title in alone)


def test_scatter_mouse_drag_draws_rectangle_and_lasso(qtbot, result) -> None:
    """The real mouse path: press, paced moves (pyqtgraph drops faster ones), release."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    view = _make(qtbot, scatter2d.Scatter2DView)
    view.set_result(result)
    view.set_axes("recency", "frequency")
    # Under Xvfb the window is mapped and sized by the X server a moment after show(); on a busy
    # machine that can land mid-drag and move the view under the pointer (the press was recorded
    # in the old scene geometry). Wait for the window, then for the view's geometry to settle.
    qtbot.waitExposed(view)

    def geometry() -> tuple:
        return view.viewbox.sceneBoundingRect(), view.viewbox.viewRange()

    for _ in range(100):
        before = geometry()
        qtbot.wait(50)
        if geometry() == before:
            break
    viewport = view.graphics.viewport()
    left = Qt.MouseButton.LeftButton

    def send(
        kind: QEvent.Type, x: float, y: float, buttons, button=Qt.MouseButton.NoButton
    ) -> None:
        pos = QPointF(view.graphics.mapFromScene(view.viewbox.mapViewToScene(QPointF(x, y))))
        event = QMouseEvent(
            kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(viewport, event)

    def drag(corners: list[tuple[float, float]]) -> None:
        send(QEvent.Type.MouseButtonPress, *corners[0], left, left)
        for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
            for t in np.linspace(0.1, 1.0, 8):
                qtbot.wait(20)
                send(QEvent.Type.MouseMove, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, left)
        send(QEvent.Type.MouseButtonRelease, *corners[-1], Qt.MouseButton.NoButton, left)

    frame = result.customers
    x, y = frame["recency"].to_numpy(float), frame["frequency"].to_numpy(float)
    expected = _ids(
        frame, (x >= 99.5) & (x <= 250.5) & (y >= 1.5) & (y <= 8.5)
    )  # bounds between data values
    view.set_select_mode("rect")
    drag([(99.5, 8.5), (250.5, 1.5)])
    assert set(view.selected_customer_ids()) == expected
    view.clear_selection()
    view.set_select_mode("lasso")
    drag([(99.5, 8.5), (250.5, 8.5), (250.5, 1.5), (99.5, 1.5)])
    assert set(view.selected_customer_ids()) == expected
    assert len(view.viewbox._points) > 10  # the lasso followed the mouse


def test_hint_texts_are_readable_on_light_and_dark_palettes(qtbot) -> None:
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication, QLabel

    from rfm_desktop.gui.hints import contrast_ratio, hint_color, make_hint
    from rfm_desktop.gui.views.base import is_dark

    window_bg = QPalette.ColorRole.Window
    for fg, bg in (("#000000", "#EFEFEF"), ("#FFFFFF", "#2D2D2D")):
        palette = QPalette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(fg))
        palette.setColor(window_bg, QColor(bg))
        color = hint_color(palette)
        assert 4.5 <= contrast_ratio(color, QColor(bg)) < contrast_ratio(QColor(fg), QColor(bg))
    label = make_hint(QLabel("Double-click a name to rename a segment."))
    qtbot.addWidget(label)
    app_bg = QApplication.palette().color(window_bg)
    shown = label.palette().color(QPalette.ColorRole.WindowText)
    assert label.isEnabled() and contrast_ratio(shown, app_bg) >= 4.5
    # the old way, a disabled label, was not readable on the light theme
    disabled = QApplication.palette().color(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText
    )
    if not is_dark(app_bg):
        assert contrast_ratio(disabled, app_bg) < 4.5


def test_segments_view_hint_is_not_a_disabled_label(qtbot, result) -> None:
    from PySide6.QtWidgets import QLabel

    view = _make(qtbot, seg.SegmentsView)
    view.set_result(result)
    hints = [w for w in view.findChildren(QLabel) if w.text().startswith("Double-click a name")]
    assert hints and all(h.isEnabled() for h in hints)
