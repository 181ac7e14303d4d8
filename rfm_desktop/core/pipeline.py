"""The whole analysis as stages the GUI can run one by one, and ``run`` that chains them.

Every stage takes ``progress(fraction, step)`` and ``cancelled()``; cancelling raises
:class:`~rfm_desktop.core.errors.Cancelled` between steps, before anything is written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal
from warnings import WarningMessage

import numpy as np
import pandas as pd

from rfm_desktop.core import (
    checks,
    cleaning,
    clustering,
    engines,
    io,
    libwarnings,
    profiles,
    rfm,
    scoring,
    stability,
)
from rfm_desktop.core.coverage import rule_coverage
from rfm_desktop.core.engines import memory
from rfm_desktop.core.engines.memory import before_as_of as before_as_of
from rfm_desktop.core.engines.memory import snapshot_for as snapshot_for
from rfm_desktop.core.engines.snapshot import (
    SNAPSHOT_MAX_YEARS_AFTER as SNAPSHOT_MAX_YEARS_AFTER,
)
from rfm_desktop.core.engines.snapshot import latest_snapshot as latest_snapshot
from rfm_desktop.core.errors import Cancelled, DataError, ModelError, ParamsError
from rfm_desktop.core.params import (
    AnalysisParams,
    CancelledFn,
    ClusteringOptions,
    ProgressFn,
    never_cancelled,
    no_progress,
)
from rfm_desktop.core.result import (
    AnalysisResult,
    CleaningReport,
    KScore,
    KStability,
    KSweep,
    RunWarning,
    as_warnings,
    cluster_name_column,
)
from rfm_desktop.core.rules import RuleSet
from rfm_desktop.core.values import plural


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
    _refits: dict[tuple[int, int], dict[int, list[np.ndarray]]] = dataclasses.field(
        default_factory=dict
    )

    def silhouette_basis(self, seed: int) -> clustering.SilhouetteBasis:
        """The customers silhouettes are measured on, for every K of this run (one per seed)."""
        if self._basis is None or self._basis_seed != seed:
            self._basis = clustering.SilhouetteBasis.build(self.features.scaled, seed)
            self._basis_seed = seed
        return self._basis

    def stability_refits(self, seed: int, resamples: int) -> dict[int, list[np.ndarray]]:
        """The stability check's refits per K for this run's features, seed and resamples (see
        ``stability.check_k``): the final K's check reuses the sweep's refits of that K."""
        return self._refits.setdefault((seed, resamples), {})


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

    The in-memory engine's :func:`~rfm_desktop.core.engines.memory.reduce`, then
    :func:`prepare_from`.

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
    reduced = memory.reduce(transactions, params, progress, cancelled, cleaned=cleaned, masks=masks)
    return prepare_from(reduced, params, progress, cancelled)


def prepare_from(
    reduced: engines.Reduced,
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> Prepared:
    """Scores, outliers and the k-means features of the customers an engine reduced.

    Parameters
    ----------
    reduced
        What an engine gave (``engines.memory.reduce`` or ``engines.reduce``).
    params
        The run (outlier, scoring and clustering options).
    progress, cancelled
        As in :func:`load` (0.6 and 1.0 of :func:`prepare` are reported here).

    Returns
    -------
    Prepared
        As :func:`prepare`.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    DataError
        Fewer than 3 customers are left to segment.
    """
    customers = reduced.customers.copy(deep=False)  # copy-on-write: new columns stay here
    report = reduced.report
    warnings = list(reduced.warnings)
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
    fitted = int(fit_mask.sum())
    caught: list[WarningMessage] = []  # the worker's library warnings
    with ThreadPoolExecutor(1) as background:
        # The k-means features read only recency, frequency and monetary, which scoring does
        # not change: they are scaled in a thread while the customers are scored (both mostly
        # numpy, which leaves Python's lock: 0.15 s less at 1,000,000 customers).
        features_made = (
            background.submit(
                _features_caught,
                # a boolean mask copies every column, also when it keeps every customer
                customers if fit_mask.all() else customers.loc[fit_mask],
                params.clustering,
                caught,
            )
            if fitted >= 3
            else None
        )
        # scores are made among the customers of the analysis (after dropping outliers, if asked)
        customers, scales, score_warnings = score(customers, params)
    warnings += as_warnings(score_warnings, "customers")
    report = dataclasses.replace(
        report,
        customers_before_outliers=before,
        outliers_found=int(outliers.sum()),
        outlier_mode=options.outliers,
    )
    if features_made is None:
        raise DataError(
            f"Only {fitted} customers are left to segment; at least 3 are needed.",
            hint="Check the cleaning options (outliers, cancellations) and the customer id column.",
        )
    progress(0.6, "Scaling features")
    try:
        features = features_made.result()
    finally:  # the worker's warnings into this run's, also before its error
        libwarnings.hand_on(caught)
    progress(1.0, "Features ready")
    warnings += as_warnings(checks.too_few_to_cluster(fitted), "clustering")
    warnings += as_warnings(features.warnings, "clustering")
    return Prepared(
        report,
        customers,
        fit_mask,
        features,
        reduced.snapshot,
        tuple(warnings),
        scales,
        reduced.value_rows,
    )


def _features_caught(
    customers: pd.DataFrame, options: ClusteringOptions, caught: list[WarningMessage]
) -> clustering.Features:
    """:func:`clustering.prepare_features` in a worker; the library warnings raised there go to
    ``caught`` (they are caught per thread: the thread that waits for the features hands them
    on to the run's)."""
    with libwarnings.captured() as mine:
        try:
            return clustering.prepare_features(customers, options)
        finally:
            caught.extend(mine)


def reduce(
    params: AnalysisParams,
    progress: ProgressFn = no_progress,
    cancelled: CancelledFn = never_cancelled,
) -> engines.Reduced:
    """Read ``params.input_path`` and reduce it to customers with the engine
    :func:`engines.choose` picks (reading and reduction: the part that grows with the rows).

    Parameters
    ----------
    params
        The run; ``params.engine`` picks the engine ("auto": by the input's kind and size).
    progress, cancelled
        As in :func:`load`.

    Returns
    -------
    engines.Reduced
        The customers, the cleaning report, the snapshot and the warnings so far.

    Raises
    ------
    Cancelled
        ``cancelled()`` returned True.
    InputFileError, SheetError, MappingError, DataError, ParamsError
        As :func:`load` and :func:`prepare` raise them, whichever engine runs.
    """
    engine = engines.choose(params)
    if engine != "memory":
        _check(cancelled)
        return engines.reduce(engine, params, progress, cancelled)
    transactions = load(params, _scaled(progress, 0.0, 0.8), cancelled)
    return memory.reduce(transactions, params, _scaled(progress, 0.8, 1.0), cancelled)


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
    """The K sweep over params.clustering.k_min..k_max; ``on_score`` hears each K as soon as
    it is scored (without it, the silhouettes of every K are computed together once all are
    fitted: see ``clustering.sweep_k``), with its stability over
    ``clustering.stability_resamples`` subsamples (when > 0)."""
    options = params.clustering
    basis = prepared.silhouette_basis(options.seed)
    _check(cancelled)
    stability_of = None
    if options.stability_resamples:

        def stability_of(x: np.ndarray, labels: np.ndarray, k: int) -> KStability | None:
            if not stability.measurable(len(x), k):
                return None
            return stability.check_k(
                x,
                labels,
                k,
                options.seed,
                options.stability_resamples,
                cancelled=cancelled,
                refits=prepared.stability_refits(options.seed, options.stability_resamples),
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
    reduced: engines.Reduced | None = None,
    value_failure: Literal["raise", "warn"] = "raise",
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
        Rows already read for ``params`` (the wizard's preview); None: read ``params.input_path``
        (with the engine :func:`engines.choose` picks, see :func:`reduce`).
    on_k_score
        Called with each K's scores while K is swept (for a live chart).
    sweep
        A K sweep already made for params with the same :func:`sweep_inputs` (e.g. by "Evaluate
        K"); used instead of sweeping again.
    reduced
        The customers an engine already reduced for params with the same input and cleaning
        (e.g. the main run's, for the sensitivity variants); used instead of ``transactions``.
    value_failure
        What a customer lifetime value model that cannot be fitted does: "raise" its ModelError
        (the CLI, where ``--clv`` was asked for), or "warn": the result without ``value`` and a
        warning of stage "value" that gives the reason (the app, where CLV is on by default).

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
        :func:`prepare`); ModelError when customer lifetime value was asked and cannot be fitted
        (``value_failure="raise"``).
    """
    with libwarnings.captured() as caught:
        result = _run(
            params, progress, cancelled, transactions, on_k_score, sweep, reduced, value_failure
        )
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
    reduced: engines.Reduced | None,
    value_failure: Literal["raise", "warn"] = "raise",
) -> AnalysisResult:
    started = time.perf_counter()
    step = _scaled(progress, 0.4, 0.45)
    if reduced is None and transactions is None and engines.choose(params) != "memory":
        reduced = reduce(params, _scaled(progress, 0.0, 0.4), cancelled)
    if reduced is None:
        step = _scaled(progress, 0.3, 0.45)
        if transactions is None:
            transactions = load(params, _scaled(progress, 0.0, 0.3), cancelled)
        reduced = memory.reduce(transactions, params, step, cancelled)
    prepared = prepare_from(reduced, params, step, cancelled)
    # The RFM segments' tables read only the scored customers, not the clusters: made in a
    # thread while K is swept and fitted, whose threads leave a core idle part of the time
    # (0.3 s at 1,000,000 customers, mostly sorts and group sums)
    with ThreadPoolExecutor(1) as background:
        rfm_tables = background.submit(
            _rfm_tables, prepared.customers, params.scoring.effective_rules, params.scoring.bins
        )
        result = _cluster(
            params, reduced, prepared, sweep, rfm_tables, progress, cancelled, on_k_score
        )
    if prepared.value_rows is not None:
        _check(cancelled)
        progress(0.93, "Fitting customer lifetime value")
        try:
            result = with_value(result, prepared.value_rows)
        except ModelError as exc:
            if value_failure == "raise":
                raise
            result.warnings = tuple(result.warnings) + (RunWarning("value", value_failed(exc)),)
    result.seconds = time.perf_counter() - started
    progress(1.0, "Done")
    return result


def _cluster(
    params: AnalysisParams,
    reduced: engines.Reduced,
    prepared: Prepared,
    sweep: KSweep | None,
    rfm_tables: Future[tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]],
    progress: ProgressFn,
    cancelled: CancelledFn,
    on_k_score: Callable[[KScore], None] | None,
) -> AnalysisResult:
    """The K sweep (unless given or K is fixed), the fit of the chosen K, its stability and the
    result (:func:`_assemble`) of ``prepared``; ``rfm_tables``: the RFM tables being made."""
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
            refits=prepared.stability_refits(options.seed, options.stability_resamples),
        )

    progress(0.9, "Describing clusters")
    return _assemble(params, reduced, prepared, sweep, k, labels, centres, rfm_tables, checked)


def value_failed(exc: ModelError) -> str:
    """The warning of a run whose customer lifetime value could not be fitted: the reason and
    what to do (the error's hint)."""
    return f"Customer lifetime value was not computed: {exc.message} {exc.hint}"


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
    per_cluster = value.group_table(customers, "cluster").set_index("cluster")
    clusters = tuple(
        dataclasses.replace(
            profile,
            predicted_clv_sum=float(per_cluster.at[profile.id, "predicted_clv_sum"]),
            predicted_clv_mean=float(per_cluster.at[profile.id, "predicted_clv_mean"]),
            customers_p_alive_below_half=int(
                per_cluster.at[profile.id, "customers_p_alive_below_half"]
            ),
            revenue_at_risk=float(per_cluster.at[profile.id, "revenue_at_risk"]),
        )
        if profile.id in per_cluster.index
        else profile
        for profile in result.clusters
    )
    return dataclasses.replace(
        result,
        customers=customers,
        segments=segments,
        clusters=clusters,
        value=analysis,
        warnings=tuple(result.warnings) + as_warnings(analysis.warnings, "value"),
    )


def _centroids(
    features: clustering.Features,
    centres: np.ndarray,
    fit_customers: pd.DataFrame,
    labels: np.ndarray,
) -> list[dict[str, float]]:
    """Each cluster's centre in the analyst's units (recency, frequency, monetary); a measure
    that was not clustered on is the members' median."""
    original = features.to_original_units(centres)
    centroids = []
    for row in original:
        values = dict(zip(features.names, row, strict=True))
        for name in ("recency", "frequency", "monetary"):
            values.setdefault(name, float("nan"))
        centroids.append(values)
    for c, values in enumerate(centroids):
        missing = [name for name in ("recency", "frequency", "monetary") if np.isnan(values[name])]
        if missing:
            medians = fit_customers.loc[labels == c, missing].median()
            values.update((name, float(medians[name])) for name in missing)
    return centroids


def _rfm_tables(
    customers: pd.DataFrame, rules: RuleSet, bins: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """The result's tables of the scored customers alone: the segment summary
    (rfm.segment_summary), the score heatmap (rfm.score_heatmap) and the histograms
    (rfm.distributions)."""
    return (
        rfm.segment_summary(customers, rules),
        rfm.score_heatmap(customers, bins),
        rfm.distributions(customers),
    )


def _assemble(
    params: AnalysisParams,
    reduced: engines.Reduced,
    prepared: Prepared,
    sweep: KSweep | None,
    k: int,
    labels: np.ndarray,
    centres: np.ndarray,
    rfm_tables: Future[tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]],
    checked: KStability | None = None,
) -> AnalysisResult:
    options = params.clustering
    customers = prepared.customers
    fit_mask = prepared.fit_mask
    features = prepared.features
    # a boolean mask copies every column: at 5 M customers that is a gigabyte for nothing
    fit_customers = customers if fit_mask.all() else customers.loc[fit_mask]
    labels, centres = clustering.order_by_monetary(
        labels, fit_customers["monetary"].to_numpy(), centres
    )

    # The Outliers segment is not clustered, but it is placed in the same scaled and PCA space
    # so the 2D and 3D views can draw it.
    rest = features.scale_more(customers.loc[~fit_mask]) if not fit_mask.all() else None
    coords, rest_coords, explained = clustering.pca_coordinates(features.scaled, options.seed, rest)

    basis = prepared.silhouette_basis(options.seed)
    rules = params.scoring.effective_rules
    # The final K's silhouettes (a pass over the distances that mostly leaves Python's lock,
    # 0.15 s of CPU at 10,000 sampled customers) are computed in a thread while the clusters'
    # rules are picked. Nothing here uses BLAS meanwhile: the pass limits its threads, and that
    # limit holds for the whole process (the projection above used the default).
    with ThreadPoolExecutor(1) as background:
        sampled_silhouettes = background.submit(basis.samples, labels)
        picked = profiles.closest_rules(
            _centroids(features, centres, fit_customers, labels), customers, rules
        )
        per_point = np.full(len(fit_customers), np.nan)
        per_point[basis.index] = sampled_silhouettes.result()

    n = len(customers)
    outlier_id = k if not fit_mask.all() else None
    # every customer clustered: the fit's own arrays (at 5 M customers each full copy is
    # 40-120 MB); otherwise the Outliers segment fills the rows k-means did not see
    cluster, silhouette, pcs, scaled = labels, per_point, coords, features.scaled
    if rest is not None:
        cluster = np.full(n, k, dtype=np.int32)
        cluster[fit_mask] = labels
        silhouette = np.full(n, np.nan)
        silhouette[fit_mask] = per_point
        pcs = np.full((n, 3), np.nan)
        pcs[fit_mask] = coords
        pcs[~fit_mask] = rest_coords
        scaled = np.full((n, len(features.names)), np.nan)
        scaled[fit_mask] = features.scaled
        scaled[~fit_mask] = rest

    out = customers.copy(deep=False)  # copy-on-write: the new columns do not reach customers
    out["cluster"] = cluster
    out["silhouette"] = silhouette
    for i in range(3):
        out[f"pc{i + 1}"] = pcs[:, i]
    for j, name in enumerate(features.names):
        out[f"x_{name}"] = scaled[:, j]

    names = dict(enumerate(profiles.cluster_names(picked)))
    strategies = {i: rules.strategy(rule.name) for i, rule in enumerate(picked) if rule}
    if outlier_id is not None:
        names[outlier_id] = profiles.outlier_label(outlier_id)
    out["cluster_name"] = cluster_name_column(out["cluster"], names)
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
    segments, heatmap, distributions = rfm_tables.result()
    result = AnalysisResult(
        params=params.replace(cluster_names=()),
        rows_read=reduced.rows_read,
        date_format=reduced.date_format,
        cleaning=prepared.report,
        customers=out,
        k=k,
        silhouette=float(np.nanmean(per_point)),
        clusters=cluster_profiles,
        sweep=sweep,
        segments=segments,
        heatmap=heatmap,
        snapshot_date=prepared.snapshot,
        input_sha256=reduced.input_sha256,
        input_size=reduced.input_size,
        engine=reduced.engine,
        warnings=prepared.warnings
        + as_warnings(sweep.warnings if sweep is not None else (), "clustering")
        + notes,
        scales=prepared.scales,
        rules=rules,
        distributions=distributions,
        pca_variance=explained,
        feature_space=features.space(),
        stability=checked,
    )
    if not params.cluster_names:
        return result
    result, warnings = result.with_cluster_names(params.cluster_names)
    result.warnings = result.warnings + as_warnings(warnings, "clustering")
    return result
