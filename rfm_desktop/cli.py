"""`rfm-desktop`: the desktop app by default; `segment`, `rules` and `sample` run headless.

Exit codes: 0 success; 2 bad input or bad arguments (one line on stderr, nothing written),
also when another run is writing to the same folder; 130 interrupted with Ctrl-C (the folder
holds the previous result or the whole new one); 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from rfm_desktop import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _k_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a K range like 2:10") from None
    return low, high


def _mapping(text: str) -> tuple[str, str]:
    """``FIELD=COLUMN``; ``FIELD=`` (nothing after =) un-maps a field that was detected."""
    field, sep, column = text.partition("=")
    if not sep or not field.strip():
        raise argparse.ArgumentTypeError(
            f"'{text}' is not FIELD=COLUMN (e.g. customer_id=\"Customer ID\")"
        )
    return field.strip(), column


def _row_number(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a row number (1, 2, ...)")
    return int(text)


def _breaks(text: str) -> tuple[str, tuple[float, ...]]:
    measure, sep, values = text.partition("=")
    try:
        if not sep:
            raise ValueError
        points = tuple(float(v) for v in values.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not MEASURE=V1,V2,... (e.g. frequency=1,2,4,8)"
        ) from None
    return measure.strip(), points


def _add_scoring_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--score-bins", type=int, metavar="N", help="scores per measure, 2-10 (default 5)"
    )
    parser.add_argument(
        "--rules",
        metavar="rfm-0.2|rfm-0.3|FILE",
        help="segment rule table: built-in (default rfm-0.2) or a CSV "
        "(segment,r_min,r_max,f_min,f_max,m_min,m_max[,strategy]; first match wins)",
    )


#: One switch per cleaning step (core/cleaning.STEPS): --keep-… turns off a step that is on by
#: default, --drop-… turns on one that is off. (flag, CleaningOptions attribute, value, help)
CLEANING_FLAGS = (
    (
        "--keep-placeholder-ids",
        "drop_placeholder_ids",
        False,
        "keep customer ids such as guest, 0, -1, N/A, unknown as customers",
    ),
    (
        "--keep-missing-customer",
        "drop_missing_customer",
        False,
        "keep rows without a customer id (they count in no customer's values)",
    ),
    (
        "--keep-all-statuses",
        "drop_non_sale_status",
        False,
        "keep rows whose status is not a completed sale (refunded, failed, pending, ...)",
    ),
    (
        "--keep-cancellations",
        "drop_cancellations",
        False,
        "keep cancellations ('C' + digits invoices with a negative quantity)",
    ),
    (
        "--keep-nonpositive",
        "drop_nonpositive",
        False,
        "keep lines with quantity, unit price or amount <= 0",
    ),
    (
        "--drop-non-product",
        "drop_non_product",
        True,
        "remove postage, fees and other non-product stock codes",
    ),
    (
        "--drop-duplicates",
        "drop_duplicates",
        True,
        "remove rows that repeat an earlier row exactly",
    ),
)


def build_parser() -> _Parser:
    from rfm_desktop.core.choices import OUTLIER_MODES, SCALERS
    from rfm_desktop.core.file_types import extensions_text
    from rfm_desktop.core.params import ENGINES, K_LIMIT, SEED_MAX, STABILITY_RESAMPLES_MAX

    parser = _Parser(prog="rfm-desktop", description="RFM customer segmentation.")
    parser.add_argument("--version", action="version", version=f"rfm-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    seg = sub.add_parser("segment", help="segment customers of a transactions file, headless")
    seg.add_argument(
        "input",
        nargs="?",
        help=f"transactions file: {extensions_text()} (optional with --params)",
    )
    seg.add_argument("--out", required=True, help="output folder")
    seg.add_argument(
        "--params",
        metavar="FILE.rfm.json",
        help="run a saved analysis (or a run.json); INPUT and the flags below override its values",
    )
    seg.add_argument(
        "--sheet",
        action="append",
        metavar="NAME",
        help="workbook sheet to read: a name or 0-based index; repeat it to stack several "
        "sheets; 'all' (the default) stacks every sheet laid out like the first usable one",
    )
    seg.add_argument(
        "--header-row",
        type=_row_number,
        metavar="N",
        help="row of the column headers, counted from 1 (default: the first row under which "
        "the columns map, so title lines above the headers are skipped)",
    )
    seg.add_argument(
        "--date-order",
        choices=["dmy", "mdy", "ymd"],
        help="order of day, month and year in text dates like 05/06/2024 (default: detected, "
        "with a warning when the data cannot tell)",
    )
    seg.add_argument(
        "--map",
        action="append",
        type=_mapping,
        default=[],
        metavar="FIELD=COLUMN",
        help="map a field (customer_id, invoice_date, invoice_id, quantity, unit_price, amount, "
        "stock_code, description, country) to a column header; FIELD= un-maps a detected "
        "field; mapping quantity/unit_price replaces a detected amount and vice versa",
    )
    k_group = seg.add_mutually_exclusive_group()
    k_group.add_argument(
        "--k", type=int, help=f"fixed number of clusters, 2 to {K_LIMIT} (no sweep)"
    )
    k_group.add_argument(
        "--k-range",
        type=_k_range,
        metavar="A:B",
        help=f"K sweep range, 2 <= A <= B <= {K_LIMIT} (default 2:10)",
    )
    seg.add_argument("--transform", choices=["log", "none"])
    seg.add_argument("--scaler", choices=list(SCALERS))
    seg.add_argument("--outliers", choices=list(OUTLIER_MODES))
    seg.add_argument(
        "--snapshot",
        metavar="YYYY-MM-DD",
        help="date recency is measured to: on or after the last purchase, within 50 years of it",
    )
    seg.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="analyse only transactions before this date, with the snapshot at it "
        "(e.g. the end of May from a file that runs into June)",
    )
    seg.add_argument("--seed", type=int, help=f"random seed, 0 to {SEED_MAX} (default 42)")
    seg.add_argument(
        "--sensitivity",
        action="store_true",
        default=None,
        help="also run the analysis with the outlier mode, transform, scaler and score bins "
        "changed one at a time, and write what moves to sensitivity.csv",
    )
    seg.add_argument(
        "--stability",
        type=int,
        metavar="N",
        help="k-means refits on half-size subsamples per K to measure cluster stability "
        f"(stability.csv), 0 = off, at most {STABILITY_RESAMPLES_MAX} (default 10)",
    )
    seg.add_argument(
        "--preset", choices=["seed"], help="seed: the write-up's settings (raw RFM, standard, K=4)"
    )
    steps = seg.add_argument_group(
        "cleaning steps",
        "unreadable rows are always removed; each other step has a switch "
        "(README: Data it understands)",
    )
    for flag, option, value, text in CLEANING_FLAGS:
        steps.add_argument(
            flag, dest=option, action="store_const", const=value, default=None, help=text
        )
    steps.add_argument(
        "--currency",
        metavar="CODE",
        help="keep only rows in this currency (when the amounts are in several)",
    )
    _add_scoring_flags(seg)
    seg.add_argument(
        "--score-breaks",
        action="append",
        type=_breaks,
        default=[],
        metavar="MEASURE=V1,V2,...",
        help="custom break points of recency (days), frequency (orders) or monetary: N-1 "
        "increasing values; a value equal to a break takes the lower band",
    )
    seg.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write the HTML report (the GUI's, without its pictures); a run.json goes "
        "next to it when it is outside --out",
    )
    seg.add_argument(
        "--engine",
        choices=list(ENGINES),
        help="who reduces the rows to customers: memory (pandas, the file read whole), duckdb "
        "(streamed, out-of-core; also reads a folder or glob of CSV/Parquet files), spark (a "
        "cluster); auto (the default) takes duckdb for folders and large CSV/Parquet inputs",
    )
    seg.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="the DuckDB engine's memory (e.g. 1GB); beyond it rows spill to disk in the user "
        "cache (default: half of the machine's memory, at most 2GB)",
    )
    seg.add_argument(
        "--spark-master",
        metavar="URL",
        help="where --engine spark runs: local[*] (the default: this machine's cores), "
        "local[2], spark://host:7077, yarn, k8s://https://host:6443",
    )
    seg.add_argument(
        "--quiet",
        action="store_true",
        help="nothing on stderr but errors: no progress, cleaning lines or warnings",
    )
    clv_group = seg.add_argument_group(
        "customer lifetime value", "BG/NBD + Gamma-Gamma (README: Customer value); writes clv.json"
    )
    clv_group.add_argument(
        "--clv",
        action="store_true",
        default=None,
        help="predict P(alive), purchases, spend, CLV and revenue at risk per customer/segment",
    )
    clv_group.add_argument(
        "--clv-horizon-days",
        type=int,
        metavar="N",
        help="prediction horizon after the end of the data, days (default 365)",
    )
    clv_group.add_argument(
        "--discount-rate",
        type=float,
        metavar="R",
        help="monthly discount rate of future revenue, e.g. 0.01 for 1 %% (default)",
    )
    clv_group.add_argument(
        "--calibration-end",
        metavar="YYYY-MM-DD",
        help="also fit on the purchases before this date and compare with those after (clv.json)",
    )
    # a backtest segments like `segment` (every flag above: flags for both go above this line,
    # tests/e2e/test_cli_over_time.py checks it), then measures the horizon
    back = sub.add_parser(
        "backtest",
        parents=[seg],
        add_help=False,
        help="segment the data before --as-of and measure each segment over the next days",
    )
    back.add_argument(
        "--horizon-days",
        type=int,
        required=True,
        metavar="N",
        help="days after the as-of date to measure (shortened, with a warning, where the data end)",
    )
    seg.add_argument(
        "--compare",
        metavar="OLD",
        help="a previous result folder or saved analysis: matched clusters keep its numbers and "
        "names; writes migration_rfm.csv, migration_clusters.csv and movers.csv",
    )
    seg.add_argument("--xlsx", action="store_true", help="also write segments.xlsx")

    rules = sub.add_parser(
        "rules", help="check a segment rule table: which rule takes each score cell"
    )
    _add_scoring_flags(rules)
    rules.add_argument(
        "--save", metavar="FILE.csv", help="also write the table as a rules CSV to edit"
    )

    sample = sub.add_parser("sample", help="write generated sample transactions")
    sample.add_argument("--out", required=True, help="output file (.csv, .csv.gz, .parquet, .xlsx)")
    sample.add_argument("--rows", type=int, default=50_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument(
        "--customers",
        type=int,
        default=None,
        help="customers with an id (default about one per 12 rows); samples above 2,000,000 "
        "rows are made and written in chunks (100,000,000 rows / 5,000,000 customers: 1.4 GB)",
    )
    return parser


def params_from_args(args: argparse.Namespace):
    """The AnalysisParams of the flags: a saved analysis (--params) or the defaults, then each flag given.

    The limits are those of :mod:`rfm_desktop.core.params`, so an out-of-range flag raises ParamsError.
    """
    import dataclasses

    from rfm_desktop.core.analysis_file import is_network_path, load_analysis
    from rfm_desktop.core.errors import ParamsError
    from rfm_desktop.core.params import AnalysisParams, seed_preset

    if args.params and args.preset:
        raise UsageError("rfm-desktop segment: use --params or --preset, not both (see --help)")
    if args.params:
        base = load_analysis(args.params)
        if args.input is None and is_network_path(base.input_path):
            raise ParamsError(
                f"The analysis reads a network path ({base.input_path}); it is not opened on its own.",
                hint="To read it, give it as INPUT: rfm-desktop segment INPUT --params FILE --out DIR.",
            )
    elif args.input is None:
        raise UsageError(
            "rfm-desktop segment: give the INPUT file or --params FILE.rfm.json (see --help)"
        )
    else:
        base = (
            seed_preset(args.input)
            if args.preset == "seed"
            else AnalysisParams(input_path=args.input)
        )
    changes: dict = {}
    if args.input is not None:
        changes["input_path"] = args.input
    sheets: list[str | int] = [int(s) if s.strip().isdigit() else s for s in (args.sheet or [])]
    if len(sheets) == 1:
        changes["sheet"] = sheets[0]
    elif sheets:
        changes["sheet"] = tuple(str(s) for s in sheets)
    if args.map:
        changes["column_map"] = tuple(sorted({**base.mapping, **dict(args.map)}.items()))
    if args.snapshot is not None:
        changes["snapshot_date"] = args.snapshot
    if args.as_of is not None:
        changes["as_of"] = args.as_of
    if args.header_row is not None:
        changes["header_row"] = args.header_row
    if args.date_order is not None:
        changes["date_order"] = args.date_order
    if getattr(args, "engine", None) is not None:  # segment only
        changes["engine"] = args.engine
    if getattr(args, "memory_limit", None) is not None:
        changes["memory_limit"] = args.memory_limit
    if getattr(args, "spark_master", None) is not None:  # segment only
        changes["spark_master"] = args.spark_master
    clustering: dict = {}
    if args.transform:
        clustering["transform"] = "log1p" if args.transform == "log" else "none"
    if args.scaler:
        clustering["scaler"] = args.scaler
    if args.seed is not None:
        clustering["seed"] = args.seed
    if args.stability is not None:
        clustering["stability_resamples"] = args.stability
    if args.sensitivity:
        changes["sensitivity"] = True
    if args.k is not None:
        clustering.update(k=args.k, sweep=False)
    if args.k_range is not None:
        clustering.update(k=None, sweep=True, k_min=args.k_range[0], k_max=args.k_range[1])
    cleaning = {
        option: getattr(args, option)
        for _, option, _, _ in CLEANING_FLAGS
        if getattr(args, option) is not None
    }
    if args.outliers:
        cleaning["outliers"] = args.outliers
    if args.currency is not None:
        cleaning["currency"] = args.currency
    value: dict = {  # segment only: backtest has no CLV flags
        name: getattr(args, flag, None)
        for flag, name in (
            ("clv", "enabled"),
            ("clv_horizon_days", "horizon_days"),
            ("discount_rate", "discount_rate"),
            ("calibration_end", "calibration_end"),
        )
        if getattr(args, flag, None) is not None
    }
    if value and not (value.get("enabled") or base.clv.enabled):
        raise UsageError(
            "rfm-desktop segment: --clv-horizon-days, --discount-rate and --calibration-end "
            "need --clv (see --help)"
        )
    return base.replace(
        cleaning=dataclasses.replace(base.cleaning, **cleaning),
        clv=dataclasses.replace(base.clv, **value),
        clustering=dataclasses.replace(base.clustering, **clustering),
        scoring=scoring_from_args(args, base.scoring, tuple(args.score_breaks)),
        **changes,
    )


def scoring_from_args(args: argparse.Namespace, base=None, breaks: tuple = ()):
    """ScoringOptions from --score-bins, --score-breaks and --rules (a CSV is read for 1..N scores)."""
    from rfm_desktop.core.params import ScoringOptions
    from rfm_desktop.core.rules import resolve_rules

    base = base or ScoringOptions()
    bins = args.score_bins if args.score_bins is not None else base.bins
    rules = resolve_rules(args.rules, scale=bins) if args.rules else base.rules
    return ScoringOptions(bins=bins, breaks=breaks or base.breaks, rules=rules)


def print_warnings(warnings: Sequence[str]) -> None:
    """Each warning as one line ``warning: …`` on stderr."""
    for text in warnings:
        _error_line(f"warning: {text}")


class _ProgressBar:
    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr is not None
        self._last = ""

    def __call__(self, fraction: float, step: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(round(max(0.0, min(1.0, fraction)) * width))
        line = f"\r[{'#' * filled}{' ' * (width - filled)}] {fraction * 100:3.0f}% {step:<32}"
        if line != self._last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self._last = line

    def close(self, *, keep: bool = True) -> None:
        """End the bar: keep it on its own line, or erase it so an error stands alone."""
        if self.enabled and self._last:
            sys.stderr.write("\n" if keep else "\r" + " " * len(self._last) + "\r")
            sys.stderr.flush()


def cmd_segment(args: argparse.Namespace) -> int:
    import threading

    from rfm_desktop.core import clustering, compare, export, pipeline, report, writing
    from rfm_desktop.core.engines import is_many_files

    params = params_from_args(args)
    # a folder or a glob pattern of CSV/Parquet files is the DuckDB engine's (core.engines); a
    # path on a cluster (s3a://, hdfs://) the Spark engine's: those are checked there
    remote = "://" in params.input_path
    if not (remote or Path(params.input_path).exists() or is_many_files(params.input_path)):
        from rfm_desktop.core.errors import InputFileError

        raise InputFileError(f"File not found: {params.input_path}")
    out = export.check_output_dir(args.out, params.input_path)
    # checked before the run, so a bad name costs no analysis
    report_file = report.report_path(args.report, params.input_path) if args.report else None
    bar = _ProgressBar(not args.quiet)
    started = time.perf_counter()
    try:
        # held for the whole run: a second run on the same folder stops at once (exit 2), and
        # a report folder that cannot be made stops it before the analysis
        with contextlib.ExitStack() as held:
            lock = held.enter_context(writing.folder_lock(out))
            inside = report_file is not None and report_file.parent.resolve() == out.resolve()
            report_lock = (
                held.enter_context(writing.folder_lock(report_file.parent))
                if report_file is not None and not inside
                else None
            )
            previous = compare.load_previous(args.compare) if args.compare else None
            # scikit-learn (about 1 s to import) is first needed after the reduction: imported
            # meanwhile, while DuckDB or the file reader works outside Python's lock. It begins
            # at the reduction's first progress: the engine's own Python work before that (the
            # file's layout, the connection) no longer waits for the import's turns at the lock
            importing = threading.Thread(target=clustering.import_models, daemon=True)
            once = threading.Lock()  # progress may come from the engine's watching thread too

            def import_models() -> None:
                with once:
                    if importing.ident is None:
                        importing.start()

            def reducing(fraction: float, step: str) -> None:
                import_models()
                bar(0.4 * fraction, step)

            reduced = pipeline.reduce(params, reducing)
            import_models()  # an engine that said nothing
            result = pipeline.run(params, bar, reduced=reduced)
            if params.sensitivity:
                from rfm_desktop.core import sensitivity

                result.sensitivity = sensitivity.compare(result, reduced, bar)
            tables = None
            if previous is not None:
                result = compare.match_to(result, previous)
                tables = compare.migration_tables(previous, result)
            # a report inside --out is part of the result there
            extra = (
                {report_file.name: report.report_bytes(result)}
                if report_file is not None and inside
                else None
            )
            written = export.export_all(
                result, out, xlsx=args.xlsx, lock=lock, tables=tables, extra=extra
            )
            if report_file is not None and report_lock is not None:
                report.write_report(result, report_file, lock=report_lock)
    except BaseException:
        bar.close(keep=False)
        raise
    bar.close()
    if not args.quiet:
        for line in cleaning_lines(result):
            _error_line(line)
        for line in matching_lines(result):
            _error_line(line)
        print_warnings([w.text for w in result.warnings])
        sys.stderr.write(
            f"{result.customer_count:,} customers in {result.segments_text} (silhouette {result.silhouette:.3f}); "
            f"{len(written)} files in {out} ({time.perf_counter() - started:.1f} s):\n"
            + "".join(f"  {path.relative_to(out).as_posix()}\n" for path in written)
            + (f"report: {report_file}\n" if report_file is not None and not inside else "")
        )
        if result.value is not None:
            customers = result.customers
            sys.stderr.write(
                f"customer value over {params.clv.horizon_days} days: predicted CLV "
                f"{customers['predicted_clv'].sum():,.0f}, revenue at risk "
                f"{customers['revenue_at_risk'].sum():,.0f} (models fitted in "
                f"{result.value.seconds:.1f} s; clv.json)\n"
            )
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    """Print which rule takes how many of the score cells; warn about rules that can never match
    and cells that fall to "Others"."""
    from rfm_desktop.core.coverage import rule_coverage
    from rfm_desktop.core.rules import save_rules

    options = scoring_from_args(args)
    coverage = rule_coverage(options.rules, options.bins)
    table = coverage.rules
    lines = [
        f"{table.name} on scores 1-{coverage.bins} ({coverage.bins**3} cells), first match wins:"
    ]
    width = max(len(r.name) for r in table.rules)
    for rule, stat in zip(table.rules, coverage.rule_stats, strict=True):
        box = "(empty)" if rule.is_empty else rule.describe()
        lines.append(f"  {rule.name:<{width}}  {box:<22} {stat.cells:>4} cells  {stat.status}")
    lines.append(f"  {'Others':<{width}}  {'':<22} {len(coverage.uncovered):>4} cells")
    sys.stdout.write("\n".join(lines) + "\n")
    print_warnings(coverage.warnings())
    if args.save:
        save_rules(table, args.save)
    return EXIT_OK


def cleaning_lines(result) -> list[str]:
    """Each cleaning step that removed rows, with its count and first removed row, one line each."""
    return [
        f"cleaning: {step.label}: removed {step.removed:,} of {step.before:,} rows"
        + (f" (e.g. {step.example})" if step.example else "")
        for step in result.cleaning.steps
        if step.removed
    ]


def cmd_backtest(args: argparse.Namespace) -> int:
    """Segment the data before --as-of, measure the segments over --horizon-days, write
    backtest.csv, backtest_customers.csv and run.json."""
    from rfm_desktop.core import backtest, export, writing
    from rfm_desktop.core.errors import InputFileError

    if args.as_of is None:
        raise UsageError("rfm-desktop backtest: --as-of YYYY-MM-DD is required (see --help)")
    backtest.check_horizon(args.horizon_days)
    params = params_from_args(args)
    if not Path(params.input_path).exists():
        raise InputFileError(f"File not found: {params.input_path}")
    out = export.check_output_dir(args.out, params.input_path)
    bar = _ProgressBar(not args.quiet)
    try:
        with writing.folder_lock(out) as lock:
            result, test = backtest.run_backtest(params, args.horizon_days, bar)
            written = backtest.write_backtest(out, result, test, lock=lock)
    except BaseException:
        bar.close(keep=False)
        raise
    bar.close()
    if not args.quiet:
        for line in cleaning_lines(result):
            _error_line(line)
        print_warnings([w.text for w in (*result.warnings, *test.warnings)])
        sys.stderr.write(
            f"{result.customer_count:,} customers segmented before {test.as_of.date()}, measured "
            f"over {test.horizon_days} days; {len(written)} files in {out}\n"
        )
        sys.stdout.write(backtest.table_text(test.table))
    return EXIT_OK


def matching_lines(result) -> list[str]:
    """With --compare: each cluster's match and drift, the new clusters and the gone ones."""
    if result.matching is None:
        return []
    lines = [
        f"matching: {m.name}: drift {m.drift:.3f}"
        if m.old_id is not None
        else f"matching: {m.name}: new (no previous cluster left to match)"
        for m in result.matching.matches
    ]
    return lines + [
        f"matching: {name}: gone (no cluster matches it)" for _, name in result.matching.gone
    ]


