"""The file types a transactions file may have: one table that the reader, the GUI's file
dialog, the CLI's help and the README's list follow (tests/core/test_vocabularies.py checks
them). Kept free of heavy imports so the window's start page can use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileKind = Literal["excel", "text", "parquet"]


@dataclass(frozen=True)
class FileType:
    """One kind of file the reader takes.

    ``kind`` picks the reader in :mod:`rfm_desktop.core.io`; ``title`` names the group in the
    file dialog; ``noun`` is the file in a sentence ("it is damaged or not a workbook").
    """

    kind: FileKind
    title: str
    noun: str
    extensions: tuple[str, ...]


#: Every type read, in the order the file dialog and the messages list them. Text files may be
#: gzip-compressed (``.csv.gz``): pyarrow decompresses them while reading.
FILE_TYPES: tuple[FileType, ...] = (
    FileType(
        "excel",
        "Excel and OpenDocument workbooks",
        "workbook",
        (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"),
    ),
    FileType(
        "text",
        "CSV and text files",
        "text (CSV) file",
        (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz"),
    ),
    FileType("parquet", "Parquet files", "Parquet file", (".parquet",)),
)
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(e for t in FILE_TYPES for e in t.extensions)
FILE_TYPES_BY_KIND: dict[str, FileType] = {t.kind: t for t in FILE_TYPES}


def kind_of(name: str) -> FileKind | None:
    """The kind of a file from its name (case does not matter), or None when it is not read."""
    lower = name.lower()
    for file_type in FILE_TYPES:
        if lower.endswith(file_type.extensions):
            return file_type.kind
    return None


def dialog_filter() -> str:
    """The Qt file-dialog filter: every type read, then one entry per kind, then all files."""

    def patterns(extensions: tuple[str, ...]) -> str:
        return " ".join(f"*{e}" for e in extensions)

    groups = [f"Transaction exports ({patterns(SUPPORTED_EXTENSIONS)})"]
    groups += [f"{t.title} ({patterns(t.extensions)})" for t in FILE_TYPES]
    return ";;".join([*groups, "All files (*)"])


def extensions_text() -> str:
    """The extensions read, for help texts: ``.xlsx .xlsm … .csv .tsv .txt (also .gz) .parquet``."""
    words = []
    for file_type in FILE_TYPES:
        plain = [e for e in file_type.extensions if not e.endswith(".gz")]
        zipped = len(plain) < len(file_type.extensions)
        words.append(" ".join(plain) + (" (also .gz)" if zipped else ""))
    return " ".join(words)
