"""Packaging: the PyInstaller spec, icons, installers, release workflow and crash logs.

None of these need a build, except the ``slow`` test at the end, which runs the frozen
``--selftest`` from a copy of ``dist/rfm-desktop`` at a path with spaces and non-ASCII
characters (skipped when the bundle has not been built: ``python build/build.py``).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import plistlib
import shutil
import struct
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
SPEC = BUILD / "rfm_desktop.spec"
ICONS = ROOT / "resources" / "icons"
ISS = BUILD / "windows" / "rfm-desktop.iss"
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
BUNDLE = ROOT / "dist" / "rfm-desktop"
FROZEN_EXE = BUNDLE / ("rfm-desktop.exe" if sys.platform == "win32" else "rfm-desktop")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- the spec ---------------------------------------------------------------------------


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_literal(name: str):
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not a literal assignment in {SPEC.name}")


@pytest.fixture(scope="module")
def spec_filters() -> dict:
    """The spec's literal settings and its pure helper functions, without PyInstaller."""
    tree = _spec_tree()
    keep = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and node.name in ("_norm", "_plugin_kept", "_keep", "_is_test_module", "_dedupe_libs")
        or isinstance(node, ast.Assign)
        and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
        and _is_literal(node.value)
    ]
    namespace: dict = {
        "re": __import__("re"),
        "sys": sys,
        "os": os,
        "filecmp": __import__("filecmp"),
    }
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(SPEC), "exec"), namespace)
    return namespace


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def test_spec_is_valid_python_with_pyinstaller_targets():
    source = SPEC.read_text(encoding="utf-8")
    _spec_tree()
    for target in ("Analysis(", "PYZ(", "EXE(", "COLLECT(", "BUNDLE("):
        assert target in source
    assert 'APP_NAME = "rfm-desktop"' in source
    assert "exclude_binaries=True" in source  # one-folder bundle
    assert 'contents_directory="_internal"' in source
    assert "console=not (IS_WIN or IS_MAC)" in source  # windowed on Windows and macOS
    assert "rfm_desktop import __version__" in source
    assert "bundle_identifier=BUNDLE_ID" in source
    assert _spec_literal("BUNDLE_ID") == "org.rfmdesktop.RFMDesktop"
    assert "launcher.py" in source


def test_spec_bundles_the_resources_folder():
    assert ("../resources", "resources") in _spec_literal("DATAS")
    assert (ROOT / "resources").is_dir()


def test_spec_excludes_what_the_app_does_not_use():
    excludes = set(_spec_literal("EXCLUDES"))
    for name in (
        "PySide6.QtNetwork",
        "PySide6.QtQml",
        "PySide6.QtQuick",
        "PySide6.QtPdf",
        "PySide6.QtWebEngineCore",
        "tkinter",
        "matplotlib",
        "IPython",
        "pandas.tests",
        "numpy.tests",
        "pyarrow.tests",
        # never imported at run time (frozen CLI, --selftest and the test suite checked)
        "scipy.signal",
        "scipy.cluster",
        "sklearn.datasets",
        "pydoc_data",
        "_codecs_jp",
        "_multibytecodec",
    ):
        assert name in excludes, name
    # Needed at run time although they look optional (see the comments in the spec):
    for needed in (
        "numpy.f2py",
        "ssl",
        "pydoc",  # pyarrow.vendored.docscrape
        "narwhals",  # sklearn.utils.validation
        "pyqtgraph.exporters",  # "Save view as image"
        "pyqtgraph.parametertree",  # (pyqtgraph.exporters)
        "scipy",
        "sklearn.cluster",
        "PySide6.QtOpenGL",
        "PySide6.QtOpenGLWidgets",
        "PySide6.QtSvg",
    ):
        assert needed not in excludes, needed


