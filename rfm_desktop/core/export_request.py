"""What an export asks for (the GUI's export dialog fills it), and doing it with the engine's writers.

Qt-free: the GUI runs :func:`run_export` on its worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rfm_desktop.core import export
from rfm_desktop.core.result import AnalysisResult

Kind = Literal["all", "segments", "selection", "rfm_segments", "sensitivity"]


@dataclass(frozen=True)
class ExportRequest:
    kind: Kind
    fmt: Literal["csv", "xlsx"]
    target: str  # a file for "all", "selection" and "sensitivity", a folder for the others
    cluster_ids: tuple[int, ...] = ()
    segments: tuple[str, ...] = ()  # named RFM segments, for "rfm_segments"
    customer_ids: tuple[str, ...] = field(default=(), repr=False)

    def target_file(self) -> Path:
        """``target`` with the format's extension (``.csv`` or ``.xlsx``), added or replaced."""
        path = Path(self.target)
        return path if path.suffix.lower() == f".{self.fmt}" else path.with_suffix(f".{self.fmt}")


def run_export(result: AnalysisResult, request: ExportRequest) -> list[Path]:
    """Write what the dialog asked for; every kind goes through the engine's unit writer."""
    if request.kind == "segments":
        return export.export_segments(
            result, Path(request.target), cluster_ids=list(request.cluster_ids), fmt=request.fmt
        )
    if request.kind == "rfm_segments":
        return export.export_rfm_segments(
            result, Path(request.target), segments=list(request.segments), fmt=request.fmt
        )
    if request.kind == "sensitivity":  # the table of core.sensitivity, CSV only
        return [export.export_sensitivity(result, Path(request.target).with_suffix(".csv"))]
    if request.kind == "selection":
        return [
            export.export_customers(
                result, request.target_file(), customer_ids=list(request.customer_ids)
            )
        ]
    return [export.export_customers(result, request.target_file())]


def describe_written(paths: list[Path]) -> str:
    """One status line for the files an export wrote: their folder and up to four names."""
    if not paths:
        return "Nothing was written."
    if len(paths) == 1:
        return f"Wrote {paths[0].name} in {paths[0].parent}"
    names = ", ".join(p.name for p in paths[:4]) + (" …" if len(paths) > 4 else "")
    return f"Wrote {len(paths)} files in {paths[0].parent}: {names}"
