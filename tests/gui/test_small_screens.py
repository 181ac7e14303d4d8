"""Every wizard page and result view laid out at 1024×640: nothing cut off, squeezed or zero-size.

Content that does not fit scrolls (page and view scroll areas); tests here check what can be
measured: the window keeps 1024×640 (no minimum size larger than the screen), controls outside a
scroll area lie inside the window at their minimum size, the four K charts keep a readable height,
and the Segments table keeps one-line rows and a readable strategy column.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QTabBar,
    QWidget,
)

from rfm_desktop.gui.wizard.wizard import CLEANING, CLUSTERING, COLUMNS, FILE, RUN

SMALL = QSize(1024, 640)
CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QLabel)


def _in_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def clipped(window: QWidget, root: QWidget) -> list[str]:
    """Visible controls under ``root`` that are zero-size, below their minimum size, or (outside a
    scroll area) reaching beyond the window."""
    QApplication.processEvents()
    problems = []
    bounds = window.rect()
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(window) or not isinstance(w, CONTROLS):
            continue
        if isinstance(w.parentWidget(), QAbstractSpinBox | QComboBox | QTabBar):
            continue  # the editor inside a spin or combo box, a tab bar's scroll arrows: Qt's own parts
        if isinstance(w, QLabel) and not w.text().strip():
            continue
        name = f"{type(w).__name__} '{getattr(w, 'text', lambda: '')() or w.objectName()}'"
        if w.width() <= 0 or w.height() <= 0:
            problems.append(f"{name} has no size")
            continue
        if not isinstance(w, QLabel):
            hint = w.minimumSizeHint()
            if w.width() < hint.width() - 1 or w.height() < hint.height() - 1:
                problems.append(
                    f"{name} squeezed to {w.width()}×{w.height()} (needs {hint.width()}×{hint.height()})"
                )
        if not _in_scroll_area(w):
            rect = QRect(w.mapTo(window, w.rect().topLeft()), w.size())
            if not bounds.contains(rect):
                problems.append(f"{name} cut off at {rect.getRect()}")
    return problems


@pytest.fixture(params=[1.0, 1.5], ids=["100%", "text-150%"])
def scaled_window(request: Any, qtbot: Any, errors: list) -> Any:
    """A main window built with the application font scaled: text 1.5 times larger stands in for
    150 % scaling (QT_SCALE_FACTOR must be set before the application starts; the screenshots
    check the real thing)."""
    from rfm_desktop.gui import worker
    from rfm_desktop.gui.main_window import MainWindow

    app = QApplication.instance()
    original = app.font()
    font = app.font()
    font.setPointSizeF(font.pointSizeF() * request.param)
    app.setFont(font)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.wizard.cancel_jobs()
    worker.shutdown(10_000)
    app.setFont(original)


def test_every_page_and_view_is_usable_at_1024_by_640(scaled_window: Any, errors: list) -> None:
    from rfm_desktop.gui.autopilot import Pilot

    window = scaled_window
    pilot = Pilot(window, errors, timeout=120)
    window.resize(SMALL)
    pilot.open()
    wizard = window.wizard
    QApplication.processEvents()
    assert window.size() == SMALL, (
        "a minimum size larger than 1024×640 pushes the window off screen"
    )
    for index, go in (
        (FILE, None),
        (COLUMNS, pilot.to_columns),
        (CLEANING, pilot.to_cleaning),
        (CLUSTERING, pilot.to_clustering),
        (RUN, pilot.to_run),
    ):
        if go is not None:
            go()
        assert wizard.current_index == index
        assert window.size() == SMALL, wizard.current_page.title
        assert clipped(window, wizard) == [], wizard.current_page.title
        if index == CLUSTERING:
            for plot in wizard.clustering_page.charts.plots.values():
                assert plot.height() >= 150, "the K charts stay readable; the page scrolls"
            scroll = wizard.clustering_page.findChild(QScrollArea, "pageScroll")
            charts = wizard.clustering_page.charts
            for plot in charts.plots.values():  # pyqtgraph cuts off what its view cannot hold
                right = plot.mapRectToScene(plot.boundingRect()).right()
                assert right <= charts.graphics.viewport().width() + 1, "a K chart cut off"
            bottom = charts.mapTo(scroll.widget(), charts.rect().bottomLeft()).y()
            assert bottom <= scroll.widget().height(), "the lowest charts can be scrolled to"
    pilot.run()
    results = window.results
    assert window.size() == SMALL
    for view in results.views:
        results.show_view(view)
        assert window.size() == SMALL
        assert clipped(window, results) == [], view.title

    segments = results.view("segments")
    results.show_view(segments)
    QApplication.processEvents()
    from rfm_desktop.gui.views.segments import COL_STRATEGY

    header = segments.table.horizontalHeader()
    assert header.sectionSize(COL_STRATEGY) >= segments.strategy_min_width
    line = segments.table.fontMetrics().height()
    for row in range(segments.model.rowCount()):
        assert segments.table.rowHeight(row) <= 2.5 * line, "rows stay one line high"
    strategy = segments.model.index(0, COL_STRATEGY)
    assert (
        segments.model.data(strategy, 3) == segments.model.profile(0).strategy
    )  # tooltip: the whole text


def test_the_k_charts_sit_beside_the_settings_whole_on_a_wide_window(
    qtbot: Any, errors: list
) -> None:
    # at 1440×900 the charts go beside the settings, and every chart, the stability chart
    # with its title included, fits its view (a long stability title made them wider than it)
    from rfm_desktop.gui import worker
    from rfm_desktop.gui.autopilot import Pilot
    from rfm_desktop.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.resize(QSize(1440, 900))
    pilot = Pilot(window, errors, timeout=120)
    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    pilot.evaluate_k()
    QApplication.processEvents()
    page = window.wizard.clustering_page
    charts = page.charts
    assert page.splitter.orientation() == Qt.Orientation.Horizontal
    assert charts.stability_plot.isVisible()
    for plot in [*charts.plots.values(), charts.stability_plot]:
        right = plot.mapRectToScene(plot.boundingRect()).right()
        assert right <= charts.graphics.viewport().width() + 1, plot.titleLabel.text
    window.wizard.cancel_jobs()
    worker.shutdown(10_000)
