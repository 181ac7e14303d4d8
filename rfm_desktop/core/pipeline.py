"""The whole analysis as stages the GUI can run one by one, and ``run`` that chains them.

Every stage takes ``progress(fraction, step)`` and ``cancelled()``; cancelling raises
:class:`~rfm_desktop.core.errors.Cancelled` between steps, before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rfm_desktop.core import (
    checks,
    cleaning,
    clustering,
    io,
    libwarnings,
    missing_ids,
    profiles,
    rfm,
    scoring,
    stability,
)
from rfm_desktop.core.coverage import rule_coverage
from rfm_desktop.core.errors import Cancelled, DataError, ParamsError
from rfm_desktop.core.params import (
    SNAPSHOT_LATEST,
    AnalysisParams,
    CancelledFn,
    ProgressFn,
    never_cancelled,
    no_progress,
    parse_snapshot,
)
from rfm_desktop.core.result import (
    AnalysisResult,
    CleaningReport,
    CleaningStep,
    KScore,
    KStability,
    KSweep,
    RunWarning,
    as_warnings,
)
from rfm_desktop.core.values import plural

#: A snapshot this many years after the last purchase is a typing error, not an analysis.
SNAPSHOT_MAX_YEARS_AFTER = 50


@dataclass
class Prepared:
    """Cleaned rows turned into scored customers and the feature matrix for k-means."""

    report: CleaningReport
    customers: pd.DataFrame  # scored, with is_outlier
    fit_mask: np.ndarray  # customers that take part in k-means
    features: clustering.Features  # of the fit customers only
    snapshot: pd.Timestamp
    warnings: tuple[RunWarning, ...] = ()
    scales: tuple[scoring.MeasureScale, ...] = ()
    #: cleaned rows for the CLV models (customer_id, invoice_date, amount), when params.clv asks
    value_rows: pd.DataFrame | None = None
    _basis: clustering.SilhouetteBasis | None = None
    _basis_seed: int | None = None

    def silhouette_basis(self, seed: int) -> clustering.SilhouetteBasis:
        """The one distance matrix for every K of this run (built once per seed)."""
        if self._basis is None or self._basis_seed != seed:
            self._basis = clustering.SilhouetteBasis.build(self.features.scaled, seed)
            self._basis_seed = seed
        return self._basis


def _check(cancelled: CancelledFn) -> None:
    if cancelled():
        raise Cancelled()


def _scaled(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    return lambda fraction, step: progress(start + (end - start) * fraction, step)


def load(
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> io.Transactions:
    """Read the transactions of ``params.input_path`` (the run's first stage).

    Parameters
    ----------
    params
        The run; reading uses ``input_path``, ``sheet``, ``mapping`` (empty: detected),
        ``header_row`` and ``date_order``.
    progress
        Called with (fraction 0..1 of this stage, label) as the file is read.
    cancelled
        Polled before and after reading; True ends the run.

    Returns
    -------
    io.Transactions
        One row per file row in the canonical fields (customer_id, invoice_date, amount in the
        file's currency, ...), with the reader's warnings.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    InputFileError, SheetError, MappingError, DataError
        The file cannot be read, the sheet is missing, the columns cannot be mapped, or the values
        are unusable (from :func:`io.read_transactions`).
    """
    _check(cancelled)
    progress(0.0, "Reading file")
    transactions = io.read_transactions(
        params.input_path,
        params.sheet,
        params.mapping or None,
        progress=progress,
        header_row=params.header_row,
        date_order=params.date_order,
    )
    _check(cancelled)
    return transactions


def latest_snapshot(last: pd.Timestamp) -> dt.date:
    """The latest snapshot date for data whose last purchase is ``last``: SNAPSHOT_MAX_YEARS_AFTER
    years on, at most SNAPSHOT_LATEST (plain dates: pandas cannot go past 2262)."""
    day = last.date()
    try:
        later = day.replace(year=day.year + SNAPSHOT_MAX_YEARS_AFTER)
    except ValueError:  # 29 February
        later = day.replace(year=day.year + SNAPSHOT_MAX_YEARS_AFTER, day=28)
    return min(later, SNAPSHOT_LATEST)


def snapshot_for(frame: pd.DataFrame, params: AnalysisParams) -> pd.Timestamp:
    """The date recency is counted to: the chosen one, or the day after the last purchase.

    Raises
    ------
    ParamsError
        The chosen date is before the last purchase or more than SNAPSHOT_MAX_YEARS_AFTER years after it.
    """
    if params.as_of:  # only rows before it are left (before_as_of), so it is after the last one
        return pd.Timestamp(parse_snapshot(params.as_of, "as-of date"))
    if params.snapshot_date:
        snapshot = pd.Timestamp(parse_snapshot(params.snapshot_date))
        last = frame["invoice_date"].max()
        if pd.notna(last) and snapshot < last.normalize():
            raise ParamsError(
                f"The snapshot date {snapshot.date()} is before the last purchase in the data ({last.date()}).",
                hint="Use a snapshot date on or after the last purchase, or leave it empty for the default.",
            )
        if pd.notna(last) and snapshot.date() > latest_snapshot(last):
            raise ParamsError(
                f"The snapshot date {snapshot.date()} is more than {SNAPSHOT_MAX_YEARS_AFTER} years after the "
                f"last purchase in the data ({last.date()}).",
                hint="Use a snapshot date close to the data, or leave it empty for the default.",
            )
        return snapshot
    return frame["invoice_date"].max() + pd.Timedelta(days=1)


def before_as_of(
    frame: pd.DataFrame, report: CleaningReport, params: AnalysisParams
) -> tuple[pd.DataFrame, CleaningReport]:
    """The clean rows dated before ``params.as_of`` (all of them without an as-of date), and the
    report with the step "as_of" that counts the later rows it removed.

    Raises
    ------
    DataError
        No clean row is dated before the as-of date.
    """
    if params.as_of is None:
        return frame, report
    day = pd.Timestamp(parse_snapshot(params.as_of, "as-of date"))
    later = (frame["invoice_date"] >= day).to_numpy(dtype=bool, na_value=False)
    kept = int((~later).sum())
    if kept == 0:
        first = frame["invoice_date"].min()
        raise DataError(
            f"No transactions are dated before the as-of date {day.date()}"
            + (f" (the first is on {first.date()})." if pd.notna(first) else "."),
            hint="Choose a later as-of date.",
        )
    example = None
    if later.any():
        row = frame.loc[later].iloc[0]
        example = f"invoice {row['invoice_id']} on {pd.Timestamp(row['invoice_date']).date()}"
    step = CleaningStep(
        step="as_of",
        label=f"Rows on or after the as-of date {day.date()}",
        before=len(frame),
        removed=len(frame) - kept,
        after=kept,
        would_remove=len(frame) - kept,
        example=example,
    )
    rows = frame.loc[~later].reset_index(drop=True) if later.any() else frame
    return rows, dataclasses.replace(report, steps=(*report.steps, step))


def clean_rows(
    transactions: io.Transactions,
    params: AnalysisParams,
    masks: cleaning.StepMasks | None = None,
    counted: Callable[[CleaningReport], None] | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """The clean rows and what each step removes, switched-off steps counted too (for the
    wizard's cleaning page, which passes both on to :func:`prepare`). ``masks``: the steps'
    row tests kept from the last change (see ``cleaning.StepMasks``); ``counted`` hears the
    report before the rows are copied."""
    return cleaning.clean(transactions.frame, params.cleaning, masks=masks, counted=counted)


def preview_cleaning(transactions: io.Transactions, params: AnalysisParams) -> CleaningReport:
    """What each cleaning step removes with these options (for the wizard's cleaning page)."""
    return clean_rows(transactions, params)[1]


def prepare(
    transactions: io.Transactions,
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    *,
    cleaned: tuple[pd.DataFrame, CleaningReport] | None = None,
    masks: cleaning.StepMasks | None = None,
) -> Prepared:
    """Clean the rows, compute RFM values and scores, and build the k-means features.

    Parameters
    ----------
    transactions
        What :func:`load` read.
    params
        The run (cleaning, as-of date, snapshot, scoring and clustering options).
    progress, cancelled
        As in :func:`load`.
    cleaned
        What ``cleaning.clean`` gave for ``transactions`` with ``params.cleaning`` (the wizard's
        preview has it already, so the rows are cleaned once per change, not twice); None: clean
        here.
    masks
        The cleaning steps' row tests kept for the file (see ``cleaning.StepMasks``), for the
        comparison of rows with and without customer id.

    Returns
    -------
    Prepared
        The cleaning report; one row per customer with recency (days before the snapshot),
        frequency (orders), monetary (the file's currency), scores, segment and ``is_outlier``;
        the mask of customers k-means fits (n customers, bool); the feature matrix of those
        customers (n_fit x features); the snapshot date and the warnings so far.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    DataError
        Fewer than 3 customers are left to segment, or the cleaned amounts are in more than one
        currency.
    ParamsError
        The options do not fit the data (e.g. the as-of date or snapshot).
    """
    progress(0.0, "Cleaning rows")
    if masks is None or masks.frame is not transactions.frame:
        # the steps' row tests made once for cleaning and the missing-id comparison (which
        # reads the switched-off steps too): placeholder ids alone cost 1.2 s at 10 M rows
        masks = cleaning.StepMasks(transactions.frame)
    if cleaned is None:
        cleaned = cleaning.clean(
            transactions.frame, params.cleaning, count_disabled=False, masks=masks
        )
    clean_frame, report = cleaned
    clean_frame, report = before_as_of(clean_frame, report, params)
    cleaning.check_one_currency(clean_frame, params.cleaning, transactions.currency_source)
    _check(cancelled)
    warnings = [
        *as_warnings(transactions.warnings, "read"),
        *as_warnings(report.warnings, "cleaning"),
    ]
    if not params.cleaning.drop_missing_customer and clean_frame["customer_id"].isna().any():
        warnings.append(
            RunWarning(
                "cleaning",
                f"{int(clean_frame['customer_id'].isna().sum()):,} rows without customer id were kept "
                "but cannot be part of any customer's RFM values.",
            )
        )
    missing = missing_ids.compare(transactions.frame, params.cleaning, masks)
    report = dataclasses.replace(report, missing_ids=missing)
    if missing is not None and missing.differs:
        warnings.append(RunWarning("cleaning", missing.verdict))
    warnings += as_warnings(checks.far_dates(clean_frame), "customers")
    progress(0.3, "Computing recency, frequency, monetary")
    snapshot = snapshot_for(clean_frame, params)
    customers = rfm.compute_rfm(clean_frame, snapshot)
    warnings += as_warnings(checks.dominant_customer(customers), "cleaning")  # before outliers go
    _check(cancelled)

    options = params.cleaning
    outliers = cleaning.iqr_outliers(customers, options.outlier_features, options.iqr_multiplier)
    customers["is_outlier"] = outliers
    before = len(customers)
    if options.outliers == "drop":
        customers = customers.loc[~outliers].reset_index(drop=True)
        fit_mask = np.ones(len(customers), dtype=bool)
    elif options.outliers == "segment":
        fit_mask = ~outliers
    else:
        fit_mask = np.ones(len(customers), dtype=bool)
    # scores are made among the customers of the analysis (after dropping outliers, if asked)
    customers, scales, score_warnings = score(customers, params)
    warnings += as_warnings(score_warnings, "customers")
    report = dataclasses.replace(
        report,
        customers_before_outliers=before,
        outliers_found=int(outliers.sum()),
        outlier_mode=options.outliers,
    )
    if fit_mask.sum() < 3:
        raise DataError(
            f"Only {int(fit_mask.sum())} customers are left to segment; at least 3 are needed.",
            hint="Check the cleaning options (outliers, cancellations) and the customer id column.",
        )
    progress(0.6, "Scaling features")
    features = clustering.prepare_features(customers.loc[fit_mask], params.clustering)
    progress(1.0, "Features ready")
    warnings += as_warnings(checks.too_few_to_cluster(int(fit_mask.sum())), "clustering")
    warnings += as_warnings(features.warnings, "clustering")
    value_rows = (
        clean_frame[["customer_id", "invoice_date", "amount"]] if params.clv.enabled else None
    )
    return Prepared(
        report, customers, fit_mask, features, snapshot, tuple(warnings), scales, value_rows
    )


def score(
    customers: pd.DataFrame, params: AnalysisParams
) -> tuple[pd.DataFrame, tuple[scoring.MeasureScale, ...], list[str]]:
    """Scores and named segments with the run's scoring options, among the customers of the
    analysis (after outliers are dropped, when that is asked for).

    Returns the scored table, the recency/frequency/monetary scales, and the warnings: measures
    that use fewer scores than asked (ties) and rules that can never match or leave customers
    in "Others" (core.coverage).
    """
    options = params.scoring
    scales = scoring.build_scales(customers, options.bins, options.break_map)
    rules = options.effective_rules
    scored = rfm.score_customers(customers, scales, rules)
    warnings = scoring.scale_warnings(scales, customers)
    warnings += rule_coverage(rules, options.bins).warnings(scored)
    return scored, scales, warnings


def sweep_inputs(params: AnalysisParams) -> AnalysisParams:
    """What a K sweep depends on: ``params`` without the fixed K, the sweep switch, the preset
    name, the cluster names and the CLV options. Two params with equal ``sweep_inputs`` give the same KSweep, so
    a sweep made for one (the wizard's "Evaluate K") serves a run of the other."""
    options = dataclasses.replace(params.clustering, k=None, sweep=True)
    return params.replace(clustering=options, preset=None, cluster_names=(), clv=type(params.clv)())


def evaluate_k(
    prepared: Prepared,
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    on_score: Callable[[KScore], None] | None = None,
) -> KSweep:
    """The K sweep over params.clustering.k_min..k_max; ``on_score`` hears each K as it
    finishes, with its stability over ``clustering.stability_resamples`` subsamples (when > 0)."""
    options = params.clustering
    progress(0.0, "Preparing silhouette")
    basis = prepared.silhouette_basis(options.seed)
    _check(cancelled)
    stability_of = None
    if options.stability_resamples:

        def stability_of(x: np.ndarray, labels: np.ndarray, k: int) -> KStability | None:
            if not stability.measurable(len(x), k):
                return None
            return stability.check_k(
                x, labels, k, options.seed, options.stability_resamples, cancelled=cancelled
            )

    return clustering.evaluate(
        prepared.features.scaled,
        options,
        basis,
        on_score=on_score,
        progress=progress,
        cancelled=cancelled,
        distinct=prepared.features.distinct,
        stability_of=stability_of,
    )


def run(
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
    *,
    transactions: io.Transactions | None = None,
    on_k_score: Callable[[KScore], None] | None = None,
    sweep: KSweep | None = None,
) -> AnalysisResult:
    """The whole analysis: read, clean, score, cluster, name.

    Library warnings end up in ``result.warnings`` as one sentence, never printed.

    Parameters
    ----------
    params
        The single state of the run (:class:`AnalysisParams`).
    progress
        Called with (fraction 0..1 of the whole run, label).
    cancelled
        Polled between stages; True ends the run.
    transactions
        Rows already read for ``params`` (the wizard's preview); None: read ``params.input_path``.
    on_k_score
        Called with each K's scores while K is swept (for a live chart).
    sweep
        A K sweep already made for params with the same :func:`sweep_inputs` (e.g. by "Evaluate
        K"); used instead of sweeping again.

    Returns
    -------
    AnalysisResult
        Customers (recency in days, frequency in orders, monetary in the file's currency, scores,
        segment, cluster), the clusters and segments, the cleaning report and the warnings.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    InputFileError, SheetError, MappingError, DataError, ParamsError, ModelError
        The file, its values or the options cannot give an analysis (see :func:`load`,
        :func:`prepare`); ModelError when customer lifetime value was asked and cannot be fitted.
    """
    with libwarnings.captured() as caught:
        result = _run(params, progress, cancelled, transactions, on_k_score, sweep)
    result.warnings = tuple(result.warnings) + as_warnings(
        libwarnings.for_analyst(caught), "clustering"
    )
    return result


def _run(
    params: AnalysisParams,
    progress: ProgressFn,
    cancelled: CancelledFn,
    transactions: io.Transactions | None,
    on_k_score: Callable[[KScore], None] | None,
    sweep: KSweep | None,
) -> AnalysisResult:
    started = time.perf_counter()
    if transactions is None:
        transactions = load(params, _scaled(progress, 0.0, 0.3), cancelled)
    prepared = prepare(transactions, params, _scaled(progress, 0.3, 0.45), cancelled)
    options = params.clustering
    x = prepared.features.scaled

    if not (options.k is None or options.sweep):
        sweep = None
    elif sweep is None:
        sweep = evaluate_k(prepared, params, _scaled(progress, 0.45, 0.85), cancelled, on_k_score)
    if options.k is not None:
        k = options.k
    else:
        assert sweep is not None  # no K given: the sweep ran just above
        k = sweep.suggested_k
    distinct = prepared.features.distinct
    if k > distinct:
        raise ParamsError(
            f"K={k} is more than the {distinct:,} distinct customer profiles in the data (different "
            f"{'/'.join(options.features)} values); choose K of at most {distinct}.",
            hint="k-means cannot find more segments than there are different customers: lower K.",
        )
    if k > len(x) - 1:
        raise ParamsError(f"K={k} is too large for {len(x):,} customers; choose K below {len(x)}.")
    _check(cancelled)
    progress(0.86, f"Fitting {k} clusters")
    labels, centres, _ = clustering.fit_kmeans(x, k, options.seed)
    labels, centres = clustering.order_by_monetary(
        labels, prepared.customers.loc[prepared.fit_mask, "monetary"].to_numpy(), centres
    )
    _check(cancelled)
    checked = None
    if options.stability_resamples and stability.measurable(len(x), k):
        checked = stability.check_k(
            x,
            labels,
            k,
            options.seed,
            options.stability_resamples,
            per_cluster=True,
            progress=_scaled(progress, 0.87, 0.9),
            cancelled=cancelled,
        )

    progress(0.9, "Describing clusters")
    result = _assemble(params, transactions, prepared, sweep, k, labels, centres, checked)
    if prepared.value_rows is not None:
        _check(cancelled)
        progress(0.93, "Fitting customer lifetime value")
        result = with_value(result, prepared.value_rows)
    result.seconds = time.perf_counter() - started
    progress(1.0, "Done")
    return result


def with_value(result: AnalysisResult, rows: pd.DataFrame) -> AnalysisResult:
    """The result with customer lifetime value (core.value): per-customer columns, per-segment
    columns, ``result.value`` and its warnings (stage "value")."""
    from rfm_desktop.core import value

    analysis = value.analyse(rows, result.snapshot_date, result.params.clv)
    customers = result.customers.copy()
    per_customer = analysis.customers.reindex(customers["customer_id"].astype("string"))
    for column in value.CUSTOMER_COLUMNS:
        customers[column] = per_customer[column].to_numpy()
    groups = value.group_table(customers, "rfm_segment").drop(columns="customers")
    segments = result.segments.merge(
        groups.rename(columns={"rfm_segment": "segment"}), on="segment", how="left"
    )
    return dataclasses.replace(
        result,
        customers=customers,
        segments=segments,
        value=analysis,
        warnings=tuple(result.warnings) + as_warnings(analysis.warnings, "value"),
    )


def _assemble(
    params: AnalysisParams,
    transactions: io.Transactions,
    prepared: Prepared,
    sweep: KSweep | None,
    k: int,
    labels: np.ndarray,
    centres: np.ndarray,
    checked: KStability | None = None,
) -> AnalysisResult:
    options = params.clustering
    customers = prepared.customers
    fit_mask = prepared.fit_mask
    features = prepared.features
    fit_customers = customers.loc[fit_mask]
    labels, centres = clustering.order_by_monetary(
        labels, fit_customers["monetary"].to_numpy(), centres
    )

    basis = prepared.silhouette_basis(options.seed)
    per_point = np.full(len(fit_customers), np.nan)
    per_point[basis.index] = basis.samples(labels)
    # The Outliers segment is not clustered, but it is placed in the same scaled and PCA space
    # so the 2D and 3D views can draw it.
    rest = features.scale_more(customers.loc[~fit_mask]) if not fit_mask.all() else None
    coords, rest_coords, explained = clustering.pca_coordinates(features.scaled, options.seed, rest)

    n = len(customers)
    outlier_id = k if not fit_mask.all() else None
    cluster = np.full(n, k, dtype=np.int32)
    cluster[fit_mask] = labels
    silhouette = np.full(n, np.nan)
    silhouette[fit_mask] = per_point
    pcs = np.full((n, 3), np.nan)
    pcs[fit_mask] = coords
    scaled = np.full((n, len(features.names)), np.nan)
    scaled[fit_mask] = features.scaled
    if rest is not None:
        pcs[~fit_mask] = rest_coords
        scaled[~fit_mask] = rest

    out = customers.copy()
    out["cluster"] = cluster
    out["silhouette"] = silhouette
    for i in range(3):
        out[f"pc{i + 1}"] = pcs[:, i]
    for j, name in enumerate(features.names):
        out[f"x_{name}"] = scaled[:, j]

    original = features.to_original_units(centres)
    centroids = []
    for row in original:
        values = dict(zip(features.names, row, strict=True))
        for name in (
            "recency",
            "frequency",
            "monetary",
        ):  # features not clustered on: use the members' median
            values.setdefault(name, float("nan"))
        centroids.append(values)
    for c, values in enumerate(centroids):
        members = fit_customers[labels == c]
        for name in ("recency", "frequency", "monetary"):
            if np.isnan(values[name]):
                values[name] = float(members[name].median())
    rules = params.scoring.effective_rules
    picked = profiles.closest_rules(centroids, customers, rules)
    names = dict(enumerate(profiles.cluster_names(picked)))
    strategies = {i: rules.strategy(rule.name) for i, rule in enumerate(picked) if rule}
    if outlier_id is not None:
        names[outlier_id] = profiles.outlier_label(outlier_id)
    out["cluster_name"] = out["cluster"].map(names).astype("string")
    cluster_profiles = profiles.build_profiles(out, names, outlier_id, strategies)
    if checked is not None:  # the Outliers segment (id k) is not fitted: no stability
        cluster_profiles = tuple(
            dataclasses.replace(
                c,
                stability=checked.cluster_jaccard[c.id],
                stability_flag=stability.flag(checked.cluster_jaccard[c.id]),
            )
            if c.id < k and np.isfinite(checked.cluster_jaccard[c.id])
            else c
            for c in cluster_profiles
        )

    dissolving = [
        f"{c.name} ({c.size:,} customers, mean Jaccard {c.stability:.2f})"
        for c in cluster_profiles
        if c.dissolves
    ]
    if dissolving:
        notes = as_warnings(
            [
                f"{plural(len(dissolving), 'cluster')} of K={k} {'dissolves' if len(dissolving) == 1 else 'dissolve'} when k-means is refitted "
                f"on subsamples (best-match Jaccard below {stability.DISSOLVES}): "
                f"{'; '.join(dissolving)}. Do not build a campaign on them alone; try another K, "
                "the log transform or outliers as their own segment."
            ],
            "clustering",
        )
    else:
        notes = ()
    sampled = clustering.sampled_fit_note(len(features.scaled))
    if sampled is not None:
        notes += as_warnings([sampled], "clustering")
    result = AnalysisResult(
        params=params.replace(cluster_names=()),
        rows_read=transactions.rows_read,
        date_format=transactions.date_format,
        cleaning=prepared.report,
        customers=out,
        k=k,
        silhouette=float(np.nanmean(per_point)),
        clusters=cluster_profiles,
        sweep=sweep,
        segments=rfm.segment_summary(out, rules),
        heatmap=rfm.score_heatmap(out, params.scoring.bins),
        snapshot_date=prepared.snapshot,
        input_sha256=transactions.source_sha256,
        input_size=transactions.source_size,
        warnings=prepared.warnings
        + as_warnings(sweep.warnings if sweep is not None else (), "clustering")
        + notes,
        scales=prepared.scales,
        rules=rules,
        distributions=rfm.distributions(out),
        pca_variance=explained,
        feature_space=features.space(),
        stability=checked,
    )
    if not params.cluster_names:
        return result
    result, warnings = result.with_cluster_names(params.cluster_names)
    result.warnings = result.warnings + as_warnings(warnings, "clustering")
    return result
