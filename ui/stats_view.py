"""A small dashboard over the ledger: key figures, charts by status and area, frequent items."""
from __future__ import annotations

from PySide6.QtCharts import (QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView,
                              QValueAxis)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QGridLayout, QHeaderView, QLabel, QTableView, QVBoxLayout,
                               QWidget)

from models.ledger import LedgerStats
from ui.ledger_models import CountTableModel

CHART_HEIGHT = 230


def _table(model) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    return table


class BarChart(QChartView):
    """Counts by category as bars, one colour per bar where given."""

    def __init__(self, title: str) -> None:
        chart = QChart()
        chart.setTitle(title)
        chart.legend().hide()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.setMargins(chart.margins().__class__(4, 4, 4, 4))
        super().__init__(chart)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(CHART_HEIGHT)
        self.categories: list[str] = []
        self.values: list[int] = []

    def set_counts(self, pairs: list[tuple[str, int]], colour: str = "#1565c0") -> None:
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        self.categories = [k for k, _n in pairs]
        self.values = [n for _k, n in pairs]
        series = QBarSeries()
        bar = QBarSet("隐患数")
        bar.append([float(v) for v in self.values])
        bar.setColor(QColor(colour))
        series.append(bar)
        series.setLabelsVisible(True)
        series.setLabelsPosition(QBarSeries.LabelsPosition.LabelsInsideEnd)
        bar.setLabelColor(QColor("white"))
        chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append(self.categories or [""])
        y = QValueAxis()
        top = max(self.values + [4])
        y.setRange(0, top + max(1, top // 8))  # room for the labels above the bars
        y.applyNiceNumbers()
        y.setLabelFormat("%d")
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)


class StatsView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.figures = QLabel()
        self.figures.setObjectName("stats_figures")
        self.figures.setStyleSheet("font-size: 13pt;")
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.status_chart = BarChart("按状态")
        self.area_chart = BarChart("按领域")
        self.enterprise_model = CountTableModel("被检查单位")
        self.item_model = CountTableModel("最常见的不符合项")
        grid = QGridLayout()
        grid.addWidget(self.status_chart, 0, 0)
        grid.addWidget(self.area_chart, 0, 1)
        grid.addWidget(_table(self.item_model), 1, 0)
        grid.addWidget(_table(self.enterprise_model), 1, 1)
        grid.setRowStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.figures)
        layout.addLayout(grid, 1)

    def show_stats(self, stats: LedgerStats) -> None:
        rate = f"{stats.rectification_rate:.1%}" if stats.total else "—"
        self.figures.setText(
            f"隐患 <b>{stats.total}</b> 项（重大 <b>{stats.major}</b>）　"
            f"已销号 <b>{stats.closed}</b>　整改率 <b>{rate}</b>　"
            f"逾期 <b style='color:#c62828'>{stats.overdue}</b>")
        self.status_chart.set_counts(list(stats.by_status.items()))
        self.area_chart.set_counts(stats.by_area, "#00897b")
        self.enterprise_model.set_rows(stats.by_enterprise)
        self.item_model.set_rows([(f"{code} {question}", n) for code, question, n in stats.top_items])
