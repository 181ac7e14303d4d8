"""Issue 11 (2, 4, 8): one run record for every export and for a saved analysis; the old
saved-analysis format still opens; the project's own errors for names and pictures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rfm_desktop.core import export, pipeline, report, writing
from rfm_desktop.core.analysis_file import load_analysis, save_analysis
from rfm_desktop.core.errors import ExportError, RFMError, SegmentNameError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions


@pytest.fixture(scope="module")
def result(sample_path: Path):
    return pipeline.run(
        AnalysisParams(input_path=str(sample_path), clustering=ClusteringOptions(k=3, sweep=False))
    )


def _record(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text(encoding="utf-8"))


def test_each_export_kind_writes_the_same_run_record_as_the_cli(result, tmp_path: Path) -> None:
    everything = export.export_all(result, tmp_path / "cli")
    cli = _record(tmp_path / "cli")
    assert everything[-1] == tmp_path / "cli" / "run.json"
    assert cli["files"] == [p.relative_to(tmp_path / "cli").as_posix() for p in everything[:-1]]
    assert cli["input"]["sha256"] == writing.file_sha256(result.params.input_path)
    assert writing.check_result(tmp_path / "cli") == []

    first = result.clusters[0]
    kinds = {
        "customers": lambda out: [export.export_customers(result, out / "all.xlsx")],
        "clusters": lambda out: export.export_segments(result, out, cluster_ids=[first.id]),
        "named": lambda out: export.export_rfm_segments(result, out, segments=["Champions"]),
        "report": lambda out: [report.write_report(result, out / "report.html")],
    }
    for kind, write in kinds.items():
        out = tmp_path / kind
        written = write(out)
        record = _record(out)
        assert record["files"] == [p.relative_to(out).as_posix() for p in written], kind
        assert set(record) == set(cli), kind
        for key in ("format", "version", "params", "input", "rows", "warnings", "customers", "k"):
            assert record[key] == cli[key], (kind, key)
    assert _record(tmp_path / "clusters")["files"] == [
        export.segment_file_names(result, ".csv")[first.id]
    ]


def test_a_failed_export_writes_no_run_record_either(result, tmp_path: Path, monkeypatch) -> None:
    import os

    def full(_src, _dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ExportError, match="No space left"):
        export.export_customers(result, tmp_path / "all.csv")
    assert list(tmp_path.iterdir()) == []


def test_save_writes_the_run_record_and_opens_again(result, tmp_path: Path) -> None:
    params = result.params.replace(clustering=ClusteringOptions(k=5, sweep=False))
    bare = json.loads(save_analysis(params, tmp_path / "a.rfm.json").read_text())
    assert (bare["format"], bare["version"]) == ("rfm-desktop-analysis", 2)
    assert bare["input"] == {"path": params.input_path, "sha256": None, "size": None}
    assert "files" not in bare and "customers" not in bare
    assert load_analysis(tmp_path / "a.rfm.json") == params

    full = json.loads(save_analysis(result.params, tmp_path / "b.rfm.json", result).read_text())
    cli = json.loads(json.dumps(export.run_record(result.params, result), default=str))
    assert {k: v for k, v in full.items() if k != "finished_at"} == {
        k: v for k, v in cli.items() if k != "finished_at"
    }
    assert full["input"]["sha256"] == result.input_sha256 != ""


def test_an_old_format_1_analysis_still_opens(tmp_path: Path) -> None:
    """What File ▸ Save analysis wrote before the formats were one: read, never written."""
    params = AnalysisParams(
        input_path="/data/shop.csv",
        column_map=(("customer_id", "Client"),),
        clustering=ClusteringOptions(k=4, sweep=False, seed=7),
    )
    old = tmp_path / "shop.rfm.json"
    old.write_text(
        json.dumps({"format": "rfm-desktop-analysis", "version": 1, "params": params.to_dict()})
    )
    assert load_analysis(old) == params
    again = json.loads(save_analysis(load_analysis(old), tmp_path / "again.rfm.json").read_text())
    assert again["version"] == 2 and "input" in again and "versions" in again
    assert AnalysisParams.from_dict(again["params"]) == params


def test_a_segment_name_that_cannot_be_used_is_the_projects_error(result) -> None:
    with pytest.raises(SegmentNameError) as caught:
        result.rename_cluster(result.clusters[0].id, result.clusters[1].name)
    assert isinstance(caught.value, RFMError)
    assert caught.value.message == f"Another segment is already called '{result.clusters[1].name}'."
    assert caught.value.hint == "Choose another name for the segment."


def test_a_report_name_is_checked_before_anything_is_written(result, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"use a \.html file name"):
        report.write_report(result, tmp_path / "report.pdf")
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        report.write_report(result, tmp_path / "dir.html")
    with pytest.raises(ExportError, match="input file"):
        report.report_path(result.params.input_path + ".html", result.params.input_path + ".html")
    assert [p.name for p in tmp_path.iterdir()] == ["dir.html"]
