"""The worker helper: signals arrive in the GUI thread, in order; cancel is cooperative and immediate."""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

import pytest

from rfm_desktop.core.errors import Cancelled, DataError
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.stall import StallMeter
from rfm_desktop.gui.worker import Task, Worker, active_workers, start_worker


def _record(log: list[tuple[Any, ...]], name: str):
    def slot(*args: Any) -> None:
        log.append((name, args, threading.current_thread() is threading.main_thread()))

    return slot


def test_signals_are_delivered_in_the_gui_thread_in_order(qtbot: Any) -> None:
    log: list[tuple[Any, ...]] = []
    job_thread: list[bool] = []

    def job(task: Task) -> int:
        job_thread.append(threading.current_thread() is threading.main_thread())
        for i in range(3):
            task.progress(i / 3, f"step {i}")
            task.partial(i)
            time.sleep(0.06)  # longer than the progress throttle
        return 42

    worker = Worker(job, "test")
    for name in ("started", "progress", "partial", "finished", "errored", "aborted", "done"):
        getattr(worker, name).connect(_record(log, name))
    with qtbot.waitSignal(worker.done, timeout=10_000):
        worker.start()
    assert job_thread == [False], "the job must not run in the GUI thread"
    assert all(in_gui for _name, _args, in_gui in log), log
    names = [name for name, _args, _gui in log]
    assert names[0] == "started" and names[-2:] == ["finished", "done"]
    assert [args[0] for name, args, _ in log if name == "partial"] == [0, 1, 2]
    assert [args[1] for name, args, _ in log if name == "progress"] == [
        "step 0",
        "step 1",
        "step 2",
    ]
    assert ("finished", (42,), True) in log
    assert worker.state == "finished"


def test_progress_is_throttled(qtbot: Any) -> None:
    got: list[float] = []

    def job(task: Task) -> None:
        for i in range(5000):
            task.progress(i / 5000, "same step")

    worker = start_worker(job, on_progress=lambda f, _s: got.append(f))
    qtbot.waitUntil(lambda: worker.state == "finished", timeout=10_000)
    qtbot.wait(50)
    assert 1 <= len(got) < 100  # 5,000 reports do not flood the event queue


def test_an_exception_arrives_with_its_traceback(qtbot: Any) -> None:
    caught: list[BaseException] = []

    def job(_task: Task) -> None:
        raise ZeroDivisionError("boom")

    worker = start_worker(job, on_errored=caught.append)
    qtbot.waitUntil(lambda: bool(caught), timeout=10_000)
    assert isinstance(caught[0], ZeroDivisionError)
    message, hint, details = dialogs.error_texts(caught[0])
    assert "ZeroDivisionError" in message and "boom" in message
    assert "Traceback" in details and "in job" in details
    assert hint
    assert worker.state == "errored"


def test_an_rfm_error_has_message_and_hint_and_no_traceback() -> None:
    message, hint, details = dialogs.error_texts(
        DataError("No rows left.", hint="Switch a step off.")
    )
    assert (message, hint, details) == ("No rows left.", "Switch a step off.", "")


def test_cancel_is_immediate_and_drops_the_result(qtbot: Any) -> None:
    release = threading.Event()
    seen: list[str] = []

    def job(task: Task) -> str:
        task.partial("before")
        release.wait(5)
        task.partial("after cancel")  # dropped
        if task.cancelled():
            raise Cancelled("stopped")
        return "result"

    worker = start_worker(
        job,
        on_partial=lambda v: seen.append(f"partial:{v}"),
        on_finished=lambda v: seen.append(f"finished:{v}"),
        on_aborted=lambda: seen.append("aborted"),
        on_done=lambda: seen.append("done"),
    )
    qtbot.waitUntil(lambda: "partial:before" in seen, timeout=5000)
    started = time.perf_counter()
    worker.cancel()
    assert time.perf_counter() - started < 0.1
    assert seen[-2:] == ["aborted", "done"], "the GUI hears about the cancel at once"
    assert not worker.is_running
    release.set()
    assert worker.wait(5)
    qtbot.wait(100)
    assert seen == ["partial:before", "aborted", "done"]


def test_a_job_that_ignores_cancel_still_delivers_no_result(qtbot: Any) -> None:
    seen: list[str] = []

    def job(_task: Task) -> str:
        time.sleep(0.2)
        return "late"

    worker = start_worker(job, on_finished=seen.append, on_aborted=lambda: seen.append("aborted"))
    worker.cancel()
    worker.wait(5)
    qtbot.wait(100)
    assert seen == ["aborted"]


def test_workers_are_kept_alive_without_a_reference(qtbot: Any) -> None:
    results: list[int] = []
    start_worker(lambda _t: (time.sleep(0.1), 7)[1], on_finished=results.append)
    gc.collect()
    qtbot.waitUntil(lambda: results == [7], timeout=5000)
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)


def test_a_worker_runs_once() -> None:
    worker = Worker(lambda _t: None)
    worker.start()
    with pytest.raises(RuntimeError):
        worker.start()
    worker.wait(5)


def test_the_stall_meter_sees_a_blocked_event_loop(qtbot: Any) -> None:
    meter = StallMeter(interval_ms=10)
    meter.start()
    qtbot.wait(50)
    time.sleep(0.25)  # the GUI thread is busy: no ticks
    qtbot.wait(30)
    worst = meter.stop()
    assert 240 <= worst < 1000
    assert meter.ticks > 3


def test_qt_calls_do_not_wear_down_none_and_true() -> None:
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None per void call and to True per
    emit, until Python aborted (hence the pin in pyproject.toml); immortal on 3.12+."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1_000):
        label.setText("x")
        label.windowTitleChanged.emit("t")
    assert sys.getrefcount(None) >= none_before - 10
    assert sys.getrefcount(True) >= true_before - 10


def test_the_busy_bar_never_shows_100_percent_while_the_job_runs(qtbot: Any) -> None:
    from rfm_desktop.gui.busy import BusyBar

    gate = threading.Event()

    def job(task: Task) -> int:
        task.progress(0.5, "Evaluating K=9")
        task.progress(1.0, "Evaluating K=10")  # a last step reported as done, still working
        gate.wait(10)
        return 1

    bar = BusyBar()
    qtbot.addWidget(bar)
    worker = Worker(job, "test")
    bar.track(worker, "Starting…")
    worker.start()
    qtbot.waitUntil(lambda: bar.step.text() == "Evaluating K=10", timeout=10_000)
    assert bar.bar.value() == 990 and bar.bar.text() == "99%"
    gate.set()
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=10_000)
