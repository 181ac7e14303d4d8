"""Warnings of the libraries (sklearn, numpy, pandas) caught on the running thread, never printed raw.

``with captured() as caught:`` collects what ``warnings.warn`` reports on this thread while the
block runs; other threads (the GUI's workers run at the same time) keep their own. It does not use
``warnings.catch_warnings``, which swaps process-wide state and is unsafe with threads: one hook
routes each warning to the sink of the thread that raised it, or on to the previous hook.
:func:`for_analyst` turns those that matter into one sentence for the analyst.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()
_lock = threading.Lock()
_previous: Any = None


def _hook(
    message: Any,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    sink = getattr(_local, "sink", None)
    if sink is None:
        _previous(message, category, filename, lineno, file, line)
    else:
        sink.append(warnings.WarningMessage(message, category, filename, lineno, file, line))


def _install() -> None:
    """Put the hook in front (again, after a ``catch_warnings`` block elsewhere restored another)."""
    global _previous
    with _lock:
        if warnings.showwarning is not _hook:
            _previous = warnings.showwarning
            warnings.showwarning = _hook


@contextmanager
def captured() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings raised on this thread inside the block (nested blocks each get theirs)."""
    _install()
    outer = getattr(_local, "sink", None)
    sink: list[warnings.WarningMessage] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = outer


def hand_on(caught: list[warnings.WarningMessage]) -> None:
    """Report warnings caught on another thread (a worker's :func:`captured`) on this one: into
    this thread's sink when it has one, else on to the previous hook."""
    _install()
    for w in caught:
        _hook(w.message, w.category, w.filename, w.lineno, w.file, w.line)


def for_analyst(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    """At most one sentence about library warnings that can change the numbers.

    Numerical warnings (sklearn's ConvergenceWarning, numpy's overflow and invalid-value
    RuntimeWarnings) matter: the segments may rest on a fit that did not settle. Deprecation,
    future and other notices of the libraries concern the program, not the analysis, and are
    dropped.
    """
    from sklearn.exceptions import ConvergenceWarning

    numeric = [w for w in caught if issubclass(w.category, ConvergenceWarning | RuntimeWarning)]
    if not numeric:
        return ()
    first = " ".join(str(numeric[0].message).split())
    more = f" and {len(numeric) - 1} more" if len(numeric) > 1 else ""
    return (
        f"The clustering met a numerical problem, so the segments may be less reliable: '{first}'{more}. "
        "Check the amounts for extreme values, or choose a smaller K.",
    )
