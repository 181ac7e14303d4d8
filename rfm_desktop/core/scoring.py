"""R, F and M scores from the values: break points, the bands between them, and what they cost.

Policy (README, "How the numbers are made"): a score is a function of the value, so equal values
always get equal scores. With ``bins`` scores a measure has ``bins - 1`` break points; a value
equal to a break takes the lower band. The default breaks are the quantiles of the customers'
values at 1/bins, 2/bins, … (linear interpolation, R's default ``quantile()`` type 7), as the R
package `rfm` does (``rfm_table_order()``: value-based bins, thresholds reported; it adds 1 to each
quantile, which only matters for non-integer values and is not copied). When ties make breaks
coincide, the bands between them are empty: fewer distinct scores are used and a warning names
them with the thresholds, instead of inventing differences between equal customers. Recency is
reversed: the most recent band gets the highest score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MEASURES = ("recency", "frequency", "monetary")
LETTERS = {"recency": "R", "frequency": "F", "monetary": "M"}
UNITS = {"recency": "days", "frequency": "orders", "monetary": ""}


@dataclass(frozen=True)
class ScoreBand:
    """The values one score stands for, and the customers who have it.

    A value v has this score when ``above < v <= up_to`` (``None``: no bound on that side).
    ``lower`` and ``upper`` are the smallest and largest value among its customers (``None`` when
    it has none).
    """

    score: int
    above: float | None
    up_to: float | None
    lower: float | None
    upper: float | None
    customers: int

    @property
    def reachable(self) -> bool:
        """False when two equal breaks leave no value for this score."""
        return self.above is None or self.up_to is None or self.above < self.up_to

    def to_dict(self) -> dict[str, float | int | None]:
        """The band as JSON-ready values, for summary.json and the score-thresholds table."""
        return {
            "score": self.score,
            "lower": _plain(self.lower),
            "upper": _plain(self.upper),
            "above": _plain(self.above),
            "up_to": _plain(self.up_to),
            "customers": self.customers,
        }


@dataclass(frozen=True)
class MeasureScale:
    """How one measure (recency, frequency or monetary) is turned into scores 1..bins.

    ``breaks`` are the ``bins - 1`` increasing break points in the measure's unit (days, orders,
    the file's currency); ``method`` is "quantile" or "custom"; ``bands`` lists scores 1..bins.
    """

    measure: str
    bins: int
    breaks: tuple[float, ...]
    method: str
    bands: tuple[ScoreBand, ...] = ()

    @property
    def reverse(self) -> bool:
        """Recency: a small value (a recent purchase) gets a high score."""
        return self.measure == "recency"

    @property
    def letter(self) -> str:
        """``R``, ``F`` or ``M``."""
        return LETTERS[self.measure]

    def scores(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """The score (1..bins, int8) of each value."""
        values = np.asarray(values, dtype=np.float64)
        # how many breaks lie below each value: searchsorted(breaks, values, side="left"), as
        # one comparison per break (a million values: 1 ms against 14 ms); a NaN value sorts
        # after every break but a NaN one (the quantiles of values with a NaN are all NaN)
        below = np.zeros(values.shape, dtype=np.int8)
        for cut in self.breaks:
            below += values > cut
        below[np.isnan(values)] = sum(not np.isnan(cut) for cut in self.breaks)
        scores = self.bins - below if self.reverse else below + 1
        return scores.astype(np.int8)

    def band(self, score: int) -> ScoreBand:
        """The band of ``score`` (1..bins)."""
        return self.bands[score - 1]

    @property
    def used_scores(self) -> tuple[int, ...]:
        """The scores at least one customer got, ascending."""
        return tuple(b.score for b in self.bands if b.customers)

    def reachable(self, score: int) -> bool:
        """Whether any value can have this score: its band is not empty, and for the whole-number
        measures (recency in days, frequency in orders) it holds a whole number."""
        band = self.band(score)
        if not band.reachable:
            return False
        if self.measure == "monetary" or band.above is None or band.up_to is None:
            return True
        return float(np.floor(band.up_to)) > band.above

    def describe(self, score: int) -> str:
        """'F 3 = 3–4 orders' style: the values of one score among the customers."""
        band = self.band(score)
        if not band.customers:
            return f"{self.letter} {score} = none"
        if band.lower == band.upper:
            return f"{self.letter} {score} = {with_unit(band.lower, self.measure)}"
        return f"{self.letter} {score} = {fmt_value(band.lower, self.measure)}–{with_unit(band.upper, self.measure)}"

    def to_dict(self) -> dict[str, Any]:
        """The scale as JSON-ready values, for summary.json (score_thresholds)."""
        return {
            "bins": self.bins,
            "method": self.method,
            "reversed": self.reverse,
            "breaks": [_plain(b) for b in self.breaks],
            "scores": [b.to_dict() for b in self.bands],
        }


def fmt_value(value: float | None, measure: str = "") -> str:
    """A value as the analyst reads it: money with 2 decimals, whole days/orders without."""
    if value is None:
        return "–"
    if measure == "monetary" or not float(value).is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def with_unit(value: float | None, measure: str) -> str:
    """'1 order', '3 orders', '12 days', '250.00' (money has no unit: it is the file's currency)."""
    unit = UNITS[measure]
    if not unit:
        return fmt_value(value, measure)
    return f"{fmt_value(value, measure)} {unit[:-1] if value == 1 else unit}"


def _plain(value: float | None) -> float | int | None:
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else round(value, 6)


def build_scale(
    values: np.ndarray | pd.Series,
    measure: str,
    bins: int = 5,
    breaks: Sequence[float] | None = None,
) -> MeasureScale:
    """The scale of one measure over the customers' ``values``.

    Parameters
    ----------
    values
        One value per customer (recency in days, frequency in orders, monetary in the file's currency).
    measure
        "recency", "frequency" or "monetary" (recency is reversed).
    bins
        Number of scores, 2..10.
    breaks
        Custom break points (``bins - 1``, strictly increasing, in the measure's unit); None = quantiles.

    Returns
    -------
    MeasureScale
        The breaks and, for every score, its bounds, the observed lowest and highest value and the
        number of customers.
    """
    values = np.asarray(values, dtype=np.float64)
    if breaks is None:
        method = "quantile"
        # rounded to 9 decimals so that a break meant to be a whole number is exactly one
        # (interpolation noise would otherwise move customers sitting on it to the next score)
        quantiles = (
            np.round(np.quantile(values, np.arange(1, bins) / bins), 9)
            if len(values)
            else np.zeros(bins - 1)
        )
        cut = tuple(float(b) for b in quantiles)
    else:
        method, cut = "custom", tuple(float(b) for b in breaks)
    scale = MeasureScale(measure, bins, cut, method)
    scores = scale.scores(values)
    bands = []
    for score in range(1, bins + 1):
        below = bins - score if scale.reverse else score - 1  # breaks under this band's values
        members = values[scores == score]
        bands.append(
            ScoreBand(
                score=score,
                above=cut[below - 1] if below >= 1 else None,
                up_to=cut[below] if below < len(cut) else None,
                lower=float(members.min()) if len(members) else None,
                upper=float(members.max()) if len(members) else None,
                customers=int(len(members)),
            )
        )
    return MeasureScale(measure, bins, cut, method, tuple(bands))


def build_scales(
    customers: pd.DataFrame, bins: int = 5, breaks: Mapping[str, Sequence[float]] | None = None
) -> tuple[MeasureScale, ...]:
    """Recency, frequency and monetary scales of a customer table (see :func:`build_scale`)."""
    breaks = breaks or {}
    return tuple(build_scale(customers[m].to_numpy(), m, bins, breaks.get(m)) for m in MEASURES)


def scale_warnings(scales: Sequence[MeasureScale], values: pd.DataFrame | None = None) -> list[str]:
    """One sentence per measure that uses fewer scores than it has, with the thresholds used."""
    warnings = []
    for scale in scales:
        used = scale.used_scores
        if len(used) == scale.bins:
            continue
        name = scale.measure.capitalize()
        listed = ", ".join(f"{scale.letter} {s}" for s in used)
        if scale.method == "quantile" and values is not None and len(values):
            counts = values[scale.measure].value_counts()
            top, share = counts.index[0], counts.iloc[0] / len(values)
            why = (
                f"every customer has {scale.measure} {fmt_value(top, scale.measure)}"
                if share == 1
                else f"{share:.0%} of customers share {scale.measure} {fmt_value(top, scale.measure)}"
            )
            why += ", and equal values keep equal scores, so quantile breaks coincide"
        else:
            why = "no customer falls between some of the custom break points"
        thresholds = "; ".join(scale.describe(s) for s in used)
        warnings.append(
            f"{name} uses {len(used)} of {scale.bins} scores ({listed}): {why}. Thresholds: {thresholds}."
        )
    return warnings


def thresholds_frame(scales: Sequence[MeasureScale]) -> pd.DataFrame:
    """The thresholds of every score as one table (for the workbook and a view beside the heatmap).

    Columns: measure, score, lower, upper (lowest and highest value among its customers), above,
    up_to (the break points around it: above < value <= up_to; empty = unbounded), customers.
    """
    rows = [{"measure": s.measure, **b.to_dict()} for s in scales for b in s.bands]
    return pd.DataFrame(
        rows, columns=["measure", "score", "lower", "upper", "above", "up_to", "customers"]
    )
