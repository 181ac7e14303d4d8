"""The wizard state (issue 11): params held once, changed through update(), widgets bound to it."""

from __future__ import annotations

from typing import Any

import pytest

from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import AnalysisParams, CleaningOptions, ClusteringOptions

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox

from rfm_desktop.gui.binding import bind
from rfm_desktop.gui.wizard.state import WizardState


def opened(**fields: Any) -> tuple[WizardState, list[tuple[Any, Any, frozenset[str]]]]:
    """A state with params for shop.csv, and the paramsChanged emissions after that."""
    state = WizardState()
    state.apply_params(AnalysisParams("shop.csv", **fields))
    seen: list[tuple[Any, Any, frozenset[str]]] = []
    state.paramsChanged.connect(lambda old, new, changed: seen.append((old, new, changed)))
    return state, seen


def test_update_emits_the_old_and_new_params_and_the_changed_fields(qtbot: Any) -> None:
    state, seen = opened()
    before = state.params
    after = state.update(snapshot_date="2011-12-10", date_order="dmy")
    assert state.params is after and after.snapshot_date == "2011-12-10"
    assert after.date_order == "dmy" and after.cleaning == before.cleaning
    assert seen == [(before, after, frozenset({"snapshot_date", "date_order"}))]
    state.update(date_order="dmy")  # no change, no signal
    assert len(seen) == 1


def test_a_nested_field_by_its_dotted_name(qtbot: Any) -> None:
    state, seen = opened()
    state.set("clustering.k_max", 7)
    assert state.params.clustering == ClusteringOptions(k_max=7)
    assert state.get("clustering.k_max") == 7
    assert seen[0][2] == frozenset({"clustering"})


def test_update_checks_the_limits_like_the_cli_and_keeps_the_params(qtbot: Any) -> None:
    state, seen = opened()
    before = state.params
    with pytest.raises(ParamsError, match="IQR multiplier"):
        state.set("cleaning.iqr_multiplier", 20.0)
    with pytest.raises(ParamsError, match="snapshot date"):
        state.update(snapshot_date="31/12/2011")
    assert state.params is before and seen == []


def test_other_clusters_drop_the_names_and_a_change_by_hand_drops_the_preset(qtbot: Any) -> None:
    state, seen = opened(preset="seed", cluster_names=((0, "VIP"),))
    state.update(scoring=state.params.scoring.__class__(bins=4))  # scores: same clusters
    assert state.params.cluster_names == ((0, "VIP"),) and state.params.preset is None
    state.update(preset="seed", cluster_names=((1, "Lost"),))
    state.update(cleaning=CleaningOptions(drop_duplicates=True))
    assert state.params.cluster_names == () and state.params.preset is None
    assert seen[-1][2] == frozenset({"cleaning", "cluster_names", "preset"})


def test_without_a_file_there_are_no_params_to_change(qtbot: Any) -> None:
    state = WizardState()
    assert state.path is None and state.cleaning == CleaningOptions()  # the defaults are shown
    with pytest.raises(RuntimeError):
        state.update(snapshot_date="2011-12-10")


def test_a_bound_widget_edits_the_state_and_follows_it_without_echoes(qtbot: Any) -> None:
    state, seen = opened()
    spin, box, combo = QSpinBox(), QCheckBox(), QComboBox()
    spin.setRange(2, 50)
    for mode in ("keep", "drop", "segment"):
        combo.addItem(mode.title(), mode)
    for widget in (spin, box, combo):
        qtbot.addWidget(widget)
    bindings = [
        bind(spin, state, "clustering.k_max"),
        bind(box, state, "cleaning.drop_duplicates"),
        bind(combo, state, "cleaning.outliers"),
    ]
    edits: list[str] = []
    for binding in bindings:
        binding.edited.connect(lambda key=binding.key: edits.append(key))
    assert (spin.value(), box.isChecked(), combo.currentData()) == (10, False, "keep")

    spin.setValue(7)  # the analyst's edit: one change of the state, no echo back
    assert state.params.clustering.k_max == 7
    assert len(seen) == 1 and seen[0][2] == frozenset({"clustering"})
    assert edits == ["clustering.k_max"]

    state.apply_params(  # set elsewhere (a saved analysis): the widgets follow, nothing is edited
        state.params.replace(
            clustering=ClusteringOptions(k_max=12),
            cleaning=CleaningOptions(drop_duplicates=True, outliers="segment"),
        )
    )
    assert (spin.value(), box.isChecked(), combo.currentData()) == (12, True, "segment")
    assert len(seen) == 2 and edits == ["clustering.k_max"]
    assert state.params.cleaning == CleaningOptions(drop_duplicates=True, outliers="segment")

    with state.sync():  # a widget refilled by its page is not an edit either
        box.setChecked(False)
    assert state.params.cleaning.drop_duplicates and len(seen) == 2
