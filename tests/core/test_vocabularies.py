"""One table per vocabulary (core/choices.py, core/file_types.py): every place that offers or
accepts a choice follows its table, so adding a scaler is one row there (and these tests)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_desktop import cli
from rfm_desktop.core import choices, clustering, file_types, io
from rfm_desktop.core.analysis_file import load_analysis, save_analysis
from rfm_desktop.core.choices import OUTLIER_MODES, SCALERS, ScalerChoice
from rfm_desktop.core.errors import InputFileError, ParamsError
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, ClusteringOptions

ROOT = Path(__file__).resolve().parents[2]


def _segment_flag_choices(flag: str) -> list[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices["segment"]._actions if flag in a.option_strings)
    return list(action.choices)


def _customers() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "recency": rng.integers(0, 400, 60).astype(float),
            "frequency": rng.integers(1, 30, 60).astype(float),
            "monetary": rng.gamma(2.0, 300.0, 60),
        }
    )


@pytest.mark.parametrize("name", list(SCALERS))
def test_every_scaler_reaches_the_cli_the_params_the_engine_and_run_json(
    tmp_path: Path, name: str
) -> None:
    assert name in _segment_flag_choices("--scaler")
    args = cli.build_parser().parse_args(["segment", "t.csv", "--out", "o", "--scaler", name])
    params = cli.params_from_args(args)
    assert params.clustering.scaler == name
    record = json.loads(json.dumps({"params": params.to_dict()}))  # what run.json holds
    assert AnalysisParams.from_dict(record["params"]) == params
    assert load_analysis(save_analysis(params, tmp_path / "a.rfm.json")) == params

    options = ClusteringOptions(scaler=name, transform="none")
    features = clustering.prepare_features(_customers(), options)
    if SCALERS[name].estimator is None:
        assert features.scaler is None
        np.testing.assert_array_equal(features.scaled, features.raw)
    else:
        assert type(features.scaler).__name__ == SCALERS[name].estimator.rsplit(".", 1)[1]
        assert not np.allclose(features.scaled, features.raw)
    np.testing.assert_allclose(features.space().apply(_customers()), features.scaled, atol=1e-12)
    np.testing.assert_allclose(features.to_original_units(features.scaled), features.raw)


def test_an_unknown_scaler_or_outlier_mode_names_every_row_of_the_table() -> None:
    with pytest.raises(ParamsError) as scaler:
        ClusteringOptions(scaler="zscore")
    assert scaler.value.message == f"Unknown scaler 'zscore': use {choices.one_of(SCALERS)}."
    assert all(name in scaler.value.message for name in SCALERS)
    with pytest.raises(ParamsError) as saved:
        AnalysisParams.from_dict({"input_path": "t.csv", "clustering": {"scaler": 3}})
    assert all(repr(name) in saved.value.message for name in SCALERS)
    with pytest.raises(ParamsError) as mode:
        CleaningOptions(outliers="hide")
    assert all(name in mode.value.message for name in OUTLIER_MODES)


def test_a_new_scaler_is_one_row_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    row = ScalerChoice(
        "Max-abs (-1 to 1)", "Max-abs: -1 to 1.", "sklearn.preprocessing.MaxAbsScaler"
    )
    monkeypatch.setitem(SCALERS, "maxabs", row)
    assert "maxabs" in _segment_flag_choices("--scaler")
    params = AnalysisParams(input_path="t.csv", clustering=ClusteringOptions(scaler="maxabs"))
    assert AnalysisParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    features = clustering.prepare_features(_customers(), params.clustering)
    assert type(features.scaler).__name__ == "MaxAbsScaler"
    assert np.abs(features.scaled).max() == pytest.approx(1.0)
    np.testing.assert_allclose(features.space().apply(_customers()), features.scaled, atol=1e-12)


@pytest.mark.parametrize("mode", list(OUTLIER_MODES))
def test_every_outlier_mode_reaches_the_cli_and_the_params(mode: str) -> None:
    assert mode in _segment_flag_choices("--outliers")
    args = cli.build_parser().parse_args(["segment", "t.csv", "--out", "o", "--outliers", mode])
    params = cli.params_from_args(args)
    assert params.cleaning.outliers == mode
    assert AnalysisParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params


@pytest.mark.parametrize("extension", file_types.SUPPORTED_EXTENSIONS)
def test_every_file_type_reaches_the_reader_the_dialog_the_cli_help_and_the_readme(
    extension: str,
) -> None:
    kind = file_types.kind_of(f"Shop Export{extension.upper()}")
    assert kind == file_types.kind_of(f"shop{extension}") is not None
    assert io._kind(Path(f"shop{extension}")) == kind
    first_filter = file_types.dialog_filter().split(";;")[0]
    assert f"*{extension}" in first_filter.split("(", 1)[1].rstrip(")").split()
    plain = extension.removesuffix(".gz")
    segment_help = cli.build_parser()._subparsers._group_actions[0].choices["segment"].format_help()
    assert plain in re.split(r"[\s,()]+", segment_help)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files_line = readme.split("- **Files**:", 1)[1].split("\n\n", 1)[0]
    assert plain in files_line
    if extension.endswith(".gz"):
        assert "(also .gz)" in file_types.extensions_text() and ".gz" in files_line


def test_a_file_type_outside_the_table_is_refused_by_name() -> None:
    assert file_types.kind_of("report.pdf") is None
    with pytest.raises(InputFileError, match=re.escape(", ".join(file_types.SUPPORTED_EXTENSIONS))):
        io._kind(Path("report.pdf"))


def test_a_cancelled_run_says_the_same_wherever_it_stopped(tmp_path: Path) -> None:
    from rfm_desktop.core import pipeline
    from rfm_desktop.core.errors import RUN_CANCELLED, Cancelled

    assert Cancelled().message == RUN_CANCELLED
    frame = pd.DataFrame(
        {
            "CustomerID": ["a", "b", "c", "a"],
            "InvoiceDate": ["2024-01-02", "2024-01-05", "2024-02-01", "2024-03-01"],
            "InvoiceNo": ["1", "2", "3", "4"],
            "Quantity": [1, 2, 3, 4],
            "UnitPrice": [1.0, 2.0, 3.0, 4.0],
        }
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(Cancelled) as run:
        pipeline.run(AnalysisParams(input_path=str(path)), cancelled=lambda: True)
    x = _customers().to_numpy()
    basis = clustering.SilhouetteBasis.build(x, 0)
    with pytest.raises(Cancelled) as sweep:
        clustering.evaluate(x, ClusteringOptions(), basis, cancelled=lambda: True)
    assert run.value.message == sweep.value.message == RUN_CANCELLED
