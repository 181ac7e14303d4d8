"""`rfm-desktop segment --report FILE.html`: the GUI's report, headless and without Qt."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from rfm_desktop.core import writing

#: runs the CLI in a process where PySide6 and pyqtgraph cannot be imported at all
NO_QT = """
import sys
for name in ("PySide6", "pyqtgraph", "OpenGL", "shiboken6"):
    sys.modules[name] = None  # an import of it raises ImportError
from rfm_desktop import cli
code = cli.main(sys.argv[1:])
assert not [m for m in sys.modules if m.startswith("rfm_desktop.gui")]
sys.exit(code)
"""


def rfm_without_qt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_QT, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


def _grid_counts(html: str) -> list[int]:
    grid = html.split("RFM score grid", 1)[1].split("</table>", 1)[0]
    return [int(n.replace(",", "")) for n in re.findall(r">([\d,]+)</td>", grid)]


def test_segment_report_inside_and_outside_the_output_folder(sample_path: Path, tmp_path: Path):
    out = tmp_path / "out"
    inside = out / "report.html"
    done = rfm_without_qt(
        "segment", str(sample_path), "--out", str(out), "--k", "3", "--report", str(inside)
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    html = inside.read_text(encoding="utf-8")
    assert "Named RFM segments" in html and "RFM score grid" in html
    assert sum(_grid_counts(html)) == summary["customers"]
    for row in summary["rfm_segments"]:
        assert row["segment"].replace("'", "&#x27;") in html
    for cluster in summary["clusters"]:
        assert cluster["name"] in html
    assert "<img" not in html and "http://" not in html
    run = json.loads((out / "run.json").read_text())
    assert "report.html" in run["files"] and "  report.html" in done.stderr
    assert writing.check_result(out) == [], "the report is part of the result's unit"

    outside = tmp_path / "mail" / "shop.html"
    done = rfm_without_qt(
        "segment", str(sample_path), "--out", str(out), "--k", "3", "--report", str(outside)
    )
    assert done.returncode == 0, done.stderr
    assert _grid_counts(outside.read_text(encoding="utf-8")) == _grid_counts(html)
    record = json.loads((outside.parent / "run.json").read_text())
    assert record["files"] == ["shop.html"]
    assert record["input"]["sha256"] == writing.file_sha256(sample_path)
    assert f"report: {outside}" in done.stderr
    assert not inside.exists(), "the new result in --out has no report: the old one went"


def test_a_bad_report_path_is_one_line_and_exit_2_before_any_work(
    sample_path: Path, tmp_path: Path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for report in (tmp_path / "report.pdf", blocker / "report.html"):
        out = tmp_path / "out"
        done = rfm_without_qt(
            "segment", str(sample_path), "--out", str(out), "--report", str(report)
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
        assert "Traceback" not in done.stderr
        assert not out.exists(), "nothing was analysed or written"
