"""The one helper that runs long work off the GUI thread (like napari's thread_worker).

A job is any callable taking a :class:`Task` and returning a value::

    worker = start_worker(lambda task: pipeline.run(params, task.progress, task.cancelled),
                          on_finished=show_result, on_errored=show_error)

The job runs on a pool thread. Everything it reports (started, progress, partial,
finished, errored) is relayed to the GUI thread through queued connections, so every
public signal of :class:`Worker` is emitted in the GUI thread whatever the receiver.
``cancel()`` sets a ``threading.Event`` whose ``is_set`` is the job's ``cancelled``
callback; the GUI hears ``aborted`` at once and whatever the job still reports is
dropped. A job started for an ``owner`` (a wizard page) is cancelled when the owner is
destroyed, and then signals nothing at all: its receivers are gone with the owner.
The app's one Cancel (Esc, Analysis > Cancel) stops every job the analyst waits for
(:func:`cancel_jobs`); a ``background`` job (the preload, a chart's off-screen drawing) is
the app's own business and is not stopped by it.
Library warnings raised by a job are caught on its thread, never printed (the pipeline
turns those that matter into the result's warnings). Nothing else in the application
creates threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot

from rfm_desktop.core import libwarnings
from rfm_desktop.core.errors import Cancelled

#: minimum seconds between two progress signals for the same step (keeps the event queue short)
PROGRESS_INTERVAL = 0.04

_POOL: QThreadPool | None = None
#: every worker whose thread has not ended yet: keeps them alive until their job returns
_ALIVE: set[Worker] = set()


def thread_pool() -> QThreadPool:
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(4)
        _POOL.setObjectName("rfm-desktop-workers")
    return _POOL


class Task:
    """What a job receives: report progress and partial results, ask whether to stop."""

    def __init__(self, relay: _Relay, event: threading.Event):
        self._relay = relay
        self._event = event
        self._last_step = ""
        self._last_time = 0.0

    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def progress(self, fraction: float, step: str) -> None:
        now = time.monotonic()
        if step == self._last_step and now - self._last_time < PROGRESS_INTERVAL and fraction < 1.0:
            return
        self._last_step, self._last_time = step, now
        self._relay.progress.emit(float(fraction), str(step))

    def partial(self, value: object) -> None:
        if not self._event.is_set():
            self._relay.partial.emit(value)


class _Relay(QObject):
    """Lives in the GUI thread; emitted from the pool thread, so its connections are queued."""

    started = Signal()
    progress = Signal(float, str)
    partial = Signal(object)
    finished = Signal(object)
    errored = Signal(object)
    ended = Signal()


class Worker(QObject):
    """One background job and its signals (all emitted in the GUI thread)."""

    started = Signal()
    progress = Signal(float, str)
    partial = Signal(object)
    finished = Signal(object)  # the job's return value
    errored = Signal(object)  # the exception (with its __traceback__)
    aborted = Signal()  # cancelled by the user (or the job raised Cancelled)
    done = Signal()  # always last, after finished / errored / aborted

    def __init__(
        self,
        fn: Callable[[Task], Any],
        name: str = "job",
        parent: QObject | None = None,
        owner: QObject | None = None,
        background: bool = False,
    ):
        super().__init__(parent)
        self.name = name
        #: the app's own work (not stopped by the app's Cancel, see cancel_jobs)
        self.background = background
        self._fn = fn
        self._event = threading.Event()
        self._relay = _Relay()
        self._state = "new"  # new, running, finished, errored, aborted, dropped (owner destroyed)
        self._thread_ended = threading.Event()
        queued = Qt.ConnectionType.QueuedConnection
        self._relay.started.connect(self._on_started, queued)
        self._relay.progress.connect(self._on_progress, queued)
        self._relay.partial.connect(self._on_partial, queued)
        self._relay.finished.connect(self._on_finished, queued)
        self._relay.errored.connect(self._on_errored, queued)
        self._relay.ended.connect(self._on_thread_ended, queued)
        if owner is not None:
            owner.destroyed.connect(self._owner_destroyed)

    # -- control -------------------------------------------------------------------------
    def start(self) -> Worker:
        if self._state != "new":
            raise RuntimeError("a worker runs once")
        self._state = "running"
        _ALIVE.add(self)
        thread_pool().start(self._run)
        return self

    def cancel(self) -> None:
        """Ask the job to stop; the GUI hears ``aborted`` now, the job stops at its next check."""
        self._event.set()
        if self._state == "running":
            self._state = "aborted"
            self.aborted.emit()
            self.done.emit()

    @Slot()
    def _owner_destroyed(self) -> None:
        """Stop the job and drop whatever it still reports, without a signal to the dead owner's slots."""
        self._event.set()
        if self._state == "running":
            self._state = "dropped"

    @property
    def is_running(self) -> bool:
        return self._state == "running"

    @property
    def state(self) -> str:
        return self._state

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's thread has returned (for shutdown and tests)."""
        return self._thread_ended.wait(timeout)

    # -- pool thread ---------------------------------------------------------------------
    def _run(self) -> None:
        relay = self._relay
        try:
            relay.started.emit()
            with libwarnings.captured():
                result = self._fn(Task(relay, self._event))
        except BaseException as exc:
            relay.errored.emit(exc)
        else:
            relay.finished.emit(result)
        finally:
            self._thread_ended.set()
            relay.ended.emit()

    # -- GUI thread ----------------------------------------------------------------------
    @Slot()
    def _on_started(self) -> None:
        if self._state == "running":
            self.started.emit()

    @Slot(float, str)
    def _on_progress(self, fraction: float, step: str) -> None:
        if self._state == "running":
            self.progress.emit(fraction, step)

    @Slot(object)
    def _on_partial(self, value: object) -> None:
        if self._state == "running":
            self.partial.emit(value)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        if self._state != "running":
            return
        if self._event.is_set():
            self._state = "aborted"
            self.aborted.emit()
        else:
            self._state = "finished"
            self.finished.emit(result)
        self.done.emit()

    @Slot(object)
    def _on_errored(self, exc: BaseException) -> None:
        if self._state != "running":
            return
        if isinstance(exc, Cancelled) or self._event.is_set():
            self._state = "aborted"
            self.aborted.emit()
        else:
            self._state = "errored"
            self.errored.emit(exc)
        self.done.emit()

    @Slot()
    def _on_thread_ended(self) -> None:
        _ALIVE.discard(self)


