"""The engine seam (issue 15): the choice of engine, the in-memory engine's reduction, and the
engine a run records."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
from made_transactions import write_rows

from rfm_desktop.cli import main
from rfm_desktop.core import cache, engines, io, pipeline, rfm
from rfm_desktop.core.engines import memory
from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

ROWS = [
    ("c1", "A1", "2024-01-05", 10.0),
    ("c1", "A2", "2024-02-05", 20.0),
    ("c2", "A3", "2024-01-07", 5.5),
    ("c3", "A4", "2024-03-01", 7.25),
    ("c3", "A4", "2024-03-01", 1.0),
    ("c4", "A5", "2024-03-09", 30.0),
    ("c5", "A6", "2024-02-11", 3.0),
]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


def test_engine_is_a_run_setting_with_a_checked_value(tmp_path):
    params = AnalysisParams(input_path="x.csv", engine="memory")
    assert AnalysisParams.from_dict(params.to_dict()) == params
    assert params.to_dict()["engine"] == "memory"
    assert AnalysisParams(input_path="x.csv").engine == "auto"
    with pytest.raises(ParamsError, match="engine"):
        AnalysisParams.from_dict({"input_path": "x.csv", "engine": "pandas"})


def test_choose_keeps_workbooks_and_small_files_in_memory(tmp_path, monkeypatch):
    small = write_rows(tmp_path / "small.csv", ROWS)
    for name in ("book.xlsx", str(small)):
        assert engines.choose(AnalysisParams(input_path=name)) == "memory"
    assert engines.choose(AnalysisParams(input_path=str(small), engine="memory")) == "memory"


def test_an_engine_that_is_not_built_in_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(engines, "READERS", {})
    params = AnalysisParams(input_path=str(tmp_path / "a.csv"), engine="spark")
    with pytest.raises(ParamsError, match="spark engine is not available"):
        engines.choose(params)


def test_memory_reduce_gives_compute_rfm_of_the_clean_rows(tmp_path):
    path = write_rows(tmp_path / "t.csv", ROWS)
    params = AnalysisParams(input_path=str(path))
    transactions = io.read_transactions(path)
    reduced = memory.reduce(transactions, params)
    clean, report = pipeline.clean_rows(transactions, params)
    expected = rfm.compute_rfm(clean, pd.Timestamp("2024-03-10"))
    assert reduced.engine == "memory"
    assert reduced.snapshot == pd.Timestamp("2024-03-10")
    pd.testing.assert_frame_equal(reduced.customers, expected)
    assert reduced.customers["monetary"].tolist() == [30.0, 5.5, 8.25, 30.0, 3.0]
    assert [s.after for s in reduced.report.steps] == [s.after for s in report.steps]
    assert reduced.rows_read == 7 and reduced.input_size == path.stat().st_size
    assert reduced.value_rows is None


def test_prepare_from_leaves_the_reduced_customers_as_they_were(tmp_path):
    path = write_rows(tmp_path / "t.csv", ROWS)
    params = AnalysisParams(input_path=str(path))
    reduced = pipeline.reduce(params)
    before = reduced.customers.copy()
    prepared = pipeline.prepare_from(reduced, params)
    assert "is_outlier" in prepared.customers.columns
    pd.testing.assert_frame_equal(reduced.customers, before)  # shared by sensitivity variants


def test_run_json_records_the_engine_that_ran(tmp_path, capsys):
    path = write_rows(tmp_path / "t.csv", ROWS)
    out = tmp_path / "out"
    code = main(["segment", str(path), "--out", str(out), "--k", "2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["params"]["engine"] == "auto"
    assert record["engine"] == "memory"
    again = tmp_path / "again"
    code = main(["segment", "--params", str(out / "run.json"), "--out", str(again), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((again / "run.json").read_text())["params"]["engine"] == "auto"


def test_engine_flag_sets_the_engine(tmp_path, capsys):
    path = write_rows(tmp_path / "t.csv", ROWS)
    out = tmp_path / "out"
    code = main(
        ["segment", str(path), "--out", str(out), "--k", "2", "--quiet", "--engine", "memory"]
    )
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["params"]["engine"] == "memory" and record["engine"] == "memory"
    assert main(["segment", str(path), "--out", str(out), "--engine", "pandas"]) == 2
    assert "invalid choice: 'pandas'" in capsys.readouterr().err


def test_run_on_reduced_customers_equals_a_run_on_rows(tmp_path):
    path = write_rows(tmp_path / "t.csv", ROWS)
    params = AnalysisParams(input_path=str(path), clustering=ClusteringOptions(k=2, sweep=False))
    from_rows = pipeline.run(params, transactions=io.read_transactions(path))
    from_reduced = pipeline.run(params, reduced=pipeline.reduce(params))
    pd.testing.assert_frame_equal(from_rows.customers, from_reduced.customers)
    assert from_reduced.engine == "memory" and from_reduced.rows_read == 7
    assert from_reduced.input_sha256 == from_rows.input_sha256 != ""
    assert [w.text for w in from_rows.warnings] == [w.text for w in from_reduced.warnings]


@pytest.mark.parametrize("outliers", ["keep", "segment", "drop"])
def test_features_are_scaled_while_the_customers_are_scored(tmp_path, monkeypatch, outliers):
    """prepare_from scales the k-means features in a thread while scoring runs (they read only
    recency, frequency and monetary): here each waits until the other has begun, which never
    happens when the two run one after the other, in either order. The features are those of
    the customers clustered, as before."""
    from rfm_desktop.core import clustering
    from rfm_desktop.core.params import CleaningOptions

    # 40 customers, two of them spending far more (outliers)
    rows = [
        (f"c{c}", f"A{c}-{i}", f"2024-0{1 + (c + i) % 3}-{10 + i:02d}", 5.0 + c % 7 + 900 * (c < 2))
        for c in range(40)
        for i in range(1 + c % 4)
    ]
    path = write_rows(tmp_path / "t.csv", rows)
    params = AnalysisParams(input_path=str(path), cleaning=CleaningOptions(outliers=outliers))
    reduced = pipeline.reduce(params)
    making, scoring = threading.Event(), threading.Event()
    real_features, real_score = clustering.prepare_features, pipeline.score
    seen: list[bool] = []

    def features(customers, options):  # each waits for the other to have begun
        making.set()
        seen.append(scoring.wait(10))
        return real_features(customers, options)

    def score(customers, params):
        scoring.set()
        seen.append(making.wait(10))
        return real_score(customers, params)

    monkeypatch.setattr(clustering, "prepare_features", features)
    monkeypatch.setattr(pipeline, "score", score)
    prepared = pipeline.prepare_from(reduced, params)
    assert seen == [True, True]
    fitted = prepared.customers.loc[prepared.fit_mask, ["recency", "frequency", "monetary"]]
    expected = real_features(fitted, params.clustering)
    np.testing.assert_array_equal(prepared.features.scaled, expected.scaled)
    assert len(prepared.features.scaled) == int(prepared.fit_mask.sum())
    # the outliers found are left out of the fit ("segment") or of the customers ("drop")
    found = int(prepared.customers["is_outlier"].sum()) if outliers != "drop" else 0
    kept = len(prepared.customers)
    assert (kept < 40) if outliers == "drop" else (kept == 40 and found > 0)
    assert prepared.fit_mask.sum() == (kept - found if outliers == "segment" else kept)


def test_the_rfm_tables_are_made_while_k_is_swept(tmp_path, monkeypatch):
    """The RFM segments' tables read only the scored customers: a thread makes them while the
    K sweep runs (its threads leave a core idle part of the time). Here each waits until the
    other has begun, which never happens when the tables are made after the sweep; the tables
    are those of the scored customers, as before."""
    rows = [
        (f"c{c}", f"A{c}-{i}", f"2024-0{1 + (c + i) % 3}-{10 + i:02d}", 5.0 + c % 7)
        for c in range(40)
        for i in range(1 + c % 4)
    ]
    params = AnalysisParams(input_path=str(write_rows(tmp_path / "t.csv", rows)))
    tables, sweeping = threading.Event(), threading.Event()
    real_tables, real_sweep = pipeline._rfm_tables, pipeline.evaluate_k
    seen: list[bool] = []

    def made(customers, rules, bins):
        tables.set()
        seen.append(sweeping.wait(10))
        return real_tables(customers, rules, bins)

    def swept(*args, **kwargs):
        sweeping.set()
        seen.append(tables.wait(10))
        return real_sweep(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_rfm_tables", made)
    monkeypatch.setattr(pipeline, "evaluate_k", swept)
    result = pipeline.run(params)
    assert sorted(seen) == [True, True]
    segments, heatmap, _ = real_tables(
        pipeline.prepare_from(pipeline.reduce(params), params).customers,
        params.scoring.effective_rules,
        params.scoring.bins,
    )
    pd.testing.assert_frame_equal(result.segments, segments)
    pd.testing.assert_frame_equal(result.heatmap, heatmap)


@pytest.mark.filterwarnings("always::RuntimeWarning")  # shown (through the hook), not raised
def test_a_warning_while_the_features_are_made_reaches_the_run(tmp_path, monkeypatch):
    """The features are made in a worker thread; a library warning raised there reaches the
    run's caught warnings (each thread's are its own: core.libwarnings), never printed raw."""
    import warnings

    from rfm_desktop.core import clustering, libwarnings

    path = write_rows(tmp_path / "t.csv", ROWS)
    params = AnalysisParams(input_path=str(path))
    reduced = pipeline.reduce(params)
    real = clustering.prepare_features

    def features(customers, options):
        warnings.warn("overflow in the features", RuntimeWarning, stacklevel=1)
        return real(customers, options)

    monkeypatch.setattr(clustering, "prepare_features", features)
    shown: list[str] = []
    monkeypatch.setattr(libwarnings, "_previous", lambda message, *rest: shown.append(str(message)))
    with libwarnings.captured() as caught:
        pipeline.prepare_from(reduced, params)
    assert [str(w.message) for w in caught] == ["overflow in the features"]
    assert shown == []


@pytest.mark.filterwarnings("always::RuntimeWarning")
def test_a_failure_while_the_features_are_made_keeps_its_warnings(tmp_path, monkeypatch):
    """An error while the features are made in their worker is raised by prepare_from, after
    the warnings raised before it have reached the run's."""
    import warnings

    from rfm_desktop.core import clustering, libwarnings

    path = write_rows(tmp_path / "t.csv", ROWS)
    params = AnalysisParams(input_path=str(path))
    reduced = pipeline.reduce(params)

    def features(customers, options):
        warnings.warn("overflow in the features", RuntimeWarning, stacklevel=1)
        raise ValueError("features failed")

    monkeypatch.setattr(clustering, "prepare_features", features)
    with libwarnings.captured() as caught, pytest.raises(ValueError, match="features failed"):
        pipeline.prepare_from(reduced, params)
    assert [str(w.message) for w in caught] == ["overflow in the features"]
