"""The params check their own types and limits: saved analyses, the CLI and the wizard share them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Literal

import pytest

from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import (
    K_LIMIT,
    SEED_MAX,
    AnalysisParams,
    CleaningOptions,
    ClusteringOptions,
    from_mapping,
)


def _saved(**changes: object) -> dict:
    """A saved analysis's params as JSON gives them back, with ``changes`` merged one level deep."""
    data = json.loads(
        json.dumps(AnalysisParams(input_path="shop.csv", snapshot_date="2012-01-15").to_dict())
    )
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def test_to_dict_round_trips_through_json() -> None:
    params = AnalysisParams(
        input_path="shop.xlsx",
        sheet=2,
        column_map=(("amount", ""), ("customer_id", "Client")),
        cleaning=CleaningOptions(drop_duplicates=True, outliers="segment", iqr_multiplier=3),
        clustering=ClusteringOptions(features=("recency", "monetary"), k=7, seed=SEED_MAX),
        snapshot_date="2012-01-15",
        preset="seed",
        cluster_names=((0, "Big spenders"), (2, "Sleepers")),
    )
    again = AnalysisParams.from_dict(
        json.loads(json.dumps(params.to_dict()))
    )  # JSON keys "0", "2" are text
    assert again == params
    assert isinstance(again.cleaning.iqr_multiplier, float) and again.clustering.features == (
        "recency",
        "monetary",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"clustering": {"k_max": 100_000}},
            f"The K range 2:100000 is not valid: use A:B with 2 <= A <= B <= {K_LIMIT}.",
        ),
        ({"clustering": {"k": 51}}, f"K must be between 2 and {K_LIMIT}, not 51."),
        (
            {"clustering": {"k": "7"}},
            "The setting 'clustering.k' must be a whole number or null, not the text '7'.",
        ),
        (
            {"clustering": {"k": True}},
            "The setting 'clustering.k' must be a whole number or null, not true/false True.",
        ),
        (
            {"clustering": {"seed": -1}},
            f"The random seed must be between 0 and {SEED_MAX} (2**32 - 1), not -1.",
        ),
        (
            {"clustering": {"seed": 2**32}},
            f"The random seed must be between 0 and {SEED_MAX} (2**32 - 1), not {2**32}.",
        ),
        (
            {"clustering": {"features": "recency"}},
            "The setting 'clustering.features' must be a list, not the text 'recency'.",
        ),
        (
            {"clustering": {"features": ["recency", 3]}},
            "The setting 'clustering.features[1]' must be text, not the number 3.",
        ),
        (
            {"clustering": {"scaler": "zscore"}},
            "The setting 'clustering.scaler' must be one of 'standard', 'robust', 'minmax', 'none', not the text 'zscore'.",
        ),
        ({"clustering": []}, "The setting 'clustering' must be an object, not the list."),
        ({"clustering": {"colour": "red"}}, "Unknown setting 'clustering.colour'."),
        (
            {"cleaning": {"iqr_multiplier": 0.1}},
            "The IQR multiplier must be between 0.5 and 10, not 0.1.",
        ),
        (
            {"cleaning": {"iqr_multiplier": "1.5"}},
            "The setting 'cleaning.iqr_multiplier' must be a number, not the text '1.5'.",
        ),
        (
            {"sheet": 1.5},
            "The setting 'sheet' must be text or a whole number or a list or null, not the number 1.5.",
        ),
        (
            {"snapshot_date": "2262-04-12"},
            "The snapshot date 2262-04-12 is outside 1900-01-01 … 2199-12-31: use a date close to the data.",
        ),
        (
            {"snapshot_date": "15/01/2012"},
            "The snapshot date '15/01/2012' is not a date: use YYYY-MM-DD.",
        ),
        ({"input_path": None}, "The setting 'input_path' must be text, not null."),
        ({"input_path": " "}, "No data file is named (input_path is empty)."),
        (
            {"column_map": {"customer_id": 7}},
            "The setting 'column_map[0][1]' must be text, not the number 7.",
        ),
        ({"surprise": 1}, "Unknown setting 'surprise'."),
        # fields another feature added (scoring options, a rule table with its own JSON shape)
        (
            {"scoring": {"bins": "7"}},
            "The setting 'scoring.bins' must be a whole number, not the text '7'.",
        ),
        (
            {"scoring": {"breaks": {"frequency": ["a", 2, 3, 4]}}},
            "The setting 'scoring.breaks[0][1][0]' must be a number, not the text 'a'.",
        ),
        (
            {"scoring": {"rules": 3}},
            "The setting 'scoring.rules' must be an object, not the number 3.",
        ),
        (
            {"scoring": {"rules": {"name": "mine", "table": [{"segment": "A", "r_min": "z"}]}}},
            "The setting 'scoring.rules' is not valid: Line 2: r_min 'z' is not a whole score.",
        ),
    ],
)
def test_a_bad_value_is_a_params_error_naming_the_setting(changes: dict, message: str) -> None:
    with pytest.raises(ParamsError) as caught:
        AnalysisParams.from_dict(_saved(**changes))
    assert caught.value.message == message


