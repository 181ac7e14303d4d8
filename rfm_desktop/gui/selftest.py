"""``rfm-desktop --selftest OUTDIR``: drive the real main window once and leave the evidence.

It opens the bundled sample through the wizard's own code path, steps through every
page, runs the analysis through the worker while the run page measures the longest
event-loop stall, shows every results view, and writes one PNG per page and view plus
``result.json`` into OUTDIR. Exit code 0 when all of that worked; otherwise 1 with the
reason on stderr. Needs nothing but the installed package (works frozen too).
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfm_desktop import __version__

if TYPE_CHECKING:
    from rfm_desktop.core.result import AnalysisResult
    from rfm_desktop.gui.views.base import ResultView

PAGE_TIMEOUT = 120.0
RUN_TIMEOUT = 300.0


class SelftestError(Exception):
    pass


class Selftest:
    def __init__(self, outdir: Path):
        self.outdir = outdir
        self.shots: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.errors_seen: list[BaseException] = []
        self.skipped: dict[str, str] = {}
        self.window: Any = None

    def shot(self, name: str, widget: Any = None) -> None:
        from rfm_desktop.gui.autopilot import settle

        widget = widget or self.window
        widget.repaint()
        settle(120)
        path = self.outdir / f"{len(self.shots):02d}-{name}.png"
        if not widget.grab().save(str(path), "PNG"):
            raise SelftestError(f"could not write {path}")
        self.shots.append(path.name)

    def run(self) -> dict[str, Any]:
        from rfm_desktop.gui import dialogs
        from rfm_desktop.gui.app import create_main_window
        from rfm_desktop.gui.autopilot import Pilot, settle
        from rfm_desktop.gui.images import can_render_gl, is_3d
        from rfm_desktop.gui.wizard.wizard import FILE

        # A dialog would block an unattended run: record what it would have said instead.
        def no_dialog(_parent: Any, exc: BaseException) -> None:
            self.errors_seen.append(exc)
            self.dialogs.append(f"{type(exc).__name__}: {exc}")

        self._real_show_error = dialogs.show_error
        dialogs.show_error = no_dialog  # type: ignore[assignment]
        started = time.perf_counter()
        window = self.window = create_main_window()
        window.resize(1440, 900)
        window.show()
        settle(300)
        self.shot("welcome")

        wizard = window.wizard
        pilot = Pilot(window, self.errors_seen, timeout=RUN_TIMEOUT)
        pilot.open()  # the bundled sample, as "Try sample data" does
        if wizard.current_index != FILE:
            raise SelftestError(
                f"after loading, the wizard shows page {wizard.current_index + 1}, not the file page"
            )
        self.shot("page-1-file")
        pilot.to_columns()
        if wizard.columns_page.problems_text():
            raise SelftestError(
                "the sample's columns were not all detected: "
                + " ".join(wizard.columns_page.problems_text())
            )
        self.shot("page-2-columns")
        pilot.to_cleaning()
        self.shot("page-3-cleaning")
        pilot.to_clustering()
        sweep = pilot.evaluate_k()
        page = wizard.clustering_page
        if len(page.streamed) != len(sweep.scores):
            raise SelftestError(
                f"the K charts received {len(page.streamed)} points for {len(sweep.scores)} K values"
            )
        self.shot("page-4-clustering")
        pilot.to_run()
        self.shot("page-5-run")
        result = pilot.run()
        stall_ms = wizard.run_page.last_stall_ms

        window.show_wizard()
        self.shot("page-5-run-done")
        window.show_results()
        views = window.results.views
        if not views:
            raise SelftestError("no result views are available")
        shown: list[str] = []
        for view in views:
            name = str(view.view_name)
            if is_3d(view) and not can_render_gl():
                self.skipped[name] = _no_gl_reason()
                continue
            window.results.show_view(view)
            settle(400 if is_3d(view) else 150)
            if not view.has_result():
                raise SelftestError(f"the {view.title} view did not receive the result")
            self.shot(f"view-{name}")
            shown.append(name)
        value = self.value_view(result, views)
        self.scoring_editor(result)
        tsne = self.tsne_view(views)
        migration = self.migration_view(result)
        variants = self.sensitivity_view(views)
        backtest = self.backtest_view()
        self.small_screen(views)

        return {
            "ok": True,
            "version": __version__,
            "customers": result.customer_count,
            "k": result.k,
            "silhouette": round(float(result.silhouette), 6),
            "max_stall_ms": round(float(stall_ms), 1) if stall_ms is not None else None,
            "max_stall_during": wizard.run_page.stall.worst_where,
            "run_seconds": round(float(result.seconds), 3),
            "views": shown,
            "tsne": tsne,
            "value": value,
            "migration": migration,
            "sensitivity": variants,
            "backtest": backtest,
            "skipped": self.skipped,
            "k_scores_streamed": [s.k for s in page.streamed],
            "suggested_k": page.sweep.suggested_k,
            "rows_read": result.rows_read,
            "rows_clean": result.cleaning.rows_clean,
            "screenshots": list(self.shots),
            "platform": _platform_name(),
            "python": platform.python_version(),
            "seconds": round(time.perf_counter() - started, 1),
        }

    def value_view(self, result: AnalysisResult, views: list[ResultView]) -> dict[str, Any]:
        """The Value tab with the run's customer lifetime value (on by default in the app), per
        named segment and per cluster."""
        from rfm_desktop.gui.autopilot import settle
        from rfm_desktop.gui.views.value import ValueView

        view = next((v for v in views if isinstance(v, ValueView)), None)
        if view is None or result.value is None:
            reasons = [w.text for w in result.warnings_for("value")] or ["no Value tab"]
            raise SelftestError(f"no customer lifetime value to show: {reasons[0]}")
        self.window.results.show_view(view)
        view.set_grouping("cluster")
        settle(150)
        if view.model.rowCount() != len(result.clusters):
            raise SelftestError(
                f"the Value tab lists {view.model.rowCount()} clusters of {len(result.clusters)}"
            )
        self.shot("view-value-clusters")
        view.set_grouping("rfm_segment")
        customers = result.customers
        return {
            "predicted_clv": round(float(customers["predicted_clv"].sum()), 2),
            "revenue_at_risk": round(float(customers["revenue_at_risk"].sum()), 2),
            "segments_listed": len(result.segments),
            "seconds": round(result.value.seconds, 3),
        }

    def scoring_editor(self, result: AnalysisResult) -> None:
        """The scores and segment rules editor on the result, with its rule-coverage map."""
        from rfm_desktop.gui.scoring_dialog import ScoringDialog

        dialog = ScoringDialog(self.window.wizard.state.scoring, result, parent=self.window)
        dialog.resize(1200, 760)
        dialog.show()
        try:
            if dialog.problem or dialog.coverage is None:
                raise SelftestError(
                    f"the scores and rules editor shows a problem: {dialog.problem}"
                )
            self.shot("dialog-scoring-rules", dialog)
        finally:
            dialog.close()

    def tsne_view(self, views: list[ResultView]) -> dict[str, Any]:
        """The 2D view's t-SNE map, computed through the worker like a click does."""
        from rfm_desktop.gui.autopilot import settle, wait_until
        from rfm_desktop.gui.views.scatter2d import Scatter2DView

        view = next((v for v in views if isinstance(v, Scatter2DView)), None)
        if view is None:
            raise SelftestError("no view offers the t-SNE map")
        self.window.results.show_view(view)
        started = time.perf_counter()
        view.set_projection("tsne")
        wait_until(lambda: not view.is_computing_tsne(), RUN_TIMEOUT, "the t-SNE map")
        tsne_map = view.tsne_map()
        if tsne_map is None or view.projection() != "tsne":
            raise SelftestError(f"the t-SNE map was not drawn: {view.sample_label.text()}")
        settle(150)
        self.shot("view-scatter-2d-tsne")
        view.set_projection("axes")
        return {
            "customers": int(len(tsne_map.rows)),
            "sampled": bool(tsne_map.sampled),
            "seconds": round(time.perf_counter() - started, 1),
        }

    def migration_view(self, result: AnalysisResult) -> dict[str, Any]:
        """File ▸ Compare with a previous analysis: the sample as of 180 days before its snapshot,
        written as a result folder on the worker, compared through the window's own path."""
        import datetime as dt

        from rfm_desktop.core import export, pipeline
        from rfm_desktop.gui import worker
        from rfm_desktop.gui.autopilot import settle, wait_until
        from rfm_desktop.gui.views.migration import MigrationView

        window = self.window
        view = window.results.view_of(MigrationView)
        if view is None:
            raise SelftestError("there is no Migration tab")
        as_of = (result.snapshot_date - dt.timedelta(days=180)).strftime("%Y-%m-%d")
        folder = Path(tempfile.mkdtemp(prefix="rfm-selftest-previous-")) / "result"
        job = worker.start_worker(
            lambda _t: export.export_all(pipeline.run(result.params.replace(as_of=as_of)), folder),
            name="selftest-previous",
        )
        wait_until(lambda: not job.is_running, RUN_TIMEOUT, "the previous analysis")
        if job.state != "finished":
            raise SelftestError(f"the as-of {as_of} analysis did not finish ({job.state})")
        window.compare_with(str(folder))
        wait_until(lambda: view.comparison is not None or bool(self.errors_seen), RUN_TIMEOUT,
                   "the comparison")  # fmt: skip
        if view.comparison is None:
            raise SelftestError(f"the comparison failed: {self.dialogs}")
        settle(150)
        self.shot("view-migration-compared")
        table = view.table()
        moved = [(s, t) for s in table.index for t in table.columns
                 if s != t and t != "(gone)" and table.at[s, t]]  # fmt: skip
        if moved:
            ids = view.choose(*moved[0])
            if sorted(window.results.selected_customer_ids()) != ids:
                raise SelftestError("a Migration cell did not select its customers")
        view.set_grouping("clusters")
        settle(150)
        self.shot("view-migration-clusters")
        shutil.rmtree(folder.parent, ignore_errors=True)
        return {
            "as_of": as_of,
            "previous_customers": len(view.comparison.previous.customers),
            "new": int(table.loc["(new)"].sum()),
            "movers": len(view.comparison.tables["movers"]),
        }

    def sensitivity_view(self, views: list[ResultView]) -> dict[str, Any]:
        """The Sensitivity tab's variants, computed through the worker as its button does."""
        from rfm_desktop.gui.autopilot import settle, wait_until
        from rfm_desktop.gui.views.sensitivity import SensitivityView

        view = next((v for v in views if isinstance(v, SensitivityView)), None)
        if view is None:
            raise SelftestError("no view offers the sensitivity variants")
        self.window.results.show_view(view)
        started = time.perf_counter()
        view.run_button.click()
        if not view.is_running():
            raise SelftestError(f"the sensitivity did not start: {view.status.text()}")
        wait_until(lambda: not view.is_running(), RUN_TIMEOUT, "the sensitivity variants")
        table = view.table_frame()
        if table is None or view.model.rowCount() != len(table):
            raise SelftestError(f"the sensitivity table was not drawn: {view.status.text()}")
        settle(150)
        self.shot("view-sensitivity-run")
        return {
            "variants": len(table) - 1,
            "seconds": round(time.perf_counter() - started, 1),
        }

    def backtest_view(self) -> dict[str, Any]:
        """The Backtest tab run through its own button (the worker) at its default date: the
        quarter before the snapshot, measured over the 90 days after it."""
        from rfm_desktop.gui.autopilot import settle, wait_until
        from rfm_desktop.gui.views.backtest import BacktestView

        view = self.window.results.view_of(BacktestView)
        if view is None:
            raise SelftestError("there is no Backtest tab")
        self.window.results.show_view(view)
        view.run_button.click()
        wait_until(lambda: not view.is_running(), RUN_TIMEOUT, "the backtest")
        if view.backtest is None:
            raise SelftestError(f"the backtest did not finish: {self.dialogs}")
        settle(150)
        self.shot("view-backtest-run")
        everyone = view.backtest.table.iloc[0]
        return {
            "as_of": view.as_of(),
            "horizon_days": view.backtest.horizon_days,
            "customers": int(everyone["customers"]),
            "bought_again_share": round(float(everyone["bought_again_share"]), 6),
        }

    def small_screen(self, views: list[ResultView]) -> None:
        """Every view again in a 1024 x 640 window (a small laptop screen)."""
        from rfm_desktop.gui.autopilot import settle
        from rfm_desktop.gui.images import can_render_gl, is_3d

        size = self.window.size()
        self.window.resize(1024, 640)
        settle(200)
        for view in views:
            if is_3d(view) and not can_render_gl():
                continue
            self.window.results.show_view(view)
            settle(400 if is_3d(view) else 150)
            self.shot(f"view-{view.view_name}-1024x640")
        self.window.resize(size)
        settle(100)

    def restore(self) -> None:
        from rfm_desktop.gui import dialogs

        real = getattr(self, "_real_show_error", None)
        if real is not None:
            dialogs.show_error = real  # type: ignore[assignment]


