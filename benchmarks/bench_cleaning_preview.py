"""How fast do the cleaning page's counts refresh after a step is ticked, at 1 M and 10 M rows?

Generates the rows with the project's own generator (core/sample.py, cached outside the repo
as bench_scale.py does), reads them as the app does, then times what the cleaning page waits
for after a change until its per-step counts and examples can be shown:

* new way: ``cleaning.clean(frame, options, masks=..., counted=...)`` with the step masks kept
  for the loaded file: the first computation (every step's test, once per file; median of 3
  on fresh masks), then the
  refresh after each toggle (mask arithmetic; the counts are reported before the rows are copied);
* old way (the baseline, in the same run, alternating with the new one): every step's test
  on every row again, exact duplicates by ``DataFrame.duplicated`` and the copy of the clean
  rows before the counts are shown, as the page did before the masks were kept.

    python benchmarks/bench_cleaning_preview.py [--sizes 1000000 10000000] [--toggles 5]

Goal: a refresh <= 0.5 s at 10,000,000 rows; the counts are identical (checked here too).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from _common import ROOT
from bench_scale import data_file

sys.path.insert(0, str(ROOT))

GOAL_S = 0.5


def old_counts(frame, options):
    """The cleaning before the masks were kept: every test on every row, then the copy."""
    from rfm_desktop.core import cleaning

    keep = np.ones(len(frame), dtype=bool)
    counts = []
    for step in cleaning.STEPS:
        enabled = step.option is None or bool(getattr(options, step.option))
        if step.name == "duplicates":
            drop = np.zeros(len(frame), dtype=bool)
            drop[np.flatnonzero(keep)] = frame.loc[keep].duplicated().to_numpy()
        else:
            drop = step.rows_to_drop(frame, options)
        hit = keep & drop
        count = int(hit.sum())
        if count:
            step.example(frame.iloc[int(np.argmax(hit))])
        if enabled:
            keep &= ~hit
        counts.append((count if enabled else 0, count, int(keep.sum())))
    cleaning._frame_notes(frame)
    frame.loc[keep].reset_index(drop=True)
    return counts


def new_counts(frame, options, masks):
    """Seconds until the report is there, and the counts it gives."""
    from rfm_desktop.core import cleaning

    started = time.perf_counter()
    seen: dict[str, float] = {}

    def counted(report):
        seen["at"] = time.perf_counter() - started
        seen["report"] = report

    cleaning.clean(frame, options, masks=masks, counted=counted)
    counts = [(s.removed, s.would_remove, s.after) for s in seen["report"].steps]
    return seen["at"], counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--toggles", type=int, default=5)
    args = parser.parse_args(argv)

    from rfm_desktop.core import cleaning, pipeline
    from rfm_desktop.core.params import AnalysisParams, CleaningOptions
    from rfm_desktop.core.sample import default_customers

    base = CleaningOptions()
    changes = [  # what an analyst ticks, one after the other
        base,
        CleaningOptions(drop_duplicates=True),
        CleaningOptions(drop_duplicates=True, drop_non_product=True),
        CleaningOptions(drop_duplicates=True, drop_non_product=True, drop_cancellations=False),
        CleaningOptions(drop_non_product=True, drop_missing_customer=False),
        CleaningOptions(drop_nonpositive=False),
    ]
    worst = 0.0
    for rows in args.sizes:
        path = data_file(rows, default_customers(rows))
        frame = pipeline.load(AnalysisParams(input_path=str(path))).frame
        firsts = []
        for _ in range(3):  # the first computation, on fresh masks each time
            masks = cleaning.StepMasks(frame)
            seconds, counts = new_counts(frame, base, masks)
            firsts.append(seconds)
        first = statistics.median(firsts)
        assert counts == old_counts(frame, base)
        refresh, old = [], []
        for i in range(args.toggles):
            options = changes[1 + i % (len(changes) - 1)]
            seconds, counts = new_counts(frame, options, masks)
            refresh.append(seconds)
            started = time.perf_counter()
            expected = old_counts(frame, options)
            old.append(time.perf_counter() - started)
            assert counts == expected, f"counts differ for {options}"
            print(f"  {rows:,} rows, toggle {i + 1}: new {seconds:.3f} s, old {old[-1]:.2f} s")
        new_med, old_med = statistics.median(refresh), statistics.median(old)
        worst = max(worst, new_med) if rows >= 10_000_000 else worst
        print(
            f"{rows:,} rows: first computation of the masks median {first:.2f} s (of 3); refresh after a toggle "
            f"median {new_med:.3f} s (max {max(refresh):.3f}) vs old way {old_med:.2f} s "
            f"({new_med / old_med:.3f}x); counts identical"
        )
    if worst:
        print(
            f"goal: refresh <= {GOAL_S} s at 10 M rows: {'OK' if worst <= GOAL_S else 'TOO SLOW'}"
        )
    return 0 if worst <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
