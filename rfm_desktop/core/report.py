"""One self-contained HTML report: segment matrix, cleaning, K charts and scatter images.

Pictures come in as PNG bytes (the GUI draws them from the result with its views) and are
embedded as base64 data URIs, so the file can be mailed on its own. Without pictures (the CLI's
``segment --report``, which never loads Qt) the report holds the same tables: segments, named
segments, the R × F score grid, cleaning and the K scores. Written through the engine's export
writer with its ``run.json``; the input file is never written over.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from rfm_desktop import __version__
from rfm_desktop.core import export, writing
from rfm_desktop.core.errors import ExportError
from rfm_desktop.core.result import AnalysisResult

CSS = """
:root { color-scheme: light dark; --muted: #6b6b6b; --line: #d0d0d0; }
@media (prefers-color-scheme: dark) { :root { --muted: #a8a8a8; --line: #4a4a4a; } }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .muted { color: var(--muted); }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .92rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: .9em; height: .9em; border-radius: 2px; margin-right: .4em;
          vertical-align: -0.1em; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .9rem; }
pre { font-size: .8rem; overflow-x: auto; }
"""


#: How to read the table, in two sentences (README's, without the real data's figures): printed
#: under the sensitivity table (core.sensitivity).
SENSITIVITY_READING = (
    "Read each row against the first: a choice the segmentation does not depend on moves few "
    "customers to another cluster, while one it does depend on moves many (a higher silhouette "
    "with a few tiny clusters is bought with a handful of outliers). The last column is about "
    "the named RFM segments, which only the scoring (and dropping customers, which re-ranks the "
    "rest) can move."
)

#: captions starting with this go under "Choosing K"; the others under "Pictures"
K_CHARTS = "K charts"


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value: float, digits: int = 1) -> str:
    value = float(value)
    return f"{value:,.{digits}f}" if math.isfinite(value) else "–"


def _pct(value: float) -> str:
    value = float(value)
    return f"{value:.1%}" if math.isfinite(value) else "–"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(
        f"<th class='num'>{_e(h)}</th>" if i in numeric else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def segment_matrix(result: AnalysisResult) -> str:
    """The report's table of segments: size, shares, means and suggested strategy.

    Parameters
    ----------
    result
        The analysis reported.

    Returns
    -------
    str
        An HTML ``<table>``, one row per cluster; recency in days, frequency in orders,
        monetary and average order value in the file's currency (2 decimals).
    """
    rows = [
        [
            f"<span class='swatch' style='background:{_e(c.color)}'></span>{_e(c.name)}",
            f"{c.size:,}",
            _pct(c.share),
            _pct(c.revenue_share),
            _num(c.recency_mean),
            _num(c.frequency_mean),
            _num(c.monetary_mean, 2),
            _num(c.average_order_value, 2),
            _num(c.silhouette_mean, 2),
            _e(c.strategy),
        ]
        for c in result.clusters
    ]
    headers = [
        "Segment",
        "Customers",
        "Share",
        "Revenue share",
        "Recency (days)",
        "Frequency (orders)",
        "Monetary (spend)",
        "Avg order value",
        "Silhouette",
        "Suggested strategy",
    ]
    return _table(headers, rows, set(range(1, 9)))


def cleaning_table(result: AnalysisResult) -> str:
    """The report's cleaning table (rows removed per step) and a sentence on outliers.

    Parameters
    ----------
    result
        The analysis reported.

    Returns
    -------
    str
        HTML: a ``<table>`` of steps (rows removed, rows left, first row removed) and a
        paragraph with the outlier count under the IQR rule (Tukey's fences, the multiplier
        from the params) and what was done with them.
    """
    report = result.cleaning
    rows = [["Rows in the file", "", f"{report.rows_read:,}", ""]]
    for s in report.steps:
        if s.enabled:
            removed = f"−{s.removed:,}"
        else:
            removed = f"off (would remove {s.would_remove:,})" if s.would_remove else "off"
        rows.append([_e(s.label), removed, f"{s.after:,}", _e(s.example or "")])
    table = _table(["Step", "Rows removed", "Rows left", "First row removed"], rows, {1, 2})
    mode = {"keep": "kept", "drop": "dropped", "segment": "put into their own segment"}.get(
        report.outlier_mode, report.outlier_mode
    )
    outliers = (
        f"<p>{report.outliers_found:,} of {report.customers_before_outliers:,} customers are outliers "
        f"(IQR rule, {result.params.cleaning.iqr_multiplier:g} × IQR); they were {_e(mode)}.</p>"
    )
    return table + outliers


def named_segments_table(result: AnalysisResult) -> str:
    """The named RFM segments (result.segments), best first, with their colour."""
    from rfm_desktop.core.palette import segment_color

    rows = [
        [
            f"<span class='swatch' style='background:{_e(segment_color(str(s['segment'])))}'></span>{_e(s['segment'])}",
            f"{int(s['customers']):,}",
            _pct(s["share"]),
            _pct(s["revenue_share"]),
            _num(s["recency_median"]),
            _num(s["frequency_median"]),
            _num(s["monetary_median"], 2),
            _num(s["average_order_value"], 2),
            _e(result.rules.strategy(str(s["segment"])) or ""),
        ]
        for s in result.segments.to_dict("records")
    ]
    headers = [
        "Named segment",
        "Customers",
        "Share",
        "Revenue share",
        "Recency (days, median)",
        "Frequency (orders, median)",
        "Monetary (median)",
        "Avg order value",
        "Suggested strategy",
    ]
    return _table(headers, rows, set(range(1, 8)))


def value_section(result: AnalysisResult) -> str:
    """Customer lifetime value (core.value), when the run computed it: totals, revenue at risk
    per named segment and per cluster (ranked, highest first), the fitted model parameters with
    their convergence and time unit, and the validation's holdout totals.

    Parameters
    ----------
    result
        The analysis reported.

    Returns
    -------
    str
        HTML; "" when CLV was not asked for, a note with the reason when it could not be fitted.
        Money in the file's currency over the CLV horizon (days), α in the model's time unit.
    """
    from rfm_desktop.core import value

    analysis = result.value
    if analysis is None:
        failed = [w.text for w in result.warnings_for("value")]
        return f"<p class='muted'>{_e(failed[0])}</p>" if failed else ""
    options, customers = analysis.options, result.customers
    intro = (
        f"<p>Over the next {options.horizon_days} days after {analysis.end:%Y-%m-%d} "
        f"(discount {options.discount_rate:.1%} a month): predicted CLV "
        f"<b>{_num(customers['predicted_clv'].sum(), 0)}</b>, revenue at risk "
        f"<b>{_num(customers['revenue_at_risk'].sum(), 0)}</b>, "
        f"{int((customers['p_alive'] < 0.5).sum()):,} customers with P(alive) &lt; 0.5. "
        f"Revenue at risk = Σ (1 − P(alive)) × the value over the horizon if still active, over "
        f"{_e(value.ACTIVE_BUYER)}.</p>"
    )
    headers = [
        "Segment",
        "Customers",
        "Revenue at risk",
        "P(alive) < 0.5",
        "Predicted CLV (sum)",
        "Predicted CLV (mean)",
    ]

    def ranked(by: str) -> str:
        table = value.group_table(customers, by)
        rows = [
            [
                _e(row[by]),
                f"{int(row['customers']):,}",
                _num(row["revenue_at_risk"], 0),
                f"{int(row['customers_p_alive_below_half']):,}",
                _num(row["predicted_clv_sum"], 0),
                _num(row["predicted_clv_mean"], 2),
            ]
            for row in table.to_dict("records")
        ]
        return _table(headers, rows, {1, 2, 3, 4, 5})

    bg, gg = analysis.bgnbd, analysis.gamma_gamma
    models = _table(
        ["Model", "Parameters", "Log-likelihood", "Converged", "Customers"],
        [
            [
                "BG/NBD (purchases)",
                f"r = {bg.r:.4g}, α = {bg.alpha:.4g}, a = {bg.a:.4g}, b = {bg.b:.4g} "
                f"(time unit: {_e(bg.time_unit)})",
                _num(bg.log_likelihood, 2),
                "yes" if bg.converged else "no",
                f"{bg.n_customers:,}",
            ],
            [
                "Gamma-Gamma (spend per purchase)",
                f"p = {gg.p:.4g}, q = {gg.q:.4g}, v = {gg.v:.4g}",
                _num(gg.log_likelihood, 2),
                "yes" if gg.converged else "no",
                f"{gg.n_customers:,}",
            ],
        ],
        {2, 4},
    )
    check = analysis.validation
    if check and "holdout_actual" in check:
        numbers = {k: cast(float, check[k]) for k in ("holdout_predicted", "holdout_actual")}
        validation = (
            f"<p>Validation: fitted on the purchases before {_e(check['calibration_end'])}, the "
            f"models expect {_num(numbers['holdout_predicted'], 0)} repeat purchase days in the "
            f"{check['holdout_days']} days after it; the customers made "
            f"{_num(numbers['holdout_actual'], 0)}.</p>"
        )
    elif check:
        validation = f"<p class='muted'>No validation: {_e(check.get('error', ''))}</p>"
    else:
        validation = ""
    return (
        intro
        + "<h3>Revenue at risk per named segment</h3>"
        + ranked("rfm_segment")
        + "<h3>Revenue at risk per cluster</h3>"
        + ranked("cluster_name")
        + "<h3>Models</h3>"
        + models
        + validation
    )


def heatmap_table(result: AnalysisResult) -> str:
    """The R score × F score grid: customers per cell, shaded by the cell's mean spend."""
    grid = result.heatmap
    if grid.empty:
        return "<p class='muted'>No score grid.</p>"
    spend = grid["monetary_mean"].astype(float)
    low, high = float(spend.min()), float(spend.max())
    cells = {(int(r.r_score), int(r.f_score)): r for r in grid.itertuples(index=False)}
    scores = range(result.bins, 0, -1)
    head = (
        "<tr><th>R ↓ / F →</th>"
        + "".join(f"<th class='num'>F {f}</th>" for f in range(1, result.bins + 1))
        + "</tr>"
    )
    body = []
    for r in scores:
        row = [f"<th>R {r}</th>"]
        for f in range(1, result.bins + 1):
            cell = cells.get((r, f))
            if cell is None or not cell.customers:
                row.append("<td class='num muted'>–</td>")
                continue
            share = (float(cell.monetary_mean) - low) / (high - low) if high > low else 0.5
            share = share if math.isfinite(share) else 0.0
            row.append(
                f"<td class='num' style='background: rgba(0, 114, 178, {0.08 + 0.55 * share:.2f})' "
                f"title='mean spend {_num(cell.monetary_mean, 2)}'>{int(cell.customers):,}</td>"
            )
        body.append("<tr>" + "".join(row) + "</tr>")
    note = (
        "<p class='muted'>Customers per R × F score cell (5 = best); the darker the cell, the higher its "
        "customers' mean spend.</p>"
    )
    return f"{note}<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def k_table(result: AnalysisResult) -> str:
    """The report's K sweep: the reason for the suggested K and one row of scores per K.

    Parameters
    ----------
    result
        The analysis reported.

    Returns
    -------
    str
        HTML: the suggestion's sentence and a ``<table>`` (chosen K in bold), or a note when
        no sweep was run.
    """
    if result.sweep is None:
        return "<p class='muted'>No K sweep was run.</p>"
    rows = [
        [
            f"<b>{s.k}</b>" if s.k == result.k else str(s.k),
            _num(s.silhouette, 3),
            _num(s.davies_bouldin, 3),
            _num(s.calinski_harabasz, 0),
            _num(s.inertia, 0),
        ]
        for s in result.sweep.scores
    ]
    table = _table(
        ["K", "Silhouette ↑", "Davies–Bouldin ↓", "Calinski–Harabasz ↑", "Inertia"],
        rows,
        {1, 2, 3, 4},
    )
    return f"<p>{_e(result.sweep.reason)}</p>{table}"


def sensitivity_section(result: AnalysisResult) -> str:
    """The sensitivity table (core.sensitivity, ``result.sensitivity``) with how to read it.

    Parameters
    ----------
    result
        The analysis reported; its table is filled by ``segment --sensitivity`` or the GUI's
        Sensitivity tab.

    Returns
    -------
    str
        HTML: one row per variant as in ``sensitivity.csv`` (the main run first and in bold;
        shares of the customers in both runs), then the two sentences on how to read it; ""
        when the run has no sensitivity table.
    """
    table = result.sensitivity
    if table is None:
        return ""

    def changing(row: dict[str, Any], key: str) -> str:
        share = row[f"share_changing_{key}"]
        return f"{int(row[f'customers_changing_{key}']):,}" + (
            f" ({_pct(share)})" if math.isfinite(float(share)) else ""
        )

    rows = []
    for i, row in enumerate(table.to_dict("records")):
        cells = [
            _e(row["variant"]),
            str(int(row["k"])),
            _num(row["silhouette"], 3),
            _num(row["stability_ari"], 2),
            str(int(row["clusters_dissolving"])),
            _e(row["cluster_sizes"]),
            f"{int(row['customers']):,}",
            changing(row, "cluster"),
            changing(row, "segment"),
        ]
        rows.append([f"<b>{c}</b>" for c in cells] if i == 0 else cells)
    headers = [
        "Variant",
        "K",
        "Silhouette",
        "Stability (ARI)",
        "Dissolving clusters",
        "Cluster sizes",
        "Customers",
        "Changing cluster",
        "Changing named segment",
    ]
    intro = (
        "<p class='muted'>The analysis again with one choice changed at a time; clusters are "
        "paired with the main run's by their centroids.</p>"
    )
    return f"{intro}{_table(headers, rows, {1, 2, 3, 4, 6, 7, 8})}<p>{_e(SENSITIVITY_READING)}</p>"


def _figure(title: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure><img alt='{_e(title)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{_e(title)}</figcaption></figure>"
    )


def build_report_html(result: AnalysisResult, images: Mapping[str, bytes]) -> str:
    """The whole report as one HTML string; ``images`` maps a caption to PNG bytes (in order)."""
    k_images = {t: b for t, b in images.items() if t.startswith(K_CHARTS)}
    other_images = {t: b for t, b in images.items() if t not in k_images}
    source = Path(result.params.input_path).name
    warnings = "".join(
        f"<li>{_e(w.stage.capitalize())}: {_e(w.text)}</li>" for w in result.warnings
    )
    params = json.dumps(result.params.to_dict(), indent=2, ensure_ascii=False, default=str)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>RFM report – {_e(source)}</title><style>{CSS}</style></head><body>",
        f"<h1>Customer segments of {_e(source)}</h1>",
        f"<p class='muted'>RFM Desktop {_e(__version__)} · {datetime.now():%Y-%m-%d %H:%M} · "
        f"snapshot date {result.snapshot_date:%Y-%m-%d}</p>",
        f"<p><b>{result.customer_count:,}</b> customers from {result.cleaning.rows_clean:,} clean rows "
        f"(of {result.rows_read:,} read) in {_e(result.segments_text)}, "
        f"mean silhouette {_num(result.silhouette, 2)}.</p>",
        f"<ul>{warnings}</ul>" if warnings else "",
        "<h2>Segments</h2>",
        segment_matrix(result),
        "<h2>Named RFM segments</h2>",
        named_segments_table(result),
        "<h2>Customer value</h2>" if result.params.clv.enabled else "",
        value_section(result),
        "<h2>RFM score grid</h2>",
        heatmap_table(result),
        "<h2>Cleaning</h2>",
        cleaning_table(result),
        "<h2>Choosing K</h2>",
        k_table(result),
        *(_figure(t, b) for t, b in k_images.items()),
        "<h2>Sensitivity</h2>" if result.sensitivity is not None else "",
        sensitivity_section(result),
        "<h2>Pictures</h2>" if other_images else "",  # scatter plots and other views
        *(_figure(t, b) for t, b in other_images.items()),
        "<h2>Settings</h2><p class='muted'>Open these with File ▸ Open analysis to repeat the run.</p>",
        f"<pre>{_e(params)}</pre>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def report_bytes(result: AnalysisResult, images: Mapping[str, bytes] | None = None) -> bytes:
    """The report as UTF-8 bytes, for a writer that writes it with other files."""
    return build_report_html(result, images or {}).encode("utf-8")


def report_path(path: str | Path, input_path: str | Path | None = None) -> Path:
    """``path`` checked as a report file name: ``.html``/``.htm``, not a folder, not the input.

    Raises
    ------
    ExportError
        It is not such a file name.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ExportError(
            f"Cannot write the report to '{path.name}': use a .html file name.",
            hint="Give the report a name ending in .html, e.g. report.html.",
        )
    if path.is_dir():
        raise ExportError(f"The report '{path}' is a folder, not a file.")
    export.check_not_input(path, input_path)
    return path


def write_report(
    result: AnalysisResult,
    path: str | Path,
    images: Mapping[str, bytes] | None = None,
    *,
    lock: writing.FolderLock | None = None,
) -> Path:
    """Write the report (:func:`build_report_html`) and its ``run.json`` into ``path``'s folder.

    Parameters
    ----------
    result
        What the report describes.
    path
        The ``.html`` file; other files in its folder are not touched.
    images
        Caption -> PNG bytes, in order; none for a report without pictures.
    lock
        The lock of ``path``'s folder when the caller holds it (the CLI, for the whole run).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        ``path`` is not a .html file name, is the input file, or cannot be written.
    """
    path = report_path(path, result.params.input_path)
    files = {path.name: report_bytes(result, images)}
    return export.write_export(path.parent, files, result, replace=False, lock=lock)[0]
