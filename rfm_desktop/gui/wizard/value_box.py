"""The run page's customer value options: ``params.clv`` (core.params.ValueOptions) shown and
edited through the wizard state's bindings: the switch, the horizon, the monthly discount rate
and an optional calibration end (its date limited to the loaded data)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.params import HORIZON_MAX_DAYS, ValueOptions
from rfm_desktop.gui.binding import KEEP, bind
from rfm_desktop.gui.texts import tip
from rfm_desktop.gui.wizard.state import WizardState

SWITCH_TEXT = "Predicted value and churn risk (BG/NBD + Gamma-Gamma)"
#: a percentage in the spin box, a fraction in the params: rounded so 1 % is exactly 0.01
_PERCENT_DECIMALS = 2


def describe_value(options: ValueOptions) -> str:
    """The customer value choice in words (the run page's summary)."""
    if not options.enabled:
        return "not computed"
    text = (
        f"BG/NBD + Gamma-Gamma over {options.horizon_days} days, "
        f"discount {100 * options.discount_rate:g} % a month"
    )
    if options.calibration_end:
        text += f", checked against the purchases from {options.calibration_end} on"
    return text


class ValueOptionsBox(QGroupBox):
    """A check box for customer lifetime value and, while it is ticked, its three options."""

    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__("Customer value", parent)
        self.state = state
        self.switch = QCheckBox(SWITCH_TEXT)
        self.switch.setToolTip(tip("clv"))
        self.horizon_spin = QSpinBox()
        self.horizon_spin.setRange(1, HORIZON_MAX_DAYS)
        self.horizon_spin.setSuffix(" days")
        self.horizon_spin.setToolTip(tip("clv_horizon"))
        self.rate_spin = QDoubleSpinBox()
        self.rate_spin.setDecimals(_PERCENT_DECIMALS)
        self.rate_spin.setRange(0.0, 99.0)
        self.rate_spin.setSingleStep(0.25)
        self.rate_spin.setSuffix(" % a month")
        self.rate_spin.setToolTip(tip("clv_discount"))
        self.calibration_box = QCheckBox("Check the model: fit before")
        self.calibration_box.setToolTip(tip("clv_calibration"))
        self.calibration_edit = QDateEdit()
        self.calibration_edit.setCalendarPopup(True)
        self.calibration_edit.setDisplayFormat("yyyy-MM-dd")
        self.calibration_edit.setToolTip(tip("clv_calibration"))
        calibration_row = QHBoxLayout()
        calibration_row.addWidget(self.calibration_box)
        calibration_row.addWidget(self.calibration_edit)
        calibration_row.addWidget(QLabel("and compare with the purchases after"))
        calibration_row.addStretch(1)
        self.options = QWidget()
        form = QFormLayout(self.options)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Horizon:", self.horizon_spin)
        form.addRow("Discount rate:", self.rate_spin)
        form.addRow("Validation:", calibration_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.switch)
        layout.addWidget(self.options)
        self._bind()
        state.transactionsChanged.connect(self._follow_transactions)
        state.paramsChanged.connect(lambda *_args: self._update_enabled())
        self._follow_transactions()
        self._update_enabled()

    def _bind(self) -> None:
        state = self.state
        bind(self.switch, state, "clv.enabled")
        bind(self.horizon_spin, state, "clv.horizon_days")
        bind(
            self.rate_spin,
            state,
            "clv.discount_rate",
            to_widget=lambda rate: round(100 * rate, _PERCENT_DECIMALS),
            from_widget=lambda percent: round(percent / 100, _PERCENT_DECIMALS + 2),
        )
        # the calibration end needs two widgets: ticked = the date shown, else None
        bind(
            self.calibration_box,
            state,
            "clv.calibration_end",
            to_widget=lambda day: day is not None,
            from_widget=lambda on: self._shown_day() if on else None,
        )
        bind(
            self.calibration_edit,
            state,
            "clv.calibration_end",
            to_widget=lambda day: KEEP if day is None else QDate.fromString(day, "yyyy-MM-dd"),
            from_widget=lambda _day: (
                self._shown_day() if self.calibration_box.isChecked() else None
            ),
        )

    def _shown_day(self) -> str:
        return self.calibration_edit.date().toString("yyyy-MM-dd")

    def _update_enabled(self) -> None:
        on = self.state.current.clv.enabled
        self.options.setEnabled(on)
        self.calibration_edit.setEnabled(on and self.calibration_box.isChecked())

    def _follow_transactions(self, *_args: Any) -> None:
        """Dates inside the loaded data; two thirds of the way through offered when none is set."""
        frame = None if self.state.transactions is None else self.state.transactions.frame
        if frame is None or frame["invoice_date"].isna().all():
            return
        first, last = frame["invoice_date"].min(), frame["invoice_date"].max()
        with self.state.sync():
            self.calibration_edit.setDateRange(_qdate(first), _qdate(last))
            if self.state.current.clv.calibration_end is None:
                self.calibration_edit.setDate(_qdate(first + (last - first) * 2 / 3))


def _qdate(day: pd.Timestamp) -> QDate:
    return QDate(day.year, day.month, day.day)
