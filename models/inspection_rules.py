"""The rules of an inspection: start, answer item by item, finalize.

Functions take a session owned by the caller (`with store.transaction() as s:`) and raise
`FieldCheckError`s with Chinese text; they never touch Qt.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.checklist_library import latest_checklists
from models.case_range import case_range, last_in_range, next_in_range
from models.chain_anchor import case_serial_floor
from models.checklist import Checklist, ChecklistItem
from models.enterprise_rules import default_checklist_codes
from models.errors import FinalizedRecordError, NotFoundError, ValidationError
from models.flush_hooks import session_now
from models.inspection import (Answer, AnswerResult, Hazard, HazardStatus, Inspection,
                               InspectionChecklist, InspectionInspector, InspectionStatus)
from models.local_time import agency_date as local_date  # the agency's calendar day
from models.registry import AgencySettings, Enterprise, Inspector


def get_inspection(session: Session, inspection_id: uuid.UUID) -> Inspection:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFoundError("找不到该检查记录", "请在检查列表中重新选择")
    return inspection


def editable_inspection(session: Session, inspection_id: uuid.UUID) -> Inspection:
    inspection = get_inspection(session, inspection_id)
    if inspection.is_finalized:
        raise FinalizedRecordError("该检查")
    return inspection


@dataclass
class NewInspection:
    enterprise_id: uuid.UUID
    inspector_ids: list[uuid.UUID]
    place: str
    started_at: datetime
    checklist_codes: list[str] | None = None  # None: from the enterprise's hazard flags
    task_id: uuid.UUID | None = None           # the 待检任务 it carries out, if any


def _team_problems(inspectors: list[Inspector | None], ids: list[uuid.UUID]) -> list[str]:
    problems = []
    if len(set(ids)) != len(ids):
        problems.append("同一执法人员不能重复选择")
    known = [i for i in inspectors if i is not None]
    if len(known) < len(ids):
        problems.append("所选执法人员中有的已不存在")
    if len({i.id for i in known}) < 2:
        problems.append("现场检查须有至少两名执法人员")
    for person in known:
        if not person.certificate_no.strip():
            problems.append(f"执法人员 {person.name} 没有执法证号")
    return problems


def task_problems(session: Session, task_id: uuid.UUID, enterprise_id: uuid.UUID) -> list[str]:
    from models.planning import PlanTask
    task = session.get(PlanTask, task_id)
    if task is None or task.cancelled:
        return ["该待检任务不存在或已被重抽取代，请刷新待检任务"]
    if task.enterprise_id != enterprise_id:
        return ["所选企业与待检任务的企业不一致"]
    return []


def start_inspection(session: Session, spec: NewInspection) -> Inspection:
    enterprise = session.get(Enterprise, spec.enterprise_id)
    inspectors = [session.get(Inspector, i) for i in spec.inspector_ids]
    problems = [] if enterprise else ["请选择被检查单位"]
    problems += _team_problems(inspectors, spec.inspector_ids)
    if not spec.place.strip():
        problems.append("请填写检查场所")
    if spec.started_at is None:
        problems.append("请填写检查开始时间")
    codes = spec.checklist_codes
    if codes is None and enterprise:
        codes = default_checklist_codes(enterprise)
    available = latest_checklists(session)
    missing = [c for c in codes or [] if c not in available]
    if missing:
        problems.append(f"检查表 {', '.join(missing)} 未加载")
    if not codes:
        problems.append("请至少选择一张检查表")
    if spec.task_id is not None:
        problems += task_problems(session, spec.task_id, spec.enterprise_id)
    if problems:
        raise ValidationError("无法开始检查", problems)
    inspection = Inspection(enterprise=enterprise, place=spec.place.strip(),
                            started_at=spec.started_at, status=InspectionStatus.IN_PROGRESS,
                            task_id=spec.task_id)
    inspection.team = [InspectionInspector(inspector=p, position=n)
                       for n, p in enumerate(inspectors, 1)]
    inspection.checklists = [InspectionChecklist(checklist=available[c], position=n)
                             for n, c in enumerate(codes, 1)]
    session.add(inspection)
    session.flush()
    return inspection


def inspection_items(session: Session, inspection_id: uuid.UUID) -> list[ChecklistItem]:
    """Every item of the inspection's checklist versions, in walking order."""
    return list(session.scalars(
        select(ChecklistItem)
        .join(Checklist, ChecklistItem.checklist_id == Checklist.id)
        .join(InspectionChecklist, InspectionChecklist.checklist_id == Checklist.id)
        .where(InspectionChecklist.inspection_id == inspection_id)
        .order_by(InspectionChecklist.position, ChecklistItem.position)
    ))


