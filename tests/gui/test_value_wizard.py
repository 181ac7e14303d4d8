"""The run page's customer value switch: on by default, its options edit ``params.clv`` through the
wizard state and follow it; a run computes CLV, and a model that cannot be fitted leaves the
results with the reason in the Value tab and a warning."""

from __future__ import annotations

from typing import Any

import made_transactions
import pandas as pd
import pytest
from PySide6.QtCore import QDate

from rfm_desktop.core.errors import ModelError
from rfm_desktop.core.params import ValueOptions
from rfm_desktop.gui.wizard.run_page import describe
from rfm_desktop.gui.wizard.value_box import SWITCH_TEXT


def _views(window: Any) -> dict[str, Any]:
    return {view.view_name: view for view in window.results.views}


def test_the_switch_is_on_by_default_and_edits_params_clv(window: Any, pilot: Any) -> None:
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    pilot.to_run()
    page, state = window.wizard.run_page, window.wizard.state
    box = page.value_box
    assert box.switch.text() == SWITCH_TEXT and box.switch.isChecked()
    assert state.params.clv == ValueOptions(enabled=True)
    assert box.horizon_spin.value() == 365 and box.rate_spin.value() == pytest.approx(1.0)
    assert not box.calibration_box.isChecked() and not box.calibration_edit.isEnabled()
    assert "over 365 days, discount 1 % a month" in page.summary.text()

    box.horizon_spin.setValue(180)
    box.rate_spin.setValue(2.5)
    box.calibration_box.setChecked(True)
    # offered two thirds of the way through the sample's dates
    frame = state.transactions.frame
    first, last = frame["invoice_date"].min(), frame["invoice_date"].max()
    offered = (first + (last - first) * 2 / 3).date().isoformat()
    assert state.params.clv == ValueOptions(True, 180, 0.025, offered)
    assert box.calibration_edit.isEnabled()
    box.calibration_edit.setDate(QDate(2011, 9, 1))
    assert state.params.clv.calibration_end == "2011-09-01"
    assert "checked against the purchases from 2011-09-01 on" in page.summary.text()
    assert box.calibration_edit.minimumDate() == QDate(first.year, first.month, first.day)

    box.switch.setChecked(False)
    assert state.params.clv.enabled is False and not box.options.isEnabled()
    assert "<b>Customer value</b></td><td>&nbsp;&nbsp;not computed" in describe(state.params)
    # a change of the state from elsewhere (a saved analysis) shows in the widgets
    state.update(clv=ValueOptions(enabled=True, horizon_days=90, discount_rate=0.005))
    assert box.switch.isChecked() and box.horizon_spin.value() == 90
    assert box.rate_spin.value() == pytest.approx(0.5) and not box.calibration_box.isChecked()


def test_a_run_with_the_defaults_fills_the_value_tab(window: Any, pilot: Any) -> None:
    result = pilot.through(evaluate=False)
    assert result.value is not None and result.params.clv == ValueOptions(enabled=True)
    value = _views(window)["value"]
    shown = [value.model.row_object(i) for i in range(value.model.rowCount())]
    assert [r["segment"] for r in shown] == result.segments.sort_values(
        "revenue_at_risk", ascending=False
    )["segment"].tolist()
    total = result.customers["predicted_clv"].sum()
    assert f"predicted CLV {total:,.0f}" in value.note.text()


def _no_repeat_buyers(path: Any) -> Any:
    """40 customers who each bought on one day only (one to three invoices that day)."""
    rows = [
        (
            f"C{i}",
            f"I{i}-{j}",
            f"2011-{1 + i % 12:02d}-{1 + i % 27:02d} {9 + j}:00",
            3.0 * i + j + 1,
        )
        for i in range(40)
        for j in range(1 + i % 3)
    ]
    return made_transactions.write_rows(path / "once.csv", rows)


def test_a_model_that_cannot_be_fitted_leaves_the_results_and_says_why(
    window: Any, pilot: Any, tmp_path: Any, errors: list[BaseException]
) -> None:
    result = pilot.through(str(_no_repeat_buyers(tmp_path)), evaluate=False)
    assert errors == [] and result.value is None and result.customer_count == 40
    (warning,) = result.warnings_for("value")
    assert "bought again" in warning.text and ModelError.hint in warning.text
    value = _views(window)["value"]
    assert value.note.text() == f"⚠ {warning.text}"
    assert not value.table.isVisibleTo(value)
    assert "warning" in window.results.summary.text()
    assert isinstance(result.customers, pd.DataFrame) and "p_alive" not in result.customers
