from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def hears_ctrl_c() -> None:
    """``preexec_fn`` of a child process that a test interrupts with SIGINT: Ctrl-C's default
    action restored. A process started in the background by a shell without job control (a CI
    script's ``cmd &``) ignores SIGINT, its children inherit that, and Python then never turns
    the signal into KeyboardInterrupt: the child would run on as if no Ctrl-C came."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


@pytest.fixture(scope="session")
def bomb_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.7 MB .xlsx holding 300 MB of shared strings, made here (never a shared data file)."""
    from made_workbooks import write_shared_strings_xlsx

    return write_shared_strings_xlsx(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", 300)
