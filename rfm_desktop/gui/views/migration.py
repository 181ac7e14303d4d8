"""Migration tab: who moved where since a previous analysis (core.compare).

A from × to heatmap (named RFM segments, or clusters with the switch) of customer counts and
row shares, with the ``(new)`` row and the ``(gone)`` column, and a two-column flow chart of the
same counts. Clicking a cell or a band selects its customers in the app's selection (the 2D
scatter's, which the export dialog offers), so "Champions → At Risk" is one export away.
The comparison itself runs on the worker (:func:`start_comparison`); the view only draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from rfm_desktop.core import compare
from rfm_desktop.core.compare import GONE, NEW, Comparison
from rfm_desktop.core.palette import OTHERS_COLOR, cluster_color, segment_color
from rfm_desktop.core.result import AnalysisResult
from rfm_desktop.gui import worker
from rfm_desktop.gui.views.base import ResultView, background, foreground, text_color_on

#: the two switch positions: the column of the customer table each one compares
GROUPINGS = {"rfm": "rfm_segment", "clusters": "cluster_name"}
NOT_COMPARED = (
    "Compare this analysis with a previous one to see which customers moved between segments: "
    "File ▸ Compare with a previous analysis… (a result folder or a saved analysis)."
)
HEAT_COLOR = "#0072B2"  # the palette's blue: darker = a larger share of the row
#: (new) is only a row and (gone) only a column: one grey, apart from Others' light one
NEW_COLOR = GONE_COLOR = "#9E9E9E"
ModelIndex = QModelIndex | QPersistentModelIndex


def start_comparison(
    result: AnalysisResult,
    path: str,
    *,
    on_finished: Callable[[Comparison], None],
    on_errored: Callable[[BaseException], None],
    owner: Any = None,
) -> worker.Worker:
    """Load the previous result at ``path`` (a result folder or a saved analysis, which is run
    again) and compare ``result`` with it, on the worker; ``on_finished`` gets the
    :class:`~rfm_desktop.core.compare.Comparison`."""

    def job(task: worker.Task) -> Comparison:
        task.progress(0.1, f"Reading {Path(path).name}")
        previous = compare.load_previous(path)
        task.raise_if_cancelled()
        task.progress(0.8, "Matching the clusters")
        return compare.compare_with(result, previous)

    return worker.start_worker(
        job, name="compare", on_finished=on_finished, on_errored=on_errored, owner=owner
    )


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    t = max(0.0, min(1.0, t))
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


def _header(name: str) -> str:
    """A column title on two lines at its middle space, so twelve columns fit beside the chart."""
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    if not spaces:
        return name
    at = min(spaces, key=lambda i: max(i, len(name) - i - 1))  # the most even two lines
    return name[:at] + "\n" + name[at + 1 :]


class _ChosenCellDelegate(QStyledItemDelegate):
    """Draws a frame round the chosen cell (the table has no Qt selection: it would hide the heat)."""

    def __init__(self, table: QTableWidget) -> None:
        super().__init__(table)
        self.chosen: tuple[int, int] | None = None

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        super().paint(painter, option, index)
        if self.chosen == (index.row(), index.column()):
            painter.save()
            pen = QPen(foreground(self.parent()), 3)  # type: ignore[arg-type]
            painter.setPen(pen)
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))  # type: ignore[attr-defined]
            painter.restore()


class FlowChart(QWidget):
    """Previous groups on the left, current ones on the right, bands as wide as the customers
    who moved between them (a two-column Sankey-like chart drawn with QPainter)."""

    cellClicked = Signal(object, object)  # (from, to)

    BAR = 14
    GAP = 6
    TOP = 26

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 320)
        self.setMouseTracking(True)
        self._table = pd.DataFrame()
        self._colors: dict[object, str] = {}
        self._chosen: tuple[object, object] | None = None
        self._titles = ("Previous analysis", "This analysis")

    def set_flows(
        self,
        table: pd.DataFrame,
        colors: dict[object, str],
        chosen: tuple[object, object] | None = None,
    ) -> None:
        """``table``: counts, index the previous groups, columns the current ones."""
        self._table, self._colors, self._chosen = table, colors, chosen
        self.update()

    def set_chosen(self, chosen: tuple[object, object] | None) -> None:
        self._chosen = chosen
        self.update()

    @property
    def bands(self) -> list[tuple[QPainterPath, object, object, int]]:
        """(outline, from, to, customers) of every band at the widget's size, in drawing order."""
        return self._layout()[4] if self._drawable() else []

    def _drawable(self) -> bool:
        return not self._table.empty and bool(self._table.to_numpy().sum())

    def _layout(
        self,
    ) -> tuple[
        dict[object, QRectF],
        dict[object, QRectF],
        float,
        float,
        list[tuple[QPainterPath, object, object, int]],
    ]:
        """The node bars of both sides, the label widths and the bands between them."""
        table = self._table
        fm = self.fontMetrics()
        rows = table.sum(axis=1)
        cols = table.sum(axis=0)
        left = [k for k in table.index if rows[k] > 0]
        right = [k for k in table.columns if cols[k] > 0]
        label = lambda k, n: f"{k}  {n:,}"  # noqa: E731 - one-line formatter
        lw = max((fm.horizontalAdvance(label(k, rows[k])) for k in left), default=0) + 8
        rw = max((fm.horizontalAdvance(label(k, cols[k])) for k in right), default=0) + 8
        total = float(table.to_numpy().sum())
        height = self.height() - self.TOP - 6
        lx, rx = lw, self.width() - rw - self.BAR

        def stack(keys: list[object], sums: pd.Series, x: float) -> dict[object, QRectF]:
            scale = (height - self.GAP * max(len(keys) - 1, 0)) / total if total else 0.0
            y, out = float(self.TOP), {}
            for k in keys:
                h = max(float(sums[k]) * scale, 1.0)
                out[k] = QRectF(x, y, self.BAR, h)
                y += h + self.GAP
            return out

        nodes_l, nodes_r = stack(left, rows, lx), stack(right, cols, rx)
        bands = []
        used_l = dict.fromkeys(nodes_l, 0.0)
        used_r = dict.fromkeys(nodes_r, 0.0)
        for source, a in nodes_l.items():
            for target, b in nodes_r.items():
                n = int(table.at[source, target])
                if not n:
                    continue
                hl = n * a.height() / float(rows[source])
                hr = n * b.height() / float(cols[target])
                y0, y1 = a.top() + used_l[source], b.top() + used_r[target]
                used_l[source] += hl
                used_r[target] += hr
                x0, x1 = a.right(), b.left()
                mid = (x0 + x1) / 2
                path = QPainterPath(QPointF(x0, y0))
                path.cubicTo(QPointF(mid, y0), QPointF(mid, y1), QPointF(x1, y1))
                path.lineTo(QPointF(x1, y1 + hr))
                path.cubicTo(QPointF(mid, y1 + hr), QPointF(mid, y0 + hl), QPointF(x0, y0 + hl))
                path.closeSubpath()
                bands.append((path, source, target, n))
        return nodes_l, nodes_r, lw, rw, bands

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), background(self))
        fg = foreground(self)
        if not self._drawable():
            painter.end()
            return
        table = self._table
        left, right, lw, rw, bands = self._layout()
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(fg)
        painter.drawText(QRectF(0, 0, self.width() / 2, self.TOP - 6), Qt.AlignmentFlag.AlignLeft
                         | Qt.AlignmentFlag.AlignVCenter, self._titles[0])  # fmt: skip
        painter.drawText(QRectF(self.width() / 2, 0, self.width() / 2, self.TOP - 6),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         self._titles[1])  # fmt: skip
        painter.setFont(self.font())
        rows, cols = table.sum(axis=1), table.sum(axis=0)
        for path, source, target, _n in bands:
            color = QColor(self._colors.get(source, OTHERS_COLOR))
            chosen = self._chosen == (source, target)
            color.setAlpha(230 if chosen else 120)
            painter.setPen(QPen(fg, 2) if chosen else Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(color))
            painter.drawPath(path)
        fm = self.fontMetrics()
        for side, nodes, sums in ((0, left, rows), (1, right, cols)):
            last = -1e9
            for key, rect in nodes.items():
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(self._colors.get(key, OTHERS_COLOR)))
                painter.drawRect(rect)
                centre = rect.center().y()
                if centre - fm.height() / 2 < last:  # no room: the tooltip names it
                    continue
                last = centre + fm.height() / 2
                painter.setPen(fg)
                text = f"{key}  {int(sums[key]):,}"
                if side == 0:
                    box = QRectF(0, centre - fm.height(), lw - 6, 2 * fm.height())
                    align = Qt.AlignmentFlag.AlignRight
                else:
                    box = QRectF(rect.right() + 6, centre - fm.height(), rw, 2 * fm.height())
                    align = Qt.AlignmentFlag.AlignLeft
                painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()

    def band_at(self, point: QPointF) -> tuple[object, object, int] | None:
        """The (from, to, customers) of the band under ``point``, if any."""
        for path, source, target, n in reversed(self.bands):
            if path.contains(point):
                return source, target, n
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.band_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cellClicked.emit(hit[0], hit[1])
        super().mousePressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()  # type: ignore[attr-defined]
            hit = self.band_at(QPointF(pos))
            if hit is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(
                    event.globalPos(),  # type: ignore[attr-defined]
                    f"{hit[0]} → {hit[1]}: {hit[2]:,} customers. Click to select them.",
                    self,
                )
            return True
        return super().event(event)


