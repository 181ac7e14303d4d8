"""Campaign exports: customer lists (CSV/XLSX), per-segment files, summary.json and run.json.

Every export, CLI or GUI, reaches the disk through :func:`write_export`, which adds the run
record ``run.json`` (:func:`run_record`) to the files it writes.

A result is rendered by one function (:func:`result_files`: relative path -> bytes, each
customer file rendered only as it is written, so memory holds one at a time) and written as
one unit by :mod:`rfm_desktop.core.writing`, so a crash, Ctrl-C or full disk leaves the
previous result or the new one, never a mix; writing over the analysed input file
is refused. Text cells that a spreadsheet would run as a formula are neutralised with a
leading apostrophe.
"""

from __future__ import annotations

import io as _io
import json
import math
import os
import platform
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from rfm_desktop.core import writing
from rfm_desktop.core.errors import ExportError
from rfm_desktop.core.filenames import unique_file_names
from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.core.result import AnalysisResult, ClusterProfile
from rfm_desktop.core.scoring import thresholds_frame
from rfm_desktop.core.writing import Content

CUSTOMER_COLUMNS = (
    "customer_id",
    "recency",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "cluster",
    "cluster_name",
    "silhouette",
)
#: the CLV columns (core.value.CUSTOMER_COLUMNS) come last, when the run has them
OPTIONAL_COLUMNS = (
    "country",
    "pc1",
    "pc2",
    "pc3",
    "p_alive",
    "expected_purchases",
    "expected_avg_spend",
    "predicted_clv",
    "revenue_at_risk",
    "expected_next_order",
)
#: workbook customer sheets: what a campaign needs first; the PCA coordinates (pc1-pc3) go to
#: their own "Technical" sheet of segments.xlsx, not into campaign lists
CAMPAIGN_COLUMNS = (
    "customer_id",
    "cluster_name",
    "rfm_segment",
    "country",
    "recency",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "cluster",
    "silhouette",
)
TECHNICAL_COLUMNS = ("pc1", "pc2", "pc3")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_575  # one row is the header
#: the run record every export writes next to its files (:func:`write_export`)
RUN_RECORD = "run.json"
#: the run record's format (also a saved analysis, read by core.analysis_file); version 2 is the
#: run record, 1 was ``{"format", "version", "params"}`` (saved analyses before the two were one)
RECORD_FORMAT, RECORD_VERSION = "rfm-desktop-analysis", 2
_PACKAGES = ("rfm-desktop", "pandas", "numpy", "scikit-learn", "pyarrow", "fastexcel", "openpyxl")


# ---------------------------------------------------------------- safe writing
def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(path: Path, input_path: str | os.PathLike[str] | None) -> None:
    """Refuse to write over the file being analysed (same path, or the same file by inode).

    Parameters
    ----------
    path
        Where an export is about to be written.
    input_path
        The analysis input; None: nothing to check.

    Raises
    ------
    ExportError
        ``path`` is the input file.
    """
    if input_path is None:
        return
    source = Path(input_path)
    if Path(path).resolve() == source.resolve() or _same_file(Path(path), source):
        raise ExportError(
            f"Refusing to write '{path}': it is the input file being analysed.",
            hint="Choose another file name or folder for the export.",
        )


def check_output_dir(
    out_dir: str | os.PathLike[str], input_path: str | os.PathLike[str] | None
) -> Path:
    """Fail before any work when the output folder cannot be one (it is the input, or a file).

    Parameters
    ----------
    out_dir
        The folder an export is to be written to (need not exist yet).
    input_path
        The analysis input; None: not checked against it.

    Returns
    -------
    pathlib.Path
        ``out_dir`` as a path.

    Raises
    ------
    ExportError
        ``out_dir`` is the input file, or an existing file rather than a folder.
    """
    out = Path(out_dir)
    check_not_input(out, input_path)
    if out.exists() and not out.is_dir():
        raise ExportError(
            f"The output '{out}' is a file, not a folder.", hint="Give --out a folder path."
        )
    return out


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, input_path: str | os.PathLike[str] | None = None
) -> Path:
    """One file (an export chosen in a save dialog, a report, a saved analysis) as a unit of one.

    Other files in its folder are never touched; the file is complete or not there at all.

    Parameters
    ----------
    path
        Where the file goes; its folder is created when missing.
    data
        The whole content.
    input_path
        The analysis input, which must not be overwritten; None: no such check.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ExportError
        ``path`` is the input file, another run holds the folder, or the write fails (disk full,
        no permission); see :func:`writing.write_files`.
    """
    path = Path(path)
    check_not_input(path, input_path)
    return writing.write_files(path.parent, {path.name: data}, replace=False)[0]