def test_spec_hidden_imports_cover_lazy_and_compiled_parts():
    hidden = set(_spec_literal("HIDDEN_IMPORTS"))
    for name in (
        "pyqtgraph.opengl",
        "OpenGL.platform.glx",
        "OpenGL.platform.egl",
        "sklearn.cluster",
        "sklearn.utils._typedefs",
        "fastexcel",
        "pyarrow",
        "pyarrow.parquet",
    ):
        assert name in hidden, name


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("resources/sample/online_retail_sample.csv.gz", True),
        ("resources/icons/app.png", True),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so", True),
        ("PySide6/Qt/plugins/xcbglintegrations/libqxcb-egl-integration.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6\\plugins\\platforms\\qwindows.dll", True),
        ("PySide6\\plugins\\imageformats\\qsvg.dll", True),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", True),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Gui.so.6", True),
        ("PySide6/Qt/lib/libQt6Qml.so.6", False),
        ("PySide6/Qt/lib/libQt6Network.so.6", False),
        ("pandas/tests/io/data/csv/test1.csv", False),
        ("pyarrow/include/arrow/api.h", False),
        ("pyarrow/libarrow_flight.so.2600", False),
        ("pyarrow/libarrow.so.2600", True),
        ("pyarrow/libarrow_python.so.2600", True),
        ("pyarrow/libarrow_python.so", False),
        ("pyarrow/libarrow_python.so.2600.1.0", False),
        ("sklearn/utils/_typedefs.pyx", False),
        ("sklearn/datasets/images/china.jpg", False),
        ("sklearn/datasets/data/iris.csv", False),
        ("pyqtgraph/icons/peegee/peegee_512px@2x.png", False),
        ("pyqtgraph/icons/auto.png", True),
        ("pyqtgraph/colors/maps/CET-L1.csv", True),
        ("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", True),
        ("scipy.libs/libscipy_openblas-6cdc3b4a.so", True),
    ],
)
def test_spec_file_filter(spec_filters, dest, kept):
    assert spec_filters["_keep"]((dest, "/src/" + dest, "BINARY")) is kept


@pytest.mark.parametrize("name", ["libqjpeg.so", "libqgif.so", "libqico.so", "libqicns.so"])
def test_spec_linux_keeps_only_the_svg_image_plugin(spec_filters, monkeypatch, name):
    keep = spec_filters["_keep"]
    monkeypatch.setattr(sys, "platform", "linux")
    assert keep(("PySide6/Qt/plugins/imageformats/libqsvg.so", "/src", "BINARY"))
    assert not keep((f"PySide6/Qt/plugins/imageformats/{name}", "/src", "BINARY"))
    monkeypatch.setattr(sys, "platform", "win32")
    assert keep((f"PySide6\\plugins\\imageformats\\{name[3:-3]}.dll", "/src", "BINARY"))


def test_spec_dedupe_links_identical_libraries(spec_filters, tmp_path):
    dedupe = spec_filters["_dedupe_libs"]
    for folder, data in (("numpy.libs", b"same"), ("scipy.libs", b"same"), ("other.libs", b"diff")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "libgfortran.so.5").write_bytes(data)
    toc = [
        ("scipy.libs/libgfortran.so.5", str(tmp_path / "scipy.libs/libgfortran.so.5"), "BINARY"),
        ("numpy.libs/libgfortran.so.5", str(tmp_path / "numpy.libs/libgfortran.so.5"), "BINARY"),
        ("other.libs/libgfortran.so.5", str(tmp_path / "other.libs/libgfortran.so.5"), "BINARY"),
    ]
    result = {dest: (src, kind) for dest, src, kind in dedupe(toc)}
    assert result["numpy.libs/libgfortran.so.5"][1] == "BINARY"
    target, kind = result["scipy.libs/libgfortran.so.5"]
    assert (target.replace("\\", "/"), kind) == ("../numpy.libs/libgfortran.so.5", "SYMLINK")
    assert result["other.libs/libgfortran.so.5"][1] == "BINARY"  # same name, other bytes


def test_spec_drops_test_modules(spec_filters):
    is_test = spec_filters["_is_test_module"]
    assert is_test("pandas.tests.frame.test_api")
    assert is_test("sklearn.conftest")
    assert not is_test("sklearn.utils._testing")
    assert not is_test("rfm_desktop.core.cleaning")


def test_build_script_and_launcher():
    spec = importlib.util.spec_from_file_location("rfm_build", BUILD / "build.py")
    build = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(build)
    assert build.WORK == ROOT / "build" / "_work"  # never the repo's build/ itself
    assert build.BUNDLE == ROOT / "dist" / "rfm-desktop"
    assert build.executable().name.startswith("rfm-desktop")
    assert "build/_work/" in (ROOT / ".gitignore").read_text()
    launcher = (BUILD / "launcher.py").read_text(encoding="utf-8")
    assert "from rfm_desktop.cli import entry" in launcher
    assert "entry()" in launcher
    assert "freeze_support()" in launcher


# --- icons ------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_icon_source_svg():
    root = ET.parse(ICONS / "app.svg").getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 512 512"


def test_app_png_is_512px():
    assert _png_size((ICONS / "app.png").read_bytes()) == (512, 512)


def test_app_ico_has_several_sizes():
    data = (ICONS / "app.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _colors, _res, planes, bits, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * i
        )
        w, h = w or 256, h or 256
        image = data[offset : offset + length]
        assert len(image) == length and offset + length <= len(data)
        if image[:8] == PNG_MAGIC:
            assert _png_size(image) == (w, h)
        else:  # BMP/DIB: BITMAPINFOHEADER, height doubled for the AND mask
            header_size, bw, bh, _planes, bpp = struct.unpack_from("<IiiHH", image, 0)
            assert (header_size, bw, bh, bpp) == (40, w, 2 * h, 32)
        assert (planes, bits) == (1, 32)
        sizes.append(w)
    assert {16, 32, 48, 256} <= set(sizes)


