"""The CLI says what the cleaning did and every warning; each cleaning step has a switch."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ROOT
from test_cli import rfm

from rfm_desktop import cli
from rfm_desktop.core import cleaning


def payments(path):
    rows = []
    for i in range(30):
        rows.append(
            {
                "Transaction ID": f"ch_{i:03d}",
                "Created": f"2024-03-{i % 28 + 1:02d} 12:00",
                "Customer Email": f"C{i % 6}@Shop.test",
                "Amount": 20.0 + i,
                "Currency": "USD" if i % 5 == 0 else "EUR",
                "Status": ["Paid", "Paid", "Refunded", "Paid", "authorized"][i % 5],
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_every_switchable_step_has_a_flag_listed_in_help_and_readme():
    flags = {option: flag for flag, option, _, _ in cli.CLEANING_FLAGS}
    switchable = [s.option for s in cleaning.STEPS if s.option not in (None, "currency")]
    assert sorted(flags) == sorted(switchable)
    usage = cli.build_parser()._subparsers._group_actions[0].choices["segment"].format_help()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for flag in [*flags.values(), "--currency"]:
        assert flag in usage and f"`{flag}" in readme


@pytest.mark.parametrize(
    ("flag", "option", "value"), [(f, o, v) for f, o, v, _ in cli.CLEANING_FLAGS]
)
def test_each_flag_sets_its_option_and_nothing_else(flag, option, value):
    params = cli.params_from_args(
        cli.build_parser().parse_args(["segment", "x.csv", "--out", "o", flag])
    )
    default = cli.params_from_args(
        cli.build_parser().parse_args(["segment", "x.csv", "--out", "o"])
    )
    assert getattr(params.cleaning, option) is value and getattr(default.cleaning, option) is (
        not value
    )
    changed = {k for k, v in params.cleaning.__dict__.items() if v != getattr(default.cleaning, k)}
    assert changed == {option}


def test_several_currencies_stop_with_one_line(tmp_path):
    done = rfm(
        "segment", str(payments(tmp_path / "pay.csv")), "--out", str(tmp_path / "out"), "--k", "2"
    )
    assert done.returncode == 2
    lines = [
        ln
        for ln in done.stderr.replace("\r", "\n").splitlines()
        if ln.strip() and not ln.startswith("[")
    ]
    assert len(lines) == 1, done.stderr
    assert (
        lines[0].startswith("error: The amounts are in 2 currencies (EUR (")
        and "--currency EUR" in lines[0]
    )
    assert not (tmp_path / "out").exists()


def test_cleaning_lines_and_warnings_on_stderr_and_in_both_json_files(tmp_path):
    out = tmp_path / "out"
    done = rfm(
        "segment",
        str(payments(tmp_path / "pay.csv")),
        "--out",
        str(out),
        "--k",
        "2",
        "--currency",
        "eur",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.replace("\r", "\n").splitlines()
    assert (
        "cleaning: Status not a completed sale (refunded, failed…): removed 6 of 30 rows "
        "(e.g. status 'Refunded' (invoice ch_002))"
    ) in lines
    assert (
        "cleaning: Rows in another currency than the chosen one: removed 6 of 24 rows "
        "(e.g. currency 'USD' (invoice ch_000))"
    ) in lines
    warnings = [ln for ln in lines if ln.startswith("warning: ")]
    assert (
        warnings
        == [
            "warning: Status values that say neither sale nor not-a-sale were kept: "
            "'authorized' (6 rows)."
        ]
        + warnings[1:]
    )
    assert any("Only 6 customers take part in the clustering" in w for w in warnings)

    summary = json.loads((out / "summary.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert summary["warnings"] == run["warnings"]
    assert [w["text"] for w in summary["warnings"]] == [
        w.removeprefix("warning: ") for w in warnings
    ]
    assert {w["stage"] for w in summary["warnings"]} == {"cleaning", "customers", "clustering"}
    steps = {s["step"]: s for s in summary["cleaning"]}
    assert steps["other_currency"]["example"] == "currency 'USD' (invoice ch_000)"
    assert run["rows"]["steps"]["non_sale_status"] == {
        "removed": 6,
        "remaining": 24,
        "example": "status 'Refunded' (invoice ch_002)",
    }
    assert summary["params"]["cleaning"]["currency"] == "EUR"
    customers = pd.read_csv(out / "customers.csv")
    assert sorted(customers["customer_id"]) == [
        f"c{i}@shop.test" for i in range(6)
    ]  # emails lower-cased
    assert customers["frequency"].sum() == 18


def test_quiet_prints_nothing_but_the_run_still_records_the_warnings(tmp_path):
    out = tmp_path / "out"
    done = rfm(
        "segment",
        str(payments(tmp_path / "pay.csv")),
        "--out",
        str(out),
        "--k",
        "2",
        "--currency",
        "EUR",
        "--keep-all-statuses",
        "--quiet",
    )
    assert done.returncode == 0 and done.stderr == ""
    summary = json.loads((out / "summary.json").read_text())
    steps = {s["step"]: s for s in summary["cleaning"]}
    assert steps["non_sale_status"]["enabled"] is False and steps["non_sale_status"]["removed"] == 0
    assert summary["rows_clean"] == 24
    assert any("Only 6 customers" in w["text"] for w in summary["warnings"])
