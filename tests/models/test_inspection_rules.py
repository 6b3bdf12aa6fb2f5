"""Starting, answering and finalizing an inspection."""
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models.checklist import ChecklistItem
from models.errors import FinalizedRecordError, NotFoundError, ValidationError
from models.inspection import (Answer, AnswerResult, Hazard, HazardStatus, Inspection,
                               InspectionStatus)
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, start_inspection, update_hazard)
from models.registry import Inspector


def _items(store, inspection_id):
    with store.session() as s:
        return inspection_items(s, inspection_id)


def _answer(store, inspection_id, item, result, note=None):
    with store.transaction() as s:
        return answer_item(s, inspection_id, item.id, result, note)


def _answer_all(store, inspection_id, result=AnswerResult.COMPLIANT):
    for item in _items(store, inspection_id):
        _answer(store, inspection_id, item, result)


def test_checklists_default_from_enterprise_flags(store, inspection_id):
    """A dust enterprise gets the dust checklist plus the general items."""
    with store.session() as s:
        insp = s.get(Inspection, inspection_id)
        assert [c.checklist.code for c in insp.checklists] == ["dust", "general"]
        assert insp.status == InspectionStatus.IN_PROGRESS
    areas = {i.area for i in _items(store, inspection_id)}
    assert areas == {"粉尘防爆", "通用"}


def test_start_needs_two_distinct_inspectors_place_and_enterprise(store, enterprise_id, team, clock):
    """Every missing precondition is listed at once and nothing is stored."""
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            start_inspection(s, NewInspection(enterprise_id, [team[0], team[0]], " ", clock()))
    text = err.value.text()
    assert "至少两名执法人员" in text and "重复" in text and "检查场所" in text
    with store.session() as s:
        assert s.scalars(select(Inspection)).all() == []


def test_start_refuses_inspector_without_certificate(store, enterprise_id, team, clock):
    """An inspector with no certificate number cannot take part."""
    with store.transaction() as s:
        nocert = Inspector(name="赵临时", certificate_no="")
        s.add(nocert)
        s.flush()
        nocert_id = nocert.id
    with pytest.raises(ValidationError, match="执法证号"):
        with store.transaction() as s:
            start_inspection(s, NewInspection(enterprise_id, [team[0], nocert_id], "车间", clock()))


def test_chosen_checklists_override_flags(store, enterprise_id, team, clock):
    """The team may choose other checklists than the enterprise's flags suggest."""
    with store.transaction() as s:
        insp = start_inspection(s, NewInspection(enterprise_id, team, "冷库", clock(), ["ammonia"]))
        assert [c.checklist.code for c in insp.checklists] == ["ammonia"]


def test_noncompliant_opens_hazard_with_item_defaults(store, inspection_id, clock):
    """不符合 opens a hazard carrying the item's basis, major flag, rectification and deadline."""
    item = next(i for i in _items(store, inspection_id) if i.major)
    _answer(store, inspection_id, item, AnswerResult.NONCOMPLIANT, "除尘器设在宿舍楼下")
    with store.session() as s:
        hazard = s.scalars(select(Hazard)).one()
        assert hazard.status == HazardStatus.OPEN
        assert hazard.is_major and hazard.major_clause == item.major_clause
        assert hazard.legal_basis == item.legal_basis
        assert hazard.rectification == item.rectification
        assert hazard.deadline == date(2026, 11, 2) + timedelta(days=item.deadline_days)
        assert "除尘器设在宿舍楼下" in hazard.description


def test_changing_answer_back_withdraws_and_reopens_same_hazard(store, inspection_id):
    """符合 after 不符合 withdraws the hazard; 不符合 again reopens that same hazard."""
    item = _items(store, inspection_id)[0]
    _answer(store, inspection_id, item, AnswerResult.NONCOMPLIANT)
    _answer(store, inspection_id, item, AnswerResult.COMPLIANT)
    with store.session() as s:
        hazard = s.scalars(select(Hazard)).one()
        assert hazard.status == HazardStatus.WITHDRAWN
        first_id = hazard.id
    _answer(store, inspection_id, item, AnswerResult.NONCOMPLIANT)
    with store.session() as s:
        hazard = s.scalars(select(Hazard)).one()
        assert (hazard.id, hazard.status) == (first_id, HazardStatus.OPEN)
        assert s.scalars(select(Answer)).one().result == AnswerResult.NONCOMPLIANT