# ---------------------------------------------------------------- tables
def neutralise(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; other values pass.

    The starting characters are OWASP's list for CSV injection (=, +, -, @, tab, carriage return).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy(deep=False)  # copy-on-write: replaced columns do not reach ``frame``
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            values = out[column].astype("string")
            risky = values.str.startswith(_FORMULA_START).fillna(False)
            if risky.any():
                out[column] = values.mask(risky, "'" + values)
    return out


def customer_table(
    result: AnalysisResult,
    *,
    cluster_ids: Iterable[int] | None = None,
    customer_ids: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The export columns, sorted by customer id; optionally only some clusters, named RFM
    segments or customers."""
    customers = result.customers
    mask = np.ones(len(customers), dtype=bool)
    if cluster_ids is not None:
        mask &= customers["cluster"].isin(list(cluster_ids)).to_numpy()
    if segments is not None:
        mask &= customers["rfm_segment"].isin(list(segments)).to_numpy(dtype=bool, na_value=False)
    if customer_ids is not None:
        mask &= customers["customer_id"].isin(list(customer_ids)).to_numpy()
    columns = list(CUSTOMER_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in customers.columns]
    # every customer: the columns without a copy (copy-on-write); the engines give the
    # customers sorted by id already, and sorting a sorted table would copy every column again
    table = customers[columns] if mask.all() else customers.loc[mask, columns]
    if not _increasing(table["customer_id"]):
        table = table.sort_values("customer_id", kind="stable")
    table = table.reset_index(drop=True)
    for column in ("silhouette", "pc1", "pc2", "pc3", "p_alive", "expected_purchases"):
        if column in table.columns:
            table[column] = table[column].round(6)
    for column in ("expected_avg_spend", "predicted_clv", "revenue_at_risk"):
        if column in table.columns:
            table[column] = table[column].round(2)  # the file's currency
    if "expected_next_order" in table.columns:
        table["expected_next_order"] = table["expected_next_order"].dt.date
    return table


def _increasing(ids: pd.Series) -> bool:
    """``ids.is_monotonic_increasing``; text ids with none missing are compared in Arrow, where
    UTF-8 bytes sort as their code points do (pandas makes a Python string of every id first:
    0.06 s at 1,000,000 customers, on the export's one thread)."""
    if len(ids) < 2 or not isinstance(ids.dtype, pd.StringDtype) or ids.hasnans:
        return bool(ids.is_monotonic_increasing)  # False for one missing id
    values = pa.array(ids)  # Arrow text: (large) string
    return bool(pc.all(pc.less_equal(values[:-1], values[1:])).as_py())


def _csv_bytes(frame: pd.DataFrame, *, neutralised: bool = False) -> bytes:
    """UTF-8 CSV via Arrow's writer (1 M customers: 0.3 s against 2+ s for DataFrame.to_csv).
    ``neutralised``: formula-like text was already neutralised (see :func:`_neutralise_frame`)."""
    return b"".join(_csv_blocks(frame if neutralised else _neutralise_frame(frame)))


#: rows formatted at a time: each block's CSV is a buffer of its own, and Arrow's copy of the
#: rows stays small
_FORMAT_ROWS = 500_000
#: blocks formatted at once: Arrow's writer leaves Python's lock, so on two cores two blocks
#: take the time of one (1,000,000 customers: 0.3 s against 0.7 s)
_FORMAT_THREADS = 2


def _csv_blocks(frame: pd.DataFrame) -> list[pa.Buffer]:
    """The CSV of an already neutralised ``frame``, UTF-8 with the header first, as the
    buffers of its blocks of :data:`_FORMAT_ROWS` rows (formatted :data:`_FORMAT_THREADS` at
    once), in the frame's order; written one after another they are the file. Kept apart, a
    large file is never copied into one buffer (at 1,000,000 customers that copy's new memory
    cost more than the copy)."""
    with ThreadPoolExecutor(_FORMAT_THREADS) as pool:
        # at most _FORMAT_THREADS blocks' Arrow copies of the rows at once
        return list(pool.map(partial(_csv_block, frame), _block_starts(frame)))


def _block_starts(frame: pd.DataFrame) -> range:
    """The first row of each block :func:`_csv_blocks` formats (one block for no rows)."""
    return range(0, max(len(frame), 1), _FORMAT_ROWS)


def _csv_block(frame: pd.DataFrame, start: int) -> pa.Buffer:
    """The CSV of the block of rows from ``start`` (the header with the first block)."""
    table = pa.Table.from_pandas(frame.iloc[start : start + _FORMAT_ROWS], preserve_index=False)
    sink = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(quoting_style="needed", include_header=start == 0)
    pa_csv.write_csv(table, sink, options)
    return sink.getvalue()


def campaign_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A customer table for a workbook: campaign columns first, technical ones left out;
    other tables unchanged."""
    if "customer_id" not in frame.columns or "rfm_segment" not in frame.columns:
        return frame
    first = [c for c in CAMPAIGN_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in first and c not in TECHNICAL_COLUMNS]
    return frame[first + rest]


def _number_format(column: str) -> str | None:
    """Excel number format by column name: money with 2 decimals, shares as %, scores of 0..1
    with 3 decimals, means with 1; None = General (ids, counts, text)."""
    if column in ("share", "revenue_share") or column.endswith("_share"):
        return "0.0%"
    if column in ("monetary", "revenue", "average_order_value") or column.startswith("monetary_"):
        return "#,##0.00"
    if column in ("silhouette", "silhouette_mean") or column in TECHNICAL_COLUMNS:
        return "0.000"
    if column.endswith("_mean") or column.endswith("_median"):
        return "#,##0.0"
    return None


def _xlsx_bytes(sheets: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """A workbook with one sheet per table: bold frozen header, autofilter, column widths from
    the content, number formats by column (:func:`_number_format`), campaign columns first."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)
    for title, frame in sheets:
        if len(frame) > EXCEL_MAX_ROWS:
            raise ExportError(
                f"The sheet '{title}' would have {len(frame):,} rows, more than Excel allows (1,048,575).",
                hint="Export as CSV, or export one segment at a time.",
            )
        frame = campaign_columns(frame)
        sheet = book.create_sheet(_sheet_title(title, used))
        columns = [str(c) for c in frame.columns]
        for i, column in enumerate(
            columns, start=1
        ):  # widths before rows: write-only sheets need it
            values = frame.iloc[:, i - 1]
            # text: every distinct value (names repeat); numbers: the first rows tell the width
            shown = (
                values.dropna().unique()[:20_000]
                if not pd.api.types.is_numeric_dtype(values)
                else values.head(500)
            )
            longest = max([len(column)] + [len(str(v)) for v in shown])
            sheet.column_dimensions[get_column_letter(i)].width = min(max(longest + 2, 9), 45)
        sheet.freeze_panes = "A2"
        if columns:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        formats = [_number_format(c) for c in columns]
        if any(formats):
            for row in frame.itertuples(index=False, name=None):
                cells: list[object] = []
                for value, fmt in zip(row, formats, strict=True):
                    value = _cell(value)
                    if fmt is not None and isinstance(value, int | float):
                        cell = WriteOnlyCell(sheet, value=value)
                        cell.number_format = fmt
                        value = cell
                    cells.append(value)
                sheet.append(cells)
        else:
            for row in frame.itertuples(index=False, name=None):
                sheet.append([_cell(v) for v in row])
    buffer = _io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return neutralise(value)


def _sheet_title(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "_", title).strip() or "Sheet"
    base = base[:31]
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def segment_file_names(result: AnalysisResult, suffix: str) -> dict[int, str]:
    """Cluster id -> its file name (``unique_file_names`` over every cluster, so the same
    segment gets the same name in the CLI's ``segments/``, a GUI export and the dialog)."""
    names = unique_file_names([c.name for c in result.clusters], suffix)
    return {c.id: name for c, name in zip(result.clusters, names, strict=True)}


def rfm_segment_sheets(result: AnalysisResult) -> list[tuple[str, pd.DataFrame]]:
    """Workbook sheets of the named segments: the per-segment table, the score thresholds, and
    one sheet of customers per segment present."""
    names = result.segments["segment"].astype(str).tolist()
    return [
        ("RFM segments", result.segments),
        ("Score thresholds", thresholds_frame(result.scales)),
    ] + [(name, customer_table(result, segments=[name])) for name in names]


# ---------------------------------------------------------------- public writers
def export_customers(
    result: AnalysisResult,
    path: str | os.PathLike[str],
    *,
    cluster_ids: Iterable[int] | None = None,
    customer_ids: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
) -> Path:
    """One file of customers (all, some clusters, some named segments, or a selection); CSV or
    XLSX by extension. ``run.json`` goes next to it (:func:`write_export`); other files in its
    folder are not touched.

    Parameters
    ----------
    result
        The analysis to export.
    path
        The file to write; ``.csv`` or ``.xlsx``.
    cluster_ids, customer_ids, segments
        Keep only these clusters, customers or named RFM segments; None: no filter.
        Recency is in days, frequency in orders, monetary in the file's currency.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ExportError
        ``path`` is the input file, has another extension, or cannot be written.
    """
    path = Path(path)
    check_not_input(path, result.params.input_path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("csv", "xlsx"):
        raise ExportError(f"Cannot export to '{path.name}': use a .csv or .xlsx file name.")
    table = customer_table(
        result, cluster_ids=cluster_ids, customer_ids=customer_ids, segments=segments
    )
    return write_export(
        path.parent, {path.name: _table_bytes(table, suffix)}, result, replace=False
    )[0]


def export_sensitivity(result: AnalysisResult, path: str | os.PathLike[str]) -> Path:
    """The sensitivity table (core.sensitivity) as one CSV file: the bytes ``segment
    --sensitivity`` writes as ``sensitivity.csv``, with ``run.json`` next to it
    (:func:`write_export`); other files in its folder are not touched.

    Parameters
    ----------
    result
        The analysis, with ``result.sensitivity`` filled (the GUI's Sensitivity tab, or the CLI).
    path
        The ``.csv`` file to write.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ExportError
        There is no sensitivity table yet, ``path`` is not a ``.csv`` file or is the input file,
        or it cannot be written.
    """
    path = Path(path)
    if result.sensitivity is None:
        raise ExportError(
            "There is no sensitivity table to export yet.",
            hint="Run it on the Sensitivity tab first (or use `rfm-desktop segment --sensitivity`).",
        )
    if path.suffix.lower() != ".csv":
        raise ExportError(f"Cannot export the sensitivity table to '{path.name}': use a .csv name.")
    check_not_input(path, result.params.input_path)
    return write_export(
        path.parent, {path.name: _csv_bytes(result.sensitivity)}, result, replace=False
    )[0]


def _table_bytes(table: pd.DataFrame, fmt: str) -> bytes:
    return _csv_bytes(table) if fmt == "csv" else _xlsx_bytes([("Customers", table)])


def export_segments(
    result: AnalysisResult,
    folder: str | os.PathLike[str],
    *,
    cluster_ids: Iterable[int] | None = None,
    fmt: str = "csv",
) -> list[Path]:
    """One file per cluster, named after the cluster; the folder's result is replaced as a unit.

    Files of an earlier segment export into the same folder that this one does not write are
    removed (only those, see :mod:`rfm_desktop.core.writing`). The folder gets the run record
    ``run.json`` too; the files of ``cluster_ids`` are returned.
    """
    wanted = set(cluster_ids) if cluster_ids is not None else None
    names = segment_file_names(result, f".{fmt}")
    files = {
        names[c.id]: _table_bytes(customer_table(result, cluster_ids=[c.id]), fmt)
        for c in result.clusters
        if wanted is None or c.id in wanted
    }
    return write_export(
        check_output_dir(folder, result.params.input_path), files, result, replace=True
    )


def export_rfm_segments(
    result: AnalysisResult,
    folder: str | os.PathLike[str],
    *,
    segments: Iterable[str] | None = None,
    fmt: str = "csv",
) -> list[Path]:
    """One file per named RFM segment (all present, or ``segments``), named after the segment;
    written into ``folder`` as one unit, like :func:`export_segments`."""
    wanted = set(segments) if segments is not None else None
    names = result.segments["segment"].astype(str).tolist()
    files = {
        file_name: _table_bytes(customer_table(result, segments=[name]), fmt)
        for name, file_name in zip(names, unique_file_names(names, f".{fmt}"), strict=True)
        if wanted is None or name in wanted
    }
    return write_export(
        check_output_dir(folder, result.params.input_path), files, result, replace=True
    )


def segment_records(result: AnalysisResult) -> list[dict[str, Any]]:
    """The per-segment table (core.rfm.SEGMENT_COLUMNS) as JSON-ready rows."""
    return [
        {
            k: (
                v
                if isinstance(v, str)
                else int(v)
                if k in ("customers", "orders", "customers_p_alive_below_half")
                else _num(v)
            )
            for k, v in row.items()
        }
        for row in result.segments.to_dict("records")
    ]


def summary_dict(result: AnalysisResult) -> dict[str, Any]:
    """The content of ``summary.json``: counts, K sweep, cleaning, clusters, rules and warnings.

    Parameters
    ----------
    result
        The analysis to summarise.

    Returns
    -------
    dict
        JSON-ready values (NaN and infinity become None). Cluster means are recency in days,
        frequency in orders and monetary in the file's currency; shares are fractions 0..1.
    """
    sweep = result.sweep
    return {
        "rows_read": result.rows_read,
        "rows_clean": result.cleaning.rows_clean,
        "customers": result.customer_count,
        "k": result.k,
        "suggested_k": sweep.suggested_k if sweep else None,
        "suggested_k_reason": sweep.reason if sweep else None,
        "silhouette": _num(result.silhouette),
        "silhouette_sampled": bool(sweep.silhouette_sampled) if sweep else False,
        "snapshot_date": result.snapshot_date.isoformat(),
        "as_of": result.params.as_of,
        "date_format": result.date_format,
        "cleaning": [
            {
                "step": s.step,
                "label": s.label,
                "enabled": s.enabled,
                "removed": s.removed,
                "remaining": s.after,
                "example": s.example,
            }
            for s in result.cleaning.steps
        ],
        "outliers": {
            "mode": result.cleaning.outlier_mode,
            "found": result.cleaning.outliers_found,
        },
        "missing_ids": _missing_ids(result),
        "k_scores": [
            {
                "k": s.k,
                "inertia": _num(s.inertia),
                "silhouette": _num(s.silhouette),
                "davies_bouldin": _num(s.davies_bouldin),
                "calinski_harabasz": _num(s.calinski_harabasz),
                "stability": _json_numbers(s.stability.to_dict()) if s.stability else None,
            }
            for s in (sweep.scores if sweep else ())
        ],
        "stability": _stability(result),
        "sensitivity": None
        if result.sensitivity is None
        else _json_numbers(result.sensitivity.to_dict("records")),
        "clusters": [
            {
                "id": c.id,
                "name": c.name,
                "size": c.size,
                "share": _num(c.share),
                "recency_mean": _num(c.recency_mean),
                "frequency_mean": _num(c.frequency_mean),
                "monetary_mean": _num(c.monetary_mean),
                "revenue_share": _num(c.revenue_share),
                "silhouette_mean": _num(c.silhouette_mean),
                "average_order_value": _num(c.average_order_value),
                "color": c.color,
                "strategy": c.strategy,
                "centroid": centroid_values(result, c),
                "stability": _num(c.stability) if c.stability is not None else None,
                "stability_flag": c.stability_flag or None,
            }
            for c in result.clusters
        ],
        "feature_space": result.feature_space.to_dict() if result.feature_space else None,
        "matching": result.matching.to_dict() if result.matching else None,
        "score_bins": result.bins,
        "score_thresholds": {s.measure: s.to_dict() for s in result.scales},
        "rules": result.rules.to_dict(),
        "rule_coverage": result.coverage.to_dict(),
        "rfm_segments": segment_records(result),
        "params": result.params.to_dict(),
        "warnings": [w.to_dict() for w in result.warnings],
    }


def _missing_ids(result: AnalysisResult) -> dict[str, Any] | None:
    """Sales rows with and without customer id (core.missing_ids), None when all have one."""
    check = result.cleaning.missing_ids
    return _json_numbers(check.to_dict()) if check is not None else None


def _stability(result: AnalysisResult) -> dict[str, Any] | None:
    """The final K's stability (core.stability) with its method, None when the check was off."""
    if result.stability is None:
        return None
    from rfm_desktop.core import stability

    return _json_numbers(
        result.stability.to_dict()
        | {
            "method": f"k-means refitted on subsamples of {stability.SUBSAMPLE_SHARE:.0%} of the "
            f"customers (at most {stability.SAMPLE_LIMIT:,}), compared with the full fit by "
            "adjusted Rand index and per-cluster best-match Jaccard (Hennig 2007)",
            "stable_ari": stability.STABLE_ARI,
            "dissolves_below": stability.DISSOLVES,
            "stable_jaccard": stability.STABLE_JACCARD,
        }
    )


def stability_table(result: AnalysisResult) -> pd.DataFrame | None:
    """``stability.csv``: one row per K of the sweep (and the final K, when it was not swept):
    k, resamples, sample_size, ari_mean, ari_sd, ari_min, stable_resamples, chosen. None when
    the stability check was off."""
    rows = [s.stability for s in (result.sweep.scores if result.sweep else ()) if s.stability]
    if result.stability is not None:
        rows = [r for r in rows if r.k != result.k] + [result.stability]
    if not rows:
        return None
    table = pd.DataFrame(
        [{k: v for k, v in r.to_dict().items() if k != "cluster_jaccard"} for r in rows]
    )
    table["chosen"] = table["k"] == result.k
    return table.sort_values("k", kind="stable").reset_index(drop=True)


@overload
def _json_numbers(value: dict[str, Any]) -> dict[str, Any]: ...
@overload
def _json_numbers(value: object) -> object: ...
def _json_numbers(value: object) -> object:
    """Floats rounded as :func:`_num` does (NaN -> None), in nested dicts and lists."""
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_numbers(v) for v in value]
    return _num(value) if isinstance(value, float) else value


def centroid_values(result: AnalysisResult, cluster: ClusterProfile) -> list[float] | None:
    """The mean of a k-means cluster's members in the run's feature space (scaled units), which
    a later ``--compare`` matches its clusters against; None for the Outliers segment."""
    if result.feature_space is None or cluster.is_outlier_segment or not cluster.size:
        return None
    customers = result.customers
    members = customers.loc[customers["cluster"] == cluster.id, list(result.feature_space.features)]
    # finite: the mean of a non-empty cluster's scaled features (what _num rounds, minus its None)
    return [round(float(v), 6) for v in result.feature_space.apply(members).mean(axis=0)]


def _num(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def package_versions() -> dict[str, str]:
    """Python's and the main libraries' versions for run.json ("unknown" when not installed)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def run_record(
    params: AnalysisParams,
    result: AnalysisResult | None = None,
    files: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The run record: what ``run.json`` of every export and a saved analysis hold.

    One format for both (:data:`RECORD_FORMAT`, :data:`RECORD_VERSION`; read by
    :mod:`rfm_desktop.core.analysis_file`),
    so any of them opens with File ▸ Open analysis and runs with ``segment --params``.

    Parameters
    ----------
    params
        The settings to record (with a result: the ones that made it, or the same run settings
        with the analyst's later segment names).
    result
        The result the export writes; None for a saved analysis made before any run. With it the
        record also holds the input's sha256 and size in bytes (of the bytes that were read and
        analysed, not of whatever is on disk by now), the row counts per cleaning step, the
        warnings, the rows without a customer id compared with the rest, the number of
        customers, K and the run time in seconds.
    files
        The export's files, relative to the folder of ``run.json``; None for a saved analysis.

    Returns
    -------
    dict
        JSON-ready: ``format``, ``version``, ``params``, ``input`` (path, sha256, size),
        [``rows``, ``warnings``, ``missing_ids``, ``customers``, ``k``, ``seconds``,
        ``engine`` (the one that reduced the rows: memory, duckdb or spark)],
        [``files``],
        ``finished_at`` (UTC, when the record was made), ``versions`` (Python and packages),
        ``platform``.
    """
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "params": params.to_dict(),
    }
    if result is None:  # nothing was read: the path as given, never resolved (a network path)
        record["input"] = {"path": params.input_path, "sha256": None, "size": None}
    else:
        record["input"] = {
            # a cluster's path (s3a://, hdfs://) as given: it is no local path to resolve
            "path": params.input_path
            if "://" in params.input_path
            else str(Path(params.input_path).resolve()),
            "sha256": result.input_sha256 or None,
            "size": result.input_size if result.input_sha256 else None,
        }
        record.update(
            rows={
                "read": result.rows_read,
                "clean": result.cleaning.rows_clean,
                "steps": {
                    s.step: {"removed": s.removed, "remaining": s.after, "example": s.example}
                    for s in result.cleaning.steps
                },
            },
            warnings=[w.to_dict() for w in result.warnings],
            missing_ids=_missing_ids(result),
            stability=_stability(result),
            customers=result.customer_count,
            k=result.k,
            seconds=round(result.seconds, 3),
            engine=result.engine,
        )
    if files is not None:
        record["files"] = list(files)
    record.update(
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=package_versions(),
        platform=platform.platform(),
    )
    return record


def run_dict(result: AnalysisResult) -> dict[str, Any]:
    """:func:`run_record` of ``result`` and its own params, without a file list."""
    return run_record(result.params, result)


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


#: the file renderers for the engine's other outputs (core.backtest)
csv_bytes, json_bytes = _csv_bytes, _json_bytes


class RenderedFiles(Mapping[str, Content]):
    """Relative path -> content, each file rendered when it is read and not kept.

    The staged writer reads each file once, so an export of millions of customers holds one
    file's bytes at a time instead of every file's (at 5,000,000 customers customers.csv, the
    per-cluster and the per-segment files are each some hundred megabytes).
    """

    def __init__(self) -> None:
        self._makers: dict[str, Callable[[], Content]] = {}
        self._pieces: dict[str, Callable[[], Iterable[bytes | bytearray | memoryview]]] = {}

    def add(
        self,
        relative: str,
        content: Content | Callable[[], Content],
        pieces: Callable[[], Iterable[bytes | bytearray | memoryview]] | None = None,
    ) -> None:
        """Add a file: its bytes, or a function that renders them when they are read;
        ``pieces``: a function that gives the same bytes in pieces, which the writer takes
        instead (see :meth:`stream`)."""
        self._makers[relative] = content if callable(content) else (lambda: content)
        if pieces is not None:
            self._pieces[relative] = pieces

    def __getitem__(self, relative: str) -> Content:
        return self._makers[relative]()

    def stream(self, relative: str) -> Content:
        """The file as the writer takes it: in pieces (``writing.Pieces``) when it was added
        with them, so it is never held whole; else its content."""
        pieces = self._pieces.get(relative)
        return writing.Pieces(pieces) if pieces is not None else self[relative]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


def result_files(result: AnalysisResult, *, xlsx: bool = False) -> RenderedFiles:
    """Every file of a result but its run record: relative path -> bytes, each rendered when read.

    ``customers.csv``, ``segments/<cluster>.csv`` (names from :func:`segment_file_names`),
    ``rfm_segments/<segment>.csv``, ``stability.csv`` (when checked), ``sensitivity.csv``
    (when asked for), ``summary.json``, ``clv.json`` when the run has customer lifetime value
    (core.value.to_dict) and, with ``xlsx``, ``segments.xlsx`` (a sheet per cluster and per
    named segment); :func:`write_export` adds ``run.json``. The customer tables are rendered one
    at a time as they are written (a failure then leaves the folder as it was); the summary and
    the small tables here, so a bad value fails before anything is written.
    """
    files = RenderedFiles()

    made: list[CustomerLines | BaseException] = []
    making = threading.Lock()

    def every() -> CustomerLines:
        # one table, sorted, neutralised and formatted once (when the first customer file is
        # written); each cluster's and segment's file takes its lines from it. The writer
        # writes files side by side: the first to ask makes it, the others wait for it (and
        # get its failure, not a second attempt)
        with making:
            if not made:
                try:
                    made.append(CustomerLines(_neutralise_frame(customer_table(result))))
                except BaseException as exc:
                    made.append(exc)
            if isinstance(made[0], BaseException):
                raise made[0]
            return made[0]

    files.add("customers.csv", lambda: every().whole(), lambda: every().blocks)
    names = segment_file_names(result, ".csv")
    for profile in result.clusters:
        files.add(
            f"segments/{names[profile.id]}",
            partial(_part_csv, every, "cluster", profile.id),
            partial(_part_pieces, every, "cluster", profile.id),
        )
    segments = result.segments["segment"].astype(str).tolist()
    for name, file_name in zip(segments, unique_file_names(segments, ".csv"), strict=True):
        files.add(
            f"rfm_segments/{file_name}",
            partial(_part_csv, every, "rfm_segment", name),
            partial(_part_pieces, every, "rfm_segment", name),
        )
    stability = stability_table(result)
    if stability is not None:
        files.add("stability.csv", _csv_bytes(stability))
    if result.sensitivity is not None:
        files.add("sensitivity.csv", _csv_bytes(result.sensitivity))
    summary = summary_dict(result)
    files.add("summary.json", _json_bytes(summary))
    if result.value is not None:
        from rfm_desktop.core import value

        files.add("clv.json", _json_bytes(value.to_dict(result.value, result.customers)))
    if xlsx:
        clusters = pd.DataFrame(
            [
                {k: v for k, v in c.items() if k not in ("color", "centroid")}
                for c in summary["clusters"]
            ]
        )
        sheets = (
            [("Summary", clusters)]
            + [(c.name, customer_table(result, cluster_ids=[c.id])) for c in result.clusters]
            + rfm_segment_sheets(result)
        )
        technical = customer_table(result)[
            ["customer_id", *[c for c in TECHNICAL_COLUMNS if c in result.customers.columns]]
        ]
        files.add("segments.xlsx", _xlsx_bytes([*sheets, ("Technical", technical)]))
    return files


def _part_csv(every: Callable[[], CustomerLines], column: str, value: object) -> Content:
    """The CSV of the rows of the shared customer lines whose ``column`` is ``value``."""
    return every().part(column, value)


def _part_pieces(
    every: Callable[[], CustomerLines], column: str, value: object
) -> Iterator[bytes | memoryview]:
    """:func:`_part_csv` in pieces, for the writer."""
    return every().pieces(column, value)


class CustomerLines:
    """A customer table formatted as CSV once, and the CSV of any part of its rows cut from it.

    Arrow's writer formats each value on its own (a number, a quoted text), so a part's file is
    the header and the lines of its rows, in the table's order: at 1,000,000 customers the
    eleven cluster and segment files cost 0.2 s that way against 1.5 s formatted one by one. A
    text value with a line break (quoted, on two lines) would spread a row over two lines;
    then each part is formatted from its rows as before.

    Parameters
    ----------
    table
        The customer table, already neutralised (:func:`_neutralise_frame`).
    """

    def __init__(self, table: pd.DataFrame) -> None:
        def block(start: int) -> tuple[pa.Buffer, pa.Array | None]:
            # a block's CSV and its lines (the first block's first line is the header), or
            # None, cut in the worker that formatted it: the blocks are cut side by side
            data = _csv_block(table, start)
            return data, _split_lines(data, min(_FORMAT_ROWS, len(table) - start) + (start == 0))

        with ThreadPoolExecutor(_FORMAT_THREADS) as pool:
            made = pool.map(block, _block_starts(table))  # as _csv_blocks formats them
            # meanwhile, each row's cluster and segment as a small number, so each part is
            # one comparison away; the numbers looked up in a plain dict (parts are cut by two
            # writers at once)
            self._codes: dict[str, tuple[np.ndarray, dict[object, int]]] = {}
            for column in ("cluster", "rfm_segment"):
                codes, values = pd.factorize(table[column])
                number = {value: i for i, value in enumerate(values.tolist())}
                self._codes[column] = (codes.astype(np.min_scalar_type(-len(values))), number)
            blocks = list(made)
        #: the whole table's CSV (UTF-8, header first), as the buffers of its blocks of rows
        self.blocks = [data for data, _ in blocks]
        lines = [cut for _, cut in blocks]
        self._lines: list[pa.Array] | None = [part for part in lines if part is not None]
        if len(self._lines) < len(lines):
            self._lines = None
        # the whole table only when its rows cannot be cut from the lines
        self._table = table if self._lines is None else None

    def whole(self) -> bytes:
        """The whole table's CSV in one piece (:func:`_csv_bytes` of the table)."""
        return b"".join(self.blocks)

    def part(self, column: str, value: object) -> bytearray:
        """The CSV of the rows whose ``column`` is ``value``: what :func:`_csv_bytes` gives
        for those rows alone (the same bytes)."""
        data = bytearray()
        for piece in self.pieces(column, value):
            data += piece
        return data

    def pieces(self, column: str, value: object) -> Iterator[bytes | memoryview]:
        """:meth:`part` in pieces, one per block of rows (the header in the first), made as
        they are read."""
        codes, number = self._codes[column]
        mask = codes == number.get(value, -2)
        if self._lines is None:
            assert self._table is not None  # kept for this case
            yield _csv_bytes(self._table.loc[mask].reset_index(drop=True), neutralised=True)
            return
        for i, lines in enumerate(self._lines):
            chosen_rows = mask[i * _FORMAT_ROWS : (i + 1) * _FORMAT_ROWS]
            if i == 0:
                chosen_rows = np.concatenate(([True], chosen_rows))  # the header
            chosen = lines.filter(pa.array(chosen_rows))
            if len(chosen):
                offsets = np.frombuffer(chosen.buffers()[1], np.int64)
                first, last = offsets[[chosen.offset, chosen.offset + len(chosen)]]
                yield memoryview(chosen.buffers()[2])[first:last]


#: bytes of the CSV searched for line ends at a time: the comparison's 4 MB of booleans stay in
#: the processor's cache and their memory is reused (blocks of 64 MB took 0.17 s at 1,000,000
#: customers against 0.03 s, most of it the page faults of each new temporary)
_SCAN_BYTES = 1 << 22


def _split_lines(data: bytes | bytearray | pa.Buffer, rows: int) -> pa.Array | None:
    """The lines of a CSV of ``rows`` lines as one Arrow array over ``data``, without a copy;
    None when a value holds a line break (more line ends than lines)."""
    codes = np.frombuffer(data, np.uint8)
    # line ends found a block at a time, so the comparison's temporary stays small
    ends = np.concatenate(
        [
            np.zeros(0, np.intp),
            *(
                np.flatnonzero(codes[start : start + _SCAN_BYTES] == ord("\n")) + start + 1
                for start in range(0, len(codes), _SCAN_BYTES)
            ),
        ]
    )
    if len(ends) != rows:
        return None
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    return pa.Array.from_buffers(
        pa.large_binary(),
        rows,
        [None, pa.py_buffer(offsets), data if isinstance(data, pa.Buffer) else pa.py_buffer(data)],
    )


def export_all(
    result: AnalysisResult,
    out_dir: str | os.PathLike[str],
    *,
    xlsx: bool = False,
    lock: writing.FolderLock | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    extra: Mapping[str, Content] | None = None,
) -> list[Path]:
    """Write :func:`result_files` (plus ``extra``, e.g. the HTML report) and ``run.json`` into
    ``out_dir`` as one unit, replacing the previous result.

    ``lock``: the folder's lock when the caller holds it for the whole run (the CLI does).
    ``tables``: more tables written with the result as ``<name>.csv`` (e.g. the migration
    tables of ``--compare``). Returns the files written, ``run.json`` last.
    """
    out = check_output_dir(out_dir, result.params.input_path)
    files = result_files(result, xlsx=xlsx)
    for relative, content in (extra or {}).items():
        files.add(relative, content)
    for name, table in (tables or {}).items():
        files.add(f"{name}.csv", _csv_bytes(table))
    return [*write_export(out, files, result, replace=True, lock=lock), out / RUN_RECORD]


def write_export(
    folder: str | os.PathLike[str],
    files: Mapping[str, Content],
    result: AnalysisResult,
    *,
    replace: bool,
    lock: writing.FolderLock | None = None,
) -> list[Path]:
    """The one way every export reaches the disk: ``files`` and their run record, as one unit.

    ``run.json`` (:func:`run_record` of ``result``, listing ``files``) is written next to them
    by the staged writer, so a folder never holds an export without its record or the reverse.

    Parameters
    ----------
    folder
        Where the files go (created if missing).
    files
        Relative POSIX path -> content; must not hold ``run.json``.
    result
        The result exported; its input file is never written over.
    replace
        See :func:`rfm_desktop.core.writing.write_files`: True when ``files`` is the folder's
        whole result (a folder export), False to add or replace files one for one (a file
        chosen in a save dialog).
    lock
        The folder's lock when the caller holds it.

    Returns
    -------
    list of Path
        The paths of ``files``, in their order (``run.json`` is not among them).

    Raises
    ------
    ExportError
        A path is the input file, is blocked, or cannot be written; the folder is as before.
    """
    out = Path(folder)
    if RUN_RECORD in files:
        raise ValueError(f"{RUN_RECORD} is the export's own record, not one of its files")
    record = _json_bytes(run_record(result.params, result, files=list(files)))
    unit = RenderedFiles()  # each file read only when it is written; the run record last
    for relative in files:
        read = files.stream if isinstance(files, RenderedFiles) else files.__getitem__
        unit.add(relative, partial(read, relative))
    unit.add(RUN_RECORD, record)
    for rel in unit:
        check_not_input(out / rel, result.params.input_path)
    return writing.write_files(out, unit, replace=replace, lock=lock)[: len(files)]
