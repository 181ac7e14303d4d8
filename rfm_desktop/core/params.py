"""The one value that says everything about a run (see ARCHITECTURE.md).

The wizard builds it, the CLI builds it from flags, the result carries it and every
export writes it down, so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from rfm_desktop.core.choices import OUTLIER_MODES, SCALERS, one_of
from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.rules import RFM_02, RuleSet

Transform = Literal["log1p", "none"]


@dataclass(frozen=True)
class OneOf:
    """``Annotated[str, OneOf(table)]``: text that must be a key of ``table`` (a table of
    :mod:`rfm_desktop.core.choices`, read when a value is checked, so a row added there is
    accepted everywhere)."""

    table: Mapping[str, object]


Scaler = Annotated[str, OneOf(SCALERS)]
OutlierMode = Annotated[str, OneOf(OUTLIER_MODES)]
FEATURES = ("recency", "frequency", "monetary")

# The limits of every option, enforced here (``__post_init__``) so the CLI, the wizard's spin boxes
# and saved analyses share them.
#: Largest K, fixed or as the top of a sweep: more segments than this is not a campaign plan, and a
#: sweep up to it stays within minutes on a million customers.
K_LIMIT = 50
#: Seeds are what k-means' random generator accepts: 0 … 2**32 - 1.
SEED_MAX = 2**32 - 1
#: most k-means refits per K for the stability check (each costs about one sweep fit)
STABILITY_RESAMPLES_MAX = 200
#: Outliers lie further than this many IQRs beyond the quartiles (Tukey's fences use 1.5).
IQR_MIN, IQR_MAX = 0.5, 10.0
#: Snapshot dates outside these are typing errors (and pandas cannot count days past 2262).
SNAPSHOT_EARLIEST, SNAPSHOT_LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)

#: progress(fraction in 0..1, step name shown to the user)
ProgressFn = Callable[[float, str], None]
#: cancelled() -> True when the user asked to stop; checked between steps
CancelledFn = Callable[[], bool]


def no_progress(fraction: float, step: str) -> None:
    """The progress callback that reports nowhere (the default of every run stage)."""
    return None


def never_cancelled() -> bool:
    """The cancel check of a run nobody can cancel: always False."""
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
        if self.outliers not in OUTLIER_MODES:
            raise ParamsError(
                f"Unknown outlier handling '{self.outliers}': use {one_of(OUTLIER_MODES)}."
            )
        if not IQR_MIN <= self.iqr_multiplier <= IQR_MAX:
            raise ParamsError(
                f"The IQR multiplier must be between {IQR_MIN:g} and {IQR_MAX:g}, not {self.iqr_multiplier:g}."
            )
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
    #: k-means refits on subsamples per K to measure stability (core.stability); 0 = off
    stability_resamples: int = 10

    def __post_init__(self) -> None:
        _check_features(self.features, "features")
        if self.transform not in ("log1p", "none"):
            raise ParamsError(f"Unknown transform '{self.transform}': use log1p or none.")
        if self.scaler not in SCALERS:
            raise ParamsError(f"Unknown scaler '{self.scaler}': use {one_of(SCALERS)}.")
        if self.k is not None and not 2 <= self.k <= K_LIMIT:
            raise ParamsError(f"K must be between 2 and {K_LIMIT}, not {self.k}.")
        if not 2 <= self.k_min <= self.k_max <= K_LIMIT:
            raise ParamsError(
                f"The K range {self.k_min}:{self.k_max} is not valid: use A:B with 2 <= A <= B <= {K_LIMIT}."
            )
        if not 0 <= self.stability_resamples <= STABILITY_RESAMPLES_MAX:
            raise ParamsError(
                f"The stability resamples must be between 0 (off) and {STABILITY_RESAMPLES_MAX}, "
                f"not {self.stability_resamples}."
            )
        if not 0 <= self.seed <= SEED_MAX:
            raise ParamsError(
                f"The random seed must be between 0 and {SEED_MAX} (2**32 - 1), not {self.seed}."
            )


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
        object.__setattr__(
            self, "breaks", tuple((str(m), tuple(float(v) for v in p)) for m, p in self.breaks)
        )
        if (
            isinstance(self.bins, bool)
            or not isinstance(self.bins, int)
            or not 2 <= self.bins <= 10
        ):
            raise ParamsError(
                f"The number of scores must be a whole number from 2 to 10, not {self.bins}."
            )
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
            if any(not math.isfinite(p) for p in points) or any(
                b <= a for a, b in zip(points, points[1:], strict=False)
            ):
                raise ParamsError(
                    f"The break points for {measure} must be increasing numbers: {list(points)}."
                )

    @property
    def break_map(self) -> dict[str, tuple[float, ...]]:
        """Measure -> its fixed score breaks, as a dict (the field is a tuple of pairs to stay hashable)."""
        return dict(self.breaks)

    @property
    def effective_rules(self) -> RuleSet:
        """The rule table read on this run's scores 1..bins."""
        return self.rules.rescaled(self.bins)

    def to_dict(self) -> dict[str, Any]:
        """These options as JSON-ready values; :meth:`AnalysisParams.from_dict` reads them back."""
        return {
            "bins": self.bins,
            "breaks": {m: list(p) for m, p in self.breaks},
            "rules": self.rules.to_dict(),
        }