def test_app_icns_has_retina_sizes():
    data = (ICONS / "app.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found = {}
    pos = 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        assert length > 8
        found[kind] = _png_size(data[pos + 8 : pos + length])
        pos += length
    assert pos == len(data)
    expected = {b"ic07": 128, b"ic08": 256, b"ic09": 512, b"ic10": 1024, b"icp4": 16, b"icp5": 32}
    for kind, size in expected.items():
        assert found[kind] == (size, size), kind


# --- installers and release workflow ----------------------------------------------------


def test_inno_setup_script_installs_per_user():
    text = ISS.read_text(encoding="utf-8")
    lines = {line.strip() for line in text.splitlines()}
    assert "PrivilegesRequired=lowest" in lines
    assert "DefaultDirName={autopf}\\RFM Desktop" in lines
    assert "[Icons]" in lines and "{group}" in text  # Start-menu entry
    assert "{uninstallexe}" in text  # uninstaller shortcut
    assert "dist\\rfm-desktop\\*" in text
    assert "SetupIconFile=" in text and "app.ico" in text


def test_macos_files():
    info = plistlib.loads((BUILD / "macos" / "Info.plist").read_bytes())
    assert info["NSHighResolutionCapable"] is True
    script = (BUILD / "macos" / "make_dmg.sh").read_text(encoding="utf-8")
    assert "hdiutil create" in script
    assert '-volname "RFM Desktop"' in script
    assert "-format UDZO" in script


def test_release_workflow_builds_on_three_systems():
    text = RELEASE.read_text(encoding="utf-8")
    for os_name in ("windows-latest", "macos-latest", "ubuntu-latest"):
        assert os_name in text
    for needle in (
        "build/build.py",
        "--selftest",
        "xvfb-run",
        "ISCC",
        "make_dmg.sh",
        ".[test,build]",
    ):
        assert needle in text, needle
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(text)
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers
    jobs = doc["jobs"]
    matrix_oses = set()
    for job in jobs.values():
        matrix = job.get("strategy", {}).get("matrix", {})
        matrix_oses.update(matrix.get("os", []))
        for step in job["steps"]:
            assert "uses" in step or "run" in step
    assert {"windows-latest", "macos-latest", "ubuntu-latest"} <= matrix_oses


# --- crash logs -------------------------------------------------------------------------


@pytest.fixture
def crashlog(tmp_path, monkeypatch):
    from rfm_desktop import crashlog as module

    monkeypatch.setenv(module.ENV_LOG_DIR, str(tmp_path / "logs"))
    yield module
    module.uninstall_excepthook()


def _raise(message: str):
    try:
        raise ValueError(message)
    except ValueError:
        return sys.exc_info()


def test_log_dir_defaults_to_platformdirs(monkeypatch):
    from rfm_desktop import crashlog

    monkeypatch.delenv(crashlog.ENV_LOG_DIR, raising=False)
    calls = []

    def fake(appname, appauthor=None, *args, **kwargs):
        calls.append((appname, appauthor))
        return "/somewhere/logs"

    monkeypatch.setattr(crashlog.platformdirs, "user_log_dir", fake)
    assert crashlog.log_dir() == Path("/somewhere/logs")
    assert calls == [("rfm-desktop", False)]


def test_write_log_has_traceback_versions_platform(crashlog, tmp_path):
    path = crashlog.write_log(*_raise("the details"))
    assert path.parent == tmp_path / "logs"
    assert path.name.startswith("crash-") and path.suffix == ".log"
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "ValueError: the details" in text
    assert "_raise" in text  # the frame that raised
    assert "app: rfm-desktop" in text
    assert "python: 3." in text
    assert "platform: " in text
    assert "numpy: " in text


def test_excepthook_logs_and_notifies(crashlog, tmp_path):
    seen = []
    folder = crashlog.install_excepthook(notify=seen.append, fatal_errors=False)
    assert folder == tmp_path / "logs"
    sys.excepthook(*_raise("in a slot"))
    assert len(seen) == 1 and seen[0].exists()
    assert "ValueError: in a slot" in seen[0].read_text(encoding="utf-8")
    message = crashlog.crash_message(seen[0])
    assert "RFM Desktop hit an unexpected error" in message
    assert str(seen[0]) in message


def test_thread_exceptions_are_logged(crashlog):
    seen = []
    crashlog.install_excepthook(notify=seen.append, fatal_errors=False)

    def boom():
        raise RuntimeError("worker failed")

    thread = threading.Thread(target=boom, name="analysis-worker")
    thread.start()
    thread.join()
    assert len(seen) == 1
    text = seen[0].read_text(encoding="utf-8")
    assert "RuntimeError: worker failed" in text
    assert "analysis-worker" in text


def test_keyboard_interrupt_is_not_a_crash(crashlog, tmp_path, monkeypatch):
    seen, passed_on = [], []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: passed_on.append(exc[0]))
    crashlog.install_excepthook(notify=seen.append, fatal_errors=False)
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
    assert seen == []
    assert passed_on == [KeyboardInterrupt]  # handed to the previous hook
    assert not list((tmp_path / "logs").glob("crash-*.log"))


