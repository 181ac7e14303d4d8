"""How smooth is the 2D scatter at 100,000 and 1,000,000 customers?

Draws a result with N customers in the real Scatter2DView on a real (virtual) screen, then
times the first draw (set_result until the first paint is done) and each frame of a pan
(40 steps of 2 % of the view) and of a zoom (20 wheel-like steps in and out), paced like a
mouse drag: the view range changes and the event loop runs until nothing is pending (the
repaint, and e.g. a density image drawn in the background arriving), so a frame's time is
everything the GUI thread does for it. The baseline, in the same run and alternating with it, is the same view
with level of detail switched off (every customer drawn as a marker, as before).

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_scatter.py [--sizes 100000 1000000] [--runs 3]

Goal: pan/zoom frames <= 50 ms at 1,000,000 customers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

GOAL_MS = 50.0


def fabricate(n: int, k: int = 5, seed: int = 1):
    """``n`` customers in ``k`` clusters plus 0.03 % outliers, shaped like the real data's RFM."""
    from rfm_desktop.core import palette
    from rfm_desktop.core.params import AnalysisParams
    from rfm_desktop.core.result import AnalysisResult, CleaningReport, ClusterProfile

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    labels[rng.random(n) < 0.0003] = k
    centre_r = np.array([15, 60, 140, 250, 330, 30])[labels % 6]
    centre_f = np.array([12, 6, 3, 2, 1, 40])[labels % 6]
    centre_m = np.array([4000, 1500, 600, 300, 150, 80000])[labels % 6]
    recency = np.clip(centre_r * rng.lognormal(0, 0.35, n), 0, 373).round()
    frequency = np.maximum(1, (centre_f * rng.lognormal(0, 0.4, n)).round())
    monetary = (centre_m * rng.lognormal(0, 0.5, n)).round(2)
    feats = np.column_stack([np.log1p(recency), np.log1p(frequency), np.log1p(monetary)])
    scaled = (feats - feats.mean(0)) / feats.std(0)
    names = {i: f"Cluster {i + 1}" for i in range(k)} | {k: "Outliers"}
    customers = pd.DataFrame(
        {
            "customer_id": pd.array([str(10_000_000 + i) for i in range(n)], dtype="string"),
            "recency": recency.astype(np.int64),
            "frequency": frequency.astype(np.int64),
            "monetary": monetary,
            "rfm_segment": pd.array(
                np.array(["Champions", "Loyal", "Lost", "At Risk"])[labels % 4], dtype="string"
            ),
            "cluster": labels.astype(np.int64),
            "cluster_name": pd.Series(labels).map(names).astype("string"),
            "x_recency": scaled[:, 0],
            "x_frequency": scaled[:, 1],
            "x_monetary": scaled[:, 2],
            "pc1": scaled @ np.array([0.6, -0.5, -0.6]),
            "pc2": scaled @ np.array([0.7, 0.6, 0.2]),
        }
    )
    clusters = tuple(
        ClusterProfile(
            id=c,
            name=names[c],
            size=int((labels == c).sum()),
            share=float((labels == c).mean()),
            recency_mean=0,
            frequency_mean=0,
            monetary_mean=0,
            recency_median=0,
            frequency_median=0,
            monetary_median=0,
            revenue_share=0,
            average_order_value=0,
            silhouette_mean=0,
            strategy="",
            color=palette.cluster_color(c, outlier=c == k),
            is_outlier_segment=c == k,
        )
        for c in range(k + 1)
    )
    return AnalysisResult(
        params=AnalysisParams(input_path=f"fabricated-{n}.csv"),
        rows_read=n,
        date_format="",
        cleaning=CleaningReport(rows_read=n, steps=()),
        customers=customers,
        k=k,
        silhouette=0.5,
        clusters=clusters,
        sweep=None,
        segments=pd.DataFrame(),
        heatmap=pd.DataFrame(),
        snapshot_date=pd.Timestamp("2011-12-10"),
    )


