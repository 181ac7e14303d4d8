"""File ▸ Save analysis / Open analysis: the AnalysisParams as a small JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from rfm_desktop.core import export
from rfm_desktop.core.errors import InputFileError, ParamsError
from rfm_desktop.core.params import AnalysisParams

FORMAT = "rfm-desktop-analysis"
VERSION = 1
SUFFIX = ".rfm.json"


def save_analysis(params: AnalysisParams, path: str | Path) -> Path:
    data = {"format": FORMAT, "version": VERSION, "params": params.to_dict()}
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    return export.atomic_write_bytes(path, text.encode("utf-8"), input_path=params.input_path)


def load_analysis(path: str | Path) -> AnalysisParams:
    """The params of a saved analysis (also accepts the run.json written by a CLI export)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"Cannot read the analysis file '{path.name}': {exc.strerror or exc}.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParamsError(
            f"'{path.name}' is not a saved analysis (it is not valid JSON).",
            hint="Open a file saved with File ▸ Save analysis.",
        ) from exc
    if not isinstance(data, dict):
        raise ParamsError(f"'{path.name}' is not a saved analysis.", hint="Open a file saved with File ▸ Save analysis.")
    params = data.get("params", data)
    if not isinstance(params, dict) or "input_path" not in params:
        raise ParamsError(
            f"'{path.name}' does not say which data file it analysed.",
            hint="Open a file saved with File ▸ Save analysis.",
        )
    return AnalysisParams.from_dict(params)
