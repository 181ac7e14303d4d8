"""File names made from segment names: valid on Windows, macOS and Linux, and never the same.

Rules (Microsoft's "Naming Files, Paths, and Namespaces"; Apple's HFS+/APFS notes):
characters ``< > : " / \\ | ? *`` and control characters are replaced by ``_``; device names
(CON, PRN, AUX, NUL, COM0-9, LPT0-9, also before a dot as in ``CON.txt``) get a ``_``;
leading and trailing dots and spaces are dropped (Windows drops trailing ones silently, a
leading dot hides the file); a name is cut to :data:`MAX_STEM_BYTES` bytes of UTF-8. Two
names that one of these file systems would treat as the same (case, Unicode normalisation)
are told apart by `` (2)``, `` (3)``… in the order given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_DEVICE = re.compile(r"(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|(COM|LPT)[0-9¹²³])", re.IGNORECASE)
#: Room for the extension and a `` (99)`` within the 255-byte limit of one path component, and
#: short enough to keep whole paths under Windows' 260 characters in ordinary folders.
MAX_STEM_BYTES = 120


def safe_file_name(name: str, default: str = "segment") -> str:
    """``name`` as a valid file name stem (no extension added); ``default`` when nothing is left."""
    cleaned = _ILLEGAL.sub("_", unicodedata.normalize("NFC", str(name))).strip(" .")
    cleaned = cleaned.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .")
    if not cleaned:
        return default
    base, dot, rest = cleaned.partition(".")
    if _DEVICE.fullmatch(base.rstrip(" ")):  # Windows looks only at the part before the first dot
        cleaned = f"{base.rstrip(' ')}_{dot}{rest}"
    return cleaned


def unique_file_names(names: Iterable[str], suffix: str = "") -> list[str]:
    """One safe, distinct file name per name, in the same order.

    Parameters
    ----------
    names
        Segment names as the analyst sees them.
    suffix
        Extension to add, with its dot (``".csv"``).

    Returns
    -------
    list of str
        File names, distinct even where the disk ignores case or Unicode normalisation:
        ``["A/B", "A:B", "VIP", "vip", "CON"]`` gives ``A_B``, ``A_B (2)``, ``VIP``, ``vip (2)``,
        ``CON_`` (each plus ``suffix``).
    """
    used: set[str] = set()
    out: list[str] = []
    for name in names:
        stem = safe_file_name(name)
        candidate, n = stem + suffix, 1
        while _fold(candidate) in used:
            n += 1
            candidate = f"{stem} ({n}){suffix}"
        used.add(_fold(candidate))
        out.append(candidate)
    return out


def _fold(name: str) -> str:
    """The form under which case-insensitive, normalisation-insensitive disks compare names."""
    return unicodedata.normalize("NFD", name).casefold()