def test_answer_is_committed_at_once_and_remembers_position(store, inspection_id):
    """Each answer is in the database as soon as the call returns; the position is kept."""
    item = _items(store, inspection_id)[2]
    _answer(store, inspection_id, item, AnswerResult.NOT_APPLICABLE, "无该设备")
    with store.session() as s:  # a new session sees it: it is committed
        answer = s.scalars(select(Answer)).one()
        assert (answer.result, answer.note) == (AnswerResult.NOT_APPLICABLE, "无该设备")
        assert s.get(Inspection, inspection_id).current_item_id == item.id


def test_item_of_another_checklist_is_refused(store, inspection_id):
    """An item that is not part of this inspection cannot be answered."""
    with store.session() as s:
        foreign = s.scalars(select(ChecklistItem).where(ChecklistItem.area == "涉氨制冷")).first()
    with pytest.raises(NotFoundError):
        _answer(store, inspection_id, foreign, AnswerResult.COMPLIANT)


def test_update_hazard_before_finalizing(store, inspection_id):
    """The team can edit the hazard text and deadline; a deadline in the past is refused."""
    item = _items(store, inspection_id)[0]
    _answer(store, inspection_id, item, AnswerResult.NONCOMPLIANT)
    with store.session() as s:
        hazard_id = s.scalars(select(Hazard.id)).one()
    with store.transaction() as s:
        update_hazard(s, hazard_id, rectification="立即清理积尘", deadline=date(2026, 11, 9))
    with pytest.raises(ValidationError, match="早于检查日期"):
        with store.transaction() as s:
            update_hazard(s, hazard_id, deadline=date(2026, 10, 1))
    with store.session() as s:
        hazard = s.get(Hazard, hazard_id)
        assert (hazard.rectification, hazard.deadline, hazard.deadline_days) == (
            "立即清理积尘", date(2026, 11, 9), 7)


def test_finalize_lists_everything_missing(store, inspection_id):
    """Finalizing an unfinished inspection is refused with every unanswered item named."""
    items = _items(store, inspection_id)
    _answer(store, inspection_id, items[0], AnswerResult.COMPLIANT)
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            finalize_inspection(s, inspection_id)
    assert len(err.value.problems) == len(items) - 1
    assert all(p.startswith("未回答") for p in err.value.problems)
    assert items[1].code in err.value.text()


def test_finalized_inspection_refuses_edits(store, inspection_id, clock):
    """After finalizing, answers, hazards and the inspection itself cannot change."""
    items = _items(store, inspection_id)
    _answer_all(store, inspection_id)
    _answer(store, inspection_id, items[0], AnswerResult.NONCOMPLIANT)
    clock.advance(hours=1)
    with store.transaction() as s:
        insp = finalize_inspection(s, inspection_id)
        assert insp.case_serial == 1 and insp.case_year == 2026
    with pytest.raises(FinalizedRecordError):
        _answer(store, inspection_id, items[1], AnswerResult.NONCOMPLIANT)
    with store.session() as s:
        hazard_id = s.scalars(select(Hazard.id)).one()
    with pytest.raises(FinalizedRecordError):
        with store.transaction() as s:
            update_hazard(s, hazard_id, description="改写")
    # Even code that bypasses the rules cannot write: the flush hook refuses.
    with pytest.raises(FinalizedRecordError):
        with store.transaction() as s:
            s.get(Inspection, inspection_id).place = "别处"
    with pytest.raises(FinalizedRecordError):
        with store.transaction() as s:
            s.get(Answer, s.scalars(select(Answer.id)).first()).note = "事后补记"
    with store.session() as s:
        insp = s.get(Inspection, inspection_id)
        assert insp.status == InspectionStatus.FINALIZED and insp.place == "木工车间"


def test_case_serials_count_up_per_year(store, enterprise_id, team, clock):
    """Each finalized case gets the next serial of its year."""
    serials = []
    for _ in range(2):
        with store.transaction() as s:
            iid = start_inspection(s, NewInspection(enterprise_id, team, "车间", clock())).id
        _answer_all(store, iid)
        with store.transaction() as s:
            serials.append(finalize_inspection(s, iid).case_serial)
    assert serials == [1, 2]


def test_unknown_inspection_is_reported(store):
    """A stale id gives a clear message, not a crash."""
    with pytest.raises(NotFoundError, match="找不到该检查"):
        with store.transaction() as s:
            answer_item(s, uuid.uuid4(), uuid.uuid4(), AnswerResult.COMPLIANT)
