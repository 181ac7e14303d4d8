"""File ▸ Save analysis / Open analysis and ``segment --params``: the AnalysisParams as a small JSON file.

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

FORMAT = "rfm-desktop-analysis"
VERSION = 1
SUFFIX = ".rfm.json"
#: A saved analysis is a few kB; anything far larger is not one (and is not read into memory).
MAX_BYTES = 1 << 20
_HINT = "Open a file saved with File ▸ Save analysis (or a run.json written by an export)."
#: \\host\share, //host/share, \\?\UNC\host\share, \\.\device and file://host/share
_NETWORK = re.compile(r"^(?:[\\/]{2}(?![?.][\\/][a-z]:)|file:[\\/]{2}(?![\\/]))", re.IGNORECASE)


def save_analysis(params: AnalysisParams, path: str | Path) -> Path:
    """Write ``params`` as a saved analysis (.rfm.json), as a unit of one.

    Parameters
    ----------
    params
        The run to save; ``params.input_path`` is recorded, not copied.
    path
        The file to write.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ExportError
        ``path`` is the input file, or the write fails (see :func:`export.atomic_write_bytes`).
    """
    from rfm_desktop.core import export

    data = {"format": FORMAT, "version": VERSION, "params": params.to_dict()}
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    return export.atomic_write_bytes(path, text.encode("utf-8"), input_path=params.input_path)


def load_analysis(path: str | Path) -> AnalysisParams:
    """The params of a saved analysis (also accepts the run.json written by a CLI export).

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