def _no_gl_reason() -> str:
    try:
        from rfm_desktop.gui.views.gl_probe import gl_unavailable_reason

        reason = gl_unavailable_reason()
    except ImportError:
        reason = ""
    return f"3D view skipped: {reason or 'no OpenGL on this display'}"


def _platform_name() -> str:
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.platformName()


def run_selftest(outdir: str | Path) -> int:
    out = Path(outdir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"selftest: cannot create {out}: {exc}", file=sys.stderr)
        return 1
    from rfm_desktop.gui import worker
    from rfm_desktop.gui.app import create_app
    from rfm_desktop.gui.settings import use_settings_dir

    with tempfile.TemporaryDirectory(prefix="rfm-selftest-settings-") as settings_dir:
        use_settings_dir(settings_dir)  # leave the user's recent files and window layout alone
        app = create_app()
        test = Selftest(out)
        code = 0
        try:
            summary = test.run()
        except Exception as exc:
            detail = (
                exc if isinstance(exc, SelftestError) else "".join(traceback.format_exception(exc))
            )
            print(f"selftest failed: {detail}", file=sys.stderr)
            summary = {
                "ok": False,
                "error": str(exc),
                "screenshots": test.shots,
                "dialogs": test.dialogs,
            }
            code = 1
        test.restore()
        (out / "result.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        if test.window is not None:
            test.window.close()
        worker.shutdown(5000)
        app.processEvents()
    if code == 0:
        print(
            f"selftest passed: {summary['customers']:,} customers, K={summary['k']}, "
            f"max stall {summary['max_stall_ms']} ms, {len(summary['screenshots'])} screenshots in {out}"
        )
    return code
