"""File ▸ Save analysis / Open analysis and ``segment --params``: the one saved-analysis format.

A saved analysis and the ``run.json`` of every export are the same thing, a run record
(:func:`rfm_desktop.core.export.run_record`, format version 2, ``RECORD_VERSION`` there): the AnalysisParams plus what is
known about the run. Files of format version 1 (``{"format", "version": 1, "params"}``, written
by File ▸ Save analysis before the two were one) and the run.json of older exports (no
``format`` key) are still read: only their params are used, as from a version 2 record.

A saved analysis is input like any other: it is checked against the params' own types and limits
before anything uses it, and the data file it names is only a suggestion (the GUI shows it and
reads it after the analyst confirms; nothing here touches that path).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from rfm_desktop.core.errors import InputFileError, ParamsError

if (
    TYPE_CHECKING
):  # the params and the writer bring pandas: the start page checks paths without them
    from rfm_desktop.core.params import AnalysisParams
    from rfm_desktop.core.result import AnalysisResult

SUFFIX = ".rfm.json"
#: A saved analysis is a few kB; anything far larger is not one (and is not read into memory).
MAX_BYTES = 1 << 20
_HINT = "Open a file saved with File ▸ Save analysis (or a run.json written by an export)."
#: \\host\share, //host/share, \\?\UNC\host\share, \\.\device and file://host/share
_NETWORK = re.compile(r"^(?:[\\/]{2}(?![?.][\\/][a-z]:)|file:[\\/]{2}(?![\\/]))", re.IGNORECASE)


def save_analysis(
    params: AnalysisParams, path: str | Path, result: AnalysisResult | None = None
) -> Path:
    """Write ``params`` as a run record (the format of every export's ``run.json``).

    Parameters
    ----------
    params
        The settings to save.
    path
        The file to write (``.rfm.json`` by convention); written whole or not at all.
    result
        The result of these settings, when there is one: its input hash, counts and warnings go
        into the record too.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        ``path`` is the analysed input file or cannot be written.
    """
    from rfm_desktop.core import export

    data = export.run_record(params, result)
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    return export.atomic_write_bytes(path, text.encode("utf-8"), input_path=params.input_path)


def load_analysis(path: str | Path) -> AnalysisParams:
    """The params of a saved analysis or of the ``run.json`` of an export (any format version).

    Only ``path`` itself is read; the data file it names is not touched.

    Parameters
    ----------
    path
        The ``.rfm.json`` (or ``run.json``) file.

    Raises
    ------
    InputFileError
        The file cannot be read.
    ParamsError
        It is not a saved analysis, or a value in it has the wrong type or is out of range
        (the same limits as the wizard and the CLI: those of :mod:`rfm_desktop.core.params`).
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputFileError(
            f"Cannot read the analysis file '{path.name}': {exc.strerror or exc}."
        ) from exc
    if len(raw) > MAX_BYTES:
        raise ParamsError(
            f"'{path.name}' is not a saved analysis: it is larger than {MAX_BYTES // 1024} kB.",
            hint=_HINT,
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParamsError(
            f"'{path.name}' is not a saved analysis (it is not valid JSON).", hint=_HINT
        ) from exc
    from rfm_desktop.core.export import RECORD_FORMAT as FORMAT
    from rfm_desktop.core.export import RECORD_VERSION as VERSION

    if not isinstance(data, dict) or data.get("format", FORMAT) != FORMAT:
        raise ParamsError(f"'{path.name}' is not a saved analysis.", hint=_HINT)
    version = data.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        raise ParamsError(
            f"'{path.name}' was saved by a newer RFM Desktop (format version {version!r}).",
            hint="Update RFM Desktop to open it.",
        )
    params = data.get("params", data)
    if not isinstance(params, dict) or "input_path" not in params:
        raise ParamsError(f"'{path.name}' does not say which data file it analysed.", hint=_HINT)
    from rfm_desktop.core.params import AnalysisParams

    try:
        return AnalysisParams.from_dict(params)
    except ParamsError as exc:
        raise ParamsError(
            f"'{path.name}' is not a valid analysis: {exc.message}", hint=_HINT
        ) from exc


def is_network_path(path: str) -> bool:
    """True for a UNC or network path (``\\\\host\\share``, ``//host/share``, ``file://host/…``).

    Decided from the text alone, so asking never contacts the host (``Path.exists`` on such a
    path does, on Windows). ``\\\\?\\C:\\…`` (a long local path) is not a network path.
    """
    return bool(_NETWORK.match(path.strip()))
