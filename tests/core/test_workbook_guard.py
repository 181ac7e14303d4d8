"""Workbooks are sized from their zip directory before the reader unpacks them: a bomb is an error, not an abort."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from made_workbooks import write_shared_strings_xlsx

from rfm_desktop.core import io, workbook_guard
from rfm_desktop.core.errors import InputFileError


def test_a_bomb_is_refused_before_anything_is_unpacked(
    bomb_xlsx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bomb_xlsx.stat().st_size < 1_000_000
    opened: list[str] = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile,
        "open",
        lambda self, name, *a, **k: (opened.append(str(name)), real_open(self, name, *a, **k))[1],
    )
    for read in (io.list_sheets, io.read_transactions, io.read_preview):
        with pytest.raises(InputFileError) as caught:
            read(bomb_xlsx)
        assert caught.value.message == (
            "'bomb.xlsx' is too large to read safely: its shared text (sharedStrings) unpacks to 300 MB, "
            "above the limit of 200 MB."
        )
        assert ".csv" in caught.value.hint
    assert opened == []  # the directory was enough


def test_a_part_that_packs_far_too_well_is_refused_below_the_size_limit(tmp_path: Path) -> None:
    path = write_shared_strings_xlsx(
        tmp_path / "dense.xlsx", 30
    )  # 30 MB of strings packed ~400 times
    with pytest.raises(InputFileError) as caught:
        io.list_sheets(path)
    message = caught.value.message
    assert message.startswith(
        "'dense.xlsx' is not read: its shared text (sharedStrings) unpacks to 30 MB from 0."
    )
    assert f"workbooks pack at most {workbook_guard.MAX_RATIO} times" in message


def test_the_limits_are_the_ones_the_message_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_shared_strings_xlsx(tmp_path / "small.xlsx", 3)
    workbook_guard.check_workbook(path)  # 3 MB: under both limits, below the ratio's threshold
    monkeypatch.setattr(workbook_guard, "STRINGS_LIMIT", 2 * workbook_guard.MB)
    with pytest.raises(InputFileError, match="unpacks to 3 MB, above the limit of 2 MB"):
        workbook_guard.check_workbook(path)


def test_a_sheet_part_has_its_own_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shop.xlsx"
    rows = pd.DataFrame(
        {"CustomerID": range(2000), "InvoiceDate": pd.Timestamp("2011-01-01"), "Quantity": 1}
    )
    rows.to_excel(path, index=False)
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    monkeypatch.setattr(workbook_guard, "SHEET_LIMIT", size - 1)
    with pytest.raises(
        InputFileError, match=r"its sheet part 'xl/worksheets/sheet1.xml' unpacks to"
    ):
        io.list_sheets(path)
    monkeypatch.setattr(workbook_guard, "SHEET_LIMIT", size)
    assert io.list_sheets(path) == ["Sheet1"]


def test_ordinary_workbooks_and_non_zip_files_pass_to_the_reader(
    tmp_path: Path, sample_path: Path
) -> None:
    book = tmp_path / "shop.xlsx"
    pd.read_csv(sample_path, nrows=300).to_excel(book, index=False)
    workbook_guard.check_workbook(book)
    assert io.read_transactions(book, use_cache=False).rows_read == 300
    encrypted = tmp_path / "locked.xlsx"  # an OLE2 compound file: the reader says what it is
    encrypted.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 4000)
    workbook_guard.check_workbook(encrypted)
    with pytest.raises(InputFileError, match="encrypted or not a valid workbook"):
        io.list_sheets(encrypted)
    old = tmp_path / "old.xls"
    shutil.copy(encrypted, old)
    workbook_guard.check_workbook(old)
