"""Drive the real main window the way an analyst would, waiting for the background jobs.

Used by ``--selftest``, the GUI tests and the stall benchmark, so all of them go through
the same code paths as clicks do (``open_path``, Next, Evaluate K, Run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer

from rfm_desktop.gui.wizard.wizard import CLEANING, CLUSTERING, COLUMNS, RUN


class PilotError(Exception):
    pass


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the event loop until ``condition()`` holds (checked every 20 ms)."""
    if condition():
        return
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    timer = QTimer()
    timer.setInterval(20)

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise PilotError(f"timed out after {timeout:.0f} s waiting for {what}")


def settle(ms: int = 150) -> None:
    """Let layouts, paints and queued signals happen for ``ms`` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class Pilot:
    """Steps through the wizard of ``window``; ``errors`` collects what error dialogs would show."""

    def __init__(self, window: Any, errors: list[BaseException], timeout: float = 120.0):
        self.window = window
        self.wizard = window.wizard
        self.errors = errors
        self.timeout = timeout

    def _check(self, during: str) -> None:
        if self.errors:
            raise PilotError(f"an error dialog appeared while {during}: {self.errors[-1]}")

    def open(self, path: str | None = None) -> None:
        """Open ``path`` (the bundled sample when None) and wait until all rows are read."""
        state = self.wizard.state
        if path is None:
            self.window.open_sample()
        else:
            self.window.open_path(str(path), remember=False)
        wait_until(
            lambda: (
                (state.transactions is not None and not self.wizard.file_page.has_jobs())
                or bool(self.errors)
            ),
            self.timeout,
            "the file to load",
        )
        self._check("reading the file")

    def next(self, expected: int) -> None:
        self.wizard.next()
        wait_until(
            lambda: self.wizard.current_index == expected or bool(self.errors),
            self.timeout,
            f"wizard page {expected + 1}",
        )
        self._check(f"going to page {expected + 1}")

    def to_columns(self) -> None:
        self.next(COLUMNS)

    def to_cleaning(self) -> Any:
        """Go to the cleaning page and wait for its counts; returns the CleaningReport."""
        self.next(CLEANING)
        return self.wait_cleaning()

    def wait_cleaning(self) -> Any:
        page = self.wizard.cleaning_page
        wait_until(
            lambda: (
                (page.report is not None and not page.has_jobs() and not page._timer.isActive())
                or bool(self.errors)
            ),
            self.timeout,
            "the cleaning counts",
        )
        self._check("counting the cleaning steps")
        return page.report

    def to_clustering(self) -> None:
        self.next(CLUSTERING)

    def evaluate_k(self) -> Any:
        page = self.wizard.clustering_page
        page.evaluate()
        wait_until(
            lambda: (page.sweep is not None and not page.has_jobs()) or bool(self.errors),
            self.timeout,
            "the K evaluation",
        )
        self._check("evaluating K")
        return page.sweep

    def to_run(self) -> None:
        self.next(RUN)

    def run(self) -> Any:
        """Run with the current settings and wait for the result (shown on the results)."""
        previous = self.window.result  # the result shown before: a new one is awaited
        if not self.wizard.run():
            raise PilotError("the run did not start")
        wait_until(
            lambda: not self.wizard.run_page.is_running() or bool(self.errors),
            self.timeout,
            "the analysis",
        )
        self._check("running the analysis")
        wait_until(lambda: self.window.result not in (None, previous), 5, "the result to be shown")
        return self.window.result

    def through(self, path: str | None = None, *, evaluate: bool = True) -> Any:
        """The whole wizard with the detected settings: open, Next ×4 (Evaluate K), Run."""
        self.open(path)
        self.to_columns()
        self.to_cleaning()
        self.to_clustering()
        if evaluate:
            self.evaluate_k()
        self.to_run()
        return self.run()