#: Longest CLV horizon: ten years is already far beyond what a purchase model can promise.
HORIZON_MAX_DAYS = 3650


@dataclass(frozen=True)
class ValueOptions:
    """Customer lifetime value (core.clv, core.value): BG/NBD + Gamma-Gamma, off by default.

    ``horizon_days``: prediction window after the end of the data (days); ``discount_rate``:
    monthly discount rate of future revenue (0.01 = 1 % a month); ``calibration_end``: ISO date;
    when set, the models are also fitted on the purchases before it and their predictions
    compared with the purchases from it on (validation in clv.json).
    """

    enabled: bool = False
    horizon_days: int = 365
    discount_rate: float = 0.01
    calibration_end: str | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.horizon_days, bool)
            or not isinstance(self.horizon_days, int)
            or not 1 <= self.horizon_days <= HORIZON_MAX_DAYS
        ):
            raise ParamsError(
                f"The CLV horizon must be a whole number of days from 1 to {HORIZON_MAX_DAYS}, "
                f"not {self.horizon_days}."
            )
        if not (0.0 <= self.discount_rate < 1.0):
            raise ParamsError(
                f"The monthly discount rate must be from 0 to below 1 (0.01 is 1 %), not "
                f"{self.discount_rate:g}."
            )
        if self.calibration_end is not None:
            try:
                day = dt.date.fromisoformat(self.calibration_end.strip())
            except (ValueError, AttributeError):
                raise ParamsError(
                    f"The calibration end '{self.calibration_end}' is not a date: use YYYY-MM-DD."
                ) from None
            object.__setattr__(self, "calibration_end", day.isoformat())


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
#: Who reduces the transactions to customers (core.engines): "auto" picks by the input's kind
#: and size (engines.choose), "memory" reads the file whole with pandas, "duckdb" streams it
#: out-of-core, "spark" runs on a cluster.
Engine = Literal["auto", "memory", "duckdb", "spark"]
ENGINES: tuple[str, ...] = typing.get_args(Engine)


