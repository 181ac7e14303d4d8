"""`rfm-desktop segment` with the reading flags of issue 7: --sheet, --header-row, --date-order, --map F=."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import ROOT

HEADER = ["Invoice", "Quantity", "InvoiceDate", "Price", "Customer ID"]


def rfm(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "rfm_desktop", "segment", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


def customers(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")


def workbook(path: Path) -> Path:
    """Two years on two sheets, 8 customers; customer 'A1' buys in both years."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, year in (("Y1", 2010), ("Y2", 2011)):
        rows = book.create_sheet(sheet)
        rows.append(HEADER)
        for i in range(8):
            customer = "A1" if i == 0 else f"{sheet}-{i}"
            rows.append([f"{year}{i:03d}", i + 1, dt.datetime(year, 3, 1 + i, 10), 2.0, customer])
    book.save(path)
    return path


def test_sheets_are_stacked_by_default_and_picked_with_sheet(tmp_path):
    book = workbook(tmp_path / "years.xlsx")
    done = rfm(str(book), "--out", str(tmp_path / "all"), "--k", "2")
    assert done.returncode == 0, done.stderr
    both = customers(tmp_path / "all")
    assert (
        len(both) == 15 and both.loc["A1", "frequency"] == 2 and both.loc["A1", "monetary"] == 4.0
    )
    summary = json.loads((tmp_path / "all" / "summary.json").read_text())
    assert any(
        "Read sheets 'Y1' (8 rows) and 'Y2' (8 rows), stacked" in w["text"]
        for w in summary["warnings"]
    )
    assert summary["params"]["sheet"] is None

    done = rfm(str(book), "--out", str(tmp_path / "y2"), "--k", "2", "--sheet", "Y2")
    assert done.returncode == 0, done.stderr
    assert len(customers(tmp_path / "y2")) == 8
    done = rfm(
        str(book), "--out", str(tmp_path / "two"), "--k", "2", "--sheet", "Y2", "--sheet", "0"
    )
    assert done.returncode == 0, done.stderr
    assert len(customers(tmp_path / "two")) == 15
    run = json.loads((tmp_path / "two" / "run.json").read_text())
    assert run["params"]["sheet"] == ["Y2", "0"]
    assert (
        rfm(str(book), "--out", str(tmp_path / "a"), "--k", "2", "--sheet", "all").returncode == 0
    )
    bad = rfm(str(book), "--out", str(tmp_path / "x"), "--sheet", "Y3")
    assert bad.returncode == 2 and "error: There is no sheet 'Y3' in 'years.xlsx'" in bad.stderr


def test_header_row_date_order_and_unmapping(tmp_path):
    lines = ["Shop report", "", "Customer,Date,Amount,Country"]
    for i in range(6):
        lines.append(
            f"K{i},0{i + 1}/02/2024,{10 + i},UK"
        )  # day first: 1-6 Feb; month first: 2 Jan-2 Jun
    lines.append("Total,,75,")
    path = tmp_path / "report.csv"
    path.write_text("\n".join(lines) + "\n")

    done = rfm(str(path), "--out", str(tmp_path / "auto"), "--k", "2")
    assert done.returncode == 0, done.stderr
    auto = customers(tmp_path / "auto")
    assert len(auto) == 6 and auto["monetary"].sum() == 75  # the Total line is no customer
    summary = json.loads((tmp_path / "auto" / "summary.json").read_text())
    assert summary["snapshot_date"].startswith("2024-02-07")  # day first: 6 Feb is the last date
    assert any("--date-order mdy" in w["text"] for w in summary["warnings"])
    assert any("headers are on row 3" in w["text"] for w in summary["warnings"])

    done = rfm(
        str(path),
        "--out",
        str(tmp_path / "mdy"),
        "--k",
        "2",
        "--date-order",
        "mdy",
        "--header-row",
        "3",
        "--map",
        "country=",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "mdy" / "summary.json").read_text())
    assert summary["snapshot_date"].startswith("2024-06-03")  # month first: 2 June + 1 day
    assert summary["params"]["date_order"] == "mdy" and summary["params"]["header_row"] == 3
    assert summary["params"]["column_map"] == {"country": ""}
    assert not any("date-order" in w["text"] for w in summary["warnings"])
    assert customers(tmp_path / "mdy").loc["K0", "recency"] == 153  # 2 Jan -> 3 Jun

    bad = rfm(str(path), "--out", str(tmp_path / "bad"), "--header-row", "0")
    assert bad.returncode == 2 and "'0' is not a row number" in bad.stderr
    bad = rfm(str(path), "--out", str(tmp_path / "bad"), "--date-order", "dym")
    assert bad.returncode == 2 and "invalid choice: 'dym'" in bad.stderr


def test_explicit_quantity_and_price_replace_a_detected_total(tmp_path):
    path = tmp_path / "orders.csv"
    rows = ["Name,Email,Total,Created at,Lineitem quantity,Lineitem price"]
    for i in range(6):
        rows.append(f"#10{i},c{i}@x.net,{20 + i}.00,2023-12-0{i + 1} 09:00:00 -0500,1,{10 + i}.00")
        rows.append(f"#10{i},c{i}@x.net,,2023-12-0{i + 1} 09:00:00 -0500,2,1.00")
    path.write_text("\n".join(rows) + "\n")
    done = rfm(
        str(path), "--out", str(tmp_path / "total"), "--k", "2", "--map", "customer_id=Email"
    )
    assert done.returncode == 0, done.stderr
    assert customers(tmp_path / "total")["monetary"].sum() == sum(20 + i for i in range(6))
    steps = {
        s["step"]: s["removed"]
        for s in json.loads((tmp_path / "total" / "summary.json").read_text())["cleaning"]
    }
    assert steps["invalid"] == 0
    done = rfm(
        str(path),
        "--out",
        str(tmp_path / "lines"),
        "--k",
        "2",
        "--map",
        "customer_id=Email",
        "--map",
        "quantity=Lineitem quantity",
        "--map",
        "unit_price=Lineitem price",
    )
    assert done.returncode == 0, done.stderr
    assert customers(tmp_path / "lines")["monetary"].sum() == sum(10 + i + 2 for i in range(6))
