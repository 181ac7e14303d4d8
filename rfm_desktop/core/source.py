"""The input file's bytes, read once: what is parsed, hashed and recorded is the same.

The whole file is read into memory in one pass and its sha256 taken from those bytes, so
``run.json`` records the hash of exactly what was analysed, and the read cache is keyed on it
(see :mod:`rfm_desktop.core.cache`). sha256 rather than blake2b: with the SHA extensions of
current x86 and ARM CPUs it is the faster of the two (about 0.9 GB/s against 0.45 GB/s on the
development machine), and the run record needs it anyway, so the file is hashed once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from rfm_desktop.core.errors import InputFileError


@dataclass(frozen=True, eq=False)
class InputBytes:
    """A file's content as read, with its sha256 (hex) and size in bytes."""

    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        """The input's size in bytes."""
        return len(self.data)


def read_input(path: Path) -> InputBytes:
    """Read ``path`` whole and hash what was read.

    Parameters
    ----------
    path
        The input file.

    Returns
    -------
    InputBytes
        The bytes and their sha256.

    Raises
    ------
    InputFileError
        The file cannot be read, or it changed while it was read: its size, modification time
        or identity (a replaced file) differ before and after, or fewer bytes came than it had
        when opened (truncated while read). Analysing such a file would give numbers for a
        file that never existed.
    """
    try:
        with open(path, "rb") as handle:
            before = os.fstat(handle.fileno())
            data = handle.read()
        after = os.stat(path)
    except OSError as exc:
        raise InputFileError(
            f"'{path.name}' cannot be read: {exc.strerror or 'input/output error'}."
        ) from exc
    changed = (
        len(data) != before.st_size
        or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
        or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino)
    )
    if changed:
        raise InputFileError(
            f"'{path.name}' changed while it was being read ({before.st_size:,} bytes when opened, "
            f"{len(data):,} read, {after.st_size:,} now).",
            hint="Wait until the program writing the file has finished (or copy it first), then run again.",
        )
    return InputBytes(data, hashlib.sha256(data).hexdigest())