def start_worker(
    fn: Callable[[Task], Any],
    *,
    name: str = "job",
    on_started: Callable[[], None] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    on_partial: Callable[[object], None] | None = None,
    on_finished: Callable[[Any], None] | None = None,
    on_errored: Callable[[BaseException], None] | None = None,
    on_aborted: Callable[[], None] | None = None,
    on_done: Callable[[], None] | None = None,
    owner: QObject | None = None,
    background: bool = False,
) -> Worker:
    """Create a worker, connect the given callbacks and start it (see Worker for ``owner`` and
    ``background``)."""
    worker = Worker(fn, name, owner=owner, background=background)
    for signal, slot in (
        (worker.started, on_started),
        (worker.progress, on_progress),
        (worker.partial, on_partial),
        (worker.finished, on_finished),
        (worker.errored, on_errored),
        (worker.aborted, on_aborted),
        (worker.done, on_done),
    ):
        if slot is not None:
            signal.connect(slot)
    return worker.start()


def active_workers() -> list[Worker]:
    return list(_ALIVE)


def cancel_jobs() -> list[str]:
    """Cancel every running job that is not ``background`` (the app's Cancel action: whatever
    the analyst started, wherever its own Cancel button is). Returns the names of those cancelled.
    """
    cancelled = []
    for worker in list(_ALIVE):
        if worker.is_running and not worker.background:
            worker.cancel()
            cancelled.append(worker.name)
    return cancelled


def shutdown(timeout_ms: int = 3000) -> bool:
    """Cancel every job and wait for their threads (call before the application quits)."""
    for worker in list(_ALIVE):
        worker.cancel()
    return thread_pool().waitForDone(timeout_ms)
