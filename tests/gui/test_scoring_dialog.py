"""The scores and segment rules editor: live coverage map, messages for bad tables, CSV round trip,
and the chosen options travelling into AnalysisParams, saved analyses and the next run; the export
dialog's files per named RFM segment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from test_rfm_views import write_shop

from rfm_desktop.core.params import AnalysisParams, ClusteringOptions, ScoringOptions
from rfm_desktop.core.pipeline import run
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.core.rules import RFM_02, RFM_03, RuleSet, SegmentRule, rules_csv
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.scoring_dialog import COL_COVERAGE, COL_NAME, ScoringDialog


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> AnalysisResult:
    shop = write_shop(tmp_path_factory.mktemp("shop"))
    return run(AnalysisParams(str(shop), clustering=ClusteringOptions(k=3)))


def _dialog(
    qtbot: Any, scoring: ScoringOptions | None = None, result: AnalysisResult | None = None
) -> Any:
    dialog = ScoringDialog(scoring if scoring is not None else ScoringOptions(), result)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _set(dialog: ScoringDialog, row: int, col: int, value: Any) -> None:
    item = dialog.rules_table.item(row, col)
    if col == COL_NAME:
        item.setText(value)
    else:
        item.setData(Qt.ItemDataRole.EditRole, value)


def _coverage_texts(dialog: ScoringDialog) -> list[str]:
    return [
        dialog.rules_table.item(r, COL_COVERAGE).text()
        for r in range(dialog.rules_table.rowCount())
    ]


def test_the_builtin_table_and_its_map(qtbot: Any) -> None:
    dialog = _dialog(qtbot)
    assert dialog.rules() is RFM_02 and dialog.scoring() == ScoringOptions()
    assert dialog.coverage.bins == 5 and len(dialog.coverage.cells) == 125
    # rfm-0.2 leaves 36 of the 125 cells to "Others", and every rule takes at least one cell
    assert "125 score cells: 89 taken by a rule, 36 fall to “Others”." == dialog.map_summary.text()
    assert _coverage_texts(dialog)[:3] == ["8 cells", "28 cells", "2 cells"]
    # the map paints what the coverage says: R 5 F 5 M 5 is Champions (rule 1), R 1 F 1 M 3 is Others
    assert dialog.map.describe_cell(5, 5, 5) == "R 5 · F 5 · M 5 → Champions (rule 1)"
    assert dialog.map.describe_cell(1, 1, 3) == "R 1 · F 1 · M 3 → Others (no rule matches)"
    rect = dialog.map.cell_rect(4, 2, 3)
    assert dialog.map.cell_at(rect.center().toPoint()) == (4, 2, 3)
    dialog.table_combo.setCurrentIndex(dialog.table_combo.findData("rfm-0.3"))
    dialog._table_chosen(dialog.table_combo.currentIndex())  # what picking it in the list does
    assert dialog.rules() is RFM_03
    assert dialog.map.describe_cell(5, 5, 5) == "R 5 · F 5 · M 5 → Champions (rule 1)"
    assert dialog.map.describe_cell(4, 5, 5) == "R 4 · F 5 · M 5 → Potential Loyalist (rule 2)"


def test_an_edit_that_makes_a_rule_unreachable_is_flagged_live(qtbot: Any) -> None:
    dialog = _dialog(qtbot)
    _set(dialog, 2, 3, 2)  # New Customers: F 2–1 can never hold a score
    assert _coverage_texts(dialog)[2] == "never matches (empty range)"
    assert dialog.coverage.rule_stats[2].status == "never"
    assert (
        "Rule 'New Customers' can never match on scores 1–5: its F range is empty."
        in dialog.flags.text()
    )
    assert dialog.map.describe_cell(5, 1, 1) == "R 5 · F 1 · M 1 → Potential Loyalist (rule 5)"
    # a rule behind one that takes all its cells is shadowed
    dialog.add_rule()
    row = dialog.rules_table.rowCount() - 1
    for col, value in zip(range(1, 7), (4, 5, 4, 5, 4, 5), strict=True):
        _set(dialog, row, col, value)
    assert _coverage_texts(dialog)[row] == "never matches: shadowed by Champions"
    assert dialog.coverage.shadowed == ("New segment 11",)
    # moved to the top it takes Champions' cells, and Champions is the one shadowed
    for _ in range(row):
        dialog.move_rule(-1)
    assert dialog.rules().rules[0].name == "New segment 11"
    assert dialog.coverage.shadowed == ("Champions",)
    assert dialog.map.describe_cell(5, 5, 5) == "R 5 · F 5 · M 5 → New segment 11 (rule 1)"
    scoring = dialog.scoring()
    assert scoring.rules.name == "custom" and scoring.rules.source == "edited from rfm-0.2"
    assert scoring.rules.order == ()  # a new name: "better" follows the table's order
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()


@pytest.mark.parametrize(
    ("row", "col", "value", "message"),
    [
        (
            0,
            2,
            7,
            "Rule 'Champions': R bound 7 is outside the scores 1–5. Score bounds run from 1 to 5",
        ),
        (0, COL_NAME, "", "A segment rule needs a name."),
        (
            1,
            COL_NAME,
            "Champions",
            "Two rules are called 'Champions'; each segment name must be unique.",
        ),
        (
            1,
            COL_NAME,
            "Others",
            "'Others' is kept for customers no rule matches; give the rule another name.",
        ),
        (
            1,
            COL_NAME,
            "C1 · VIP",
            "The segment name 'C1 · VIP' looks like a cluster name (C1 · …); choose another.",
        ),
    ],
)
def test_a_bad_table_shows_a_message_not_a_traceback(
    qtbot: Any, row: int, col: int, value: Any, message: str
) -> None:
    dialog = _dialog(qtbot)
    _set(dialog, row, col, value)
    assert dialog.message.text().startswith(message)
    assert dialog.problem.startswith(message)
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    assert dialog.coverage is not None  # the last good map stays, the painter says to fix the table
    assert dialog.map.coverage is None


def test_scores_and_break_points(qtbot: Any) -> None:
    dialog = _dialog(qtbot)
    dialog.bins_spin.setValue(3)
    assert dialog.coverage.bins == 3 and len(dialog.coverage.cells) == 27
    assert (
        dialog.scale_note.text()
        == "Bounds are written for scores 1–5 and read on 1–3 (as the map shows)."
    )
    assert dialog.rewrite_button.isVisibleTo(dialog)
    dialog.break_edits["frequency"].setText("1, x")
    assert dialog.message.text().startswith("'x' in the frequency break points is not a number.")
    assert dialog.map.coverage is dialog.coverage  # a break problem leaves the rule map standing
    dialog.break_edits["frequency"].setText("4, 2")
    assert "The break points for frequency must be increasing numbers" in dialog.message.text()
    dialog.break_edits["frequency"].setText("1, 2, 4")
    assert dialog.message.text().startswith(
        "3 break points for frequency make 4 scores, but the run uses 3."
    )
    dialog.break_edits["frequency"].setText("1, 3")
    dialog.break_edits["monetary"].setText("100, 1000.5")
    assert dialog.message.text() == ""
    assert dialog.scoring().breaks == (("frequency", (1.0, 3.0)), ("monetary", (100.0, 1000.5)))
    dialog.rewrite_for_bins()  # the table written for 1–3, as the map reads it
    rules = dialog.rules()
    assert rules.scale == 3 and rules.rules[0] == SegmentRule(
        "Champions", (3, 3), (3, 3), (3, 3), RFM_02.rules[0].strategy
    )
    assert not dialog.rewrite_button.isVisibleTo(dialog)
    assert dialog.scoring().effective_rules == rules


def test_save_and_load_a_rules_csv(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot)
    _set(dialog, 9, COL_NAME, "Gone")
    dialog.rules_table.selectRow(9)
    dialog.strategy_edit.setText("Let them go.")
    dialog._strategy_edited("Let them go.")  # what typing does
    edited = dialog.rules()
    path = tmp_path / "my rules.csv"
    monkeypatch.setattr(
        dialogs, "ask_save_file", lambda *_a: (str(tmp_path / "my rules"), "Rule tables (*.csv)")
    )
    dialog.save_csv()
    assert dialog.saved_to == path and path.read_bytes() == rules_csv(edited)
    assert pd.read_csv(path)["segment"].tolist()[-1] == "Gone"

    other = _dialog(qtbot, ScoringOptions(rules=RFM_03))
    monkeypatch.setattr(dialogs, "ask_open_file", lambda *_a: str(path))
    other.load_csv()
    loaded = other.rules()
    assert loaded.rules == edited.rules and loaded.name == "my rules" and loaded.source == str(path)
    assert loaded.rules[-1].strategy == "Let them go."
    assert other.table_combo.currentData() == "custom"
    # a file that is not a rule table: a message, the table stays as it was
    path.write_text("name,low,high\nX,1,2\n", encoding="utf-8")
    other.load_csv()
    assert other.message.text().startswith(
        "Rules file 'my rules.csv': The rules file lacks the column(s) segment"
    )
    assert other.rules() is loaded


def test_customer_counts_of_the_last_run(qtbot: Any, five: AnalysisResult) -> None:
    dialog = _dialog(qtbot, five.params.scoring, five)
    counts = five.customers["rfm_segment"].value_counts()
    texts = _coverage_texts(dialog)
    for row, rule in enumerate(RFM_02.rules):
        assert texts[row].endswith(f", {counts.get(rule.name, 0)} customers"), texts[row]
    assert f"{counts['Others']} customers (7.5%) have scores no rule covers" in dialog.flags.text()
    dialog.bins_spin.setValue(4)  # other scores than the run's: no counts
    assert not any("customers" in t for t in _coverage_texts(dialog))
    assert "Customer counts show once a run has used these scores." in dialog.map_summary.text()


def test_the_editor_from_the_wizard_and_from_the_results(
    window: Any, pilot: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rfm_desktop.core.analysis_file import load_analysis, save_analysis

    pilot.open()
    pilot.to_columns()
    pilot.to_cleaning()
    pilot.to_clustering()
    page = window.wizard.clustering_page
    page.k_min_spin.setValue(3)
    page.k_max_spin.setValue(4)
    seen: list[ScoringDialog] = []

    def accept_with(bins: int, table: str) -> Any:
        def configure(dialog: ScoringDialog) -> bool:
            seen.append(dialog)
            dialog.bins_spin.setValue(bins)
            dialog.table_combo.setCurrentIndex(dialog.table_combo.findData(table))
            dialog._table_chosen(dialog.table_combo.currentIndex())
            return True

        return configure

    monkeypatch.setattr(dialogs, "run_dialog", accept_with(4, "rfm-0.3"))
    page.scoring_button.click()
    state = window.wizard.state
    assert seen and seen[0].result is None
    assert state.scoring == ScoringOptions(bins=4, rules=RFM_03)
    assert page.scoring_label.text() == "4 scores (quantile breaks); rule table rfm-0.3 (10 rules)"
    # the options travel in the params and in a saved analysis
    saved = save_analysis(state.params, tmp_path / "a.rfm.json")
    assert load_analysis(saved).scoring == ScoringOptions(bins=4, rules=RFM_03)
    result = pilot.run()
    assert result.bins == 4 and result.rules == RFM_03.rescaled(4)
    rfm_view = window.results.view("rfm")
    assert rfm_view.grid.rowCount() == 4

    # from the results: the editor sees the result, and accepting runs again with the new scores
    monkeypatch.setattr(dialogs, "run_dialog", accept_with(3, "rfm-0.2"))
    with qtbot.waitSignal(window.resultShown, timeout=120_000) as shown:
        rfm_view.scoring_button.click()
    assert seen[1].result is result
    assert seen[1].buttons.button(seen[1].buttons.StandardButton.Ok).text() == "Apply and run again"
    again = shown.args[0]
    assert again.bins == 3 and again.rules == RFM_02.rescaled(3)
    assert window.results.view("rfm").grid.rowCount() == 3
    assert set(again.customers["r_score"]) <= {1, 2, 3}


def test_a_custom_table_survives_a_saved_analysis(tmp_path: Path) -> None:
    from rfm_desktop.core.analysis_file import load_analysis, save_analysis

    table = RuleSet(
        "mine",
        (
            SegmentRule("Best", (3, 3), (2, 3), (1, 3), "Thank them."),
            SegmentRule("Rest", (1, 3), (1, 3), (1, 3)),
        ),
        3,
        source="edited from rfm-0.2",
    )
    scoring = ScoringOptions(bins=3, breaks=(("recency", (30.0, 90.0)),), rules=table)
    path = save_analysis(AnalysisParams("shop.csv", scoring=scoring), tmp_path / "x.rfm.json")
    assert load_analysis(path).scoring == scoring
