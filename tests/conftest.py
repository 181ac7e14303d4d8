from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "data" / "online_retail.parquet"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep the parquet read-cache and Qt settings of test runs away from the user's own folders.
os.environ.setdefault("RFM_DESKTOP_CACHE_DIR", str(ROOT / ".pytest_cache" / "rfm-cache"))


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
