"""Saved analyses are input like any other: checked, with a clear message, without touching their data path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rfm_desktop.core.analysis_file import MAX_BYTES, is_network_path, load_analysis, save_analysis
from rfm_desktop.core.errors import InputFileError, ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions


def _analysis(tmp_path: Path, params: object, **top: object) -> Path:
    path = tmp_path / "shop.rfm.json"
    path.write_text(
        json.dumps({"format": "rfm-desktop-analysis", "version": 1, "params": params, **top})
    )
    return path


def _params(**changes: object) -> dict:
    data = AnalysisParams(input_path="/data/shop.csv").to_dict()
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return data


def test_saved_and_loaded_params_are_equal(tmp_path: Path) -> None:
    params = AnalysisParams(
        input_path=str(tmp_path / "shop.csv"),
        column_map=(("customer_id", "Client"),),
        clustering=ClusteringOptions(k=5, seed=3_000_000_000),
        snapshot_date="2012-01-01",
    )
    assert load_analysis(save_analysis(params, tmp_path / "a.rfm.json")) == params


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (_params(clustering={"k_max": 100_000}), "The K range 2:100000 is not valid"),
        (
            _params(clustering={"k": "3"}),
            "The setting 'clustering.k' must be a whole number or null",
        ),
        (_params(clustering={"seed": -5}), "The random seed must be between 0 and 4294967295"),
        (
            _params(cleaning={"outliers": 1}),
            "The setting 'cleaning.outliers' must be one of 'keep', 'drop', 'segment'",
        ),
        (_params(cleaning="all"), "The setting 'cleaning' must be an object, not the text"),
        (_params(snapshot_date="2262-04-12"), "The snapshot date 2262-04-12 is outside"),
        (_params(input_path=["a", "b"]), "The setting 'input_path' must be text, not the list"),
        (_params(extra_code="import os"), "Unknown setting 'extra_code'"),
    ],
)
def test_a_malicious_or_broken_analysis_is_not_a_valid_analysis(
    tmp_path: Path, params: dict, says: str
) -> None:
    with pytest.raises(ParamsError) as caught:
        load_analysis(_analysis(tmp_path, params))
    assert caught.value.message.startswith(f"'shop.rfm.json' is not a valid analysis: {says}")
    assert "Save analysis" in caught.value.hint


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "'shop.rfm.json' is not a saved analysis (it is not valid JSON)."),
        (b"\xff\xfe\x00garbage", "'shop.rfm.json' is not a saved analysis (it is not valid JSON)."),
        (b"[1, 2]", "'shop.rfm.json' is not a saved analysis."),
        (
            b'{"format": "something-else", "params": {"input_path": "x.csv"}}',
            "'shop.rfm.json' is not a saved analysis.",
        ),
        (
            b'{"format": "rfm-desktop-analysis", "version": 99, "params": {"input_path": "x.csv"}}',
            "'shop.rfm.json' was saved by a newer RFM Desktop (format version 99).",
        ),
        (b'{"params": {"sheet": 1}}', "'shop.rfm.json' does not say which data file it analysed."),
        (
            b"[" * 100_000 + b"]" * 100_000,
            "'shop.rfm.json' is not a saved analysis (it is not valid JSON).",
        ),
    ],
)
def test_what_is_not_an_analysis_says_so(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "shop.rfm.json"
    path.write_bytes(content)
    with pytest.raises(ParamsError) as caught:
        load_analysis(path)
    assert caught.value.message == says


def test_a_huge_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "shop.rfm.json"
    with open(path, "wb") as handle:
        handle.write(b'{"params": {"input_path": "x.csv", "preset": "')
        handle.seek(50 * MAX_BYTES)
        handle.write(b'"}}')
    with pytest.raises(ParamsError, match="larger than 1024 kB"):
        load_analysis(path)


def test_an_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="Cannot read the analysis file 'gone.rfm.json'"):
        load_analysis(tmp_path / "gone.rfm.json")


def test_the_run_record_of_an_export_opens_too(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"params": _params(clustering={"k": 4}), "k": 4, "versions": {}}))
    assert load_analysis(path).clustering.k == 4


def test_loading_never_touches_the_data_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows an existence check on \\\\host\\share contacts the host: nothing here may ask."""
    touched: list[str] = []
    real_stat = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        touched.append(str(path))
        return real_stat(path, *args, **kwargs)

    path = _analysis(tmp_path, _params(input_path=r"\\fileserver\share\shop.csv"))
    monkeypatch.setattr(os, "stat", stat)
    params = load_analysis(path)
    assert params.input_path == r"\\fileserver\share\shop.csv"
    assert not [p for p in touched if "fileserver" in p]


@pytest.mark.parametrize(
    ("path", "network"),
    [
        (r"\\fileserver\share\shop.csv", True),
        ("//fileserver/share/shop.csv", True),
        (r"\\?\UNC\fileserver\share\shop.csv", True),
        ("file://fileserver/share/shop.csv", True),
        (r"  \\fileserver\share\shop.csv", True),
        (r"\\?\C:\data\shop.csv", False),
        ("file:///home/ana/shop.csv", False),
        (r"C:\data\shop.csv", False),
        ("/home/ana/shop.csv", False),
        ("shop.csv", False),
    ],
)
def test_network_paths_are_recognised_from_the_text(path: str, network: bool) -> None:
    assert is_network_path(path) is network