def measure(result, lod: bool) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from rfm_desktop.gui.views import scatter2d

    limit = scatter2d.POINT_LIMIT
    scatter2d.POINT_LIMIT = limit if lod else len(result.customers) + 1
    try:
        view = scatter2d.Scatter2DView()
        view.resize(1400, 900)
        view.show()
        QApplication.processEvents()
        viewport = view.graphics.viewport()
        started = time.perf_counter()
        view.set_result(result)
        viewport.repaint()
        first = time.perf_counter() - started
        QApplication.processEvents()

        def frame(change) -> float:
            # what the GUI thread does for one frame: the range change, whatever arrived
            # meanwhile (a density image drawn in the background), and the paint; frames
            # come at most every 16 ms, like the mouse events of a drag
            t = time.perf_counter()
            change()
            QApplication.processEvents()  # the update the change asked for: one paint
            spent = time.perf_counter() - t
            time.sleep(max(0.0, 0.016 - spent))
            return spent * 1000

        (x0, x1), _ = view.viewbox.viewRange()
        step = (x1 - x0) * 0.02
        pans = [frame(lambda: view.viewbox.translateBy(x=step)) for _ in range(40)]
        zooms = [
            frame(lambda s=s: view.viewbox.scaleBy((s, s))) for s in [0.9] * 10 + [1 / 0.9] * 10
        ]
        mode = view.level_of_detail()
        t = time.perf_counter()
        while view.is_drawing_detail() and time.perf_counter() - t < 10:
            QApplication.processEvents()
            time.sleep(0.002)
        sharp = time.perf_counter() - t
        view.close()
        view.deleteLater()
        QApplication.processEvents()
    finally:
        scatter2d.POINT_LIMIT = limit
    return {
        "first": first,
        "pan": statistics.median(pans),
        "pan_max": max(pans),
        "zoom": statistics.median(zooms),
        "zoom_max": max(zooms),
        "mode": mode,
        "sharp": sharp,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("needs a display: run under xvfb-run -a", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - keeps Qt alive
    ok = True
    for n in args.sizes:
        result = fabricate(n)
        runs: dict[bool, list[dict]] = {True: [], False: []}
        for _ in range(args.runs):
            for lod in (True, False):  # alternating, so a busy moment hits both alike
                runs[lod].append(measure(result, lod))

        def med(lod: bool, key: str, runs: dict = runs) -> float:
            return statistics.median(r[key] for r in runs[lod])

        print(
            f"\n{n:,} customers ({args.runs} runs each, medians; frame = range change + the events and paint it causes)"
        )
        print(f"{'':34}{'level of detail':>18}{'baseline':>12}{'ratio':>8}")
        for key, label, unit in (
            ("first", "first draw", "s"),
            ("pan", "pan frame, median", "ms"),
            ("pan_max", "pan frame, slowest", "ms"),
            ("zoom", "zoom frame, median", "ms"),
            ("zoom_max", "zoom frame, slowest", "ms"),
        ):
            a, b = med(True, key), med(False, key)
            print(
                f"  {label:32}{a:>15.{3 if unit == 's' else 1}f} {unit:2}{b:>9.{3 if unit == 's' else 1}f} {unit:2}"
                f"{a / b if b else float('nan'):>7.2f}x"
            )
        print(
            f"  drawn as: {runs[True][-1]['mode']} (baseline: points); after the last frame the sharp "
            f"density image came {1000 * med(True, 'sharp'):.0f} ms later (drawn in the background)"
        )
        if n >= 1_000_000:
            worst = max(med(True, "pan"), med(True, "zoom"))
            ok = ok and worst <= GOAL_MS
            print(
                f"  pan/zoom frame median {worst:.1f} ms (goal <= {GOAL_MS:.0f} ms): {'OK' if worst <= GOAL_MS else 'TOO SLOW'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
