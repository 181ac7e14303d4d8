"""A workbook's size, checked from its zip directory before the reader unpacks it.

.xlsx/.xlsm/.xlsb/.ods files are zip archives. The reader (fastexcel) unpacks the shared-strings
part whole into memory (measured here: 1.2 to 3.4 bytes of memory per byte of XML, the more the
shorter the strings; issue 9 saw 2.4 GB for 300 MB) and streams the chosen sheet, so a file of
less than 1 MB can take gigabytes, and when memory runs out the process aborts without a message.
The zip directory states every part's unpacked size, so the check costs a directory read and
unpacks nothing.

Limits, measured on the real 541,909-row Online Retail data: saved the way Excel saves it, its
sheet unpacks to 159 MB (8.6 times its packed size) and its shared strings to 0.8 MB (5.9 times);
written by openpyxl with the text in the cells, the sheet is 241 MB (9.4 times) and took 0.4 GB of
memory to read.

The check trusts the sizes the directory states: a file whose directory understates them is not
caught here (checking that would mean unpacking everything, a second read of every workbook).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from rfm_desktop.core.errors import InputFileError

MB = 1_000_000
#: Largest unpacked sheet part (one sheet is read at a time): 6 times the real data's sheet.
SHEET_LIMIT = 1_000 * MB
#: Largest unpacked shared-strings part (held whole in memory, up to several times its size).
STRINGS_LIMIT = 200 * MB
#: Largest unpacked/packed ratio of a part above RATIO_FROM; XML of real workbooks packs 5-15 times.
MAX_RATIO = 100
RATIO_FROM = 10 * MB

_SHEET = re.compile(r"^(xl/worksheets/[^/]+\.(xml|bin)|content\.xml)$", re.IGNORECASE)
_STRINGS = re.compile(r"^xl/sharedStrings\.(xml|bin)$", re.IGNORECASE)
_HINT = (
    "Save the sheet as .csv from the spreadsheet program (or split it by year) and open that file."
)


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose sheets or shared strings would unpack beyond the limits.

    Parameters
    ----------
    path
        A workbook file; files that are not zip archives (.xls, encrypted workbooks, damaged
        files) pass unchecked, so the reader reports them in its own words.

    Raises
    ------
    InputFileError
        A sheet part above SHEET_LIMIT, the shared strings above STRINGS_LIMIT (both in MB of
        unpacked XML), or a part above RATIO_FROM that unpacks more than MAX_RATIO times its size.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    for part in parts:
        if _STRINGS.match(part.filename):
            what, limit = "shared text (sharedStrings)", STRINGS_LIMIT
        elif _SHEET.match(part.filename):
            what, limit = f"sheet part '{part.filename}'", SHEET_LIMIT
        else:
            continue
        size = part.file_size
        if size > limit:
            raise InputFileError(
                f"'{path.name}' is too large to read safely: its {what} unpacks to {size / MB:,.0f} MB, "
                f"above the limit of {limit / MB:,.0f} MB.",
                hint=_HINT,
            )
        ratio = size / max(part.compress_size, 1)
        if size > RATIO_FROM and ratio > MAX_RATIO:
            raise InputFileError(
                f"'{path.name}' is not read: its {what} unpacks to {size / MB:,.0f} MB from "
                f"{part.compress_size / MB:,.1f} MB ({ratio:,.0f} times; workbooks pack at most "
                f"{MAX_RATIO} times), which is how damaged or malicious files look.",
                hint=_HINT,
            )
