"""The "Export segments" dialog: what to write (all, chosen clusters, named RFM segments, selection,
the sensitivity table), format, where."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.export import segment_file_names
from rfm_desktop.core.export_request import ExportRequest
from rfm_desktop.core.filenames import safe_file_name, unique_file_names
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui import dialogs
from rfm_desktop.gui.views.colors import segment_color, swatch_icon

FORMATS = (("csv", "CSV (.csv) – opens anywhere"), ("xlsx", "Excel workbook (.xlsx)"))
#: the kinds of export, by the id of their radio button
KINDS = ("all", "segments", "selection", "rfm_segments", "sensitivity")


class ExportDialog(QDialog):
    # The analysis the dialog works on. It hides QDialog.result() (the accept/reject code, unused
    # here) on purpose: callers and tests read the attribute.
    result: AnalysisResult  # type: ignore[assignment]

    def __init__(
        self,
        result: AnalysisResult,
        folder: str,
        *,
        chosen_clusters: list[int] | None = None,
        selected_customers: list[str] | None = None,
        fmt: str = "csv",
        kind: str | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Export segments")
        self.result = result
        self.selected_customers = list(selected_customers or [])
        self.folder = folder
        stem = safe_file_name(Path(result.params.input_path).name.split(".")[0], default="rfm")
        self._stem = stem

        self.all_radio = QRadioButton(f"All {result.customer_count:,} customers in one file")
        self.segments_radio = QRadioButton("Chosen clusters, one file each")
        self.rfm_radio = QRadioButton("Named RFM segments, one file each")
        n = len(self.selected_customers)
        self.selection_radio = QRadioButton(
            f"The selected customers ({n:,}, from the 2D scatter or a Migration cell)"
            if n
            else "The selected customers (select them in the 2D scatter or the Migration tab first)"
        )
        self.selection_radio.setEnabled(n > 0)
        has_table = result.sensitivity is not None
        self.sensitivity_radio = QRadioButton(
            "The sensitivity table (sensitivity.csv, CSV only)"
            if has_table
            else "The sensitivity table (run it on the Sensitivity tab first)"
        )
        self.sensitivity_radio.setEnabled(has_table)
        self.kind_group = QButtonGroup(self)
        for i, radio in enumerate(
            (
                self.all_radio,
                self.segments_radio,
                self.selection_radio,
                self.rfm_radio,
                self.sensitivity_radio,
            )
        ):
            self.kind_group.addButton(radio, i)

        self.cluster_list = QListWidget()
        chosen = set(chosen_clusters or [])
        for profile in result.clusters:
            item = QListWidgetItem(
                swatch_icon(profile.color), f"{profile.name}  ({profile.size:,} customers)"
            )
            item.setData(Qt.ItemDataRole.UserRole, profile.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if profile.id in chosen else Qt.CheckState.Unchecked
            )
            self.cluster_list.addItem(item)
        self.cluster_list.setMaximumHeight(self.fontMetrics().height() * 9)
        self.cluster_list.itemChanged.connect(self._validate)
        self.rfm_list = QListWidget()
        for row in result.segments.to_dict("records"):
            name = str(row["segment"])
            item = QListWidgetItem(
                swatch_icon(segment_color(name)), f"{name}  ({int(row['customers']):,} customers)"
            )
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.rfm_list.addItem(item)
        self.rfm_list.setMaximumHeight(self.fontMetrics().height() * 9)
        self.rfm_list.itemChanged.connect(self._validate)

        self.format_combo = QComboBox()
        for value, text in FORMATS:
            self.format_combo.addItem(text, value)
        self.format_combo.setCurrentIndex(
            max(self.format_combo.findData(fmt), 0)
        )  # the last one used
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.target_edit = QLineEdit()
        self.target_edit.textChanged.connect(self._validate)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target_edit, 1)
        target_row.addWidget(self.browse_button)
        self.target_label = QLabel("File:")
        self.note = QLabel()
        self.note.setWordWrap(True)
        # three lines whatever the text (the whole text in the tooltip): the Folder field never jumps
        self.note.setFixedHeight(self.note.fontMetrics().lineSpacing() * 3 + 4)
        self.note.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Format:", self.format_combo)
        form.addRow(self.target_label, target_row)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>What to export</b>"))
        layout.addWidget(self.all_radio)
        layout.addWidget(self.segments_radio)
        layout.addWidget(self.cluster_list)
        layout.addWidget(self.rfm_radio)
        layout.addWidget(self.rfm_list)
        layout.addWidget(self.selection_radio)
        layout.addWidget(self.sensitivity_radio)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.resize(620, self.sizeHint().height())

        self.kind_group.idToggled.connect(lambda _id, on: self._kind_changed() if on else None)
        # A scatter selection, or some (not all) segments ticked: the analyst meant those.
        partial = bool(chosen) and len(chosen) < len(result.clusters)
        default: QAbstractButton = (
            self.selection_radio if n else self.segments_radio if partial else self.all_radio
        )
        asked = self.kind_group.button(KINDS.index(kind)) if kind in KINDS else None
        if asked is not None and asked.isEnabled():  # e.g. "Export sensitivity.csv…" on its tab
            default = asked
        default.setChecked(True)
        self._kind_changed()

    # -- state ---------------------------------------------------------------------------------
    def kind(self) -> str:
        return KINDS[max(self.kind_group.checkedId(), 0)]

    def fmt(self) -> str:
        return "csv" if self.kind() == "sensitivity" else self.format_combo.currentData()

    def checked_clusters(self) -> list[int]:
        items = (self.cluster_list.item(i) for i in range(self.cluster_list.count()))
        return [
            it.data(Qt.ItemDataRole.UserRole)
            for it in items
            if it.checkState() == Qt.CheckState.Checked
        ]

    def checked_segments(self) -> list[str]:
        """The ticked named RFM segments, best first."""
        items = (self.rfm_list.item(i) for i in range(self.rfm_list.count()))
        return [
            it.data(Qt.ItemDataRole.UserRole)
            for it in items
            if it.checkState() == Qt.CheckState.Checked
        ]

    def set_checked_segments(self, names: list[str]) -> None:
        for i in range(self.rfm_list.count()):
            item = self.rfm_list.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in names
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _to_folder(self) -> bool:
        return self.kind() in ("segments", "rfm_segments")

    def set_checked_clusters(self, ids: list[int]) -> None:
        for i in range(self.cluster_list.count()):
            item = self.cluster_list.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in ids
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def request(self) -> ExportRequest:
        kind = self.kind()
        return ExportRequest(
            kind=kind,  # type: ignore[arg-type]
            fmt=self.fmt(),  # type: ignore[arg-type]
            target=self.target_edit.text().strip(),
            cluster_ids=tuple(self.checked_clusters()) if kind == "segments" else (),
            customer_ids=tuple(self.selected_customers) if kind == "selection" else (),
            segments=tuple(self.checked_segments()) if kind == "rfm_segments" else (),
        )

    def _default_target(self) -> str:
        kind = self.kind()
        if kind in ("segments", "rfm_segments"):
            return str(
                Path(self.folder)
                / f"{self._stem}-{'rfm-segments' if kind == 'rfm_segments' else 'segments'}"
            )
        suffix = {"selection": "selection", "sensitivity": "sensitivity"}.get(kind, "customers")
        return str(Path(self.folder) / f"{self._stem}-{suffix}.{self.fmt()}")

    def _kind_changed(self) -> None:
        self.cluster_list.setEnabled(self.kind() == "segments")
        self.rfm_list.setEnabled(self.kind() == "rfm_segments")
        self.format_combo.setEnabled(self.kind() != "sensitivity")
        self.target_label.setText("Folder:" if self._to_folder() else "File:")
        self.target_edit.setText(self._default_target())
        self._validate()

    def _format_changed(self) -> None:
        text = self.target_edit.text().strip()
        if not self._to_folder() and text:
            self.target_edit.setText(str(Path(text).with_suffix(f".{self.fmt()}")))
        self._validate()

    def _browse(self) -> None:
        if self._to_folder():
            folder = dialogs.ask_directory(
                self, "Folder for the segment files", self.target_edit.text()
            )
            if folder:
                self.target_edit.setText(folder)
            return
        filters = "CSV (*.csv)" if self.fmt() == "csv" else "Excel workbook (*.xlsx)"
        title = (
            "Export the sensitivity table" if self.kind() == "sensitivity" else "Export customers"
        )
        chosen = dialogs.ask_save_file(self, title, self.target_edit.text(), filters)
        if chosen:
            self.target_edit.setText(chosen[0])

    def _validate(self) -> None:
        kind = self.kind()
        problem = ""
        if not self.target_edit.text().strip():
            problem = "Choose where to write."
        elif kind == "segments" and not self.checked_clusters():
            problem = "Tick at least one segment."
        elif kind == "rfm_segments" and not self.checked_segments():
            problem = "Tick at least one named segment."
        elif kind == "selection" and not self.selected_customers:
            problem = "Select customers in the 2D scatter first."
        elif kind == "sensitivity" and self.result.sensitivity is None:
            problem = "Run the sensitivity on its tab first."
        if kind == "segments" and not problem:
            names = segment_file_names(self.result, f".{self.fmt()}")
            chosen = set(self.checked_clusters())
            self.note.setText(
                "One file per segment, named after it (earlier segment files in that folder are "
                "replaced): "
                + ", ".join(names[p.id] for p in self.result.clusters if p.id in chosen)
            )
        elif kind == "rfm_segments" and not problem:
            every = self.result.segments["segment"].astype(str).tolist()
            files = dict(zip(every, unique_file_names(every, f".{self.fmt()}"), strict=True))
            self.note.setText(
                "One file per named segment, named after it (earlier segment files in that folder "
                "are replaced): " + ", ".join(files[n] for n in self.checked_segments())
            )
        else:
            self.note.setText(problem)
        self.note.setToolTip(self.note.text())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
