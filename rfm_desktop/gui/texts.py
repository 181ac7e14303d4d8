"""Words the analyst reads: tooltips for every option and the F1 help."""

from __future__ import annotations

import html
from collections.abc import Iterable

from rfm_desktop.core.choices import SCALERS
from rfm_desktop.core.file_types import dialog_filter

FILE_FILTERS = dialog_filter()
ANALYSIS_FILTER = "RFM analysis (*.rfm.json *.json);;All files (*)"

TIPS: dict[str, str] = {
    "open": "Open a transactions export (.xlsx, .csv or .parquet): one row per product line of an invoice.",
    "sample": "Open a small bundled file in the UCI Online Retail layout to try the app.",
    "sheet": (
        "The sheets with transactions. Ticked at first: the first sheet whose columns can be "
        "used and every sheet laid out like it (e.g. one year per sheet); ticked sheets are "
        "stacked."
    ),
    "header_row": (
        "The row that holds the column headers, counted from 1. Automatic: the first row under "
        "which the columns can be used, so title lines above the headers are skipped."
    ),
    "date_order": (
        "How dates like 05/06/2024 are read. Automatic reads the order from the data and warns "
        "when the data cannot tell (no day above 12)."
    ),
    "cancel_load": "Stop reading the file. Nothing is changed.",
    "mapping": (
        "Which column of your file holds this field. Detected from the column names; "
        "change it when the guess is wrong."
    ),
    "step.invalid": "Rows whose date or numbers cannot be read are always removed.",
    "step.missing_customer": (
        "Rows without a customer id cannot be tied to a customer, so they cannot count "
        "towards anyone's recency, frequency or spend."
    ),
    "step.placeholder_ids": (
        "Customer ids that stand for no customer (guest, 0, -1, N/A, unknown, anonymous, -). "
        "Counted as one customer they would hold every guest's orders."
    ),
    "step.non_sale_status": (
        "Rows whose status column says the sale did not complete (failed, refunded, cancelled, "
        "pending, voided…). Unknown status words are kept and named in a warning."
    ),
    "step.cancellations": (
        "UCI-style cancellations: invoice 'C' followed by digits (C536379) with a negative "
        "quantity. Order ids that merely start with C (CA-2016-152156) are kept."
    ),
    "step.other_currency": (
        "Keep only rows in one currency: amounts in several currencies cannot be added up. "
        "Or map a converted amount on the Columns page."
    ),
    "step.nonpositive": "Lines with zero or negative quantity or price are returns, fixes or free items.",
    "step.non_product": "Postage, bank fees, manual adjustments and similar lines are not products bought.",
    "step.duplicates": "Rows that are exactly the same as an earlier row (the same line exported twice).",
    "outliers": (
        "Customers far from the rest (e.g. wholesalers) can pull a segment towards them. "
        "Keep them, drop them, or put them into their own 'Outliers' segment."
    ),
    "iqr": (
        "How far is 'far': a customer is an outlier when a value lies more than this many "
        "interquartile ranges (IQR) below the first or above the third quartile. 1.5 is the "
        "usual rule; larger values flag fewer customers."
    ),
    "snapshot": (
        "The day recency is counted from: 'days since the last purchase' as of this date. "
        "By default the day after the last purchase in the file."
    ),
    "snapshot_default": "Use the day after the last purchase in the file as the snapshot date.",
    "as_of": (
        "Analyse the file as it was on this date: only transactions before it count, and "
        "recency is counted to it. One file gives 'end of May' and 'end of June' results "
        "(rfm-desktop segment --compare compares two)."
    ),
    "feature.recency": "Recency (R): days since the customer's last purchase. Fewer days = more recent.",
    "feature.frequency": "Frequency (F): how many different invoices (orders) the customer placed.",
    "feature.monetary": "Monetary (M): how much the customer spent in total.",
    "transform": (
        "Spend and order counts are very skewed: a few customers spend 100x the typical one. "
        "The log transform (log1p) squeezes those big values so k-means does not form clusters "
        "of just a few big spenders. 'None' keeps the raw values."
    ),
    "scaler": " ".join(
        [
            "Puts recency (days), frequency (orders) and monetary (money) on a comparable scale so "
            "no feature dominates just because of its unit.",
            *(choice.help for choice in SCALERS.values() if choice.help),
        ]
    ),
    "clv": (
        "Fit the BG/NBD purchase model and the Gamma-Gamma spend model on the cleaned "
        "purchases: each customer's chance of still buying (P(alive)), expected purchases, "
        "predicted value over the horizon and expected next order; per segment and cluster the "
        "predicted value and the revenue at risk (the Value tab). Takes a fraction of a second "
        "on 4,000 customers."
    ),
    "clv_horizon": "How far ahead value and purchases are predicted, in days after the data ends.",
    "clv_discount": (
        "Monthly discount rate of future revenue: 1 % a month counts revenue a year away at "
        "about 89 % of its value."
    ),
    "clv_calibration": (
        "Also fit the models on the purchases before this date and compare what they predict "
        "with the purchases from it on (the Value tab's two validation charts)."
    ),
    "k_fixed": "Use exactly this many segments (K).",
    "k_range": "Try every K in this range and use the one the scores suggest.",
    "k_sweep": (
        "Also fit every K of the range (from … to) and draw its scores, to compare with the fixed K. "
        "Off: only the fixed K is fitted, which is quicker."
    ),
    "k_min": "Smallest number of segments to try.",
    "k_max": "Largest number of segments to try.",
    "evaluate": (
        "Fit k-means for each K in the range and draw four quality scores as each K finishes. "
        "Click a point on any chart to choose that K."
    ),
    "silhouette": (
        "Silhouette (−1 to 1): how much closer each customer is to their own segment than to "
        "the next one. Higher is better; above 0.5 means well separated segments."
    ),
    "seed_preset": (
        "The settings of the original write-up: basic cleaning, outliers kept, raw recency, "
        "frequency and monetary (no transform), standard scaler, K = 4, with K 2 to 10 scored for the charts."
    ),
    "seed": "The random seed of k-means: the same seed and data always give the same segments.",
    "run": "Compute RFM, the segments and all views with these settings (Ctrl+R).",
    "cancel_run": "Stop the analysis. The window stays as it was before the run.",
}