def _item_of(session: Session, inspection: Inspection, item_id: uuid.UUID) -> ChecklistItem:
    item = session.get(ChecklistItem, item_id)
    used = {link.checklist_id for link in inspection.checklists}
    if item is None or item.checklist_id not in used:
        raise NotFoundError("该检查项不属于本次检查", "请从本次检查的项目列表中选择")
    return item


def describe_noncompliance(item: ChecklistItem, note: str) -> str:
    """A hazard's prefilled description: the item's finding (or its question) plus what was seen."""
    text = item.finding.strip().rstrip("。") or f"不符合检查项要求：{item.question.rstrip('？?')}"
    return f"{text}。" + (f"现场情况：{note.strip()}" if note.strip() else "")


def _open_hazard(session: Session, inspection: Inspection, answer: Answer, item: ChecklistItem,
                 now: datetime) -> Hazard:
    hazard = answer.hazard
    if hazard is None:
        hazard = Hazard(
            inspection=inspection, answer=answer, item_id=item.id,
            enterprise_id=inspection.enterprise_id,
            description=describe_noncompliance(item, answer.note), legal_basis=item.legal_basis,
            is_major=item.major, major_clause=item.major_clause,
            rectification=item.rectification, deadline_days=item.deadline_days,
            deadline=local_date(now) + timedelta(days=item.deadline_days), found_at=now,
        )
        session.add(hazard)
    elif hazard.status == HazardStatus.WITHDRAWN:
        hazard.status = HazardStatus.OPEN
    return hazard


def answer_item(session: Session, inspection_id: uuid.UUID, item_id: uuid.UUID,
                result: AnswerResult, note: str | None = None) -> Answer:
    """Record (or change) the answer to one item; 不符合 opens a hazard, any other withdraws it."""
    inspection = editable_inspection(session, inspection_id)
    item = _item_of(session, inspection, item_id)
    now = session_now(session)
    answer = session.scalar(select(Answer).where(Answer.inspection_id == inspection_id,
                                                 Answer.item_id == item_id))
    if answer is None:
        answer = Answer(inspection=inspection, item_id=item.id, result=result,
                        note=(note or "").strip(), answered_at=now)
        session.add(answer)
    else:
        answer.result, answer.answered_at = result, now
        if note is not None:
            answer.note = note.strip()
    if result == AnswerResult.NONCOMPLIANT:
        _open_hazard(session, inspection, answer, item, now)
    elif answer.hazard is not None and answer.hazard.status == HazardStatus.OPEN:
        answer.hazard.status = HazardStatus.WITHDRAWN
    inspection.current_item_id = item.id
    session.flush()
    return answer


def item_answer(session: Session, inspection_id: uuid.UUID, item_id: uuid.UUID) -> Answer:
    """The item's answer, created without a result when the team records a note or a photo
    before choosing 符合 / 不符合 / 不适用 (it still counts as unanswered)."""
    inspection = editable_inspection(session, inspection_id)
    answer = session.scalar(select(Answer).where(Answer.inspection_id == inspection_id,
                                                 Answer.item_id == item_id))
    if answer is None:
        item = _item_of(session, inspection, item_id)
        answer = Answer(inspection=inspection, item_id=item.id, result=None, note="",
                        answered_at=session_now(session))
        session.add(answer)
        session.flush()
    return answer


def save_note(session: Session, inspection_id: uuid.UUID, item_id: uuid.UUID, note: str) -> Answer:
    """Change the note of an item without touching its result (chosen or not yet)."""
    answer = item_answer(session, inspection_id, item_id)
    if answer.note != note.strip():
        answer.note = note.strip()
        session.flush()
    return answer


