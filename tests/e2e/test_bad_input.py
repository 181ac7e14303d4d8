"""A corpus of bad inputs: each exits 2 with one clear line on stderr and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from made_workbooks import write_shared_strings_xlsx
from openpyxl import Workbook

UCI = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
GOOD_ROW = "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"


def _good_rows(n: int = 30) -> str:
    lines = []
    for i in range(n):
        lines.append(
            f"{536365 + i},85123A,HEART,{i % 5 + 1},2010-12-{i % 28 + 1:02d} 08:26:00,2.55,{17850 + i % 7},UK\n"
        )
    return "".join(lines)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _xlsx(path: Path, rows: list[list], title: str = "Data") -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _analysis(path: Path, params: dict) -> Path:
    path.write_text(json.dumps({"format": "rfm-desktop-analysis", "version": 1, "params": params}))
    return path


def make_case(name: str, tmp: Path) -> tuple[Path | None, list[str], str]:
    """(input file or None, extra CLI args, a word the error line must contain)."""
    if name == "missing file":
        return tmp / "nope.csv", [], "not found"
    if name == "empty file":
        return _write(tmp / "empty.csv", ""), [], "empty"
    if name == "header only":
        return _write(tmp / "header.csv", UCI), [], "no data rows"
    if name == "unrecognised columns":
        return _write(tmp / "cols.csv", "a,b,c\n1,2,3\n"), [], "customer"
    if name == "text in numbers":
        body = "".join(
            r.replace(",6,", ",six,")
            .replace(",1,", ",one,")
            .replace(",2,", ",two,")
            .replace(",3,", ",x,")
            .replace(",4,", ",y,")
            .replace(",5,", ",z,")
            for r in _good_rows().splitlines(True)
        )
        return _write(tmp / "textnum.csv", UCI + body), [], "Quantity"
    if name == "non-dates":
        body = "".join(
            r.replace("2010-12-", "day ").replace(" 08:26:00", "")
            for r in _good_rows().splitlines(True)
        )
        return _write(tmp / "nodates.csv", UCI + body), [], "InvoiceDate"
    if name == "all cancellations":
        # UCI cancellations: 'C' + the invoice number, negative quantity
        body = "".join(
            "C" + r.replace(",HEART,", ",HEART,-") for r in _good_rows().splitlines(True)
        )
        return _write(tmp / "cancel.csv", UCI + body), [], "ancellation"
    if name == "no customer ids":
        body = "".join(
            r.replace(f",{17850 + i % 7},", ",,")
            for i, r in enumerate(_good_rows().splitlines(True))
        )
        return _write(tmp / "noids.csv", UCI + body), [], "customer id"
    if name == "K > customers":
        return _write(tmp / "kbig.csv", UCI + _good_rows()), ["--k", "50"], "K=50"
    if name == "K range > customers":
        return _write(tmp / "krange.csv", UCI + _good_rows()), ["--k-range", "20:30"], "too few"
    if name == "corrupt xlsx":
        path = tmp / "corrupt.xlsx"
        path.write_bytes(b"PK\x03\x04" + os.urandom(2000))
        return path, [], "xlsx"
    if name == "encrypted xlsx":
        path = (
            tmp / "encrypted.xlsx"
        )  # an OLE2 compound file, which is what Excel writes when encrypted
        path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4000))
        return path, [], "encrypted"
    if name == "binary garbage csv":
        path = tmp / "garbage.csv"
        path.write_bytes(bytes(range(256)) * 40)
        return path, [], "garbage"
    if name == "empty sheet":
        path = tmp / "emptysheet.xlsx"
        _xlsx(path, [])
        return path, [], "empty"
    if name == "missing sheet":
        path = _xlsx(tmp / "sheets.xlsx", [UCI.strip().split(","), GOOD_ROW.strip().split(",")])
        return path, ["--sheet", "Nope"], "Nope"
    if name == "unknown --map field":
        return (
            _write(tmp / "m1.csv", UCI + _good_rows()),
            ["--map", "shoe_size=Quantity"],
            "shoe_size",
        )
    if name == "unknown --map column":
        return _write(tmp / "m2.csv", UCI + _good_rows()), ["--map", "customer_id=Client"], "Client"
    if name == "NaN and inf everywhere":
        body = "".join(
            r.replace("2.55", "inf").replace(",6,", ",nan,") for r in _good_rows().splitlines(True)
        )
        body = body.replace(",1,", ",NaN,").replace(",2,", ",NaN,").replace(",3,", ",NaN,")
        body = body.replace(",4,", ",NaN,").replace(",5,", ",NaN,")
        return _write(tmp / "naninf.csv", UCI + body), [], "no values that are numbers"
    if name == "huge values":
        body = "".join(r.replace("2.55", "1e300") for r in _good_rows().splitlines(True))
        return _write(tmp / "huge.csv", UCI + body), [], "UnitPrice"
    if name == "bad snapshot":
        return (
            _write(tmp / "snap.csv", UCI + _good_rows()),
            ["--snapshot", "31/31/2011"],
            "snapshot",
        )
    if name == "snapshot before data":
        return (
            _write(tmp / "snap2.csv", UCI + _good_rows()),
            ["--snapshot", "2001-01-01"],
            "before the last purchase",
        )
    if name == "output over input":
        path = _write(tmp / "over.csv", UCI + _good_rows())
        return path, ["--out", str(path)], "input file"
    if name == "bad --k-range":
        return _write(tmp / "kr.csv", UCI + _good_rows()), ["--k-range", "ten"], "K range"
    if name == "bad transform":
        return _write(tmp / "tr.csv", UCI + _good_rows()), ["--transform", "sqrt"], "transform"
    if name == "unsupported extension":
        return _write(tmp / "data.pdf", "%PDF-1.4"), [], ".pdf"
    if name == "duplicate headers":
        header = "InvoiceNo,CustomerID,CustomerID,Quantity,InvoiceDate,UnitPrice\n"
        body = "".join(
            f"{i},{17850 + i % 9},{17950 + i % 5},2,2011-01-{i % 28 + 1:02d},1.0\n"
            for i in range(40)
        )
        return _write(tmp / "dup.csv", header + body), [], "appears twice"
    if name == "one customer":
        body = "".join(
            r.replace(f",{17850 + i % 7},", ",17850,")
            for i, r in enumerate(_good_rows().splitlines(True))
        )
        return _write(tmp / "one.csv", UCI + body), [], "only 1 customers"
    if name == "seed -1":
        return (
            _write(tmp / "s1.csv", UCI + _good_rows()),
            ["--seed", "-1"],
            "random seed must be between 0 and",
        )
    if name == "seed 2**32":
        return (
            _write(tmp / "s2.csv", UCI + _good_rows()),
            ["--seed", "4294967296"],
            "not 4294967296",
        )
    if name == "snapshot beyond pandas":
        return (
            _write(tmp / "s3.csv", UCI + _good_rows()),
            ["--snapshot", "2262-04-12"],
            "2262-04-12 is outside",
        )
    if name == "snapshot decades after data":
        return (
            _write(tmp / "s4.csv", UCI + _good_rows()),
            ["--snapshot", "2150-01-01"],
            "more than 50 years",
        )
    if name == "huge --k-range":
        return _write(tmp / "kr2.csv", UCI + _good_rows()), ["--k-range", "2:100000"], "B <= 50"
    if name == "K above 50":
        return _write(tmp / "k51.csv", UCI + _good_rows()), ["--k", "51"], "between 2 and 50"
    if name == "K > distinct profiles":
        body = "".join(
            f"{536365 + i},85123A,HEART,1,2010-12-0{1 + i % 2} 08:26:00,2.55,{17850 + i},UK\n"
            for i in range(40)
        )  # 40 customers, two kinds
        return (
            _write(tmp / "twokinds.csv", UCI + body),
            ["--k", "3"],
            "more than the 2 distinct customer profiles",
        )
    if name == "xlsx bomb":
        return write_shared_strings_xlsx(tmp / "bomb.xlsx", 300), [], "above the limit of 200 MB"
    if name == "invalid saved analysis":
        data = _write(tmp / "p1.csv", UCI + _good_rows())
        saved = _analysis(
            tmp / "p1.rfm.json", {"input_path": str(data), "clustering": {"k_max": 100000}}
        )
        return None, ["--params", str(saved)], "is not a valid analysis"
    if name == "saved analysis of the wrong type":
        data = _write(tmp / "p2.csv", UCI + _good_rows())
        saved = _analysis(tmp / "p2.rfm.json", {"input_path": str(data), "clustering": {"k": "3"}})
        return data, ["--params", str(saved)], "'clustering.k' must be a whole number"
    if name == "saved analysis on a network path":
        saved = _analysis(tmp / "p3.rfm.json", {"input_path": "//fileserver/share/shop.csv"})
        return None, ["--params", str(saved)], "network path"
    raise KeyError(name)


CASES = [
    "missing file",
    "empty file",
    "header only",
    "unrecognised columns",
    "text in numbers",
    "non-dates",
    "all cancellations",
    "no customer ids",
    "K > customers",
    "K range > customers",
    "corrupt xlsx",
    "encrypted xlsx",
    "binary garbage csv",
    "empty sheet",
    "missing sheet",
    "unknown --map field",
    "unknown --map column",
    "NaN and inf everywhere",
    "huge values",
    "bad snapshot",
    "snapshot before data",
    "output over input",
    "bad --k-range",
    "bad transform",
    "unsupported extension",
    "duplicate headers",
    "one customer",
    "seed -1",
    "seed 2**32",
    "snapshot beyond pandas",
    "snapshot decades after data",
    "huge --k-range",
    "K above 50",
    "K > distinct profiles",
    "xlsx bomb",
    "invalid saved analysis",
    "saved analysis of the wrong type",
    "saved analysis on a network path",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, tmp_path):
    path, extra, word = make_case(case, tmp_path)
    out = tmp_path / "out"
    args = [
        "segment",
        *([str(path)] if path else []),
        *(["--out", str(out)] if "--out" not in extra else []),
        *extra,
    ]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RFM_DESKTOP_LOG_DIR": str(tmp_path / "crash-logs"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "rfm_desktop", *args],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    done.stderr = done.stderr.decode("utf-8")  # bytes: keep the bar's carriage returns as they are
    assert done.returncode == 2, (done.returncode, done.stderr)
    # the progress bar (if it started) is erased with carriage returns; what stays is one line
    assert done.stderr.count("\n") == 1 and done.stderr.endswith("\n"), repr(done.stderr)
    visible = done.stderr.split("\r")[-1]
    assert 10 < len(visible) < 300, repr(visible)
    assert "Traceback" not in done.stderr
    assert word.lower() in done.stderr.lower(), done.stderr
    assert not out.exists()
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert after == before  # nothing written, the input untouched


def test_corpus_has_at_least_25_kinds():
    assert len(set(CASES)) >= 25
