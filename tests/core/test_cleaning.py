from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_desktop.core import cleaning
from rfm_desktop.core.errors import DataError
from rfm_desktop.core.params import CleaningOptions


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array(["1", None, "2", "3", "3", "4", "5"], dtype="string"),
            "invoice_id": pd.array(["10", "11", "C12", "13", "13", "14", "15"], dtype="string"),
            "invoice_date": pd.to_datetime(
                [
                    "2011-01-01",
                    "2011-01-02",
                    "2011-01-03",
                    "2011-01-04",
                    "2011-01-04",
                    None,
                    "2011-01-06",
                ]
            ),
            "quantity": [1.0, 2.0, -1.0, 3.0, 3.0, 1.0, 0.0],
            "unit_price": [1.0, 1.0, 1.0, 2.0, 2.0, 1.0, 5.0],
            "amount": [1.0, 2.0, -1.0, 6.0, 6.0, 1.0, 0.0],
            "stock_code": pd.array(["A", "B", "C", "POST", "POST", "D", "E"], dtype="string"),
        }
    )


def test_each_step_reports_before_removed_after():
    clean, report = cleaning.clean(
        _frame(), CleaningOptions(drop_non_product=True, drop_duplicates=True)
    )
    steps = {s.step: s for s in report.steps}
    assert steps["invalid"].removed == 1  # NaT date
    assert steps["missing_customer"].removed == 1
    assert steps["cancellations"].removed == 1
    assert steps["nonpositive"].removed == 1  # quantity 0 (the cancellation is already gone)
    assert steps["non_product"].removed == 2  # POST x2
    assert steps["duplicates"].removed == 0
    assert report.rows_read == 7 and report.rows_clean == len(clean) == 1
    for step in report.steps:
        assert step.after == step.before - step.removed


def test_disabled_steps_remove_nothing_but_say_what_they_would():
    _, report = cleaning.clean(_frame(), CleaningOptions(drop_cancellations=False))
    steps = {s.step: s for s in report.steps}
    assert not steps["cancellations"].enabled
    assert steps["cancellations"].removed == 0
    assert steps["cancellations"].would_remove == 1
    assert steps["duplicates"].would_remove == 1 and steps["duplicates"].removed == 0


def test_nothing_left_is_a_data_error_naming_the_step():
    frame = _frame()
    frame["customer_id"] = pd.array([None] * len(frame), dtype="string")
    with pytest.raises(DataError, match="Rows without customer id"):
        cleaning.clean(frame, CleaningOptions())


def test_iqr_outliers_flags_extremes_only():
    customers = pd.DataFrame(
        {
            "recency": [1.0] * 9 + [1.0],
            "frequency": [2.0] * 9 + [2.0],
            "monetary": [10, 11, 12, 13, 14, 15, 16, 17, 18, 1000.0],
        }
    )
    mask = cleaning.iqr_outliers(customers, ("monetary",), 1.5)
    assert mask.tolist() == [False] * 9 + [True]
    assert not cleaning.iqr_outliers(customers, ("monetary",), 1000).any()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["1", "2", "3"])),
            st.sampled_from(["100", "C101", "102"]),
            st.integers(min_value=-3, max_value=3),
            st.floats(min_value=-1, max_value=5, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
    st.booleans(),
)
def test_cleaning_invariants(rows, drop_cancel, drop_dupes):
    customer, invoice, qty, price = zip(*rows, strict=True)
    frame = pd.DataFrame(
        {
            "customer_id": pd.array(customer, dtype="string"),
            "invoice_id": pd.array(invoice, dtype="string"),
            "invoice_date": pd.Timestamp("2011-01-01"),
            "quantity": np.asarray(qty, dtype=float),
            "unit_price": np.asarray(price, dtype=float),
        }
    )
    frame["amount"] = frame["quantity"] * frame["unit_price"]
    options = CleaningOptions(drop_cancellations=drop_cancel, drop_duplicates=drop_dupes)
    try:
        clean, report = cleaning.clean(frame, options)
    except DataError:
        return
    assert report.rows_clean == len(clean) <= len(frame)
    assert sum(s.removed for s in report.steps) == len(frame) - len(clean)
    assert clean["customer_id"].notna().all()
    assert (clean["quantity"] > 0).all() and (clean["unit_price"] > 0).all()
    if drop_cancel:  # 'C' + digits on a negative quantity; a positive 'C101' line is a sale
        assert not (clean["invoice_id"].str.startswith("C") & (clean["quantity"] < 0)).any()
    if drop_dupes:
        assert not clean.duplicated().any()
