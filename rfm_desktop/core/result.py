"""Plain result values. Views draw these; they compute nothing themselves."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from rfm_desktop.core.coverage import Coverage, rule_coverage
from rfm_desktop.core.errors import SegmentNameError
from rfm_desktop.core.matching import Matching
from rfm_desktop.core.params import AnalysisParams
from rfm_desktop.core.rules import OTHERS, RFM_02, RuleSet
from rfm_desktop.core.scoring import MeasureScale

if TYPE_CHECKING:
    from rfm_desktop.core.value import ValueAnalysis

#: Where a warning belongs: the wizard shows it next to that step (read: the File page;
#: cleaning and customers: the Cleaning page; clustering: the Clustering page) and in the results.
STAGES = ("read", "cleaning", "customers", "clustering", "value")


def cluster_name_column(cluster: pd.Series, names: Mapping[int, str]) -> pd.Series:
    """Each customer's cluster name from its cluster id (a string column, missing for an id
    without a name), as ``cluster.map(names).astype("string")`` gives it.

    The names are taken by id through Arrow: a Python string per customer, converted to the
    string column afterwards, cost about a second at 5,000,000 customers.

    Parameters
    ----------
    cluster
        Cluster ids (0, 1, ...), one per customer.
    names
        Cluster id -> name.

    Returns
    -------
    pandas.Series
        The names, on ``cluster``'s index.
    """
    ids = cluster.to_numpy()
    size = max([*names, int(ids.max()) if len(ids) else -1]) + 1
    lookup = pa.array([names.get(i) for i in range(size)], pa.large_string())
    return pd.Series(pd.array(lookup.take(pa.array(ids)), dtype="string"), index=cluster.index)


@dataclass(frozen=True)
class RunWarning:
    """One sentence the analyst must see, and the stage of the run it concerns (see STAGES)."""

    stage: str
    text: str

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, str]:
        """The warning as JSON-ready values (stage and text), for summary.json and run.json."""
        return {"stage": self.stage, "text": self.text}


def as_warnings(texts: Sequence[str | RunWarning], stage: str) -> tuple[RunWarning, ...]:
    """Plain sentences as warnings of ``stage``; warnings that already have a stage keep it."""
    return tuple(t if isinstance(t, RunWarning) else RunWarning(stage, str(t)) for t in texts)


@dataclass(frozen=True)
class CleaningStep:
    step: str  # machine name, e.g. "missing_customer"
    label: str  # what the analyst reads, e.g. "Rows without customer id"
    before: int
    removed: int
    after: int
    enabled: bool = True
    #: rows this step removes (enabled) or would remove if switched on (disabled), for the wizard;
    #: None when a disabled step was not counted (a full run skips that work)
    would_remove: int | None = None
    #: the first row this step removes (or would remove), e.g. "invoice C536379"; None when none
    example: str | None = None


@dataclass(frozen=True)
class RowGroup:
    """Sales rows with, or without, a customer id (see core.missing_ids)."""

    rows: int
    row_share: float  # of all sales rows, 0..1
    revenue: float  # the file's currency
    revenue_share: float  # of all sales revenue, 0..1
    invoices: int
    invoice_value_mean: float  # the file's currency per invoice
    lines_per_invoice: float  # rows per invoice
    units_per_invoice: float | None  # summed quantity per invoice; None without a quantity column
    unit_price_median: float | None  # the file's currency; None without a unit price column
    countries: tuple[tuple[str, float], ...] = ()  # top countries and their share of the rows

    def to_dict(self) -> dict[str, Any]:
        """The group as JSON-ready values."""
        out = dataclasses.asdict(self)
        out["countries"] = [{"country": c, "share": share} for c, share in self.countries]
        return out


@dataclass(frozen=True)
class MissingIdCheck:
    """Do the customers analysed look like the whole business? Sales rows with and without a
    customer id compared (core.missing_ids.compare)."""

    sales_rows: int
    with_id: RowGroup
    without_id: RowGroup
    #: per month ("2011-01"): share of the month's sales rows, and of its revenue, without an id
    months: tuple[tuple[str, float, float], ...]
    differs: bool  # the rows without an id matter and differ (see missing_ids thresholds)
    reasons: tuple[str, ...]  # each difference found, one phrase each
    verdict: str  # one or two plain sentences for the analyst

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON-ready values, for summary.json."""
        return {
            "sales_rows": self.sales_rows,
            "with_id": self.with_id.to_dict(),
            "without_id": self.without_id.to_dict(),
            "months": [
                {"month": m, "row_share_without_id": r, "revenue_share_without_id": v}
                for m, r, v in self.months
            ],
            "differs": self.differs,
            "reasons": list[Any](self.reasons),
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class CleaningReport:
    rows_read: int
    steps: tuple[CleaningStep, ...]
    customers_before_outliers: int = 0
    outliers_found: int = 0  # customers flagged by the IQR rule
    outlier_mode: str = "keep"
    #: what the analyst should know about the cleaning (e.g. a step that removes a large share)
    warnings: tuple[str, ...] = ()
    #: sales rows with and without customer id compared; None when every sales row has an id
    missing_ids: MissingIdCheck | None = None

    @property
    def rows_clean(self) -> int:
        """Rows left after the last cleaning step (the rows read when no step ran)."""
        return self.steps[-1].after if self.steps else self.rows_read


@dataclass(frozen=True)
class KStability:
    """How well a K's clusters survive refits on subsamples of the customers (core.stability)."""

    k: int
    resamples: int
    sample_size: int  # customers per subsample
    ari_mean: float  # adjusted Rand index with the full fit on the shared customers, -1..1
    ari_sd: float
    ari_min: float
    stable_resamples: int  # resamples with an ARI of at least core.stability.STABLE_ARI
    #: final K only: mean Jaccard of each fitted cluster (not Outliers; in id order, also after
    #: core.compare renumbers them) with its best match per resample
    cluster_jaccard: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The stability as JSON-ready values, for summary.json."""
        return dataclasses.asdict(self) | {"cluster_jaccard": list[Any](self.cluster_jaccard)}


@dataclass(frozen=True)
class KScore:
    k: int
    inertia: float
    silhouette: float
    davies_bouldin: float
    calinski_harabasz: float
    stability: KStability | None = None  # None when the stability check is off


@dataclass(frozen=True)
class KSweep:
    scores: tuple[KScore, ...]
    suggested_k: int
    reason: str  # one sentence: why this K
    silhouette_sampled: bool = False  # True when computed on a fixed-seed sample
    warnings: tuple[str, ...] = ()  # e.g. the K range was cut to the distinct customer profiles


@dataclass(frozen=True)
class FeatureSpace:
    """The space k-means saw: ``features`` (of recency, frequency, monetary), the ``transform``
    ("log1p" or "none") and the fitted scaler written as ``(value - center) / scale`` per feature
    (StandardScaler, RobustScaler and MinMaxScaler are all of this form; no scaler: 0 and 1).

    Plain numbers, so a result folder's summary.json carries it and a later run can put its
    customers into this run's space (core.matching).
    """

    features: tuple[str, ...]
    transform: str
    center: tuple[float, ...]
    scale: tuple[float, ...]

    def apply(self, customers: pd.DataFrame) -> np.ndarray:
        """Customers' features (days, orders, the file's currency) in this space.

        Returns
        -------
        ndarray, len(customers) x len(features)
        """
        values = customers[list(self.features)].to_numpy(dtype=np.float64)
        if self.transform == "log1p":
            values = np.log1p(np.clip(values, 0, None))
        return (values - np.asarray(self.center)) / np.asarray(self.scale)

    def to_dict(self) -> dict[str, object]:
        """The space as JSON-ready values; :meth:`from_dict` reads it back."""
        return {
            "features": list[Any](self.features),
            "transform": self.transform,
            "center": list[Any](self.center),
            "scale": list[Any](self.scale),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpace:
        """The space of :meth:`to_dict`'s output.

        Raises
        ------
        KeyError, TypeError, ValueError
            ``data`` is not such a space (missing field, wrong type, mismatched lengths, a zero
            or infinite scale); callers that read a saved file turn these into ``ParamsError``.
        """
        space = cls(
            tuple(str(f) for f in data["features"]),
            str(data["transform"]),
            tuple(float(v) for v in data["center"]),
            tuple(float(v) for v in data["scale"]),
        )
        if not len(space.features) == len(space.center) == len(space.scale) or not all(
            v != 0 and np.isfinite(v) for v in space.scale
        ):
            raise ValueError("feature space with mismatched or zero scales")
        return space


@dataclass(frozen=True)
class ClusterProfile:
    id: int
    name: str
    size: int
    share: float
    recency_mean: float
    frequency_mean: float
    monetary_mean: float
    recency_median: float
    frequency_median: float
    monetary_median: float
    revenue_share: float
    average_order_value: float  # monetary / frequency over the cluster
    silhouette_mean: float  # NaN for the Outliers segment
    strategy: str
    color: str  # hex colour from core.palette, the same in every view and export
    is_outlier_segment: bool = False
    #: mean Jaccard with its best match over the stability resamples (0..1); None when not
    #: checked (check off, or the Outliers segment, which k-means does not fit)
    stability: float | None = None
    #: "stable", "doubtful" or "dissolves" (core.stability.flag, Hennig 2007); "" when not checked
    stability_flag: str = ""
    #: customer lifetime value of the cluster (core.value.group_table, the file's currency over
    #: the CLV horizon); None when CLV was not computed
    predicted_clv_sum: float | None = None
    predicted_clv_mean: float | None = None
    customers_p_alive_below_half: int | None = None
    revenue_at_risk: float | None = None

    @property
    def dissolves(self) -> bool:
        """Mean Jaccard below 0.6: the cluster does not survive a re-run (Hennig 2007)."""
        return self.stability_flag == "dissolves"


@dataclass
class AnalysisResult:
    params: AnalysisParams
    rows_read: int
    date_format: str
    cleaning: CleaningReport
    #: one row per customer: customer_id, recency, frequency, monetary, first_purchase,
    #: last_purchase, tenure_days, [country], r_score, f_score, m_score, rfm_score,
    #: rfm_segment, is_outlier, cluster, cluster_name, silhouette, pc1, pc2, pc3,
    #: and the scaled features used for clustering: x_recency, x_frequency, x_monetary
    customers: pd.DataFrame
    k: int
    silhouette: float
    clusters: tuple[ClusterProfile, ...]
    sweep: KSweep | None
    #: named RFM segments present, best first (core.rfm.SEGMENT_COLUMNS): segment, customers, share,
    #: orders, revenue, revenue_share, average_order_value, recency/frequency/monetary _median and _mean
    segments: pd.DataFrame
    #: R score x F score grid (bins x bins cells): r_score, f_score, customers, monetary_mean
    heatmap: pd.DataFrame
    snapshot_date: pd.Timestamp
    input_sha256: str = ""  # of the bytes that were read and analysed
    input_size: int = 0  # bytes read
    seconds: float = 0.0
    warnings: tuple[RunWarning, ...] = field(default_factory=tuple)
    #: recency, frequency, monetary scales: break points and, per score, its bounds, the observed
    #: lowest/highest value and the customers (core.scoring.MeasureScale); "score_thresholds"
    scales: tuple[MeasureScale, ...] = ()
    #: the rule table the segments come from, on this run's scores (ScoringOptions.effective_rules)
    rules: RuleSet = RFM_02
    #: histogram data (core.rfm.distributions): "recency", "frequency", "monetary" with lower,
    #: upper, customers; "orders" with orders, customers
    distributions: dict[str, pd.DataFrame] = field(default_factory=dict)

    #: share of the scaled features' variance that PCA 1, 2, 3 explain (0..1); empty when unknown
    pca_variance: tuple[float, ...] = field(default_factory=tuple)
    #: the space k-means clustered in (for matching a later run's clusters to these); None when unknown
    feature_space: FeatureSpace | None = None
    #: how this run's clusters were matched to a previous run's (core.matching), when compared
    matching: Matching | None = None
    #: the final K's stability over subsamples, with per-cluster Jaccard; None when off
    stability: KStability | None = None
    #: customer lifetime value (params.clv.enabled): the fits, matrices, validation; the
    #: per-customer values are columns of ``customers`` (core.value.CUSTOMER_COLUMNS) and the
    #: per-segment ones columns of ``segments`` (core.value.GROUP_COLUMNS but "customers")
    value: ValueAnalysis | None = None
    #: the variants of core.sensitivity side by side (its COLUMNS); None when not asked for
    sensitivity: pd.DataFrame | None = None
    #: the engine that reduced the rows to customers: "memory", "duckdb" or "spark"
    #: (core.engines; params.engine may say "auto")
    engine: str = "memory"

    @property
    def bins(self) -> int:
        """Number of scores per measure."""
        return self.scales[0].bins if self.scales else self.rules.scale

    def scale(self, measure: str) -> MeasureScale:
        """The scale of "recency", "frequency" or "monetary".

        Raises
        ------
        KeyError
            ``measure`` is none of the three (a programming error).
        """
        for s in self.scales:
            if s.measure == measure:
                return s
        raise KeyError(measure)

    @property
    def coverage(self) -> Coverage:
        """Which rule takes each R x F x M score cell (core.coverage.rule_coverage; computed on
        each access, a few milliseconds)."""
        return rule_coverage(self.rules, self.bins)

    @property
    def segment_names(self) -> tuple[str, ...]:
        """Names of the named RFM segments, best first; no cluster may be called like one."""
        return self.rules.segment_names

    def warnings_for(self, *stages: str) -> tuple[RunWarning, ...]:
        """The warnings of these stages, in the order they were raised."""
        return tuple(w for w in self.warnings if w.stage in stages)

    @property
    def suggested_k(self) -> int | None:
        """The K the sweep suggests, or None when no sweep was run."""
        return self.sweep.suggested_k if self.sweep else None

    @property
    def customer_count(self) -> int:
        """The number of customers analysed (rows of ``customers``)."""
        return len(self.customers)

    @property
    def segments_text(self) -> str:
        """How many segments the views show, in words: "6 segments (K = 5 + Outliers)"; the
        Outliers segment (outliers as their own segment) is one of them but not a k-means cluster."""
        outliers = " + Outliers" if any(c.is_outlier_segment for c in self.clusters) else ""
        return f"{len(self.clusters)} segments (K = {self.k}{outliers})"

    def cluster(self, cluster_id: int) -> ClusterProfile:
        """The cluster with id ``cluster_id``.

        Raises
        ------
        KeyError
            No cluster has that id (a programming error: ids come from ``clusters``).
        """
        for c in self.clusters:
            if c.id == cluster_id:
                return c
        raise KeyError(cluster_id)

    def rename_cluster(self, cluster_id: int, name: str) -> AnalysisResult:
        """A new result with one cluster renamed, in the profiles and the customer table.

        Raises
        ------
        SegmentNameError
            ``name`` is empty, another cluster has it, or it is the name of a named RFM segment.
        """
        name = name.strip()
        if not name:
            raise SegmentNameError("A segment name cannot be empty.")
        if any(c.name == name and c.id != cluster_id for c in self.clusters):
            raise SegmentNameError(f"Another segment is already called '{name}'.")
        if name.casefold() in {s.casefold() for s in (*self.segment_names, OTHERS)}:
            raise SegmentNameError(
                f"'{name}' is the name of a named RFM segment; give the cluster a different name "
                "so the two are never confused."
            )
        clusters = tuple(
            dataclasses.replace(c, name=name) if c.id == cluster_id else c for c in self.clusters
        )
        customers = self.customers.copy(deep=False)  # copy-on-write: only the names change
        names = {c.id: c.name for c in clusters}
        customers["cluster_name"] = cluster_name_column(customers["cluster"], names)
        # the name goes into the params too, so a saved analysis or run.json brings it back
        chosen = dict(self.params.cluster_names)
        chosen[cluster_id] = name
        params = self.params.replace(cluster_names=chosen)
        return dataclasses.replace(self, params=params, clusters=clusters, customers=customers)

    def with_cluster_names(
        self, names: dict[int, str] | tuple[tuple[int, str], ...]
    ) -> tuple[AnalysisResult, list[str]]:
        """The result with the analyst's cluster names applied (ids that exist only).

        Returns the renamed result and one warning per name that could not be applied
        (unknown cluster id, a name taken by another segment or a named RFM segment).
        """
        result, warnings = self, []
        for cluster_id, name in dict(names).items():
            try:
                result.cluster(cluster_id)
                result = result.rename_cluster(cluster_id, name)
            except KeyError:
                warnings.append(
                    f"The saved name '{name}' was not applied: this run has no cluster {cluster_id}."
                )
            except ValueError as exc:
                warnings.append(f"The saved name '{name}' was not applied: {exc}")
        return result, warnings
