"""Every page and view under a real scale factor (QT_SCALE_FACTOR=2 on 1600×1000 pixels, 1.5 on 1024×640).

test_small_screens.py scales the font, because QT_SCALE_FACTOR must be set before the
application starts; this test starts a fresh application in a subprocess with it set, so Qt
scales everything (sizes, margins, icons) as on a 200 % screen. It walks the wizard on the
bundled sample, runs the analysis and shows every result view, and checks that the window keeps
its logical size (800×500, 683×427) (no minimum size wider than the screen) and that every visible control
can be brought into view: outside a scroll area it lies inside the window; inside one, scrolling
to it shows it within each enclosing viewport and the window.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SCRIPT = r"""
import json, sys, tempfile
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QScrollArea, QWidget
from test_small_screens import CONTROLS, clipped

from rfm_desktop.gui import dialogs, worker
from rfm_desktop.gui.app import create_app
from rfm_desktop.gui.autopilot import Pilot, settle
from rfm_desktop.gui.images import is_3d
from rfm_desktop.gui.settings import use_settings_dir
from rfm_desktop.gui.wizard.wizard import CLEANING, CLUSTERING, COLUMNS, FILE, RUN

use_settings_dir(tempfile.mkdtemp())
errors = []
dialogs.show_error = lambda _parent, exc: errors.append(exc)
app = create_app()
from rfm_desktop.gui.main_window import MainWindow

window = MainWindow()
window.resize(int(sys.argv[2]), int(sys.argv[3]))
window.show()
settle(200)
report = {"ratio": window.devicePixelRatioF(), "sizes": [], "problems": []}


def unreachable(root):
    # visible controls that scrolling cannot bring inside every enclosing viewport
    problems = []
    bounds = window.rect()
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(window) or not isinstance(w, CONTROLS) or w.width() <= 0:
            continue
        if getattr(w, "text", None) is not None and not str(w.text()).strip():
            continue
        areas, parent = [], w.parentWidget()
        while parent is not None:
            if isinstance(parent, QAbstractScrollArea):
                areas.append(parent)
            parent = parent.parentWidget()
        if not areas or not all(isinstance(a, QScrollArea) for a in areas):
            continue  # outside scroll areas: clipped() checks it; item views scroll their rows
        target = w
        for area in areas:
            area.ensureWidgetVisible(target, 10, 10)
            target = area
        QApplication.processEvents()
        rect = QRect(w.mapTo(window, w.rect().topLeft()), w.size())
        seen = rect.intersected(bounds)
        for area in areas:
            port = area.viewport()
            seen = seen.intersected(QRect(port.mapTo(window, port.rect().topLeft()), port.size()))
        if seen.isEmpty():
            problems.append(f"{type(w).__name__} '{getattr(w, 'text', lambda: '')()}' out of reach")
    return problems


def check(name, root):
    QApplication.processEvents()
    report["sizes"].append([name, window.width(), window.height()])
    report["problems"] += [f"{name}: {p}" for p in clipped(window, root) + unreachable(root)]


pilot = Pilot(window, errors, timeout=240)
pilot.open()
wizard = window.wizard
for index, go in ((FILE, None), (COLUMNS, pilot.to_columns), (CLEANING, pilot.to_cleaning),
                  (CLUSTERING, pilot.to_clustering), (RUN, pilot.to_run)):
    if go is not None:
        go()
    check(wizard.current_page.title, wizard)
pilot.run()
results = window.results
for view in results.views:
    if is_3d(view):
        continue  # no OpenGL on the offscreen platform
    results.show_view(view)
    settle(100)
    check(view.title, results)
segments = results.view("segments")
results.show_view(segments)
settle(50)
report["strategy"] = segments.model.profile(0).strategy
report["details"] = segments.details.text()
report["details_visible"] = segments.details.isVisibleTo(window)
last = segments.model.rowCount() - 1
segments.table.setCurrentIndex(segments.proxy.mapFromSource(segments.model.index(last, 0)))
report["last_strategy"] = segments.model.profile(last).strategy
report["details_after_click"] = segments.details.text()
report["errors"] = [str(e) for e in errors]
window.close()
worker.shutdown(10_000)
print("REPORT " + json.dumps(report))
"""


@pytest.mark.parametrize(
    ("factor", "width", "height"),
    [(2.0, 800, 500), (1.5, 683, 427)],
    ids=["200%-1600x1000", "150%-1024x640"],
)
def test_every_page_and_view_is_usable_under_a_scale_factor(
    factor: float, width: int, height: int
) -> None:
    """``width`` × ``height`` logical pixels: the screen's pixels divided by ``factor``."""
    env = {
        **os.environ,
        "QT_SCALE_FACTOR": str(factor),
        "QT_QPA_PLATFORM": "offscreen",
        "QT_ENABLE_HIGHDPI_SCALING": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(HERE), str(width), str(height)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["ratio"] == pytest.approx(factor), "the scale factor did not apply"
    assert report["errors"] == []
    assert len(report["sizes"]) >= 10  # five pages and the result views
    for name, shown_width, shown_height in report["sizes"]:
        assert (shown_width, shown_height) == (width, height), (
            f"{name} made the window larger than the screen"
        )
    assert report["problems"] == [], "\n".join(report["problems"])
    assert report["details_visible"] and report["strategy"] in report["details"].replace(
        "&amp;", "&"
    ), "the Segments tab shows the whole strategy of a segment without sideways scrolling"
    assert report["last_strategy"] in report["details_after_click"].replace("&amp;", "&")
    assert report["last_strategy"] != report["strategy"]  # the pane follows the current row
