"""Named-segment rule tables: the built-in tables of the R package `rfm`, CSV load/save, matching.

A rule is a box of score ranges (R, F and M, inclusive); a customer takes the FIRST rule whose box
holds their scores, and "Others" when none does. A table is written for scores 1..``scale``; when a
run uses another number of scores the table is read through :meth:`RuleSet.rescaled`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.writing import write_files

OTHERS = "Others"
#: the columns of a rules CSV file; ``strategy`` is optional
RULE_COLUMNS = ("segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max")
#: cluster names look like "C1 · Champions-like" (core.profiles); no rule may be called like one
CLUSTER_NAME_PATTERN = re.compile(r"^C\d+\s*·")


@dataclass(frozen=True)
class SegmentRule:
    """One named box of scores. Bounds are inclusive; a box with min > max can never match."""

    name: str
    recency: tuple[int, int]
    frequency: tuple[int, int]
    monetary: tuple[int, int]
    strategy: str = ""

    @property
    def boxes(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """The rule's (low, high) score bounds for recency, frequency and monetary, in that order."""
        return self.recency, self.frequency, self.monetary

    @property
    def is_empty(self) -> bool:
        """True when a bound has low above high, so the rule can never match."""
        return any(low > high for low, high in self.boxes)

    def matches(self, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Which customers the rule takes: boolean array, one per customer, from their R, F
        and M scores (same-length integer arrays).
        """
        return (
            (r >= self.recency[0])
            & (r <= self.recency[1])
            & (f >= self.frequency[0])
            & (f <= self.frequency[1])
            & (m >= self.monetary[0])
            & (m <= self.monetary[1])
        )

    def distance(self, r: float, f: float, m: float) -> tuple[float, float]:
        """(score points outside this rule's box, squared distance to the box centre)."""
        outside = centre = 0.0
        for value, (low, high) in zip((r, f, m), self.boxes, strict=True):
            outside += max(low - value, 0.0) + max(value - high, 0.0)
            centre += (value - (low + high) / 2) ** 2
        return outside, centre

    def describe(self) -> str:
        """'R 4–5, F 4–5, M 4–5' (a single score as 'R 5')."""
        parts = []
        for letter, (low, high) in zip("RFM", self.boxes, strict=True):
            parts.append(f"{letter} {low}" if low == high else f"{letter} {low}–{high}")
        return ", ".join(parts)


@dataclass(frozen=True)
class RuleSet:
    """A rule table: rules in evaluation order (first match wins), written for scores 1..scale.

    ``order`` lists the segment names from best to worst (what "a better segment" means in
    :func:`core.explain.explain_customer` and the display order of tables); empty = the rules'
    order. ``source`` says where the table comes from (a citation or a file path).
    """

    name: str
    rules: tuple[SegmentRule, ...]
    scale: int = 5
    order: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        if not 2 <= self.scale <= 10:
            raise ParamsError(f"A rule table is written for 2 to 10 scores, not {self.scale}.")
        seen: set[str] = set()
        for rule in self.rules:
            _check_rule(rule, self.scale, seen)
        names = {r.name for r in self.rules}
        if self.order and (set(self.order) - {OTHERS}) != names:
            raise ParamsError(
                f"The order of the rule table '{self.name}' must name each of its segments once."
            )

    @property
    def segment_names(self) -> tuple[str, ...]:
        """Segment names best first, then "Others"."""
        names = self.order or tuple(r.name for r in self.rules)
        return tuple(n for n in names if n != OTHERS) + (OTHERS,)

    def rank(self, segment: str) -> int:
        """0 for the best segment; "Others" and unknown names rank last."""
        names = self.segment_names
        return names.index(segment) if segment in names else len(names)

    def strategy(self, segment: str) -> str:
        """The suggested strategy text of ``segment``: the rule's own, else the default for that
        name, else the one for "Others".
        """
        for rule in self.rules:
            if rule.name == segment:
                return rule.strategy or STRATEGIES.get(segment, STRATEGIES[OTHERS])
        return STRATEGIES.get(segment, STRATEGIES[OTHERS])

    def rescaled(self, bins: int) -> RuleSet:
        """This table read on scores 1..bins (the identity when ``bins == scale``).

        A score s of 1..bins covers the quantile band ((s-1)/bins, s/bins]; it is read as the score
        of this table's scale whose band holds the centre of s's band:
        t = ceil(scale * (s - 0.5) / bins). With 3 scores, 1, 2, 3 read as 1, 3, 5 of a 1–5 table;
        with 10 scores, 1–2 read as 1, 3–4 as 2 … 9–10 as 5. A rule bound [lo, hi] becomes the
        scores s whose t lies in it; a bound no score reaches leaves the rule empty (it can never
        match, and the coverage map says so).

        Raises
        ------
        ParamsError
            ``bins`` is outside 2..10.
        """
        if bins == self.scale:
            return self
        if not 2 <= bins <= 10:
            raise ParamsError(f"The number of scores must be 2 to 10, not {bins}.")
        read_as = [-(-(2 * s - 1) * self.scale // (2 * bins)) for s in range(1, bins + 1)]

        def bound(box: tuple[int, int]) -> tuple[int, int]:
            hits = [s for s, t in enumerate(read_as, start=1) if box[0] <= t <= box[1]]
            return (hits[0], hits[-1]) if hits else (bins, 1)

        rules = tuple(
            SegmentRule(r.name, bound(r.recency), bound(r.frequency), bound(r.monetary), r.strategy)
            for r in self.rules
        )
        return RuleSet(self.name, rules, bins, self.order, self.source)

    def to_frame(self) -> pd.DataFrame:
        """The table as the rows of a rules CSV (``segment, r_min … m_max, strategy``)."""
        return pd.DataFrame(
            [
                {
                    "segment": r.name,
                    "r_min": r.recency[0],
                    "r_max": r.recency[1],
                    "f_min": r.frequency[0],
                    "f_max": r.frequency[1],
                    "m_min": r.monetary[0],
                    "m_max": r.monetary[1],
                    "strategy": r.strategy,
                }
                for r in self.rules
            ],
            columns=[*RULE_COLUMNS, "strategy"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-ready values (run.json, saved analyses); :meth:`from_dict` reads it back."""
        return {
            "name": self.name,
            "scale": self.scale,
            "source": self.source,
            "order": list(self.order),
            "table": self.to_frame().to_dict("records"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """The table of :meth:`to_dict`'s output (or a saved analysis' rule table).

        Raises
        ------
        ParamsError
            ``data`` is not a valid rule table (missing key, bad bound); the message names the row.
        """
        try:
            rules = tuple(_rule_from_row(dict(row), i + 2) for i, row in enumerate(data["table"]))
            return cls(
                str(data["name"]),
                rules,
                int(data.get("scale", 5)),
                tuple(data.get("order") or ()),
                str(data.get("source") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParamsError(f"The saved rule table is not valid: {exc}.") from exc


def _check_rule(rule: SegmentRule, scale: int, seen: set[str]) -> None:
    name = rule.name.strip()
    if not name:
        raise ParamsError("A segment rule needs a name.")
    if name.casefold() == OTHERS.casefold():
        raise ParamsError(
            f"'{OTHERS}' is kept for customers no rule matches; give the rule another name."
        )
    if CLUSTER_NAME_PATTERN.match(name):
        raise ParamsError(
            f"The segment name '{name}' looks like a cluster name (C1 · …); choose another."
        )
    if name.casefold() in seen:
        raise ParamsError(f"Two rules are called '{name}'; each segment name must be unique.")
    seen.add(name.casefold())
    for letter, (low, high) in zip("RFM", rule.boxes, strict=True):
        for value in (low, high):
            if not 1 <= value <= scale:
                raise ParamsError(
                    f"Rule '{name}': {letter} bound {value} is outside the scores 1–{scale}.",
                    hint=f"Score bounds run from 1 to {scale} (the number of scores, --score-bins).",
                )


# ---------------------------------------------------------------- built-in tables
STRATEGIES: dict[str, str] = {
    "Champions": "Reward them: early access, loyalty perks, ask for reviews and referrals.",
    "Loyal Customers": "Upsell higher-value lines; invite to a loyalty programme.",
    "Potential Loyalist": "Offer membership or a second-purchase incentive to build the habit.",
    "New Customers": "Onboard well: welcome series, how-to content, a first-repeat offer.",
    "Promising": "Build awareness of the range with targeted recommendations; small free-shipping offers.",
    "Need Attention": "Limited-time offers based on past purchases to win back momentum.",
    "About To Sleep": "Reconnect with popular products and a modest discount before they lapse.",
    "At Risk": "Personalised win-back emails with strong offers; ask what went wrong.",
    "Can't Lose Them": "Win them back urgently: personal contact, best offers, new-product previews.",
    "Lost": "Low-cost reactivation campaign only; otherwise exclude from paid campaigns.",
    "Others": "Monitor; include in general newsletters.",
    "Outliers": "Review by hand: wholesale or unusual accounts that need a tailored approach.",
}

#: best first: the order in which the R package's 0.2.x documentation lists its segments; both
#: built-in tables use it for display and for "a better segment"
SEGMENT_ORDER: tuple[str, ...] = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Lost",
    OTHERS,
)


def _rule(name: str, r: tuple[int, int], f: tuple[int, int], m: tuple[int, int]) -> SegmentRule:
    return SegmentRule(name, r, f, m, STRATEGIES[name])


# Source: the default table of the R package `rfm` (Aravind Hebbali, rsquaredacademy),
# documented in the example of `rfm_segment()` (rfm 0.2.x, CRAN; R/rfm-segment.R):
#   segment_names   Champions, Loyal Customers, Potential Loyalist, New Customers, Promising,
#                   Need Attention, About To Sleep, At Risk, Can't Lose Them, Lost
#   recency_lower   4 2 3 4 3 2 2 1 1 1      recency_upper   5 5 5 5 4 3 3 2 1 2
#   frequency_lower 4 3 1 1 1 2 1 2 4 1      frequency_upper 5 5 3 1 1 3 2 5 5 2
#   monetary_lower  4 3 1 1 1 2 1 2 4 1      monetary_upper  5 5 3 1 1 3 2 5 5 2
# A customer takes the FIRST rule that matches, as in the package's `rfm_segment()` since 0.2.2
# ("avoid overwriting of segments"). The boxes are the published ones; the evaluation order puts
# each narrow box before the broad box that contains it (New Customers and Promising before
# Potential Loyalist, Can't Lose Them before At Risk). In the published order those three
# segments could never occur.
RFM_02 = RuleSet(
    "rfm-0.2",
    (
        _rule("Champions", (4, 5), (4, 5), (4, 5)),
        _rule("Loyal Customers", (2, 5), (3, 5), (3, 5)),
        _rule("New Customers", (4, 5), (1, 1), (1, 1)),
        _rule("Promising", (3, 4), (1, 1), (1, 1)),
        _rule("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
        _rule("Need Attention", (2, 3), (2, 3), (2, 3)),
        _rule("About To Sleep", (2, 3), (1, 2), (1, 2)),
        _rule("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
        _rule("At Risk", (1, 2), (2, 5), (2, 5)),
        _rule("Lost", (1, 2), (1, 2), (1, 2)),
    ),
    order=SEGMENT_ORDER[:-1],
    source="R package rfm 0.2.x, example of rfm_segment() (narrow boxes moved before the broad ones)",
)

# Source: R package `rfm` 0.3.0 (CRAN), reference manual of `rfm_segment()` / `rfm_segment_summary()`,
# https://search.r-project.org/CRAN/refmans/rfm/html/rfm_segment.html (also R/rfm-segment.R of
# github.com/rsquaredacademy/rfm), example:
#   segment_names   Champions, Potential Loyalist, Loyal Customers, Promising, New Customers,
#                   Can't Lose Them, At Risk, Need Attention, About To Sleep, Lost
#   recency_lower   5 3 2 3 4 1 1 1 2 1      recency_upper   5 5 4 4 5 2 2 3 3 1
#   frequency_lower 5 3 2 1 1 3 2 3 1 1      frequency_upper 5 5 4 3 3 4 5 5 3 5
#   monetary_lower  5 2 2 3 1 4 4 3 1 1      monetary_upper  5 5 4 5 5 5 5 5 4 5
# Evaluated in the published order, first match wins (the package's `rfm_segment()`).
RFM_03 = RuleSet(
    "rfm-0.3",
    (
        _rule("Champions", (5, 5), (5, 5), (5, 5)),
        _rule("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
        _rule("Loyal Customers", (2, 4), (2, 4), (2, 4)),
        _rule("Promising", (3, 4), (1, 3), (3, 5)),
        _rule("New Customers", (4, 5), (1, 3), (1, 5)),
        _rule("Can't Lose Them", (1, 2), (3, 4), (4, 5)),
        _rule("At Risk", (1, 2), (2, 5), (4, 5)),
        _rule("Need Attention", (1, 3), (3, 5), (3, 5)),
        _rule("About To Sleep", (2, 3), (1, 3), (1, 4)),
        _rule("Lost", (1, 1), (1, 5), (1, 5)),
    ),
    order=SEGMENT_ORDER[:-1],
    source="R package rfm 0.3.0, example of rfm_segment() (published order)",
)

BUILTIN_RULES: dict[str, RuleSet] = {RFM_02.name: RFM_02, RFM_03.name: RFM_03}
DEFAULT_RULES: tuple[SegmentRule, ...] = RFM_02.rules


def builtin_rules(name: str) -> RuleSet:
    """A built-in table by name: ``rfm-0.2`` (the default) or ``rfm-0.3``.

    Raises
    ------
    ParamsError
        For any other name.
    """
    try:
        return BUILTIN_RULES[name]
    except KeyError:
        raise ParamsError(
            f"Unknown rule table '{name}': use {' or '.join(BUILTIN_RULES)} or a CSV file."
        ) from None


# ---------------------------------------------------------------- CSV files
def _rule_from_row(row: Mapping[str, Any], line: int) -> SegmentRule:
    def score(column: str) -> int:
        text = str(row.get(column) if row.get(column) is not None else "").strip()
        try:
            value = float(text)
        except ValueError:
            raise ParamsError(f"Line {line}: {column} '{text}' is not a whole score.") from None
        if not value.is_integer():
            raise ParamsError(f"Line {line}: {column} '{text}' is not a whole score.")
        return int(value)

    name = str(row.get("segment") or "").strip()
    strategy = row.get("strategy")
    strategy = (
        ""
        if strategy is None or (isinstance(strategy, float) and math.isnan(strategy))
        else str(strategy)
    )
    return SegmentRule(
        name,
        (score("r_min"), score("r_max")),
        (score("f_min"), score("f_max")),
        (score("m_min"), score("m_max")),
        strategy.strip() or STRATEGIES.get(name, ""),
    )


def parse_rules(text: str, *, scale: int = 5, name: str = "custom", source: str = "") -> RuleSet:
    """A rule table from CSV text with the header ``segment,r_min,r_max,f_min,f_max,m_min,m_max``
    and an optional ``strategy`` column; rows in evaluation order (first match wins).

    Parameters
    ----------
    text
        The CSV text.
    scale
        The highest score the bounds are written for (the run's number of scores, 2–10).

    Raises
    ------
    ParamsError
        Missing columns, a bound that is not a whole score in 1..scale, duplicate or reserved names,
        or no rules at all; the message names the line.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in RULE_COLUMNS if c not in header]
    if missing:
        raise ParamsError(
            f"The rules file lacks the column(s) {', '.join(missing)}.",
            hint="The first line must be: segment,r_min,r_max,f_min,f_max,m_min,m_max (strategy optional).",
        )
    reader.fieldnames = header
    rules = []
    for line, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        rules.append(_rule_from_row(row, line))
    if not rules:
        raise ParamsError("The rules file has no rules.")
    return RuleSet(name, tuple(rules), scale, source=source)


def load_rules(path: str | os.PathLike[str], *, scale: int = 5) -> RuleSet:
    """A rule table from a CSV file (see :func:`parse_rules`); the table is named after the file.

    Raises
    ------
    ParamsError
        The file cannot be read or is not a valid rule table.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ParamsError(f"Cannot read the rules file '{path}': {exc.strerror or exc}.") from exc
    except UnicodeDecodeError:
        raise ParamsError(f"The rules file '{path.name}' is not UTF-8 text.") from None
    try:
        return parse_rules(text, scale=scale, name=path.stem, source=str(path))
    except ParamsError as exc:
        raise ParamsError(f"Rules file '{path.name}': {exc.message}", hint=exc.hint) from None


def rules_csv(rules: RuleSet) -> bytes:
    """The table as UTF-8 CSV text that :func:`parse_rules` reads back unchanged."""
    return rules.to_frame().to_csv(index=False, lineterminator="\n").encode("utf-8")


def save_rules(rules: RuleSet, path: str | os.PathLike[str]) -> Path:
    """Write the table as a rules CSV, as a unit of one (see :func:`writing.write_files`).

    Through core.writing, not core.export: rules sit below results and exports in the layers
    contract (pyproject.toml); export.atomic_write_bytes adds only the check against overwriting
    the analysis input, which saving a rules table never had.
    """
    path = Path(path)
    return write_files(path.parent, {path.name: rules_csv(rules)}, replace=False)[0]


def resolve_rules(spec: str, *, scale: int = 5) -> RuleSet:
    """``rfm-0.2`` / ``rfm-0.3`` (built-in, written for 1–5) or the path of a rules CSV (for 1..scale)."""
    return BUILTIN_RULES[spec] if spec in BUILTIN_RULES else load_rules(spec, scale=scale)


# ---------------------------------------------------------------- matching
def assign_segments(
    r: np.ndarray, f: np.ndarray, m: np.ndarray, rules: RuleSet | Sequence[SegmentRule] = RFM_02
) -> pd.Series:
    """The segment name of each customer: the first rule whose box holds (r, f, m), else "Others"."""
    table = rules.rules if isinstance(rules, RuleSet) else tuple(rules)
    index = first_rule(r, f, m, table)
    # each name taken by its rule's number in Arrow: a Python string per customer, converted
    # to the string column afterwards, cost 2 s at 5,000,000 customers
    names = pa.array([rule.name for rule in table] + [OTHERS], pa.large_string())
    taken = names.take(pa.array(np.where(index < 0, len(table), index)))
    return pd.Series(pd.array(taken, dtype="string"))


def first_rule(
    r: np.ndarray, f: np.ndarray, m: np.ndarray, rules: RuleSet | Sequence[SegmentRule]
) -> np.ndarray:
    """The index of the rule each (r, f, m) takes; -1 for "Others"."""
    table = rules.rules if isinstance(rules, RuleSet) else tuple(rules)
    r, f, m = (np.asarray(a) for a in (r, f, m))
    out = np.full(len(r), -1, dtype=np.int64)
    unassigned = np.ones(len(r), dtype=bool)
    for i, rule in enumerate(table):  # first matching rule wins
        hit = unassigned & rule.matches(r, f, m)
        out[hit] = i
        unassigned &= ~hit
    return out
