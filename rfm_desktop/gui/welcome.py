"""The start screen: drop a file, open one, try the sample, or pick a recent file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core.analysis_file import is_network_path
from rfm_desktop.gui.hints import make_hint
from rfm_desktop.gui.texts import WHAT_IS_RFM, tip


class WelcomePage(QWidget):
    openRequested = Signal()
    sampleRequested = Signal()
    recentRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("RFM Desktop")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(WHAT_IS_RFM)
        intro.setWordWrap(True)

        self.drop_zone = QFrame()
        self.drop_zone.setFrameShape(QFrame.Shape.StyledPanel)
        self.drop_zone.setFrameShadow(QFrame.Shadow.Sunken)
        self.drop_zone.setMinimumHeight(150)
        drop_label = QLabel("Drop a transactions file here\n(.xlsx, .csv or .parquet)")
        drop_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        big = QFont(drop_label.font())
        big.setPointSizeF(big.pointSizeF() * 1.3)
        drop_label.setFont(big)
        make_hint(drop_label)
        QVBoxLayout(self.drop_zone).addWidget(drop_label)

        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip(tip("open") + " (Ctrl+O)")
        self.open_button.clicked.connect(self.openRequested)
        self.sample_button = QPushButton("Try sample data")
        self.sample_button.setToolTip(tip("sample"))
        self.sample_button.clicked.connect(self.sampleRequested)
        for b in (self.open_button, self.sample_button):
            b.setMinimumHeight(36)
            b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)

        self.recent_title = QLabel("Recent files")
        bold = QFont(self.recent_title.font())
        bold.setBold(True)
        self.recent_title.setFont(bold)
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(2)
        self.recent_buttons: list[QPushButton] = []

        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(12)
        column.addWidget(self.drop_zone)
        column.addSpacing(8)
        column.addLayout(buttons)
        column.addSpacing(16)
        column.addWidget(self.recent_title)
        column.addLayout(self.recent_box)
        column.addStretch(1)
        inner = QWidget()
        inner.setLayout(column)
        inner.setMaximumWidth(760)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 32, 32, 32)
        outer.addStretch(1)
        outer.addWidget(inner, 4)
        outer.addStretch(1)
        self.set_recent_files([])

    def set_recent_files(self, files: list[str]) -> None:
        for button in self.recent_buttons:
            self.recent_box.removeWidget(button)
            button.deleteLater()
        self.recent_buttons = []
        for path in files:
            p = Path(path)
            # a network path is not checked: that would contact its host without a click
            there = is_network_path(path) or p.exists()
            button = QPushButton(f"{p.name}    —    {p.parent}")
            button.setFlat(True)
            button.setStyleSheet("text-align: left; padding: 4px;")
            button.setToolTip(f"Open {path}" + ("" if there else " (the file is no longer there)"))
            button.setEnabled(there)
            button.clicked.connect(lambda _=False, path=path: self.recentRequested.emit(path))
            self.recent_box.addWidget(button)
            self.recent_buttons.append(button)
        self.recent_title.setVisible(bool(files))