def test_old_logs_are_pruned(crashlog, tmp_path, monkeypatch):
    monkeypatch.setattr(crashlog, "KEEP_LOGS", 3)
    for i in range(5):
        crashlog.write_log(*_raise(f"n{i}"))
    assert len(list((tmp_path / "logs").glob("crash-*.log"))) == 3


def test_uninstall_restores_hooks(crashlog):
    before = sys.excepthook, threading.excepthook
    crashlog.install_excepthook(fatal_errors=False)
    assert sys.excepthook is not before[0]
    crashlog.uninstall_excepthook()
    assert (sys.excepthook, threading.excepthook) == before


def _run_python(code: str, log_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RFM_DESKTOP_LOG_DIR=str(log_dir), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_uncaught_exception_in_a_process(tmp_path):
    proc = _run_python(
        """
        import sys
        from rfm_desktop import crashlog
        crashlog.install_excepthook()
        assert not any(m.startswith(("PySide6", "pyqtgraph")) for m in sys.modules)
        raise ValueError("boom")
        """,
        tmp_path,
    )
    assert proc.returncode == 1
    logs = list(tmp_path.glob("crash-*.log"))
    assert len(logs) == 1
    assert "ValueError: boom" in logs[0].read_text(encoding="utf-8")
    assert "RFM Desktop hit an unexpected error" in proc.stderr
    assert str(logs[0]) in proc.stderr
    # a clean faulthandler file is removed at exit
    assert not (tmp_path / "last-fatal-error.log").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSEGV handling differs on Windows")
def test_hard_crash_is_dumped_by_faulthandler(tmp_path):
    proc = _run_python(
        """
        import faulthandler
        from rfm_desktop import crashlog
        crashlog.install_excepthook()
        faulthandler._sigsegv()
        """,
        tmp_path,
    )
    assert proc.returncode != 0
    text = (tmp_path / "last-fatal-error.log").read_text(encoding="utf-8")
    assert "Fatal Python error" in text


# --- the frozen app (after `python build/build.py`) --------------------------------------


def _display_command(cmd: list[str], env: dict) -> list[str]:
    """Run under the session's X display, else under xvfb-run, else offscreen (no 3D)."""
    env.pop("QT_QPA_PLATFORM", None)
    if sys.platform.startswith("linux") and not env.get("DISPLAY"):
        if shutil.which("xvfb-run"):
            return ["xvfb-run", "-a", *cmd]
        env["QT_QPA_PLATFORM"] = "offscreen"
    elif sys.platform != "linux" and "CI" in env:
        env["QT_QPA_PLATFORM"] = "offscreen"
    return cmd


@pytest.fixture(scope="module")
def odd_bundle(tmp_path_factory) -> Path:
    """dist/rfm-desktop copied to a path with spaces and non-ASCII characters."""
    if not FROZEN_EXE.exists():
        pytest.skip("no frozen bundle: run `python build/build.py` first")
    target = tmp_path_factory.mktemp("frozen") / "Mes Données é" / "rfm desktop"
    shutil.copytree(BUNDLE, target, symlinks=True)
    return target


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.slow
def test_frozen_selftest_from_odd_path(odd_bundle, tmp_path):
    before = _files(odd_bundle)
    exe = odd_bundle / FROZEN_EXE.name
    if sys.platform == "win32":
        exe = odd_bundle / "rfm-desktop-cli.exe"
    out = tmp_path / "selftest out"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = dict(os.environ)
    env["RFM_DESKTOP_LOG_DIR"] = str(tmp_path / "logs")
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120
    )
    assert version.returncode == 0, version.stderr
    assert "rfm-desktop" in version.stdout
    cmd = _display_command([str(exe), "--selftest", str(out)], env)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["ok"] is True
    assert list(out.glob("*.png"))
    if result.get("platform") == "xcb":  # a real (X) display: the OpenGL view must be there
        assert "scatter-3d" in result["views"], result.get("skipped")
    # Nothing was written next to the executable (cache, settings and logs go to user folders).
    assert _files(odd_bundle) == before
    assert _files(elsewhere) == set()
