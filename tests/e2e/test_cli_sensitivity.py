"""`segment --sensitivity`: the variants table on disk and in summary.json."""

from __future__ import annotations

import json

import pandas as pd
from test_cli import rfm


def test_cli_writes_sensitivity_csv_and_summary(tmp_path, sample_path):
    out = tmp_path / "out"
    done = rfm(
        "segment",
        str(sample_path),
        "--out",
        str(out),
        "--k",
        "3",
        "--stability",
        "0",
        "--sensitivity",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "sensitivity.csv")
    assert table["variant"].tolist()[0] == "main run" and len(table) == 6
    assert (table["k"] == 3).all()
    summary = json.loads((out / "summary.json").read_text())
    assert [r["variant"] for r in summary["sensitivity"]] == table["variant"].tolist()
    assert summary["params"]["sensitivity"] is True
    assert summary["stability"] is None and not (out / "stability.csv").exists()