def test_a_missing_data_file_name_is_named() -> None:
    data = _saved()
    del data["input_path"]
    with pytest.raises(ParamsError, match="The setting 'input_path' is missing."):
        AnalysisParams.from_dict(data)


def test_the_cli_and_the_wizard_meet_the_same_limits() -> None:
    """The limits live in __post_init__, so building the params in code is refused the same way."""
    with pytest.raises(ParamsError, match="between 2 and 50"):
        ClusteringOptions(k=K_LIMIT + 1)
    with pytest.raises(ParamsError, match="2 <= A <= B <= 50"):
        dataclasses.replace(ClusteringOptions(), k_max=K_LIMIT + 1)
    with pytest.raises(ParamsError, match="random seed"):
        ClusteringOptions(seed=SEED_MAX + 1)
    assert ClusteringOptions(k=K_LIMIT, k_min=2, k_max=K_LIMIT, seed=SEED_MAX).seed == SEED_MAX


@dataclass(frozen=True)
class _Band:
    label: str
    low: int = 1

    def __post_init__(self) -> None:
        if self.low < 1:
            raise ParamsError(f"A band starts at 1 or more, not {self.low}.")


@dataclass(frozen=True)
class _NewOptions:
    """Options a later feature could add to the params: checked with no code of their own."""

    mode: Literal["a", "b"] = "a"
    bands: tuple[_Band, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    limit: int | None = None


def test_fields_added_later_are_checked_from_their_annotations() -> None:
    built = from_mapping(
        _NewOptions, {"mode": "b", "bands": [{"label": "top", "low": 4}], "weights": {"r": 2}}
    )
    assert built == _NewOptions(mode="b", bands=(_Band("top", 4),), weights={"r": 2.0})
    with pytest.raises(
        ParamsError, match=r"'bands\[0\].low' must be a whole number, not the text 'x'"
    ):
        from_mapping(_NewOptions, {"bands": [{"label": "top", "low": "x"}]})
    with pytest.raises(ParamsError, match="A band starts at 1 or more, not 0."):
        from_mapping(_NewOptions, {"bands": [{"label": "top", "low": 0}]})
    with pytest.raises(ParamsError, match="'weights.r' must be a number, not the text 'heavy'"):
        from_mapping(_NewOptions, {"weights": {"r": "heavy"}})
    with pytest.raises(ParamsError, match="'mode' must be one of 'a', 'b', not the text 'c'"):
        from_mapping(_NewOptions, {"mode": "c"})


def test_clv_options_round_trip_and_check_their_limits() -> None:
    from rfm_desktop.core.params import ValueOptions

    params = AnalysisParams(
        input_path="shop.csv",
        clv=ValueOptions(
            enabled=True, horizon_days=180, discount_rate=0.02, calibration_end="2011-09-01"
        ),
    )
    again = AnalysisParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params and again.clv.horizon_days == 180
    # an analysis saved before CLV existed opens with CLV off
    old = _saved()
    del old["clv"]
    assert AnalysisParams.from_dict(old).clv == ValueOptions()
    with pytest.raises(ParamsError, match="horizon must be a whole number of days from 1 to 3650"):
        ValueOptions(horizon_days=0)
    with pytest.raises(ParamsError, match="monthly discount rate must be from 0 to below 1"):
        ValueOptions(discount_rate=1.5)
    with pytest.raises(ParamsError, match="calibration end '2011-13-01' is not a date"):
        ValueOptions(calibration_end="2011-13-01")
    with pytest.raises(ParamsError, match="'clv.discount_rate' must be a number"):
        AnalysisParams.from_dict(_saved(clv={"discount_rate": "1%"}))