def cmd_sample(args: argparse.Namespace) -> int:
    from rfm_desktop.core import sample
    from rfm_desktop.core.params import SEED_MAX

    if args.rows < 1:
        raise UsageError("rfm-desktop sample: --rows must be at least 1")
    if not 0 <= args.seed <= SEED_MAX:
        raise UsageError(f"rfm-desktop sample: --seed must be between 0 and {SEED_MAX}")
    if args.customers is not None and args.customers < 1:
        raise UsageError("rfm-desktop sample: --customers must be at least 1")
    sample.write_sample(args.out, rows=args.rows, seed=args.seed, customers=args.customers)
    return EXIT_OK


#: the first arguments of the commands that run without a window (anything else opens the app)
HEADLESS = ("segment", "backtest", "rules", "sample", "--version", "-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in HEADLESS:
        from rfm_desktop.gui import main as gui_main

        return gui_main(argv)

    from rfm_desktop.core import libwarnings
    from rfm_desktop.core.errors import RFMError

    try:
        if argv[0] == "segment":
            _hash_early(argv[1:])  # best effort: the run reports what is wrong with a file
        args = build_parser().parse_args(argv)
        # library warnings never reach the terminal raw; the pipeline turns those that matter
        # into the result's warnings, printed as "warning: ..."
        with libwarnings.captured():
            if args.command == "segment":
                return cmd_segment(args)
            if args.command == "backtest":
                return cmd_backtest(args)
            if args.command == "rules":
                return cmd_rules(args)
            if args.command == "sample":
                return cmd_sample(args)
        build_parser().print_help()
        return EXIT_OK
    except UsageError as exc:
        _error_line(str(exc))
        return EXIT_BAD_INPUT
    except RFMError as exc:
        _error_line(f"error: {exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:  # with a text when it came after the result was complete
        _error_line(f"interrupted: {exc}" if str(exc) else "interrupted: nothing was written")
        return EXIT_INTERRUPTED
    except MemoryError:
        _error_line(
            "error: not enough memory for this file; close other programs or split the file by year"
        )
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug: one line, and the details in the crash log
        log = _log_crash()
        where = f"; details in {log}" if log else ""
        _error_line(f"internal error: {type(exc).__name__}: {exc}{where}")
        return EXIT_INTERNAL


def _hash_early(arguments: list[str]) -> None:
    """Begin hashing the input for run.json now, in a thread (core.digest), when the DuckDB
    engine will read it: then the hash runs on the core that loading the modules leaves free,
    not beside DuckDB's aggregation on both. The arguments are not parsed yet (the parser's
    defaults load the analysis modules), so the candidates are the Parquet files named, unless
    another engine is, and CSV files with ``--engine duckdb``; an option's value that is such a
    file is hashed too and left unused."""
    from rfm_desktop.core import digest
    from rfm_desktop.core.file_types import kind_of

    engine = "auto"
    for i, argument in enumerate(arguments):
        if argument == "--engine" and i + 1 < len(arguments):
            engine = arguments[i + 1]
        elif argument.startswith("--engine="):
            engine = argument.partition("=")[2]
    if engine not in ("auto", "duckdb"):
        return
    kinds = ("parquet", "text") if engine == "duckdb" else ("parquet",)
    digest.start_early(a for a in arguments if not a.startswith("-") and kind_of(a) in kinds)


def entry() -> NoReturn:
    """The process entry point (``rfm-desktop``, ``python -m rfm_desktop``, the frozen app).

    After Ctrl-C it ends the process with ``os._exit(130)``: CPython 3.11 marks an interrupt
    that lands inside ``exec()`` (an import, a dataclass being made) as unhandled even when
    ``main`` handled it, and would then end the process by SIGINT instead of exit status 130.
    A command without a window ends the same way once its output is flushed: every file it
    writes is closed and synced before ``main`` returns, and the interpreter's teardown (freeing
    the run's objects one by one: 0.25 s at 1,000,000 customers) would only keep the shell
    waiting. The app exits normally (Qt saves its settings as it is torn down).
    """
    code = main()
    headless = len(sys.argv) > 1 and sys.argv[1] in HEADLESS
    if code == EXIT_INTERRUPTED or headless:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    raise SystemExit(code)


def _error_line(text: str) -> None:
    sys.stderr.write(" ".join(text.split()) + "\n")


def _log_crash() -> Path | None:
    try:
        from rfm_desktop import crashlog

        return crashlog.write_log(*sys.exc_info())
    except Exception:
        return None


if __name__ == "__main__":
    entry()
