"""The wizard's lists and the file dialog follow the tables of core/choices.py and
core/file_types.py (tests/core/test_vocabularies.py covers the CLI, params and engine)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pytestqt")

from rfm_desktop.core.choices import OUTLIER_MODES, SCALERS, ScalerChoice
from rfm_desktop.core.file_types import FILE_TYPES, SUPPORTED_EXTENSIONS
from rfm_desktop.gui import texts
from rfm_desktop.gui.wizard.wizard import AnalysisWizard


def _items(combo: Any) -> list[tuple[object, str]]:
    return [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]


def test_a_new_scaler_row_is_in_the_wizard_list(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = ScalerChoice(
        "Max-abs (-1 to 1)", "Max-abs: -1 to 1.", "sklearn.preprocessing.MaxAbsScaler"
    )
    monkeypatch.setitem(SCALERS, "maxabs", row)
    wizard = AnalysisWizard()
    qtbot.addWidget(wizard)
    assert _items(wizard.clustering_page.scaler_combo) == [
        (name, choice.label) for name, choice in SCALERS.items()
    ]
    assert _items(wizard.clustering_page.scaler_combo)[-1] == ("maxabs", "Max-abs (-1 to 1)")
    assert _items(wizard.cleaning_page.outlier_combo) == [
        (mode, choice.label) for mode, choice in OUTLIER_MODES.items()
    ]


def test_the_scaler_tip_and_the_file_dialog_follow_the_tables() -> None:
    assert all(c.help in texts.tip("scaler") for c in SCALERS.values())
    groups = texts.FILE_FILTERS.split(";;")
    assert groups[0].startswith("Transaction exports (")
    assert groups[0].count("*.") == len(SUPPORTED_EXTENSIONS)
    for extension in SUPPORTED_EXTENSIONS:  # .xlsb, .ods, .tsv.gz, .txt.gz were missing once
        assert f"*{extension} " in groups[0] or f"*{extension})" in groups[0]
    assert [g.split(" (")[0] for g in groups[1:-1]] == [t.title for t in FILE_TYPES]
    assert groups[-1] == "All files (*)"


def test_the_report_knows_the_views_by_their_type(qtbot: Any) -> None:
    from rfm_desktop.gui import images
    from rfm_desktop.gui.views import ALL_VIEWS, KEvaluationView, SegmentsView, View3D

    class KeyFigures(SegmentsView):  # a name starting with "k" is not the K charts
        view_name = "key-figures"

    views = [cls() for cls in [*ALL_VIEWS, KeyFigures]]
    for view in views:
        qtbot.addWidget(view)
    assert [type(v) for v in views if images.is_k_charts(v)] == [KEvaluationView]
    assert [type(v) for v in views if images.is_3d(v)] == [View3D]


def test_the_run_summary_names_the_cleaning_steps_as_the_cleaning_page_does() -> None:
    import html

    from rfm_desktop.core import cleaning
    from rfm_desktop.core.params import AnalysisParams, CleaningOptions
    from rfm_desktop.gui.wizard.run_page import describe

    options = CleaningOptions(drop_cancellations=False, drop_duplicates=True, currency="EUR")
    text = html.unescape(describe(AnalysisParams(input_path="t.csv", cleaning=options)))
    for step in cleaning.STEPS:
        if step.option is None:
            continue
        said = step.label[:1].lower() + step.label[1:] in text
        assert said == bool(getattr(options, step.option)), step.name


def test_the_table_models_share_one_base_for_headers_and_alignment(qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    from rfm_desktop.gui.views import customers, segments
    from rfm_desktop.gui.views.cleaning import STEP_COLUMNS
    from rfm_desktop.gui.views.tables import ColumnTableModel, RowTableModel

    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    for model, columns in (
        (customers.CustomerModel(), customers.COLUMNS),
        (segments.SegmentsModel(), segments.COLUMNS),
        (RowTableModel(STEP_COLUMNS), STEP_COLUMNS),
    ):
        assert isinstance(model, ColumnTableModel)
        assert model.columnCount() == len(columns)
        horizontal = Qt.Orientation.Horizontal
        assert [model.headerData(i, horizontal) for i in range(len(columns))] == [
            c.header for c in columns
        ]
        tips = [
            model.headerData(i, horizontal, Qt.ItemDataRole.ToolTipRole)
            for i in range(len(columns))
        ]
        assert tips == [c.tooltip or None for c in columns]
        assert [model.alignment(i) for i in range(len(columns))] == [
            right if c.numeric else left for c in columns
        ]
