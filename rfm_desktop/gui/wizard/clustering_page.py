"""Step 4: features, transform, scaler and K; "Evaluate K" streams the four charts point by point."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core import pipeline
from rfm_desktop.core.choices import SCALERS
from rfm_desktop.core.params import (
    FEATURES,
    K_LIMIT,
    SEED_MAX,
    AnalysisParams,
    ClusteringOptions,
    seed_preset,
)
from rfm_desktop.core.result import KScore, KSweep
from rfm_desktop.gui.binding import KEEP, bind
from rfm_desktop.gui.scoring_dialog import describe_scoring
from rfm_desktop.gui.texts import tip, warnings_html
from rfm_desktop.gui.views.kcharts import KChartsWidget
from rfm_desktop.gui.wizard.page import WizardPage

TRANSFORMS = (("log1p", "Log (log1p) – tames big spenders"), ("none", "None – raw values"))
PRESET_TEXT = "Write-up settings (raw R/F/M, K = 4)"


class _WrappingPane(QWidget):
    """A pane whose minimum height follows its width: a splitter asks for the minimum size
    only, so without this the wrapped texts' extra lines squeezed the settings above them
    (narrow pages at 150 %/200 % scaling)."""

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            need = layout.totalHeightForWidth(self.width())
            if need != self.minimumHeight():
                self.setMinimumHeight(need)


class ClusteringPage(WizardPage):
    #: the analyst wants to edit the scores and segment rules (the main window opens the dialog)
    scoringRequested = Signal()
    title = "4. Clustering"
    subtitle = (
        "How customers are grouped into segments with k-means. Not sure about K? Press "
        "“Evaluate K” and click a point on any chart to choose it."
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.feature_boxes: dict[str, QCheckBox] = {}
        features_row = QHBoxLayout()
        for name in FEATURES:
            box = QCheckBox(name.capitalize())
            box.setToolTip(tip(f"feature.{name}"))
            box.toggled.connect(self.completeChanged)  # no feature ticked: the page is not done
            features_row.addWidget(box)
            self.feature_boxes[name] = box
        features_row.addStretch(1)

        self.transform_combo = QComboBox()
        for value, text in TRANSFORMS:
            self.transform_combo.addItem(text, value)
        self.transform_combo.setToolTip(tip("transform"))
        self.scaler_combo = QComboBox()
        for value, choice in SCALERS.items():
            self.scaler_combo.addItem(choice.label, value)
        self.scaler_combo.setToolTip(tip("scaler"))

        self.fixed_radio = QRadioButton("Fixed K:")
        self.fixed_radio.setToolTip(tip("k_fixed"))
        self.range_radio = QRadioButton("Best K from")
        self.range_radio.setToolTip(tip("k_range"))
        self.k_group = QButtonGroup(self)
        self.k_group.addButton(self.fixed_radio)
        self.k_group.addButton(self.range_radio)
        self.k_spin = self._spin(2, K_LIMIT, tip("k_fixed"))
        self.k_min_spin = self._spin(2, K_LIMIT, tip("k_min"))
        self.k_max_spin = self._spin(2, K_LIMIT, tip("k_max"))
        self.fixed_radio.toggled.connect(self._update_enabled)
        self.sweep_box = QCheckBox("also score the range below")
        self.sweep_box.setToolTip(tip("k_sweep"))
        self.sweep_box.toggled.connect(self._update_enabled)
        fixed_row = QHBoxLayout()
        fixed_row.addWidget(self.fixed_radio)
        fixed_row.addWidget(self.k_spin)
        fixed_row.addWidget(self.sweep_box)
        fixed_row.addStretch(1)
        range_row = QHBoxLayout()
        range_row.addWidget(self.range_radio)
        range_row.addWidget(self.k_min_spin)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.k_max_spin)
        range_row.addStretch(1)
        # a QSpinBox stops at 2**31 - 1; whole numbers in a double spin box reach SEED_MAX exactly
        self.seed_spin = QDoubleSpinBox()
        self.seed_spin.setDecimals(0)
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setMaximumWidth(self.fontMetrics().horizontalAdvance(str(SEED_MAX)) + 50)
        self.seed_spin.setToolTip(tip("seed"))

        form = QFormLayout()
        form.addRow("Features:", features_row)
        form.addRow("Transform:", self.transform_combo)
        form.addRow("Scaler:", self.scaler_combo)
        form.addRow("Segments (K):", fixed_row)
        form.addRow("", range_row)
        form.addRow("Random seed:", self.seed_spin)
        settings_box = QGroupBox("Settings")
        settings_box.setLayout(form)

        self.evaluate_button = QPushButton("Evaluate K")
        self.evaluate_button.setToolTip(tip("evaluate"))
        self.evaluate_button.clicked.connect(self.evaluate)
        self.preset_button = QPushButton(PRESET_TEXT)
        self.preset_button.setToolTip(tip("seed_preset"))
        self.preset_button.clicked.connect(self.apply_seed_preset)
        buttons = QHBoxLayout()
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.preset_button)
        buttons.addStretch(1)
        self.suggestion = QLabel()
        self.suggestion.setWordWrap(True)
        self.suggestion.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings_label = (
            QLabel()
        )  # clustering warnings of the last evaluation (few customers, …)
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.TextFormat.RichText)
        self.warnings_label.setVisible(False)
        silhouette = QLabel(f"<small>{tip('silhouette')}</small>")
        silhouette.setWordWrap(True)

        left = _WrappingPane()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(settings_box)
        left_layout.addWidget(self._scoring_box())
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.suggestion)
        left_layout.addWidget(self.warnings_label)
        left_layout.addWidget(silhouette)
        left_layout.addStretch(1)

        self.charts = KChartsWidget()
        self.charts.kPicked.connect(self.pick_k)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("clusteringSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.charts)
        self._panes = (left, self.charts)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 800])
        self.body.addWidget(self.splitter, 1)
        #: below this page width the K charts go under the settings (small screens, 150 %/200 %):
        #: what the settings and the charts side by side need (1,160 pixels at 100 %)
        self.stack_below = left.sizeHint().width() + self.charts.side_by_side_width()

        self.sweep: KSweep | None = None
        self.streamed: list[KScore] = []
        self._sweep_for: ClusteringOptions | None = None
        self._sweep_inputs: Any = (
            None  # pipeline.sweep_inputs of the params self.sweep was made for
        )
        self.k_spin.setValue(4)  # shown for a fixed K until the state or a sweep says otherwise
        self._bind()
        self._update_enabled()
        self._describe_choice()
        self.state.paramsChanged.connect(self._params_changed)

    def _bind_feature(self, box: QWidget, name: str) -> None:
        """The box of feature ``name`` is ticked when the features hold it, and edits them."""
        bind(
            box,
            self.state,
            "clustering.features",
            to_widget=lambda features: name in features,
            # none ticked: keep the last choice (the page is not done, see is_complete)
            from_widget=lambda _on: self._ticked_features() or self.state.clustering.features,
        )

    def _bind(self) -> None:
        """Each widget shows a part of ``params.clustering`` and edits it."""
        state = self.state
        for name, box in self.feature_boxes.items():
            self._bind_feature(box, name)
        bind(self.transform_combo, state, "clustering.transform")
        bind(self.scaler_combo, state, "clustering.scaler")
        bind(self.seed_spin, state, "clustering.seed", from_widget=int)
        # K, fixed or a range, is read from six widgets together
        k_widgets: list[tuple[QWidget, Any]] = [
            (self.fixed_radio, lambda c: c.k is not None),
            (self.range_radio, lambda c: c.k is None),
            (
                self.k_spin,
                lambda c: (
                    c.k if c.k is not None else (self.sweep.suggested_k if self.sweep else KEEP)
                ),
            ),
            (self.sweep_box, lambda c: c.k is not None and c.sweep),
            (self.k_min_spin, lambda c: c.k_min),
            (self.k_max_spin, lambda c: c.k_max),
        ]
        for widget, shown in k_widgets:
            bind(
                widget,
                state,
                "clustering",
                to_widget=shown,
                from_widget=lambda _v: self._k_choice(),
            )

    def _ticked_features(self) -> tuple[str, ...]:
        return tuple(name for name in FEATURES if self.feature_boxes[name].isChecked())

    def _k_choice(self) -> ClusteringOptions:
        """The clustering options with K as the K widgets show it."""
        fixed = self.fixed_radio.isChecked()
        k_min, k_max = sorted((self.k_min_spin.value(), self.k_max_spin.value()))
        return dataclasses.replace(
            self.state.clustering,
            k=self.k_spin.value() if fixed else None,
            k_min=k_min,
            k_max=k_max,
            # a fixed K is fitted alone unless the analyst asks for the range's scores too
            sweep=not fixed or self.sweep_box.isChecked(),
        )

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        narrow = self.width() < self.stack_below
        wanted = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
            along = (lambda size: size.height()) if narrow else (lambda size: size.width())
            self.splitter.setSizes([along(w.sizeHint()) for w in self._panes])

    def _spin(self, low: int, high: int, tooltip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setMaximumWidth(self.fontMetrics().horizontalAdvance(str(high)) + 50)
        spin.setToolTip(tooltip)
        return spin

    # -- page API ----------------------------------------------------------------------------
    def is_complete(self) -> bool:
        return self.state.transactions is not None and any(
            b.isChecked() for b in self.feature_boxes.values()
        )

    def _scoring_box(self) -> QGroupBox:
        """The named RFM segments: what the run will use, and the button to the editor."""
        self.scoring_label = QLabel(describe_scoring(self.state.scoring))
        self.scoring_label.setWordWrap(True)
        self.scoring_button = QPushButton("Scores and segment rules…")
        self.scoring_button.setToolTip(
            "Number of scores, break points and the named-segment rule table, "
            "with a live map of which rule takes each score cell."
        )
        self.scoring_button.clicked.connect(self.scoringRequested)
        self.state.paramsChanged.connect(
            lambda _old, new, changed: (
                self.scoring_label.setText(describe_scoring(new.scoring))
                if "scoring" in changed
                else None
            )
        )
        box = QGroupBox("Named RFM segments")
        layout = QVBoxLayout(box)
        layout.addWidget(self.scoring_label)
        layout.addWidget(self.scoring_button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _update_enabled(self) -> None:
        fixed = self.fixed_radio.isChecked()
        self.k_spin.setEnabled(fixed)
        self.sweep_box.setEnabled(fixed)
        self.k_min_spin.setEnabled(not fixed or self.sweep_box.isChecked())
        self.k_max_spin.setEnabled(not fixed or self.sweep_box.isChecked())

    def _params_changed(
        self, _old: AnalysisParams, new: AnalysisParams, changed: frozenset[str]
    ) -> None:
        """The widgets show the new options (bindings); what depends on them follows here."""
        if "clustering" not in changed:
            return
        options = new.clustering
        self._update_enabled()
        self.charts.set_chosen(
            options.k if options.k is not None else (self.sweep.suggested_k if self.sweep else None)
        )
        if self._sweep_for is not None and _sweep_key(options) != _sweep_key(self._sweep_for):
            self.suggestion.setText(
                "The options changed since the last evaluation: press “Evaluate K” again."
            )
        else:
            self._describe_choice()
        self.completeChanged.emit()

    # -- actions -----------------------------------------------------------------------------
    def pick_k(self, k: int) -> None:
        """The analyst clicked K on a chart: use it as the fixed K."""
        if self.state.path is not None:  # a range's scores only if the analyst asked for them
            clustering = self.state.clustering
            self.state.update(
                clustering=dataclasses.replace(
                    clustering, k=int(k), sweep=self.sweep_box.isChecked()
                )
            )

    def apply_seed_preset(self) -> None:
        if self.state.path is None:
            return
        preset = seed_preset(self.state.path)
        self.state.update(
            cleaning=preset.cleaning,
            snapshot_date=None,
            clustering=preset.clustering,
            preset="seed",
        )
        self.suggestion.setText(
            "Write-up settings applied: basic cleaning, outliers kept, raw R/F/M (no transform), "
            "standard scaler, K = 4."
        )

    def evaluate(self) -> None:
        state = self.state
        if state.transactions is None:
            return
        self.cancel_jobs()
        params = state.params
        options = params.clustering
        transactions = state.transactions
        self.charts.clear()
        self.streamed = []
        self.sweep = None
        self.suggestion.setText(f"Evaluating K = {options.k_min} … {options.k_max}…")
        self.evaluate_button.setEnabled(False)

        def job(task: Any) -> Any:
            prepared = pipeline.prepare(
                transactions, params, lambda f, s: task.progress(0.1 * f, s), task.cancelled
            )
            sweep = pipeline.evaluate_k(
                prepared,
                params,
                lambda f, s: task.progress(0.1 + 0.9 * f, s),
                task.cancelled,
                task.partial,
            )
            return sweep, [w.text for w in prepared.warnings if w.stage == "clustering"]

        worker = self.run_job(
            job,
            "Evaluating K…",
            on_finished=lambda done: self._sweep_done(
                done[0], options, pipeline.sweep_inputs(params), done[1]
            ),
            on_partial=self._score_arrived,
            name="evaluate-k",
        )
        worker.done.connect(lambda: self.evaluate_button.setEnabled(True))
        worker.aborted.connect(lambda: self.suggestion.setText("Evaluation cancelled."))

    def show_sweep(self, sweep: KSweep | None, params: AnalysisParams) -> None:
        """The K scores of a finished run: the charts keep them after "Change settings"."""
        if sweep is None or (self.sweep is sweep):
            return
        self.charts.clear()
        self.charts.set_scores(list(sweep.scores))
        self.streamed = list(sweep.scores)
        self._sweep_done(sweep, params.clustering, pipeline.sweep_inputs(params))

    def sweep_for(self, params: AnalysisParams) -> KSweep | None:
        """The last sweep when it was made for the same inputs as ``params`` (reused by Run), else None."""
        if self.sweep is not None and self._sweep_inputs == pipeline.sweep_inputs(params):
            return self.sweep
        return None

    def _score_arrived(self, score: object) -> None:
        assert isinstance(score, KScore)
        self.streamed.append(score)
        self.charts.add_score(score)

    def _sweep_done(
        self,
        sweep: KSweep,
        options: ClusteringOptions,
        inputs: Any,
        warnings: list[str] | None = None,
    ) -> None:
        """``warnings``: the clustering warnings of an evaluation (None: keep what is shown)."""
        self.sweep = sweep
        if warnings is not None:
            self.warnings_label.setText(warnings_html(warnings))
            self.warnings_label.setVisible(bool(warnings))
        self._sweep_for = options
        self._sweep_inputs = inputs
        self.charts.set_suggested(sweep.suggested_k, sweep.reason)
        chosen = self.state.clustering.k
        self.charts.set_chosen(chosen if chosen is not None else sweep.suggested_k)
        if self.range_radio.isChecked():
            with self.state.sync():  # shown, not chosen: the run uses the best K of the range
                self.k_spin.setValue(sweep.suggested_k)
        self._describe_choice()

    def _describe_choice(self) -> None:
        """Which K the run will use, in words (the charts show why)."""
        sweep = self.sweep
        sampled = (
            " Silhouette was computed on a fixed sample of customers."
            if sweep and sweep.silhouette_sampled
            else ""
        )
        if sweep is not None and sweep.warnings:
            sampled += "".join(f"<br>⚠ {html.escape(w)}" for w in sweep.warnings)
        if self.fixed_radio.isChecked():
            k = self.k_spin.value()
            note = (
                f" The scores suggest K = {sweep.suggested_k}."
                if sweep and sweep.suggested_k != k
                else ""
            )
            self.suggestion.setText(f"<b>The run will use K = {k}.</b>{note}{sampled}")
        elif sweep is not None:
            self.suggestion.setText(
                f"<b>The run will use the suggested K = {sweep.suggested_k}.</b> Click a point on any "
                f"chart to fix another K.{sampled}"
            )
        else:
            self.suggestion.setText(
                "<b>The run will use the best K of the range.</b> Press “Evaluate K” to see the scores first."
            )


def _sweep_key(options: ClusteringOptions) -> tuple[Any, ...]:
    return (
        options.features,
        options.transform,
        options.scaler,
        options.k_min,
        options.k_max,
        options.seed,
    )