@dataclass(frozen=True)
class AnalysisParams:
    input_path: str
    sheet: SheetChoice = None
    column_map: tuple[tuple[str, str], ...] = ()  # (canonical field, column header) pairs
    cleaning: CleaningOptions = field(default_factory=CleaningOptions)
    clustering: ClusteringOptions = field(default_factory=ClusteringOptions)
    scoring: ScoringOptions = field(default_factory=ScoringOptions)
    clv: ValueOptions = field(default_factory=ValueOptions)
    snapshot_date: str | None = None  # ISO date; None = last date in the data + 1 day
    preset: str | None = None
    header_row: int | None = None  # 1-based row of the column headers; None = found automatically
    date_order: DateOrder | None = None  # order of text dates like 05/06/2024; None = detected
    #: the analyst's names for clusters, as (cluster id, name) pairs; applied after the fit, so a
    #: saved analysis reopens with its renames (ids are stable for the same settings and seed)
    cluster_names: tuple[tuple[int, str], ...] = ()
    #: ISO date: analyse only transactions before it, with the snapshot at it ("end of May" from
    #: a file that runs into June); None = every transaction
    as_of: str | None = None
    #: also run the variants of core.sensitivity (outliers, transform, scaler, score bins) and
    #: tabulate what moves (sensitivity.csv)
    sensitivity: bool = False
    #: the engine that reduces the rows to customers (see Engine); run.json also records the
    #: one that ran
    engine: Engine = "auto"
    #: the DuckDB engine's memory limit ("1GB", "512MB"); beyond it the rows spill to disk in
    #: the user cache. None: half of the machine's memory, at most 2 GB
    memory_limit: str | None = None
    #: the Spark master the spark engine runs on: local[*] (this machine's cores),
    #: spark://host:7077, yarn, k8s://...
    spark_master: str = "local[*]"

    def __post_init__(self) -> None:
        names = (
            self.cluster_names.items()
            if isinstance(self.cluster_names, Mapping)
            else self.cluster_names
        )
        object.__setattr__(self, "cluster_names", tuple(sorted((int(i), str(n)) for i, n in names)))
        if isinstance(self.sheet, list):  # a list from JSON or a caller: keep the value hashable
            object.__setattr__(self, "sheet", tuple(str(s) for s in self.sheet))
        if self.header_row is not None and (
            isinstance(self.header_row, bool)
            or not isinstance(self.header_row, int)
            or self.header_row < 1
        ):
            raise ParamsError(
                f"The header row must be a row number from 1, not {self.header_row!r}."
            )
        if self.memory_limit is not None:
            text = self.memory_limit.strip().upper().replace(" ", "")
            if not re.fullmatch(r"\d+(\.\d+)?(KB|MB|GB|TB|KIB|MIB|GIB|TIB)", text):
                raise ParamsError(
                    f"The memory limit '{self.memory_limit}' is not a size: use e.g. 1GB or 512MB."
                )
            object.__setattr__(self, "memory_limit", text)
        if self.engine not in ENGINES:
            raise ParamsError(f"Unknown engine '{self.engine}': use {one_of(ENGINES)}.")
        if self.date_order is not None and self.date_order not in ("dmy", "mdy", "ymd"):
            raise ParamsError(f"Unknown date order '{self.date_order}': use dmy, mdy or ymd.")
        if not self.input_path.strip():
            raise ParamsError("No data file is named (input_path is empty).")
        if self.snapshot_date is not None:
            parse_snapshot(self.snapshot_date)
        if self.as_of is not None:
            day = parse_snapshot(self.as_of, "as-of date")
            if self.snapshot_date is not None and parse_snapshot(self.snapshot_date) != day:
                raise ParamsError(
                    f"The snapshot date {self.snapshot_date} and the as-of date {self.as_of} differ: "
                    "an as-of run counts recency to the as-of date.",
                    hint="Give only the as-of date (or only the snapshot date).",
                )

    @property
    def mapping(self) -> dict[str, str]:
        """Canonical field -> the file's column, as a dict (the field is a tuple of pairs to stay
        hashable).
        """
        return dict(self.column_map)

    def to_dict(self) -> dict[str, Any]:
        """The params as JSON-ready values (run.json, saved analyses); :meth:`from_dict` reads
        them back to an equal value.
        """
        data = dataclasses.asdict(self)
        data["column_map"] = dict(self.column_map)
        data["scoring"] = self.scoring.to_dict()
        data["cluster_names"] = {str(i): name for i, name in self.cluster_names}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisParams:
        """The params of :meth:`to_dict`'s output (a saved analysis, run.json), checked.

        Raises
        ------
        ParamsError
            A value has the wrong type (checked against the dataclass fields), is out of its
            range (the ``__post_init__`` limits), or a setting is unknown or missing.
        """
        if isinstance(data, Mapping) and isinstance(data.get("column_map"), Mapping):
            data = {
                **data,
                "column_map": sorted(data["column_map"].items()),
            }  # to_dict writes an object
        return from_mapping(cls, data)

    def run_settings(self) -> AnalysisParams:
        """These params without the cluster names: equal for two runs that give the same clusters."""
        return self.replace(cluster_names=())

    def replace(self, **changes: Any) -> AnalysisParams:
        """A copy with ``changes`` (field name -> new value) applied; the params stay frozen."""
        return dataclasses.replace(self, **changes)


def parse_snapshot(text: str, what: str = "snapshot date") -> dt.date:
    """The date of ``text`` (YYYY-MM-DD), within SNAPSHOT_EARLIEST … SNAPSHOT_LATEST.

    ``what`` names the date in the message ("snapshot date", "as-of date").

    Raises
    ------
    ParamsError
        Not an ISO date, or outside that range.
    """
    try:
        day = dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ParamsError(f"The {what} '{text}' is not a date: use YYYY-MM-DD.") from None
    if not SNAPSHOT_EARLIEST <= day <= SNAPSHOT_LATEST:
        raise ParamsError(
            f"The {what} {day} is outside {SNAPSHOT_EARLIEST} … {SNAPSHOT_LATEST}: use a date close to the data."
        )
    return day


# --------------------------------------------------------------------------- checked construction
_T = typing.TypeVar("_T")


def from_mapping(cls: type[_T], data: Any, where: str = "") -> _T:
    """Build the dataclass ``cls`` from JSON-like ``data``, checking every value against its field.

    The check is derived from the field annotations (bool, int, float, str, Literal, unions with
    None, tuples, dicts and nested dataclasses), so a field added to the params is checked without
    code of its own; JSON lists become tuples, JSON objects become tuples of (key, value) pairs
    and whole numbers become floats where the field says so. Ranges are the dataclasses' own
    ``__post_init__`` checks, run by the construction. A nested dataclass with its own
    ``from_dict`` (a different JSON shape, like a rule table's rows) is read by it.

    Raises
    ------
    ParamsError
        Naming the setting (``clustering.k``) and what it must be.
    """
    if not isinstance(data, Mapping):
        what = f"The setting {_name(where)}" if _name(where) else "The settings"
        raise ParamsError(f"{what} must be an object, not {_json_kind(data)}.")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = [key for key in data if key not in fields]
    if unknown:
        raise ParamsError(f"Unknown setting {_name(where + str(unknown[0]))}.")
    values = {}
    for name, spec in fields.items():
        if name in data:
            values[name] = _checked(hints[name], data[name], where + name)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ParamsError(f"The setting {_name(where + name)} is missing.")
    try:
        return cls(**values)
    except TypeError as exc:  # pragma: no cover - every field was checked above
        raise ParamsError(f"The settings {_name(where)} are not valid: {exc}.") from exc