WHAT_IS_RFM = (
    "RFM describes each customer by three numbers: Recency (days since the last purchase), "
    "Frequency (number of orders) and Monetary value (total spend). Customers with similar "
    "numbers are grouped into segments with k-means."
)

HELP_HTML = f"""
<h2>RFM Desktop</h2>
<p>{WHAT_IS_RFM}</p>
<h3>Steps</h3>
<ol>
<li><b>File</b> – open a transactions export (Excel, CSV or Parquet, UCI Online Retail layout)
or drop it on the window.</li>
<li><b>Columns</b> – check which column holds the customer id, invoice, date, quantity and price.</li>
<li><b>Cleaning</b> – choose which rows to remove; the counts update as you click.</li>
<li><b>Clustering</b> – choose features, transform and scaler, and a K (number of segments).
<i>Evaluate K</i> draws the quality scores for a range of K; click a point to pick it.</li>
<li><b>Run</b> – computes everything; the results open in tabs.</li>
</ol>
<h3>Quality scores</h3>
<ul>
<li><b>Silhouette</b> (higher is better): how clearly customers sit in their own segment.</li>
<li><b>Davies–Bouldin</b> (lower is better): how much segments overlap.</li>
<li><b>Calinski–Harabasz</b> (higher is better): spread between segments vs. within them.</li>
<li><b>Inertia</b> (elbow): always falls with K; look for the bend.</li>
</ul>
<h3>Keys</h3>
<table>
<tr><td>Ctrl+O</td><td>Open a file</td></tr>
<tr><td>Ctrl+R</td><td>Run the analysis</td></tr>
<tr><td>Ctrl+E</td><td>Export segments</td></tr>
<tr><td>Ctrl+S</td><td>Save the analysis settings</td></tr>
<tr><td>Esc</td><td>Cancel the running job</td></tr>
<tr><td>F1</td><td>This help</td></tr>
</table>
<p>Rename a segment by double-clicking its name in the <i>Segments</i> tab; the new name is used in
every view and export.</p>
<h3>Named RFM segments</h3>
<p>Each measure gets a score from 1 to 5 (or 2 to 10); equal values always get equal scores, and the
<i>RFM scores</i> tab shows the thresholds. A rule table turns the three scores into a named segment
(the first rule that matches; none: “Others”). <i>Scores and segment rules…</i> on the Clustering
page and the RFM scores tab changes the number of scores, the break points and the rules, with a map
of which rule takes each score cell. The <i>Customers</i> tab says why a customer is in a segment
and what would move them to a better one.</p>
"""


def tip(key: str) -> str:
    return TIPS[key]


def warnings_html(texts: Iterable[object]) -> str:
    """Warnings as escaped lines for a rich-text label: ``⚠ text<br>⚠ text``; "" for none."""
    return "<br>".join(f"⚠ {html.escape(str(t))}" for t in texts)
