""" "Why this segment": one customer's scores, the thresholds around them, the rule that matched,
and the nearest better segment with what would move the customer there.

"Better" follows the rule table's order of segments, best first (``RuleSet.segment_names``; for
the built-in tables: Champions, Loyal Customers, Potential Loyalist, New Customers, Promising,
Need Attention, About To Sleep, At Risk, Can't Lose Them, Lost, then "Others"). A customer can only
move by buying: recency can fall, frequency and monetary can grow, so only score cells with every
score at least the current one count. "Nearest" is the fewest score steps (R + F + M); ties go to
the better segment, then to the lower R, F, M. Cells whose band no value can reach (tied breaks)
are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.core.rules import OTHERS, RuleSet, SegmentRule, first_rule
from rfm_desktop.core.scoring import MeasureScale, ScoreBand, fmt_value, with_unit


@dataclass(frozen=True)
class MeasureScore:
    """One measure of the customer: its value, score and the band (thresholds) it fell in."""

    measure: str
    value: float
    score: int
    band: ScoreBand
    text: str  # "recency 12 days (R 4: > 8 and ≤ 30)"


@dataclass(frozen=True)
class Change:
    """One score a move needs: from ``score_from`` to ``score_to``, reached at value ``needed``
    (recency: at most that many days; frequency: at least that many orders; monetary: above it)."""

    measure: str
    score_from: int
    score_to: int
    value: float
    needed: float
    text: str


@dataclass(frozen=True)
class Explanation:
    customer_id: str
    measures: tuple[MeasureScore, MeasureScore, MeasureScore]  # recency, frequency, monetary
    segment: str
    rule: SegmentRule | None  # None: no rule matched ("Others")
    better_segment: str | None  # None: already the best segment, or no better one reachable
    changes: tuple[Change, ...]
    text: str  # one sentence

    @property
    def scores(self) -> tuple[int, int, int]:
        """The customer's (R, F, M) scores, each 1..bins."""
        return tuple(m.score for m in self.measures)  # type: ignore[return-value]


def band_text(scale: MeasureScale, band: ScoreBand) -> str:
    """The thresholds of a score: 'R 4: > 8 and ≤ 30 days'."""
    m = scale.measure
    if band.above is None and band.up_to is None:
        bounds = "any value"
    elif band.above is None:
        bounds = f"≤ {with_unit(band.up_to, m)}"
    elif band.up_to is None:
        bounds = f"> {with_unit(band.above, m)}"
    else:
        bounds = f"> {fmt_value(band.above, m)} and ≤ {with_unit(band.up_to, m)}"
    return f"{scale.letter} {band.score}: {bounds}"


def _value_text(measure: str, value: float) -> str:
    prefix = {"recency": "recency ", "frequency": "", "monetary": "spend "}[measure]
    return prefix + with_unit(value, measure)


def explain_scores(
    values: tuple[float, float, float],
    scales: tuple[MeasureScale, ...],
    rules: RuleSet,
    customer_id: str = "",
) -> Explanation:
    """Explain the segment of a customer with these recency (days), frequency (orders) and
    monetary (currency) values, under these scales and this rule table (on the scales' scores).

    Returns
    -------
    Explanation
        Scores with their bands, the matched rule (None for "Others"), the nearest better
        segment and the changes that reach it, and a one-sentence text.
    """
    measures = []
    for scale, value in zip(scales, values, strict=True):
        score = int(scale.scores(np.array([value]))[0])
        band = scale.band(score)
        measures.append(
            MeasureScore(
                scale.measure,
                float(value),
                score,
                band,
                f"{_value_text(scale.measure, value)} ({band_text(scale, band)})",
            )
        )
    r, f, m = (ms.score for ms in measures)
    index = int(first_rule(np.array([r]), np.array([f]), np.array([m]), rules)[0])
    rule = rules.rules[index] if index >= 0 else None
    segment = rule.name if rule else OTHERS
    target = _nearest_better(scales, rules, (r, f, m), segment)
    changes: tuple[Change, ...] = ()
    better = None
    if target is not None:
        better, cell = target
        changes = tuple(
            _change(scale, ms, to)
            for scale, ms, to in zip(scales, measures, cell, strict=True)
            if to != ms.score
        )
    who = f"Customer {customer_id}: " if customer_id else ""
    matched = f"match '{segment}' ({rule.describe()})" if rule else f"match no rule, so '{OTHERS}'"
    if better is not None:
        outlook = f"; {_join(changes)} → '{better}'"
    elif rules.rank(segment) == 0:
        outlook = ", the best segment"
    else:
        outlook = "; no better segment is reachable by buying more"
    text = f"{who}{', '.join(ms.text for ms in measures)} {matched}{outlook}."
    return Explanation(customer_id, tuple(measures), segment, rule, better, changes, text)  # type: ignore[arg-type]


def explain_customer(result: AnalysisResult, customer_id: str) -> Explanation:
    """:func:`explain_scores` for one customer of a result.

    Raises
    ------
    KeyError
        ``customer_id`` is not a customer of the result.
    """
    customers = result.customers
    rows = np.flatnonzero(
        (customers["customer_id"] == customer_id).to_numpy(dtype=bool, na_value=False)
    )
    if not len(rows):
        raise KeyError(customer_id)
    row = customers.iloc[int(rows[0])]
    values = (float(row["recency"]), float(row["frequency"]), float(row["monetary"]))
    return explain_scores(values, result.scales, result.rules, str(customer_id))


def _nearest_better(
    scales: tuple[MeasureScale, ...], rules: RuleSet, current: tuple[int, int, int], segment: str
) -> tuple[str, tuple[int, int, int]] | None:
    bins = scales[0].bins
    rank = rules.rank(segment)
    axes = [
        np.array([s for s in range(c, bins + 1) if scale.reachable(s) or s == c])
        for scale, c in zip(scales, current, strict=True)
    ]
    r, f, m = (a.ravel() for a in np.meshgrid(*axes, indexing="ij"))
    taken = first_rule(r, f, m, rules)
    best = None
    for i in np.flatnonzero(taken >= 0):
        name = rules.rules[int(taken[i])].name
        seg_rank = rules.rank(name)
        if seg_rank >= rank:
            continue
        cell = (int(r[i]), int(f[i]), int(m[i]))
        key = (sum(cell) - sum(current), seg_rank, cell)
        if best is None or key < best[0]:
            best = (key, name, cell)
    return (best[1], best[2]) if best else None


def _change(scale: MeasureScale, ms: MeasureScore, to: int) -> Change:
    band = scale.band(to)
    value = ms.value
    if scale.measure == "recency":  # a purchase recent enough for the higher R score
        needed = float(math.floor(band.up_to)) if band.up_to is not None else 0.0
        text = f"a purchase within {with_unit(needed, 'recency')}"
    elif scale.measure == "frequency":  # orders are whole numbers: the first count above the break
        needed = float(math.floor(band.above) + 1) if band.above is not None else value
        more = int(needed - value)
        text = f"{more} more order{'s' if more != 1 else ''} ({fmt_value(needed, 'frequency')} in total)"
    else:
        needed = float(band.above) if band.above is not None else value
        text = (
            f"spend above {fmt_value(needed, 'monetary')} in total "
            f"({fmt_value(max(needed - value, 0.0), 'monetary')} more)"
        )
    return Change(scale.measure, ms.score, to, value, needed, text)


def _join(changes: tuple[Change, ...]) -> str:
    texts = [c.text for c in changes]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
