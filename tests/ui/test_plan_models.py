"""The 执法计划 table models on their own, and through pytest-qt's qtmodeltester."""
from __future__ import annotations

import uuid

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from models.plan_people import AvailabilityRow, AvoidanceRow
from models.plan_rules import OpenTask
from models.plan_views import DrawTaskRow, ExclusionRow, MonthRow
from models.register_queries import EnterpriseRow
from models.registry import RiskColour
from ui.plan_models import (AvailabilityModel, AvoidanceModel, DrawTaskModel, ExclusionModel,
                            FocusPickModel, MonthModel, OpenTaskModel, ProgressModel)
from ui.style import GREY, RED


def cells(model):
    return [[model.index(r, c).data() for c in range(model.columnCount())]
            for r in range(model.rowCount())]


def test_month_model(qtmodeltester):
    model = MonthModel()
    model.set_rows([MonthRow(1, 9, 2), MonthRow(2, 0, 0)])
    qtmodeltester.check(model)
    assert cells(model) == [["1 月", "9", "2"], ["2 月", "0", "0"]]


def test_draw_task_model_shows_team_and_months(qtmodeltester):
    model = DrawTaskModel()
    model.set_rows([DrawTaskRow("湘乡市兴旺木业有限公司", RiskColour.RED, "张卫东、李晓红", 1, 3),
                    DrawTaskRow("湘乡市明珠木业有限公司", RiskColour.BLUE, "王建军、赵国强", 12, 12)])
    qtmodeltester.check(model)
    assert cells(model)[0] == ["湘乡市兴旺木业有限公司", "红", "张卫东、李晓红", "1–3 月，3 月底前"]
    assert model.index(1, model.COL_DUE).data() == "12 月底前"
    assert model.index(0, model.COL_RISK).data(Qt.ItemDataRole.BackgroundRole) == QColor("#c62828")


def test_exclusion_model(qtmodeltester):
    model = ExclusionModel()
    model.set_rows([ExclusionRow("执法人员 吴海燕", "不在岗（不可抽取）")])
    qtmodeltester.check(model)
    assert cells(model) == [["执法人员 吴海燕", "不在岗（不可抽取）"]]


def test_progress_model_rows_by_class_and_area(qtmodeltester):
    blank = {"done": 0, "due": 0, "overdue": 0}
    progress = {"total": {"done": 1, "due": 2, "overdue": 3},
                "by_class": {c: dict(blank) for c in ("red", "orange", "yellow", "blue")},
                "by_area": {a: dict(blank) for a in ("粉尘防爆", "有限空间作业", "涉氨制冷")}}
    model = ProgressModel()
    model.set_rows(ProgressModel.rows_from(progress))
    qtmodeltester.check(model)
    assert [r[0] for r in cells(model)] == ["合计", "红类企业", "橙类企业", "黄类企业", "蓝类企业",
                                            "粉尘防爆", "有限空间作业", "涉氨制冷"]
    assert cells(model)[0] == ["合计", "1", "2", "3"]
    assert model.index(0, model.COL_OVERDUE).data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)
    assert model.index(1, model.COL_OVERDUE).data(Qt.ItemDataRole.ForegroundRole) is None


def _task(**kw):
    data = dict(id=uuid.uuid4(), enterprise_id=uuid.uuid4(), enterprise="湘乡市兴旺木业有限公司",
                year=2027, first_month=1, due_month=3, inspector_ids=[uuid.uuid4(), uuid.uuid4()],
                team=["张卫东", "李晓红"], kind="draw", overdue=False)
    data.update(kw)
    return OpenTask(**data)


def test_open_task_model_marks_overdue_red(qtmodeltester):
    model = OpenTaskModel()
    model.set_rows([_task(), _task(overdue=True, kind="focus", team=[], inspector_ids=[])])
    qtmodeltester.check(model)
    assert cells(model) == [
        ["湘乡市兴旺木业有限公司", "2027 年 1–3 月，3 月底前", "张卫东、李晓红", "双随机抽查"],
        ["湘乡市兴旺木业有限公司", "2027 年 1–3 月，3 月底前（已逾期）", "（由办公室指派）", "重点检查"]]
    assert model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)


def test_focus_pick_model_checks_by_id(qtmodeltester):
    rows = [EnterpriseRow(uuid.uuid4(), f"企业{n}", "", "", "", "", False, False, False,
                          RiskColour.YELLOW, "月山镇", "", 0, 0, None) for n in range(2)]
    model = FocusPickModel()
    model.set_rows(rows)
    qtmodeltester.check(model)
    model.toggle(1)
    assert model.checked == {rows[1].id}
    assert model.index(1, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    model.toggle(1)
    assert model.checked == set()
    assert cells(model)[0] == ["企业0", "黄", "月山镇"]


def test_availability_and_avoidance_models(qtmodeltester):
    people = AvailabilityModel()
    people.set_rows([AvailabilityRow(uuid.uuid4(), "吴海燕", "7", True, False, "病假"),
                     AvailabilityRow(uuid.uuid4(), "张卫东", "1", False, True, "")])
    qtmodeltester.check(people)
    assert cells(people) == [["吴海燕", "7", "不在岗", "病假"], ["张卫东", "1", "已停用", ""]]
    assert people.index(0, people.COL_STATE).data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)
    assert people.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) == QColor(GREY)
    avoid = AvoidanceModel()
    avoid.set_rows([AvoidanceRow(uuid.uuid4(), uuid.uuid4(), "赵国强", None, "", "月山镇", "曾挂职")])
    qtmodeltester.check(avoid)
    assert cells(avoid) == [["赵国强", "月山镇（整个乡镇/街道）", "曾挂职"]]
