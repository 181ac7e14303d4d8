"""The one value that says everything about a run (see ARCHITECTURE.md).

The wizard builds it, the CLI builds it from flags, the result carries it and every
export writes it down, so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.rules import RFM_02, RuleSet

Transform = Literal["log1p", "none"]
Scaler = Literal["standard", "robust", "minmax", "none"]
OutlierMode = Literal["keep", "drop", "segment"]
FEATURES = ("recency", "frequency", "monetary")

#: progress(fraction in 0..1, step name shown to the user)
ProgressFn = Callable[[float, str], None]
#: cancelled() -> True when the user asked to stop; checked between steps
CancelledFn = Callable[[], bool]


def no_progress(fraction: float, step: str) -> None:  # noqa: ARG001 - default callback
    return None


def never_cancelled() -> bool:
    return False


@dataclass(frozen=True)
class CleaningOptions:
    """Which cleaning steps run (see core/cleaning.STEPS) and the outlier rule.

    ``currency``: keep only rows in this currency (e.g. "EUR"); None keeps every row and a run
    with more than one currency in the amounts stops instead of adding them up.
    """

    drop_placeholder_ids: bool = True
    drop_missing_customer: bool = True
    drop_non_sale_status: bool = True
    drop_cancellations: bool = True
    currency: str | None = None
    drop_nonpositive: bool = True
    drop_non_product: bool = False
    drop_duplicates: bool = False
    outliers: OutlierMode = "keep"
    iqr_multiplier: float = 1.5
    outlier_features: tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        code = (self.currency or "").strip().upper() or None
        object.__setattr__(self, "currency", code)  # "eur " and "EUR" are the same choice
        if self.outliers not in ("keep", "drop", "segment"):
            raise ParamsError(f"Unknown outlier handling '{self.outliers}': use keep, drop or segment.")
        if not self.iqr_multiplier > 0:
            raise ParamsError(f"The IQR multiplier must be above 0, not {self.iqr_multiplier}.")
        _check_features(self.outlier_features, "outlier features")


@dataclass(frozen=True)
class ClusteringOptions:
    features: tuple[str, ...] = FEATURES
    transform: Transform = "log1p"
    scaler: Scaler = "standard"
    k: int | None = None  # fixed K; None = use the suggested K of the sweep
    k_min: int = 2
    k_max: int = 10
    sweep: bool = True  # evaluate k_min..k_max (always on when k is None)
    seed: int = 42

    def __post_init__(self) -> None:
        _check_features(self.features, "features")
        if self.transform not in ("log1p", "none"):
            raise ParamsError(f"Unknown transform '{self.transform}': use log1p or none.")
        if self.scaler not in ("standard", "robust", "minmax", "none"):
            raise ParamsError(f"Unknown scaler '{self.scaler}': use standard, robust, minmax or none.")
        if self.k is not None and self.k < 2:
            raise ParamsError(f"K must be at least 2, not {self.k}.")
        if self.k_min < 2 or self.k_max < self.k_min:
            raise ParamsError(f"The K range {self.k_min}:{self.k_max} is not valid: use A:B with 2 <= A <= B.")


@dataclass(frozen=True)
class ScoringOptions:
    """How R, F and M scores and named segments are made (see core.scoring and core.rules).

    ``bins``: number of scores per measure, 2..10. ``breaks``: custom break points per measure as
    (measure, increasing values) pairs, ``bins - 1`` of them, in days / orders / currency (a value
    equal to a break takes the lower band; for recency the lower band is the higher score); a
    measure without custom breaks uses quantiles. ``rules``: the segment rule table itself (not
    only its name), written for scores 1..``rules.scale`` and read on 1..bins (RuleSet.rescaled).
    """

    bins: int = 5
    breaks: tuple[tuple[str, tuple[float, ...]], ...] = ()
    rules: RuleSet = RFM_02

    def __post_init__(self) -> None:
        object.__setattr__(self, "breaks", tuple((str(m), tuple(float(v) for v in p)) for m, p in self.breaks))
        if isinstance(self.bins, bool) or not isinstance(self.bins, int) or not 2 <= self.bins <= 10:
            raise ParamsError(f"The number of scores must be a whole number from 2 to 10, not {self.bins}.")
        seen: set[str] = set()
        for measure, points in self.breaks:
            _check_features((measure,), "measure for break points")
            if measure in seen:
                raise ParamsError(f"Break points for {measure} are given twice.")
            seen.add(measure)
            if len(points) != self.bins - 1:
                raise ParamsError(
                    f"{len(points)} break points for {measure} make {len(points) + 1} scores, "
                    f"but the run uses {self.bins}.",
                    hint=f"Give {self.bins - 1} break points, or set the number of scores to {len(points) + 1}.",
                )
            if any(not math.isfinite(p) for p in points) or any(b <= a for a, b in zip(points, points[1:], strict=False)):
                raise ParamsError(f"The break points for {measure} must be increasing numbers: {list(points)}.")

    @property
    def break_map(self) -> dict[str, tuple[float, ...]]:
        return dict(self.breaks)

    @property
    def effective_rules(self) -> RuleSet:
        """The rule table read on this run's scores 1..bins."""
        return self.rules.rescaled(self.bins)

    def to_dict(self) -> dict[str, Any]:
        return {"bins": self.bins, "breaks": {m: list(p) for m, p in self.breaks}, "rules": self.rules.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoringOptions:
        breaks = tuple((str(m), tuple(float(v) for v in p)) for m, p in dict(data.get("breaks") or {}).items())
        rules = RuleSet.from_dict(data["rules"]) if data.get("rules") else RFM_02
        return cls(bins=int(data.get("bins", 5)), breaks=breaks, rules=rules)


def _check_features(features: tuple[str, ...], what: str) -> None:
    if not features:
        raise ParamsError(f"Choose at least one of recency, frequency, monetary as {what}.")
    bad = [f for f in features if f not in FEATURES]
    if bad:
        raise ParamsError(f"Unknown {what} {', '.join(bad)}: use recency, frequency, monetary.")


#: ``sheet``: None = every sheet laid out like the first usable one ("all" says the same);
#: a name or 0-based index = that sheet; a tuple of names = those sheets, stacked.
SheetChoice = str | int | tuple[str, ...] | None
DateOrder = Literal["dmy", "mdy", "ymd"]
ALL_SHEETS = "all"


@dataclass(frozen=True)
class AnalysisParams:
    input_path: str
    sheet: SheetChoice = None
    column_map: tuple[tuple[str, str], ...] = ()  # (canonical field, column header) pairs
    cleaning: CleaningOptions = field(default_factory=CleaningOptions)
    clustering: ClusteringOptions = field(default_factory=ClusteringOptions)
    scoring: ScoringOptions = field(default_factory=ScoringOptions)
    snapshot_date: str | None = None  # ISO date; None = last date in the data + 1 day
    preset: str | None = None
    header_row: int | None = None  # 1-based row of the column headers; None = found automatically
    date_order: DateOrder | None = None  # order of text dates like 05/06/2024; None = detected
    #: the analyst's names for clusters, as (cluster id, name) pairs; applied after the fit, so a
    #: saved analysis reopens with its renames (ids are stable for the same settings and seed)
    cluster_names: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        names = self.cluster_names.items() if isinstance(self.cluster_names, Mapping) else self.cluster_names
        object.__setattr__(self, "cluster_names", tuple(sorted((int(i), str(n)) for i, n in names)))
        if isinstance(self.sheet, list):  # a list from JSON or a caller: keep the value hashable
            object.__setattr__(self, "sheet", tuple(str(s) for s in self.sheet))
        if self.header_row is not None and (isinstance(self.header_row, bool) or not isinstance(
                self.header_row, int) or self.header_row < 1):
            raise ParamsError(f"The header row must be a row number from 1, not {self.header_row!r}.")
        if self.date_order is not None and self.date_order not in ("dmy", "mdy", "ymd"):
            raise ParamsError(f"Unknown date order '{self.date_order}': use dmy, mdy or ymd.")

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.column_map)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["column_map"] = dict(self.column_map)
        data["scoring"] = self.scoring.to_dict()
        data["cluster_names"] = {str(i): name for i, name in self.cluster_names}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisParams:
        try:
            cleaning = dict(data.get("cleaning") or {})
            if "outlier_features" in cleaning:
                cleaning["outlier_features"] = tuple(cleaning["outlier_features"])
            clustering = dict(data.get("clustering") or {})
            if "features" in clustering:
                clustering["features"] = tuple(clustering["features"])
            return cls(
                input_path=str(data["input_path"]),
                sheet=data.get("sheet"),
                column_map=tuple(sorted(dict(data.get("column_map") or {}).items())),
                cleaning=CleaningOptions(**cleaning),
                clustering=ClusteringOptions(**clustering),
                scoring=ScoringOptions.from_dict(data.get("scoring") or {}),
                snapshot_date=data.get("snapshot_date"),
                preset=data.get("preset"),
                header_row=data.get("header_row"),
                date_order=data.get("date_order"),
                cluster_names=dict(data.get("cluster_names") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParamsError(f"The saved analysis is not valid: {exc}.") from exc

    def run_settings(self) -> AnalysisParams:
        """These params without the cluster names: equal for two runs that give the same clusters."""
        return self.replace(cluster_names=())

    def replace(self, **changes: Any) -> AnalysisParams:
        return dataclasses.replace(self, **changes)


def seed_preset(input_path: str, **overrides: Any) -> AnalysisParams:
    """The write-up's settings: basic cleaning, no outlier step, raw R/F/M, StandardScaler, K=4."""
    return AnalysisParams(
        input_path=input_path,
        cleaning=CleaningOptions(outliers="keep"),
        clustering=ClusteringOptions(transform="none", scaler="standard", k=4, sweep=True),
        preset="seed",
        **overrides,
    )
