"""The rule-coverage map: which rule takes each R x F x M score cell, and what can never happen.

For a rule table on scores 1..bins every one of the bins³ cells is evaluated as a customer with
those scores would be (first match wins). A rule whose box is empty can never match; a rule
whose every cell is taken by earlier rules is shadowed and can never match either; a cell no
rule takes falls to "Others". The GUI colours the cells; the CLI prints the warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_desktop.core.rules import OTHERS, RuleSet, first_rule


@dataclass(frozen=True)
class RuleCoverage:
    """How one rule fares in the table.

    ``status``: "ok" (takes at least one cell), "never" (its box is empty on these scores) or
    "shadowed" (every cell of its box is taken by earlier rules, named in ``shadowed_by``).
    """

    name: str
    box_cells: int  # cells inside the rule's box
    cells: int  # cells the rule takes (first match)
    status: str
    shadowed_by: tuple[str, ...] = ()  # earlier rules taking cells of this rule's box


@dataclass(frozen=True, eq=False)
class Coverage:
    """The coverage map of a rule table on scores 1..bins.

    ``cells``: one row per score cell with columns r_score, f_score, m_score, rule (index into
    ``rules.rules``, -1 for "Others") and segment. ``uncovered``: the (r, f, m) cells of "Others".
    """

    bins: int
    rules: RuleSet
    cells: pd.DataFrame
    rule_stats: tuple[RuleCoverage, ...]
    uncovered: tuple[tuple[int, int, int], ...]

    @property
    def unreachable(self) -> tuple[str, ...]:
        """Rules that can never match: empty box or fully shadowed."""
        return tuple(s.name for s in self.rule_stats if s.status != "ok")

    @property
    def shadowed(self) -> tuple[str, ...]:
        """Rules whose every cell an earlier rule takes (listed in table order)."""
        return tuple(s.name for s in self.rule_stats if s.status == "shadowed")

    def segment_at(self, r: int, f: int, m: int) -> str:
        """The segment of the score cell (``r``, ``f``, ``m``), each score 1..bins."""
        n = self.bins
        return str(self.cells["segment"].iat[((r - 1) * n + (f - 1)) * n + (m - 1)])

    def cell_index(self, customers: pd.DataFrame) -> np.ndarray:
        """Each customer's row in ``cells`` (from their r_score, f_score, m_score)."""
        n = self.bins
        r, f, m = (
            customers[c].to_numpy(dtype=np.int64) - 1 for c in ("r_score", "f_score", "m_score")
        )
        return (r * n + f) * n + m

    def warnings(self, customers: pd.DataFrame | None = None) -> list[str]:
        """One sentence per rule that can never match, and one for the cells of "Others".

        With ``customers`` (r_score, f_score, m_score columns), the "Others" sentence counts the
        customers in uncovered cells and is left out when there are none.
        """
        out = []
        for stat, rule in zip(self.rule_stats, self.rules.rules, strict=True):
            if stat.status == "never":
                empty = [
                    letter for letter, (lo, hi) in zip("RFM", rule.boxes, strict=True) if lo > hi
                ]
                out.append(
                    f"Rule '{rule.name}' can never match on scores 1–{self.bins}: its "
                    f"{'/'.join(empty)} range is empty."
                )
            elif stat.status == "shadowed":
                out.append(
                    f"Rule '{rule.name}' ({rule.describe()}) can never match: every score cell it "
                    f"covers is taken by earlier rules ({', '.join(stat.shadowed_by)})."
                )
        if not self.uncovered:
            return out
        examples = ", ".join(f"R {r} F {f} M {m}" for r, f, m in self.uncovered[:3])
        if customers is None:
            out.append(
                f"{len(self.uncovered)} of {self.bins**3} score cells match no rule and fall to "
                f"'{OTHERS}' (e.g. {examples})."
            )
            return out
        hit = (self.cells["rule"].to_numpy() == -1)[self.cell_index(customers)]
        if hit.any():
            out.append(
                f"{int(hit.sum()):,} customers ({hit.mean():.1%}) have scores no rule covers and are "
                f"'{OTHERS}' ({len(self.uncovered)} of {self.bins**3} score cells, e.g. {examples})."
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The coverage as JSON-ready values (rule statistics and uncovered cells), for summary.json."""
        return {
            "bins": self.bins,
            "rules": [
                {
                    "segment": s.name,
                    "cells": s.cells,
                    "box_cells": s.box_cells,
                    "status": s.status,
                    "shadowed_by": list[Any](s.shadowed_by),
                }
                for s in self.rule_stats
            ],
            "others_cells": [list(c) for c in self.uncovered],
        }


def rule_coverage(rules: RuleSet, bins: int | None = None) -> Coverage:
    """The coverage map of ``rules`` on scores 1..bins (default: the table's own scale).

    Parameters
    ----------
    rules
        A rule table; read through :meth:`RuleSet.rescaled` when ``bins`` differs from its scale.
    bins
        Number of scores per measure, 2..10.

    Returns
    -------
    Coverage
        bins³ cells with the rule that takes each, per-rule status, and the cells of "Others".
    """
    bins = bins or rules.scale
    table = rules.rescaled(bins)
    axis = np.arange(1, bins + 1)
    r, f, m = (a.ravel() for a in np.meshgrid(axis, axis, axis, indexing="ij"))
    taken_by = first_rule(r, f, m, table)
    names = np.array([rule.name for rule in table.rules] + [OTHERS], dtype=object)
    cells = pd.DataFrame(
        {
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "rule": taken_by,
            "segment": pd.array(names[taken_by], dtype="string"),
        }
    )
    stats = []
    for i, rule in enumerate(table.rules):
        box = rule.matches(r, f, m)
        takers = sorted(set(taken_by[box & (taken_by != i)].tolist()) - {-1})
        by = tuple(table.rules[j].name for j in takers if j < i)
        took = int((taken_by == i).sum())
        status = "never" if not box.any() else ("ok" if took else "shadowed")
        stats.append(RuleCoverage(rule.name, int(box.sum()), took, status, by))
    uncovered = tuple(
        (int(a), int(b), int(c))
        for a, b, c in zip(r[taken_by == -1], f[taken_by == -1], m[taken_by == -1], strict=True)
    )
    return Coverage(bins, table, cells, tuple(stats), uncovered)
