"""Bind a widget to one field of the wizard state, both ways, without feedback loops.

``bind(spin, state, "clustering.k_max")``: an edit of the widget goes through
:meth:`WizardState.set` (so through ``update()`` and its checks); a change of the state, from
any page, a preset or a saved analysis, comes back to the widget. Echoes are cut in one place:
while the state notifies its listeners (``state.syncing``), widget signals are not edits.
The pattern of glue's ``autoconnect_callbacks_to_qt`` and Orange's ``gui.spin(box, self, "k")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

if TYPE_CHECKING:
    from rfm_desktop.gui.wizard.state import WizardState

#: returned by a ``to_widget`` converter: leave the widget as it is
KEEP = object()


def _access(widget: QWidget) -> tuple[Any, Callable[[], Any], Callable[[Any], None]]:
    """(edit signal, read, write) of the widget kinds the pages use."""
    if isinstance(widget, QAbstractButton):  # check boxes and radio buttons
        return widget.toggled, widget.isChecked, widget.setChecked
    if isinstance(widget, QComboBox):  # by item data, like the pages fill them
        return (
            widget.currentIndexChanged,
            widget.currentData,
            lambda value: widget.setCurrentIndex(max(widget.findData(value), 0)),
        )
    if isinstance(widget, QSpinBox | QDoubleSpinBox):
        return widget.valueChanged, widget.value, widget.setValue
    if isinstance(widget, QDateEdit):
        return widget.dateChanged, widget.date, widget.setDate
    if isinstance(widget, QLineEdit):
        return widget.editingFinished, widget.text, widget.setText
    raise TypeError(f"cannot bind a {type(widget).__name__}")


class Binding(QObject):
    """One widget and one state field; lives as long as the widget (its Qt child)."""

    #: the analyst edited the widget (after the edit went into the state; echoes do not count)
    edited = Signal()

    def __init__(
        self,
        widget: QWidget,
        state: WizardState,
        key: str,
        to_widget: Callable[[Any], Any] | None = None,
        from_widget: Callable[[Any], Any] | None = None,
    ):
        super().__init__(widget)
        self.widget, self.state, self.key = widget, state, key
        self.field = key.split(".")[0]
        self.to_widget = to_widget or (lambda value: value)
        self.from_widget = from_widget or (lambda value: value)
        signal, self._read, self._write = _access(widget)
        signal.connect(self._edited)
        state.paramsChanged.connect(self._changed)
        self.refresh()

    def _edited(self, *_args: Any) -> None:
        if self.state.syncing or self.state.path is None:
            return  # an echo of a state change, or nothing to change yet
        self.state.set(self.key, self.from_widget(self._read()))
        self.edited.emit()

    def _changed(self, _old: Any, _new: Any, changed: frozenset[str]) -> None:
        if self.field in changed:
            self.refresh()

    def refresh(self) -> None:
        """Show the state's value (the widget's own signals fire, as echoes)."""
        value = self.to_widget(self.state.get(self.key))
        if value is KEEP or value == self._read():
            return
        with self.state.sync():
            self._write(value)


def bind(
    widget: QWidget,
    state: WizardState,
    key: str,
    *,
    to_widget: Callable[[Any], Any] | None = None,
    from_widget: Callable[[Any], Any] | None = None,
) -> Binding:
    """Keep ``widget`` and the state field ``key`` (dotted: ``"cleaning.outliers"``) equal.

    Parameters
    ----------
    widget
        A check box or radio button (bool), combo box (its items' data), spin box, date edit
        or line edit.
    key
        The params field, dotted for a nested one; its top-level name decides which
        ``paramsChanged`` refresh the widget.
    to_widget, from_widget
        Converters between the field's value and the widget's (default: the same value);
        ``to_widget`` may return :data:`KEEP` to leave the widget as it is, ``from_widget``
        may read other widgets (a value that needs two widgets, like a snapshot date).

    Returns
    -------
    Binding
        The connection, owned by the widget.
    """
    return Binding(widget, state, key, to_widget, from_widget)
