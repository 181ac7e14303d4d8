"""Segment file names: valid everywhere, distinct where disks fold case and normalisation."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_desktop.core import export, pipeline, writing
from rfm_desktop.core.filenames import MAX_STEM_BYTES, safe_file_name, unique_file_names
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions

WINDOWS_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}


def valid_everywhere(name: str) -> bool:
    stem = name.split(".")[0].rstrip(" ")
    return (
        not WINDOWS_ILLEGAL.search(name)
        and name == name.strip(" .")
        and not name.startswith(".")
        and stem.upper() not in DEVICES
        and len(name.encode()) <= 255
    )


def test_names_that_clean_to_the_same_file_stay_distinct() -> None:
    names = ["A/B", "A:B", "A?B", "Lost.", "Lost", "VIP", "vip", "Café", "Cafe\u0301"]
    assert unique_file_names(names, ".csv") == [
        "A_B.csv",
        "A_B (2).csv",
        "A_B (3).csv",
        "Lost.csv",
        "Lost (2).csv",
        "VIP.csv",
        "vip (2).csv",
        "Café.csv",
        "Café (2).csv",
    ]


@pytest.mark.parametrize(
    "device", ["CON", "nul", "COM1", "aux", "PRN", "LPT1", "con.txt", "Com9 ", "CONIN$"]
)
def test_windows_device_names_are_never_written_as_is(device: str) -> None:
    name = unique_file_names([device], ".csv")[0]
    assert valid_everywhere(name), name
    assert name.lower().startswith(device.split(".")[0].strip().lower() + "_")  # still recognisable


@pytest.mark.parametrize(
    ("raw", "stem"),
    [
        ("  Lost. ", "Lost"),
        ("...", "segment"),
        ("", "segment"),
        (".hidden", "hidden"),
        ("a\tb\x00c", "a_b_c"),
        ('x<>"|*y', "x_____y"),
        ("Top 10 % (EU)", "Top 10 % (EU)"),
    ],
)
def test_safe_file_name(raw: str, stem: str) -> None:
    assert safe_file_name(raw) == stem


def test_long_names_are_cut_on_a_character_and_still_distinct() -> None:
    long = "Ä" * 200
    names = unique_file_names([long, long + "x", long.lower()], ".xlsx")
    assert len({n.casefold() for n in names}) == 3
    for name in names:
        assert len(name.removesuffix(".xlsx").split(" (")[0].encode()) <= MAX_STEM_BYTES
        assert len(name.encode()) <= 255 and name.endswith(".xlsx")
        name.encode("utf-8").decode("utf-8")  # not cut inside a character


@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=12))
def test_any_names_give_valid_distinct_files(names: list[str]) -> None:
    files = unique_file_names(names, ".csv")
    assert len(files) == len(names)
    folded = [unicodedata.normalize("NFD", f).casefold() for f in files]
    assert len(set(folded)) == len(files)
    assert all(valid_everywhere(f) for f in files), files


COLLIDING = ["A/B", "A:B", "A?B", "Lost.", "Lost", "VIP", "vip", "CON"]


@pytest.fixture(scope="module")
def colliding_result(sample_path: Path):
    result = pipeline.run(
        AnalysisParams(input_path=str(sample_path), clustering=ClusteringOptions(k=8, sweep=False))
    )
    clusters = tuple(
        dataclasses.replace(c, name=n) for c, n in zip(result.clusters, COLLIDING, strict=True)
    )
    customers = result.customers.copy()
    customers["cluster_name"] = (
        customers["cluster"].map({c.id: c.name for c in clusters}).astype("string")
    )
    return dataclasses.replace(result, clusters=clusters, customers=customers)


def test_eight_colliding_segments_give_eight_files_in_every_export(
    colliding_result, tmp_path: Path
) -> None:
    result = colliding_result
    expected = [
        "A_B.csv",
        "A_B (2).csv",
        "A_B (3).csv",
        "Lost.csv",
        "Lost (2).csv",
        "VIP.csv",
        "vip (2).csv",
        "CON_.csv",
    ]
    assert list(export.segment_file_names(result, ".csv").values()) == expected

    written = export.export_all(result, tmp_path / "cli")
    segment_files = [p for p in written if p.parent.name == "segments"]
    assert [p.name for p in segment_files] == expected
    assert sorted(p.name for p in (tmp_path / "cli" / "segments").iterdir()) == sorted(expected)
    total = 0
    for profile, path in zip(result.clusters, segment_files, strict=True):
        table = pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False)
        assert set(table["cluster_name"]) == {profile.name} and len(table) == profile.size
        total += len(table)
    assert total == result.customer_count
    assert writing.check_result(tmp_path / "cli") == []

    gui = export.export_segments(result, tmp_path / "gui", fmt="xlsx")
    assert [p.name for p in gui] == [n.replace(".csv", ".xlsx") for n in expected]
    assert len(list((tmp_path / "gui").glob("*.xlsx"))) == 8
