"""Measure how long the GUI event loop stalls: a fast timer records the longest gap between ticks."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer


class StallMeter(QObject):
    """Start it before a run and stop it after; ``max_gap_ms`` is the longest tick-to-tick gap."""

    def __init__(
        self,
        interval_ms: int = 10,
        parent: QObject | None = None,
        *,
        where: Callable[[], str] | None = None,
    ):
        super().__init__(parent)
        self._where = where  # what the app was doing, noted with the longest gap
        self.worst_where = ""
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.max_gap_ms = 0.0
        self.ticks = 0

    def start(self) -> None:
        self.max_gap_ms = 0.0
        self.worst_where = ""
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> float:
        if self._timer.isActive():
            self._tick()
            self._timer.stop()
        return self.max_gap_ms

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0
        self._last = now
        self.ticks += 1
        if gap > self.max_gap_ms:
            self.max_gap_ms = gap
            if self._where is not None:
                self.worst_where = self._where()
