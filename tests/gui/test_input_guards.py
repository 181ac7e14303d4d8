"""Issue 9 in the window: saved analyses are checked and confirmed, a bomb is a dialog, jobs die with their page."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent

from rfm_desktop.core import pipeline
from rfm_desktop.core.errors import InputFileError, ParamsError
from rfm_desktop.core.params import IQR_MAX, IQR_MIN, K_LIMIT, SEED_MAX
from rfm_desktop.gui import dialogs, worker
from rfm_desktop.gui.wizard.cleaning_page import DEBOUNCE_MS
from rfm_desktop.gui.wizard.wizard import CLUSTERING


def _analysis(tmp_path: Path, **params: Any) -> Path:
    path = tmp_path / "saved.rfm.json"
    path.write_text(json.dumps({"format": "rfm-desktop-analysis", "version": 1, "params": params}))
    return path


def test_a_bomb_workbook_is_an_error_dialog_and_the_window_stays(
    window: Any, errors: list, bomb_xlsx: Path, qtbot: Any, pilot: Any
) -> None:
    window.open_path(str(bomb_xlsx))
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert isinstance(errors[0], InputFileError)
    assert "above the limit of 200 MB" in errors[0].message
    qtbot.waitUntil(lambda: not window.wizard.is_busy(), timeout=5000)
    assert window.stack.currentWidget() is window.welcome
    errors.clear()
    pilot.open()  # still usable
    assert window.wizard.state.transactions is not None


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (
            {"input_path": "shop.csv", "clustering": {"k_max": 100_000}},
            "The K range 2:100000 is not valid",
        ),
        (
            {"input_path": "shop.csv", "clustering": {"k": "four"}},
            "The setting 'clustering.k' must be a whole number",
        ),
        ({"input_path": 42}, "The setting 'input_path' must be text, not the number 42"),
    ],
)
def test_a_bad_saved_analysis_says_it_is_not_valid(
    window: Any, errors: list, tmp_path: Path, confirmations: list, params: dict, says: str
) -> None:
    window.open_analysis(str(_analysis(tmp_path, **params)))
    assert len(errors) == 1 and isinstance(errors[0], ParamsError)
    assert errors[0].message.startswith(f"'saved.rfm.json' is not a valid analysis: {says}")
    assert dialogs.error_texts(errors[0])[2] == ""  # no "unexpected problem" details
    assert confirmations == []  # nothing to confirm: its data file is not even considered
    assert window.stack.currentWidget() is window.welcome


@pytest.mark.parametrize("answer", [None, "choose"])
def test_a_network_data_path_is_shown_and_not_touched(
    window: Any,
    errors: list,
    tmp_path: Path,
    qtbot: Any,
    confirmations: Any,
    monkeypatch: Any,
    sample_path: Path,
    answer: str | None,
) -> None:
    unc = r"\\fileserver\share\shop.csv"
    saved = _analysis(tmp_path, input_path=unc, clustering={"k": 2, "sweep": False})
    touched: list[str] = []
    real_stat = os.stat
    monkeypatch.setattr(
        os, "stat", lambda p, *a, **k: (touched.append(str(p)), real_stat(p, *a, **k))[1]
    )
    confirmations.answer = answer
    monkeypatch.setattr(dialogs, "ask_open_file", lambda *_a: str(sample_path))
    window.open_analysis(str(saved))
    assert confirmations == [("saved.rfm.json", unc, True)]
    if answer == "choose":
        qtbot.waitUntil(lambda: window.result is not None, timeout=60_000)
        assert window.result.params.input_path == str(sample_path) and window.result.k == 2
    else:
        assert window.wizard.state.path is None and window.stack.currentWidget() is window.welcome
    assert not [p for p in touched if "fileserver" in p]
    assert errors == []


def test_the_spin_boxes_share_the_params_limits(window: Any, pilot: Any) -> None:
    page = window.wizard.clustering_page
    assert [s.maximum() for s in (page.k_spin, page.k_min_spin, page.k_max_spin)] == [K_LIMIT] * 3
    assert (page.seed_spin.minimum(), page.seed_spin.maximum()) == (0, SEED_MAX)
    cleaning = window.wizard.cleaning_page
    assert (cleaning.iqr_spin.minimum(), cleaning.iqr_spin.maximum()) == (IQR_MIN, IQR_MAX)
    pilot.open()
    state = window.wizard.state
    state.apply_params(state.params.replace(clustering=state.clustering.__class__(seed=SEED_MAX)))
    page.transform_combo.setCurrentIndex(
        page.transform_combo.findData("none")
    )  # an edit on the page
    assert state.params.clustering.seed == SEED_MAX and state.clustering.transform == "none"
    last = state.last_purchase()
    assert (
        cleaning.snapshot_edit.maximumDate().year() == last.year + pipeline.SNAPSHOT_MAX_YEARS_AFTER
    )


def test_a_cut_k_range_is_said_on_the_clustering_page(
    window: Any, pilot: Any, tmp_path: Path
) -> None:
    data = tmp_path / "twokinds.csv"
    data.write_text(
        "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        + "".join(
            f"{536365 + i},1,2010-12-0{1 + i % 2} 08:26:00,2.55,{17850 + i}\n" for i in range(40)
        )
    )
    pilot.open(str(data))
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    sweep = pilot.evaluate_k()
    assert [s.k for s in sweep.scores] == [2]
    assert "The K range 2:10 was cut to 2:2" in window.wizard.clustering_page.suggestion.text()


def test_a_pending_recount_does_not_start_after_the_window_closed(
    window: Any, pilot: Any, qtbot: Any
) -> None:
    """The race of test_options_set_elsewhere_show_up_in_the_pages: a debounced recount fired after close."""
    pilot.open()
    page = window.wizard.cleaning_page
    page.iqr_spin.setValue(2.5)  # starts the debounce timer
    assert page._timer.isActive()
    window.close()
    assert not page._timer.isActive()
    qtbot.wait(DEBOUNCE_MS * 3)
    assert not page.has_jobs() and not [w for w in worker.active_workers() if w.name == "cleaning"]


@pytest.mark.parametrize("job", ["cleaning", "evaluate-k"])
def test_a_job_whose_page_is_destroyed_calls_nothing(
    qtbot: Any, errors: list, monkeypatch: Any, job: str
) -> None:
    from rfm_desktop.gui.autopilot import Pilot
    from rfm_desktop.gui.main_window import MainWindow

    window = MainWindow()  # not given to qtbot: this test deletes it
    window.show()
    pilot = Pilot(window, errors, timeout=120)
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.next(CLUSTERING)
    entered, release = threading.Event(), threading.Event()
    real_prepare = pipeline.prepare

    def blocked_prepare(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(60)
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(pipeline, "prepare", blocked_prepare)
    calls: list[str] = []
    if job == "cleaning":
        page = window.wizard.cleaning_page
        for name in ("_show_steps", "_show", "_show_error"):
            monkeypatch.setattr(page, name, lambda *_a, n=name: calls.append(n))
        page.recompute()
    else:
        page = window.wizard.clustering_page
        for name in ("_sweep_done", "_score_arrived"):
            monkeypatch.setattr(page, name, lambda *_a, n=name: calls.append(n))
        page.evaluate()
    running = [w for w in worker.active_workers() if w.name == job]
    assert len(running) == 1 and entered.wait(30)
    window.deleteLater()  # the page goes without a close event
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(page)
    assert running[0].state == "dropped"
    release.set()
    assert running[0].wait(60)
    qtbot.wait(200)  # the job's queued results arrive, and are dropped
    assert calls == [] and errors == []
