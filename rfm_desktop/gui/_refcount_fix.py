"""Keep PySide6 from freeing ``None`` / ``True`` / ``False`` on Python 3.11.

The PySide6 6.12 wheels (stable ABI) return ``None`` from every void method and ``True``
from ``Signal.emit`` without taking a new reference. On Python >= 3.12 those objects are
immortal, so nothing happens; on 3.11 each call lowers their reference count by one, and
after some ten thousand calls Python aborts with "Fatal Python error: none_dealloc"
(measured: ``QLabel.setText`` x100 -> refcount(None) -100; ``emit`` x100 -> refcount(True) -100).

The fix does what Python 3.12 does: give the three singletons a reference count so high it
can never reach zero. It runs once, when ``rfm_desktop.gui`` is imported, before any Qt call.
"""

from __future__ import annotations

import ctypes
import sys

#: 2**40 lost references: a billion Qt calls a second for 18 minutes; in practice never.
_EXTRA = 1 << 40
_done = False


def apply() -> bool:
    """Raise the singletons' reference counts; True when it was needed and done."""
    global _done
    if _done:
        return False
    _done = True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # immortal objects already
    if hasattr(sys, "gettotalrefcount"):
        return False  # a debug build has another object layout; leave it alone
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA
    return True