class MigrationView(ResultView):
    title = "Migration"
    view_name = "migration"

    #: (customer ids, "Champions → At Risk"): select these customers for export
    customersChosen = Signal(object, str)
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self._tables: dict[str, pd.DataFrame] = {}
        self._chosen: tuple[object, object] | None = None
        self._chosen_ids: frozenset[str] = frozenset()
        content = QWidget()
        layout = QVBoxLayout(content)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note)
        # the switch, the two charts and the selection line: hidden until a comparison
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.body, 1)
        switch = QHBoxLayout()
        switch.addWidget(QLabel("Compare:"))
        self.rfm_radio = QRadioButton("Named RFM segments")
        self.cluster_radio = QRadioButton("Clusters")
        self.rfm_radio.setToolTip("Rows: the segment in the previous analysis; columns: now.")
        self.cluster_radio.setToolTip(
            "Clusters matched to the previous analysis's by their centres: matched clusters keep "
            "its names."
        )
        self.rfm_radio.setChecked(True)
        self.switch = QButtonGroup(self)
        for radio in (self.rfm_radio, self.cluster_radio):
            self.switch.addButton(radio)
            switch.addWidget(radio)
        switch.addStretch(1)
        body.addLayout(switch)

        self.heatmap = QTableWidget()
        self.heatmap.setObjectName("migrationHeatmap")
        self.heatmap.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.heatmap.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.heatmap.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.heatmap.setWordWrap(False)
        self.heatmap.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.heatmap.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.heatmap.setMinimumSize(420, 300)
        self._delegate = _ChosenCellDelegate(self.heatmap)
        self.heatmap.setItemDelegate(self._delegate)
        self.flow = FlowChart()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.heatmap)
        self.splitter.addWidget(self.flow)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        body.addWidget(self.splitter, 1)

        bottom = QHBoxLayout()
        self.selection_label = QLabel("Click a cell or a band to select its customers for export.")
        self.selection_label.setWordWrap(True)
        self.export_button = QPushButton("Export selected customers…")
        self.export_button.setToolTip(
            "The export dialog, with the selected customers chosen (Ctrl+E)."
        )
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.exportRequested)
        bottom.addWidget(self.selection_label, 1)
        bottom.addWidget(self.export_button)
        body.addLayout(bottom)
        layout.addStretch(0)
        self.set_content(content)

        self.switch.buttonClicked.connect(lambda _b: self._draw())
        self.heatmap.cellClicked.connect(self._cell_clicked)
        self.flow.cellClicked.connect(self.choose)

    # -- state ---------------------------------------------------------------------------
    def grouping(self) -> str:
        """ "rfm" or "clusters": what the heatmap and the chart compare."""
        return "clusters" if self.cluster_radio.isChecked() else "rfm"

    def set_grouping(self, grouping: str) -> None:
        if grouping not in GROUPINGS:
            raise ValueError(f"Compare 'rfm' or 'clusters', not '{grouping}'.")
        (self.cluster_radio if grouping == "clusters" else self.rfm_radio).setChecked(True)
        self._draw()

    def table(self) -> pd.DataFrame:
        """The migration table shown (index: previous groups and (new); columns: current ones
        and (gone)); empty before a comparison."""
        key = "migration_clusters" if self.grouping() == "clusters" else "migration_rfm"
        frame = self._tables.get(key)
        return pd.DataFrame() if frame is None else frame.set_index("from")

    def set_comparison(self, comparison: Comparison | None) -> None:
        """Hold ``comparison``; it is drawn when its result (or a rename of it) is shown."""
        self.comparison = comparison
        self._tables = dict(comparison.tables) if comparison is not None else {}

    def set_result(self, result: AnalysisResult) -> None:
        self._result = result
        comparison = self.comparison
        if (
            comparison is None
            or result.matching is None
            or result.matching is not comparison.result.matching
        ):
            # another run: its clusters were not matched to the previous analysis
            self.comparison, self._tables = None, {}
            self.show_content()
            self.note.setText(NOT_COMPARED)
            self.body.setVisible(False)
            return
        if result is not comparison.result:  # a rename: the cluster table shows the new names
            self._tables = compare.migration_tables(comparison.previous, result)
        self.show_content()
        self.body.setVisible(True)
        self._write_note()
        self._draw()

    # -- drawing ---------------------------------------------------------------------------
    def _colors(self) -> dict[object, str]:
        comparison, result = self.comparison, self._result
        assert comparison is not None and result is not None
        colors: dict[object, str] = {NEW: NEW_COLOR, GONE: GONE_COLOR}
        if self.grouping() == "rfm":
            table = self.table()
            for name in (*table.index, *table.columns):
                colors.setdefault(name, segment_color(str(name)))
        else:
            previous = comparison.previous
            for cid, name in previous.names.items():
                colors[name] = cluster_color(cid, outlier=cid == previous.outlier_id)
            for c in result.clusters:
                colors.setdefault(c.name, c.color)
        return colors

    def _write_note(self) -> None:
        comparison, result = self.comparison, self._result
        assert comparison is not None and result is not None and result.matching is not None
        rfm = self._tables["migration_rfm"].set_index("from")
        new, gone = int(rfm.loc[NEW].sum()), int(rfm[GONE].sum())
        previous_total = len(comparison.previous.customers)
        movers = len(self._tables["movers"])
        name = {c.id: c.name for c in result.clusters}  # with renames made since
        kept = [
            f"{name.get(m.id, m.name)} (drift {m.drift:.2f})"
            for m in result.matching.matches
            if m.old_id is not None and m.drift is not None
        ]
        lines = [
            f"Compared with {comparison.previous.source}: {previous_total:,} customers there, "
            f"{result.customer_count:,} here; {new:,} new, {gone:,} gone, {movers:,} changed "
            "segment or cluster. Shares are of the row (the previous group).",
            "Clusters kept from the previous analysis: " + (", ".join(kept) or "none") + ".",
        ]
        if result.matching.unmatched:
            lines.append(
                "New clusters: "
                + ", ".join(name.get(m.id, m.name) for m in result.matching.unmatched)
                + "."
            )
        if result.matching.gone:
            lines.append(
                "Previous clusters no cluster matches: "
                + ", ".join(name for _, name in result.matching.gone)
                + "."
            )
        self.note.setText("\n".join(lines))

    def _draw(self) -> None:
        table = self.table()
        heat = self.heatmap
        heat.clear()
        if table.empty:
            heat.setRowCount(0)
            heat.setColumnCount(0)
            self.flow.set_flows(table, {})
            return
        totals = table.sum(axis=1)
        heat.setRowCount(len(table.index))
        heat.setColumnCount(len(table.columns))
        heat.setHorizontalHeaderLabels([_header(str(c)) for c in table.columns])
        heat.setVerticalHeaderLabels([f"{r}  ({int(totals[r]):,})" for r in table.index])
        base, accent = background(self), QColor(HEAT_COLOR)
        what = "segment" if self.grouping() == "rfm" else "cluster"
        for i, source in enumerate(table.index):
            for j, target in enumerate(table.columns):
                n = int(table.iat[i, j])
                share = n / float(totals[source]) if totals[source] else 0.0
                item = QTableWidgetItem(f"{n:,}\n{share:.1%}" if n else "·")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                fill = _mix(base, accent, share)
                item.setBackground(fill)
                item.setForeground(text_color_on(fill))
                if source == target:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                item.setToolTip(self._cell_tip(source, target, n, share, int(totals[source]), what))
                heat.setItem(i, j, item)
        self._delegate.chosen = self._cell_of(self._chosen)
        heat.resizeColumnsToContents()
        heat.resizeRowsToContents()
        self._fit_heatmap()
        self.flow.set_flows(table, self._colors(), self._chosen)

    @staticmethod
    def _cell_tip(
        source: object, target: object, n: int, share: float, total: int, what: str
    ) -> str:
        row = (
            f"of the {total:,} customers not in the previous analysis"
            if source == NEW
            else f"of the {total:,} customers of {source} in the previous analysis"
        )
        if target == GONE:
            end = "They are not in this analysis, so they cannot be selected."
        elif source == target:
            end = f"They stayed in this {what}. Click to select them for export."
        else:
            end = "Click to select them for export."
        return f"{source} → {target}: {n:,} customers, {share:.1%} {row}. {end}"

    def _cell_of(self, chosen: tuple[object, object] | None) -> tuple[int, int] | None:
        table = self.table()
        if chosen is None or chosen[0] not in table.index or chosen[1] not in table.columns:
            return None
        return table.index.get_loc(chosen[0]), table.columns.get_loc(chosen[1])  # type: ignore[return-value]

    # -- choosing customers ----------------------------------------------------------------
    def _cell_clicked(self, row: int, column: int) -> None:
        table = self.table()
        self.choose(table.index[row], table.columns[column])

    def choose(self, source: object, target: object) -> list[str]:
        """Select the customers who went from ``source`` to ``target`` (a cell of the table);
        returns their ids (none for the ``(gone)`` column: they are not in this analysis)."""
        comparison, result = self.comparison, self._result
        if comparison is None or result is None:
            return []
        column = GROUPINGS[self.grouping()]
        if target == GONE:
            n = int(self.table().at[source, target])
            self.selection_label.setText(
                f"The {n:,} customers of {source} → {GONE} are not in this analysis, so they "
                "cannot be selected for export."
            )
            return []
        ids = compare.cell_customers(comparison.previous, result, column, source, target)
        self._chosen, self._chosen_ids = (source, target), frozenset(ids)
        self._delegate.chosen = self._cell_of(self._chosen)
        self.heatmap.viewport().update()
        self.flow.set_chosen(self._chosen)
        self.customersChosen.emit(ids, f"{source} → {target}")
        return ids

    def show_selected(self, count: int, what: str) -> None:
        """Say how many customers are selected now (the panel calls this after selecting)."""
        self.selection_label.setText(
            f"{count:,} customers selected ({what}). Export them with “Export selected "
            "customers…” (or File ▸ Export segments…, “The selected customers”)."
        )
        self.export_button.setEnabled(count > 0)

    def selection_changed(self, ids: object) -> None:
        """The app's selection changed (e.g. a lasso in the 2D view): forget the chosen cell when
        it no longer is the selection."""
        if self._chosen is None:
            return
        if frozenset(str(i) for i in ids) != self._chosen_ids:  # type: ignore[attr-defined]
            self._chosen, self._chosen_ids = None, frozenset()
            self._delegate.chosen = None
            self.heatmap.viewport().update()
            self.flow.set_chosen(None)
            self.export_button.setEnabled(False)
            self.selection_label.setText(
                "Click a cell or a band to select its customers for export."
            )

    def _fit_heatmap(self) -> None:
        """Side by side when wide (the heatmap at its full width, the chart the rest), one above
        the other on small screens."""
        heat = self.heatmap
        wide = self.width() >= 1300
        self.splitter.setOrientation(Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical)
        if wide:
            width = (
                heat.verticalHeader().sizeHint().width()
                + sum(heat.columnWidth(j) for j in range(heat.columnCount()))
                + 2 * heat.frameWidth()
                + heat.verticalScrollBar().sizeHint().width()
            )
            total = self.splitter.width()
            width = min(width, total - self.flow.minimumWidth())
            self.splitter.setSizes([width, total - width])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_heatmap()
