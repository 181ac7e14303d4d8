"""`segment --params FILE.rfm.json`: a saved analysis runs headless, flags override it; warnings are one line each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_cli import rfm

from rfm_desktop.core.analysis_file import save_analysis
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, ClusteringOptions


def test_a_saved_analysis_runs_and_flags_override_it(sample_path: Path, tmp_path: Path) -> None:
    saved = save_analysis(
        AnalysisParams(
            input_path=str(sample_path),
            cleaning=CleaningOptions(outliers="segment", iqr_multiplier=3.0),
            clustering=ClusteringOptions(k=3, sweep=False, transform="none", seed=3_000_000_000),
            snapshot_date="2012-01-01",
        ),
        tmp_path / "shop.rfm.json",
    )
    done = rfm("segment", "--params", str(saved), "--out", str(tmp_path / "a"), "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["k"] == 3 and summary["k_scores"] == []
    clustering = summary["params"]["clustering"]
    assert clustering["transform"] == "none" and clustering["seed"] == 3_000_000_000
    assert summary["params"]["cleaning"]["iqr_multiplier"] == 3.0
    assert summary["snapshot_date"].startswith("2012-01-01")
    assert summary["clusters"][-1]["name"].endswith("Outliers")

    moved = shutil.copy(sample_path, tmp_path / "copy.csv.gz")
    done = rfm(
        "segment",
        str(moved),
        "--params",
        str(saved),
        "--out",
        str(tmp_path / "b"),
        "--k",
        "4",
        "--seed",
        "7",
        "--outliers",
        "keep",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    params = summary["params"]
    assert (
        summary["k"] == 4
        and params["clustering"]["seed"] == 7
        and params["cleaning"]["outliers"] == "keep"
    )
    assert params["clustering"]["transform"] == "none"  # not given: the saved value stays
    assert params["cleaning"]["iqr_multiplier"] == 3.0
    assert params["input_path"] == str(moved)


def test_params_and_preset_do_not_mix(sample_path: Path, tmp_path: Path) -> None:
    saved = save_analysis(AnalysisParams(input_path=str(sample_path)), tmp_path / "a.rfm.json")
    done = rfm("segment", "--params", str(saved), "--preset", "seed", "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr == "rfm-desktop segment: use --params or --preset, not both (see --help)\n"
    done = rfm("segment", "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert (
        done.stderr
        == "rfm-desktop segment: give the INPUT file or --params FILE.rfm.json (see --help)\n"
    )
    assert not (tmp_path / "o").exists()


def test_a_cut_k_range_is_one_warning_line_and_no_library_noise(tmp_path: Path) -> None:
    head = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    body = "".join(
        f"{536365 + i},85123A,HEART,1,2010-12-0{1 + i % 2} 08:26:00,2.55,{17850 + i},UK\n"
        for i in range(40)
    )
    data = tmp_path / "twokinds.csv"
    data.write_text(head + body)
    done = rfm("segment", str(data), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = [line.split("\r")[-1] for line in done.stderr.splitlines()]
    assert (
        "warning: The K range 2:10 was cut to 2:2: the customers have only 2 distinct "
        "recency/frequency/monetary profiles."
    ) in lines
    assert "Warning" not in done.stderr  # ConvergenceWarning, RuntimeWarning, FutureWarning ...
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["k"] == 2
    assert [w["stage"] for w in summary["warnings"] if "was cut to 2:2" in w["text"]] == [
        "clustering"
    ]
    done = rfm("segment", str(data), "--out", str(tmp_path / "quiet"), "--quiet")
    assert done.returncode == 0 and done.stderr == ""
