from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "data" / "online_retail.parquet"

# Keep the parquet read-cache and Qt settings of test runs away from the user's own folders.
os.environ.setdefault("RFM_DESKTOP_CACHE_DIR", str(ROOT / ".pytest_cache" / "rfm-cache"))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Qt on the virtual screen pytest-xvfb started (so the 3D view renders), offscreen without one."""
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "xcb" if os.environ.get("DISPLAY") else "offscreen"


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def sample_path() -> Path:
    from rfm_desktop.resources import sample_data_path

    path = sample_data_path()
    if not path.exists():
        pytest.fail(f"bundled sample missing: {path}")
    return path


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook {_NS} xmlns:r="{_REL}"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/worksheets/sheet1.xml": (
        f'<worksheet {_NS}><sheetData>'
        + "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r - 1}</v></c><c r="B{r}"><v>{r}</v></c></row>'
                  for r in range(1, 21))
        + "</sheetData></worksheet>"
    ),
}


def write_shared_strings_xlsx(path: Path, megabytes: int, *, compresslevel: int = 9) -> Path:
    """A valid one-sheet .xlsx whose shared strings unpack to about ``megabytes`` MB of XML.

    Each string is one letter, so the part packs about 400 times: 300 MB becomes 0.7 MB, which
    fastexcel took 1.0 GB of memory and 10 s to read before the workbook guard.
    """
    chunk = b"<si><t>x</t></si>"
    chunk *= 1_000_000 // len(chunk)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {_NS}>'.encode())
            for _ in range(megabytes):
                part.write(chunk)
            part.write(b"</sst>")
    return path


@pytest.fixture(scope="session")
def bomb_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.7 MB .xlsx holding 300 MB of shared strings, made here (never a shared data file)."""
    return write_shared_strings_xlsx(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", 300)