def set_current_item(session: Session, inspection_id: uuid.UUID, item_id: uuid.UUID) -> None:
    """Remember where the team is, so a restart resumes at the same item."""
    inspection = get_inspection(session, inspection_id)
    if not inspection.is_finalized and inspection.current_item_id != item_id:
        inspection.current_item_id = item_id
        session.flush()


def update_hazard(session: Session, hazard_id: uuid.UUID, *, description: str | None = None,
                  rectification: str | None = None, deadline: date | None = None) -> Hazard:
    """Edit what the order will say about a hazard, before the inspection is finalized."""
    hazard = session.get(Hazard, hazard_id)
    if hazard is None:
        raise NotFoundError("找不到该隐患", "请刷新后重试")
    inspection = editable_inspection(session, hazard.inspection_id)
    problems = []
    if description is not None and not description.strip():
        problems.append("隐患描述不能为空")
    if rectification is not None and not rectification.strip():
        problems.append("整改要求不能为空")
    if deadline is not None and deadline < local_date(inspection.started_at):
        problems.append("整改期限不能早于检查日期")
    if problems:
        raise ValidationError("隐患信息有误", problems)
    if description is not None:
        hazard.description = description.strip()
    if rectification is not None:
        hazard.rectification = rectification.strip()
    if deadline is not None:
        hazard.deadline = deadline
        hazard.deadline_days = (deadline - local_date(hazard.found_at)).days
    session.flush()
    return hazard


@dataclass(frozen=True)
class Blocker:
    """One thing that stands in the way of finalizing; `item_id` lets the UI jump to it."""

    text: str
    item_id: uuid.UUID | None = None


def finalize_blockers(session: Session, inspection: Inspection) -> list[Blocker]:
    """Everything that stands in the way of finalizing, each as a line for the user."""
    blockers = []
    if len(inspection.team) < 2:
        blockers.append(Blocker("现场检查须有至少两名执法人员"))
    blockers += [Blocker(f"执法人员 {m.inspector.name} 没有执法证号")
                 for m in inspection.team if not m.inspector.certificate_no.strip()]
    if not inspection.place.strip():
        blockers.append(Blocker("未填写检查场所"))
    answered = {a.item_id for a in inspection.answers if a.result is not None}
    blockers += [Blocker(f"未回答：{item.code} {item.question}", item.id)
                 for item in inspection_items(session, inspection.id) if item.id not in answered]
    for hazard in inspection.hazards:
        if hazard.status == HazardStatus.OPEN and not hazard.rectification.strip():
            blockers.append(Blocker(f"隐患“{hazard.description[:20]}”缺少整改要求", hazard.item_id))
    return blockers


def _next_case_serial(session: Session, year: int) -> int:
    rng = case_range(session.info.get("data_dir"))
    if rng is not None:  # enrolled: only inside the range the office gave this laptop
        exported = case_serial_floor(session.info.get("data_dir"), year)
        return next_in_range(rng, last_in_range(session, rng, year), exported)
    settings = session.scalar(select(AgencySettings))
    start = settings.serial_start if settings else 1
    last = session.scalar(select(func.max(Inspection.case_serial)).where(Inspection.case_year == year))
    # Numbers already exported stay used even if this store was rolled back to a backup.
    exported = case_serial_floor(session.info.get("data_dir"), year)
    return max(start, (last or 0) + 1, exported + 1)


def finalize_inspection(session: Session, inspection_id: uuid.UUID,
                        ended_at: datetime | None = None) -> Inspection:
    """Close the inspection for good: refused with the full list of what is missing."""
    inspection = editable_inspection(session, inspection_id)
    blockers = finalize_blockers(session, inspection)
    if blockers:
        raise ValidationError("检查尚不能定稿", [b.text for b in blockers], "请补全以上内容后再定稿")
    now = session_now(session)
    inspection.ended_at = ended_at or inspection.ended_at or now
    inspection.case_year = local_date(inspection.started_at).year
    inspection.case_serial = _next_case_serial(session, inspection.case_year)
    inspection.status = InspectionStatus.FINALIZED
    inspection.finalized_at = now
    session.flush()
    return inspection
