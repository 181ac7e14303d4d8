"""The cleaning preview's kept step masks give exactly the counts of cleaning every row afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_desktop.core import cleaning
from rfm_desktop.core.errors import DataError
from rfm_desktop.core.params import CleaningOptions

SWITCHES = tuple(s.option for s in cleaning.STEPS if s.option not in (None, "currency"))

_row = st.tuples(
    st.sampled_from([None, "1", "2", "guest", "0", " N/A "]),  # customer
    st.sampled_from(["100", "C101", "C102", "103", "CA-2016-1"]),  # invoice
    st.sampled_from(["2011-01-01", "2011-01-02", None]),  # date
    st.sampled_from([1.0, 2.0, -1.0, 0.0, np.nan]),  # quantity
    st.sampled_from([1.5, 0.0, 2.0]),  # unit price
    st.sampled_from(["A", "POST", "B", None]),  # stock code
    st.sampled_from([None, "paid", "Refunded", "processing"]),  # status
    st.sampled_from([None, "EUR", "usd ", "GBP"]),  # currency
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    customer, invoice, date, quantity, price, code, status, currency = zip(*rows, strict=True)
    quantity_a, price_a = np.array(quantity), np.array(price)
    return pd.DataFrame(
        {
            "customer_id": pd.array(customer, dtype="string"),
            "invoice_id": pd.array(invoice, dtype="string"),
            "invoice_date": pd.to_datetime(list(date)),
            "quantity": quantity_a,
            "unit_price": price_a,
            "amount": quantity_a * price_a,
            "stock_code": pd.array(code, dtype="string"),
            "status": pd.array(status, dtype="string"),
            "currency": pd.array(currency, dtype="string"),
        }
    )


_options = st.builds(
    lambda flags, currency: CleaningOptions(
        **dict(zip(SWITCHES, flags, strict=True)), currency=currency
    ),
    st.tuples(*[st.booleans() for _ in SWITCHES]),
    st.sampled_from([None, "EUR", "USD", "GBP"]),
)


def _reference(frame: pd.DataFrame, options: CleaningOptions) -> list[tuple[int, int, int]]:
    """(removed, would remove, after) per step, every test run on the rows as they are: each
    step's test on the whole frame, the duplicates among the rows the earlier steps kept."""
    keep = np.ones(len(frame), dtype=bool)
    counts = []
    for step in cleaning.STEPS:
        enabled = step.option is None or bool(getattr(options, step.option))
        if step.name == "duplicates":
            drop = np.zeros(len(frame), dtype=bool)
            drop[np.flatnonzero(keep)] = frame.loc[keep].duplicated().to_numpy()
        else:
            drop = step.rows_to_drop(frame, options)
        hit = keep & drop
        if enabled:
            keep &= ~hit
        counts.append((int(hit.sum()) if enabled else 0, int(hit.sum()), int(keep.sum())))
    return counts


def _outcome(frame: pd.DataFrame, options: CleaningOptions, masks=None) -> object:
    try:
        clean, report = cleaning.clean(frame, options, masks=masks)
    except DataError as exc:
        return str(exc)
    return clean, report


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, min_size=1, max_size=40), st.lists(_options, min_size=1, max_size=6))
def test_kept_masks_give_the_counts_of_a_fresh_clean_for_any_toggles(rows, changes):
    frame = _frame(rows)
    masks = cleaning.StepMasks(frame)
    for options in changes:  # one loaded file, the analyst ticking steps and currencies
        fresh = _outcome(frame, options)
        reused = _outcome(frame, options, masks)
        if isinstance(fresh, str):
            assert reused == fresh
            continue
        (clean, report), (clean_again, report_again) = fresh, reused
        assert report_again == report  # counts, examples and warnings alike
        pd.testing.assert_frame_equal(clean_again, clean)
        got = [(s.removed, s.would_remove, s.after) for s in report.steps]
        assert got == _reference(frame, options)


@settings(max_examples=60, deadline=None)
@given(st.lists(_row, min_size=0, max_size=60), st.lists(st.booleans(), min_size=60, max_size=60))
def test_duplicates_among_kept_rows_match_pandas(rows, kept):
    frame = _frame(rows) if rows else _frame([("1", "1", None, 1.0, 1.0, None, None, None)])[:0]
    keep = np.array(kept[: len(frame)], dtype=bool)
    step = next(s for s in cleaning.STEPS if s.name == "duplicates")
    got = cleaning.StepMasks(frame).rows_to_drop(step, CleaningOptions(), keep)
    expected = np.zeros(len(frame), dtype=bool)
    expected[np.flatnonzero(keep)] = frame.loc[keep].duplicated().to_numpy()
    assert got.tolist() == expected.tolist()


def test_each_test_runs_once_per_file_and_currency(monkeypatch: pytest.MonkeyPatch):
    frame = _frame(
        [("1", "100", "2011-01-01", 1.0, 1.0, "A", "paid", "EUR")] * 3
        + [("guest", "C101", "2011-01-02", -1.0, 2.0, "POST", None, "GBP")]
    )
    calls: list[str] = []
    steps = tuple(
        dataclasses.replace(
            s, rows_to_drop=lambda f, o, s=s: calls.append(s.name) or s.rows_to_drop(f, o)
        )
        for s in cleaning.STEPS
    )
    monkeypatch.setattr(cleaning, "STEPS", steps)
    masks = cleaning.StepMasks(frame)
    first = cleaning.clean(frame, CleaningOptions(), masks=masks)[1]
    assert sorted(calls) == sorted(s.name for s in steps if s.name != "duplicates")
    calls.clear()
    cleaning.clean(
        frame, CleaningOptions(drop_duplicates=True, drop_cancellations=False), masks=masks
    )
    assert calls == []  # a toggle: mask arithmetic only
    euro = cleaning.clean(frame, CleaningOptions(currency="EUR"), masks=masks)[1]
    assert calls == ["other_currency"]  # a new currency: that step's test alone
    removed = {s.step: s.removed for s in euro.steps}
    assert removed["other_currency"] == 0  # the GBP row went with the placeholder id
    assert removed["placeholder_ids"] == 1 and first.rows_clean == 3
    dupes = {s.step: s for s in first.steps}["duplicates"]
    assert dupes.would_remove == 2 and dupes.removed == 0 and not dupes.enabled
