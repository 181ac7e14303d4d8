"""The wizard on the bundled sample: every page, Back/Next keeping state, the K sweep, run and cancel."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QDate

from rfm_desktop.core.fields import FIELDS
from rfm_desktop.core.result import KScore
from rfm_desktop.gui.autopilot import wait_until
from rfm_desktop.gui.wizard.columns_page import NOT_MAPPED
from rfm_desktop.gui.wizard.wizard import CLEANING, CLUSTERING, COLUMNS, FILE, RUN

UCI_MAPPING = {
    "customer_id": "CustomerID",
    "invoice_date": "InvoiceDate",
    "invoice_id": "InvoiceNo",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
    "stock_code": "StockCode",
    "description": "Description",
    "country": "Country",
}


def test_open_sample_shows_the_file_page_and_title(
    window: Any, pilot: Any, sample_path: Any
) -> None:
    pilot.open()
    wizard = window.wizard
    assert wizard.current_index == FILE
    assert window.windowTitle().startswith(sample_path.name)
    assert "45,000 rows" in wizard.file_page.status.text()
    assert wizard.next_button.isEnabled()
    assert not wizard.back_button.isEnabled()


def test_columns_are_detected_and_problems_block_next(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    page = window.wizard.columns_page
    shown = {
        name: combo.currentData() for name, combo in page.combos.items() if combo.currentData()
    }
    assert shown == UCI_MAPPING
    assert page.model.rowCount() == 200
    assert page.problems_text() == []
    assert window.wizard.next_button.isEnabled()

    page.set_field("customer_id", None)  # as if the analyst chose "(not in the file)"
    assert page.combos["customer_id"].currentText() == NOT_MAPPED
    assert any("Customer ID" in p for p in page.problems_text())
    assert "Customer ID" in page.problems.text()
    assert not window.wizard.next_button.isEnabled()

    page.set_field("customer_id", "Country")
    page.set_field("country", None)
    assert page.problems_text() == [] or all("Customer" in p for p in page.problems_text())
    page.set_field("customer_id", "CustomerID")
    page.set_field("country", "Country")
    assert page.problems_text() == []
    assert window.wizard.next_button.isEnabled()


def test_changing_the_mapping_rereads_the_file(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    page = window.wizard.columns_page
    first = window.wizard.state.transactions
    page.set_field("country", None)
    assert window.wizard.state.needs_reload
    pilot.next(CLEANING)
    assert window.wizard.state.transactions is not first
    assert "country" not in window.wizard.state.transactions.mapping


def test_cleaning_counts_follow_the_options(window: Any, pilot: Any, qtbot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    report = pilot.to_cleaning()
    page = window.wizard.cleaning_page
    steps = {s.step: s for s in report.steps}
    assert page.rows_read_label.text() == "45,000"
    assert (
        page.removed_labels["missing_customer"].text() == f"− {steps['missing_customer'].removed:,}"
    )
    assert page.after_labels["cancellations"].text() == f"{steps['cancellations'].after:,}"
    assert f"{report.rows_clean:,}" in page.summary.text()
    assert "would remove" in page.removed_labels["duplicates"].text()
    would = steps["duplicates"].would_remove
    assert would > 0
    assert page.outlier_info.text().startswith(
        f"{report.outliers_found:,} of {report.customers_before_outliers:,}"
    )

    page.step_boxes["duplicates"].setChecked(True)  # recount in the background, debounced
    new = pilot.wait_cleaning()
    assert {s.step: s for s in new.steps}["duplicates"].removed == would
    assert new.rows_clean == report.rows_clean - would
    assert window.wizard.state.cleaning.drop_duplicates

    page.iqr_spin.setValue(3.0)
    page.outlier_combo.setCurrentIndex(page.outlier_combo.findData("segment"))
    new = pilot.wait_cleaning()
    assert new.outlier_mode == "segment"
    assert new.outliers_found < report.outliers_found
    assert "own segment" in page.outlier_info.text()


def test_snapshot_date_defaults_to_the_day_after_the_last_purchase(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    page = window.wizard.cleaning_page
    last = window.wizard.state.last_purchase()
    assert page.snapshot_default.isChecked() and not page.snapshot_edit.isEnabled()
    assert (
        page.snapshot_edit.date().toString("yyyy-MM-dd")
        == f"{last.normalize() + __import__('pandas').Timedelta(days=1):%Y-%m-%d}"
    )
    page.snapshot_default.setChecked(False)
    page.snapshot_edit.setDate(QDate(2012, 1, 31))
    pilot.wait_cleaning()
    assert window.wizard.state.snapshot_date == "2012-01-31"
    assert window.wizard.state.params.snapshot_date == "2012-01-31"


def test_as_of_date_limits_the_rows_and_replaces_the_snapshot(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    page = window.wizard.cleaning_page
    everyone = page.customers
    page.snapshot_default.setChecked(False)
    page.snapshot_edit.setDate(QDate(2012, 1, 31))
    pilot.wait_cleaning()
    assert window.wizard.state.params.snapshot_date == "2012-01-31"
    page.as_of_box.setChecked(True)
    page.as_of_edit.setDate(QDate(2011, 6, 1))
    pilot.wait_cleaning()
    params = window.wizard.state.params
    assert (params.as_of, params.snapshot_date) == ("2011-06-01", None)
    assert not page.snapshot_default.isEnabled() and not page.snapshot_edit.isEnabled()
    assert page.as_of_edit.isEnabled()
    assert everyone is not None and page.customers is not None and page.customers < everyone
    assert "rows on or after the as-of date are left out" in page.summary.text()
    page.as_of_box.setChecked(False)
    pilot.wait_cleaning()
    assert window.wizard.state.params.as_of is None and page.snapshot_default.isEnabled()
    assert page.customers == everyone


def test_back_and_next_keep_every_choice(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    cleaning = window.wizard.cleaning_page
    cleaning.step_boxes["non_product"].setChecked(True)
    pilot.wait_cleaning()
    pilot.to_clustering()
    clustering = window.wizard.clustering_page
    clustering.transform_combo.setCurrentIndex(clustering.transform_combo.findData("none"))
    clustering.fixed_radio.setChecked(True)
    clustering.k_spin.setValue(5)
    window.wizard.back()
    window.wizard.back()
    assert window.wizard.current_index == COLUMNS
    pilot.next(CLEANING)
    assert cleaning.step_boxes["non_product"].isChecked()
    pilot.next(CLUSTERING)
    assert clustering.transform_combo.currentData() == "none"
    assert clustering.k_spin.value() == 5 and clustering.fixed_radio.isChecked()
    params = window.wizard.state.params
    assert params.cleaning.drop_non_product and params.clustering.k == 5
    assert params.clustering.transform == "none"


def test_evaluate_k_streams_each_k_into_the_charts(
    window: Any, pilot: Any, monkeypatch: Any
) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.k_min_spin.setValue(2)
    page.k_max_spin.setValue(7)
    received: list[int] = []
    original = page.charts.add_score
    monkeypatch.setattr(
        page.charts, "add_score", lambda score: (received.append(score.k), original(score))
    )
    suggested: list[tuple[int, str]] = []
    original_suggest = page.charts.set_suggested
    monkeypatch.setattr(
        page.charts,
        "set_suggested",
        lambda k, reason: (suggested.append((k, reason)), original_suggest(k, reason)),
    )
    sweep = pilot.evaluate_k()
    assert received == [2, 3, 4, 5, 6, 7]
    assert [s.k for s in sweep.scores] == received
    assert all(isinstance(s, KScore) for s in page.streamed)
    assert suggested == [(sweep.suggested_k, sweep.reason)]
    assert f"K = {sweep.suggested_k}" in page.suggestion.text()

    page.charts.kPicked.emit(6)  # the analyst clicks K=6 on a chart
    assert page.fixed_radio.isChecked() and page.k_spin.value() == 6
    assert window.wizard.state.clustering.k == 6
    assert "K = 6" in page.suggestion.text()


def test_seed_preset(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.preset_button.click()
    params = window.wizard.state.params
    assert params.preset == "seed"
    assert params.clustering.transform == "none" and params.clustering.scaler == "standard"
    assert params.clustering.k == 4 and params.cleaning.outliers == "keep"
    assert page.k_spin.value() == 4 and page.transform_combo.currentData() == "none"
    window.wizard.back()
    assert window.wizard.cleaning_page.outlier_combo.currentData() == "keep"


def test_run_shows_every_view(window: Any, pilot: Any, sample_path: Any) -> None:
    result = pilot.through(evaluate=False)
    assert result.customer_count > 1000 and result.k >= 2
    assert window.stack.currentWidget() is window.results
    views = window.results.views
    assert len(views) >= 5
    assert all(view.result is result for view in views)
    assert window.wizard.run_page.last_stall_ms is not None
    assert window.export_action.isEnabled() and window.report_action.isEnabled()
    assert f"{result.customer_count:,}" in window.results.summary.text()


def test_cancel_mid_run_leaves_a_usable_window(window: Any, pilot: Any, qtbot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    pilot.to_run()
    page = window.wizard.run_page
    steps: list[str] = []
    worker = page.start_run()
    assert worker is not None
    worker.progress.connect(lambda _f, step: steps.append(step))
    qtbot.waitUntil(lambda: bool(steps), timeout=30_000)
    assert page.progress.isVisible()
    page.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=1000)  # within a second
    assert window.result is None
    assert "cancelled" in page.message.text()
    assert page.run_button.isEnabled()
    assert window.wizard.back_button.isEnabled()
    assert worker.wait(30)
    qtbot.wait(100)
    assert window.result is None
    # still usable: run again to the end
    result = pilot.run()
    assert result is not None


def test_ctrl_r_runs_and_esc_cancels(window: Any, pilot: Any, qtbot: Any) -> None:
    pilot.open()
    assert window.run_action.shortcut().toString() == "Ctrl+R"
    window.run_action.trigger()
    assert window.wizard.current_index == RUN and window.wizard.run_page.is_running()
    window.cancel_action.trigger()
    assert not window.wizard.run_page.is_running()
    assert window.result is None


@pytest.mark.parametrize("field", [f.name for f in FIELDS if f.required])
def test_every_required_field_has_a_combo_with_a_tooltip(
    window: Any, pilot: Any, field: str
) -> None:
    pilot.open()
    pilot.to_columns()
    combo = window.wizard.columns_page.combos[field]
    assert combo.toolTip()
    assert combo.count() == 1 + len(window.wizard.state.preview.columns)


def test_pages_cannot_be_skipped_before_a_file(window: Any) -> None:
    wizard = window.wizard
    assert not wizard.go_to(CLEANING)
    assert wizard.current_index == FILE
    wait_until(lambda: True, 1, "")


def test_editing_a_page_before_visiting_it_keeps_the_other_options(window: Any, pilot: Any) -> None:
    pilot.open()
    window.wizard.clustering_page.k_max_spin.setValue(6)
    window.wizard.cleaning_page.iqr_spin.setValue(2.5)
    params = window.wizard.state.params
    defaults = type(params.clustering)()
    assert params.clustering == defaults.__class__(k_max=6, seed=defaults.seed)
    assert params.cleaning.iqr_multiplier == 2.5
    assert params.cleaning.drop_missing_customer and params.cleaning.drop_cancellations


def test_options_set_elsewhere_show_up_in_the_pages(window: Any, pilot: Any) -> None:
    from rfm_desktop.core.params import CleaningOptions, ClusteringOptions

    pilot.open()
    state = window.wizard.state
    state.apply_params(
        state.params.replace(
            cleaning=CleaningOptions(drop_duplicates=True, outliers="drop", iqr_multiplier=3.0),
            clustering=ClusteringOptions(k=7, scaler="robust", features=("recency", "monetary")),
            snapshot_date="2012-01-15",
        )
    )
    cleaning, clustering = window.wizard.cleaning_page, window.wizard.clustering_page
    assert cleaning.step_boxes["duplicates"].isChecked()
    assert cleaning.outlier_combo.currentData() == "drop" and cleaning.iqr_spin.value() == 3.0
    assert not cleaning.snapshot_default.isChecked()
    assert cleaning.snapshot_edit.date().toString("yyyy-MM-dd") == "2012-01-15"
    assert clustering.k_spin.value() == 7 and clustering.fixed_radio.isChecked()
    assert clustering.scaler_combo.currentData() == "robust"
    assert not clustering.feature_boxes["frequency"].isChecked()


def test_a_workbook_offers_its_sheets(
    window: Any, pilot: Any, errors: list, tmp_path: Any, sample_path: Any, qtbot: Any
) -> None:
    import pandas as pd

    rows = pd.read_csv(sample_path, nrows=400)
    book = tmp_path / "shop.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.DataFrame({"Note": ["exported by the shop system"]}).to_excel(
            writer, sheet_name="Read me", index=False
        )
        rows.to_excel(writer, sheet_name="Transactions", index=False)
    page = window.wizard.file_page
    pilot.open(str(book))  # the sheet with the transactions is found on its own
    state = window.wizard.state
    assert state.chosen_sheets == ("Transactions",) and state.default_sheets == ("Transactions",)
    assert state.transactions.rows_read == 400
    assert [page.sheet_list.item(i).text() for i in range(page.sheet_list.count())] == [
        "Read me",
        "Transactions",
    ]
    assert page.ticked_sheets() == ("Transactions",)
    assert page.sheet_list.isEnabled() and page.sheet_label.isVisible()
    assert state.params.sheet is None  # the default choice, as the engine makes it

    page.set_sheet_ticked("Transactions", False)  # at least one sheet stays ticked
    assert page.ticked_sheets() == ("Transactions",) and not page.has_jobs()
    page.set_sheet_ticked("Read me", True)  # as a click does: the notes sheet has no transactions
    page.set_sheet_ticked("Transactions", False)
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert "Customer ID" in errors[0].message
    qtbot.waitUntil(lambda: not page.has_jobs(), timeout=5000)
    assert window.wizard.current_index == FILE, "stays on the sheet picker"
    assert "Tick other sheets" in page.status.text()
    assert state.transactions is None and state.params.sheet == "Read me"
    assert window.wizard.next_button.isEnabled()  # on to the Columns page to map by hand


def test_scoring_options_of_a_saved_analysis_are_kept() -> None:
    from rfm_desktop.core.params import AnalysisParams, ScoringOptions
    from rfm_desktop.core.rules import RFM_03
    from rfm_desktop.gui.wizard.state import WizardState

    state = WizardState()
    scoring = ScoringOptions(bins=4, breaks=(("frequency", (1, 2, 5)),), rules=RFM_03)
    state.apply_params(AnalysisParams("shop.csv", scoring=scoring))
    assert state.params.scoring == scoring


def test_columns_preview_shows_whole_numbers_without_point_zero() -> None:
    import numpy as np
    import pandas as pd

    from rfm_desktop.gui.frame_model import FrameModel

    model = FrameModel(
        pd.DataFrame(
            {"CustomerID": [17850.0, np.nan], "Quantity": [6.0, -2.0], "UnitPrice": [2.55, 3.0]}
        )
    )
    cells = [[model.data(model.index(r, c)) for c in range(3)] for r in range(2)]
    assert cells == [["17850", "6", "2.55"], ["", "-2", "3.0"]]


def test_run_page_counts_segments_like_the_results_and_words(window: Any, pilot: Any) -> None:
    from rfm_desktop.gui.wizard.clustering_page import PRESET_TEXT
    from rfm_desktop.gui.wizard.run_page import describe

    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    cleaning = window.wizard.cleaning_page
    cleaning.outlier_combo.setCurrentIndex(cleaning.outlier_combo.findData("segment"))
    pilot.wait_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    assert "seed" not in PRESET_TEXT.lower() and page.preset_button.text() == PRESET_TEXT
    page.fixed_radio.setChecked(True)
    page.k_spin.setValue(3)
    params = window.wizard.state.params
    assert params.clustering.sweep is False, "a fixed K does not sweep unless asked"
    summary = describe(params)
    assert "fixed K = 3" in summary and "best K" not in summary and "Outliers segment" in summary
    pilot.to_run()
    result = pilot.run()
    assert result.sweep is None and result.k == 3
    assert len(result.clusters) == 4 and result.segments_text == "4 segments (K = 3 + Outliers)"
    assert "4 segments (K = 3 + Outliers)" in window.wizard.run_page.message.text()
    assert "4 segments (K = 3 + Outliers)" in window.results.summary.text()
    # asked for: the fixed K with the range scored
    window.results.back_button.click()
    window.wizard.go_to(CLUSTERING)
    page.sweep_box.setChecked(True)
    page.k_min_spin.setValue(2)
    page.k_max_spin.setValue(4)
    assert window.wizard.state.params.clustering.sweep is True
    assert "also scored" in describe(window.wizard.state.params)


def test_after_change_settings_the_charts_keep_the_sweep_and_results_are_one_click_away(
    window: Any, pilot: Any
) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.k_min_spin.setValue(2)
    page.k_max_spin.setValue(4)
    pilot.to_run()
    result = pilot.run()  # the range sweeps in the run itself (no "Evaluate K" before)
    window.results.back_button.click()
    window.wizard.go_to(CLUSTERING)
    assert [s.k for s in page.charts.scores()] == [2, 3, 4]
    assert page.charts.scores() == list(result.sweep.scores)
    assert page.charts.suggested() == result.sweep.suggested_k
    assert window.wizard.results_button.isVisible()
    window.wizard.results_button.click()
    assert window.stack.currentWidget() is window.results
    assert window.result is result, "no new run"


def test_run_reuses_the_sweep_of_evaluate_k_for_the_same_inputs(
    window: Any, pilot: Any, monkeypatch: Any
) -> None:
    from rfm_desktop.core import pipeline

    calls: list[tuple[int, int]] = []
    original = pipeline.evaluate_k

    def counting(prepared: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((params.clustering.k_min, params.clustering.k_max))
        return original(prepared, params, *args, **kwargs)

    monkeypatch.setattr(pipeline, "evaluate_k", counting)
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.k_min_spin.setValue(2)
    page.k_max_spin.setValue(4)
    sweep = pilot.evaluate_k()
    assert calls == [(2, 4)]
    page.pick_k(3)  # a fixed K picked on the charts, the range scored for them
    page.sweep_box.setChecked(True)
    pilot.to_run()
    result = pilot.run()
    assert calls == [(2, 4)], "Run swept again although Evaluate K had the same inputs"
    assert result.sweep is sweep and result.k == 3
    # other inputs (another seed): the sweep is not reused
    window.results.back_button.click()
    window.wizard.go_to(CLUSTERING)
    page.seed_spin.setValue(7)
    result = pilot.run()
    assert calls == [(2, 4), (2, 4)] and result.sweep is not sweep


def test_the_cleaning_preview_cleans_once_per_change(
    window: Any, pilot: Any, monkeypatch: Any
) -> None:
    from rfm_desktop.core import cleaning

    calls: list[bool] = []
    original = cleaning.clean

    def counting(frame: Any, options: Any, **kwargs: Any) -> Any:
        calls.append(options.drop_duplicates)
        return original(frame, options, **kwargs)

    monkeypatch.setattr(cleaning, "clean", counting)
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    calls.clear()
    page = window.wizard.cleaning_page
    page.step_boxes["duplicates"].setChecked(True)
    report = pilot.wait_cleaning()
    assert calls == [True], "one cleaning for the counts and the customers"
    assert {s.step: s for s in report.steps}["non_product"].would_remove is not None


def test_the_cleaning_preview_tests_each_row_once_per_file(
    window: Any, pilot: Any, monkeypatch: Any
) -> None:
    import dataclasses

    from rfm_desktop.core import cleaning

    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.wait_cleaning()
    calls: list[str] = []
    steps = tuple(
        dataclasses.replace(
            s, rows_to_drop=lambda f, o, s=s: calls.append(s.name) or s.rows_to_drop(f, o)
        )
        for s in cleaning.STEPS
    )
    monkeypatch.setattr(cleaning, "STEPS", steps)
    page = window.wizard.cleaning_page
    page.step_boxes["duplicates"].setChecked(True)
    pilot.wait_cleaning()
    page.step_boxes["cancellations"].setChecked(False)
    report = pilot.wait_cleaning()
    assert calls == [], "a tick recombines the kept step masks, it does not test the rows again"
    state = window.wizard.state
    _, fresh = cleaning.clean(state.transactions.frame, state.cleaning)
    assert report.steps == fresh.steps and report.steps[-1].after < report.rows_read
    assert {s.step: s for s in report.steps}["cancellations"].would_remove > 0