def _checked(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the type ``hint`` asks for, or ParamsError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _checked(option, value, where)
            except ParamsError:
                continue
        raise _wrong(hint, value, where)
    if origin is Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        raise _wrong(hint, value, where)
    if origin is Annotated:
        tables = [m.table for m in hint.__metadata__ if isinstance(m, OneOf)]
        if not tables:
            return _checked(args[0], value, where)
        if isinstance(value, str) and value in tables[0]:
            return value
        raise _wrong(hint, value, where)
    if dataclasses.is_dataclass(hint):
        if "from_dict" in vars(
            hint
        ):  # its own JSON shape (e.g. a rule table's rows): it reads itself
            if not isinstance(value, Mapping):
                raise _wrong(hint, value, where)
            try:
                return hint.from_dict(value)  # type: ignore[union-attr]
            except ParamsError as exc:
                raise ParamsError(
                    f"The setting {_name(where)} is not valid: {exc.message}"
                ) from exc
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ParamsError(f"The setting {_name(where)} is not valid: {exc!r}.") from exc
        return from_mapping(hint, value, where + ".")  # type: ignore[arg-type]
    if origin is tuple:
        if isinstance(value, Mapping) and _pairs(args):  # a JSON object for (key, value) pairs
            key_type = typing.get_args(args[0])[0]
            value = [(_json_key(key_type, k), v) for k, v in value.items()]
        if not isinstance(value, list | tuple):
            raise _wrong(hint, value, where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_checked(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise _wrong(hint, value, where)
        return tuple(
            _checked(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=False))
        )
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(value, Mapping):
            raise _wrong(hint, value, where)
        key_type, value_type = args or (Any, Any)
        return {
            _checked(key_type, _json_key(key_type, k), where): _checked(
                value_type, v, f"{where}.{k}"
            )
            for k, v in value.items()
        }
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return value
    else:  # an annotation this check does not know: the dataclass checks it itself
        return value
    raise _wrong(hint, value, where)


def _pairs(args: tuple[Any, ...]) -> bool:
    """``tuple[tuple[K, V], ...]``: what ``to_dict`` writes as a JSON object."""
    if len(args) != 2 or args[1] is not Ellipsis:
        return False
    inner = args[0]
    inner_args = typing.get_args(inner)
    return (
        typing.get_origin(inner) is tuple and len(inner_args) == 2 and inner_args[1] is not Ellipsis
    )


def _json_key(hint: Any, key: Any) -> Any:
    """JSON object keys are text: '3' stands for the whole number 3 where the key is an int."""
    if hint is int and isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    return key


def _wrong(hint: Any, value: Any, where: str) -> ParamsError:
    shown = (
        "" if value is None or isinstance(value, Mapping | list | tuple) else " " + repr(value)[:40]
    )
    return ParamsError(
        f"The setting {_name(where)} must be {_describe(hint)}, not {_json_kind(value)}{shown}."
    )


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is Annotated:
        tables = [m.table for m in hint.__metadata__ if isinstance(m, OneOf)]
        return "one of " + ", ".join(repr(k) for k in tables[0]) if tables else _describe(args[0])
    if origin is tuple:
        return "a list"
    if dataclasses.is_dataclass(hint) or origin in (dict, Mapping):
        return "an object"
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "text",
        type(None): "null",
    }
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _json_kind(value: Any) -> str:
    names = {
        bool: "true/false",
        int: "the number",
        float: "the number",
        str: "the text",
        list: "the list",
        tuple: "the list",
        dict: "the object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _name(where: str) -> str:
    where = where.rstrip(".")
    return f"'{where}'" if where else ""


def seed_preset(input_path: str, **overrides: Any) -> AnalysisParams:
    """The write-up's settings: basic cleaning, no outlier step, raw R/F/M, StandardScaler, K=4."""
    return AnalysisParams(
        input_path=input_path,
        cleaning=CleaningOptions(outliers="keep"),
        clustering=ClusteringOptions(transform="none", scaler="standard", k=4, sweep=True),
        preset="seed",
        **overrides,
    )
