"""What the guided walk and the summary show: items with their state, counts, blockers."""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models.checklist import Checklist, ChecklistItem
from models.inspection import (Answer, AnswerResult, Hazard, HazardStatus, Inspection,
                               InspectionChecklist, InspectionStatus, Photo)
from models.inspection_rules import Blocker, finalize_blockers, get_inspection


@dataclass
class WalkItem:
    item: ChecklistItem
    checklist_code: str
    checklist_title: str
    answer: Answer | None
    hazard: Hazard | None  # only an open (not withdrawn) hazard
    photo_count: int

    @property
    def result(self) -> AnswerResult | None:
        return self.answer.result if self.answer else None


def walk_items(session: Session, inspection_id: uuid.UUID) -> list[WalkItem]:
    """Every item of the inspection in walking order, with its answer, hazard and photo count."""
    rows = session.execute(
        select(ChecklistItem, Checklist.code, Checklist.title)
        .join(Checklist, ChecklistItem.checklist_id == Checklist.id)
        .join(InspectionChecklist, InspectionChecklist.checklist_id == Checklist.id)
        .where(InspectionChecklist.inspection_id == inspection_id)
        .order_by(InspectionChecklist.position, ChecklistItem.position)
    ).all()
    answers = {a.item_id: a for a in session.scalars(
        select(Answer).where(Answer.inspection_id == inspection_id))}
    hazards = {h.item_id: h for h in session.scalars(
        select(Hazard).options(selectinload(Hazard.item))
        .where(Hazard.inspection_id == inspection_id, Hazard.status != HazardStatus.WITHDRAWN))}
    photos = dict(session.execute(
        select(Answer.item_id, func.count(Photo.id))
        .join(Photo, Photo.answer_id == Answer.id)
        .where(Answer.inspection_id == inspection_id).group_by(Answer.item_id)).all())
    return [WalkItem(item, code, title, answers.get(item.id), hazards.get(item.id),
                     photos.get(item.id, 0)) for item, code, title in rows]


@dataclass
class InspectionSummary:
    inspection: Inspection
    counts: dict[AnswerResult | None, int]
    hazards: list[Hazard]
    blockers: list[Blocker]

    @property
    def unanswered(self) -> int:
        return self.counts.get(None, 0)


def inspection_summary(session: Session, inspection_id: uuid.UUID) -> InspectionSummary:
    inspection = get_inspection(session, inspection_id)
    items = walk_items(session, inspection_id)
    counts = Counter(w.result for w in items)
    hazards = sorted((w.hazard for w in items if w.hazard), key=lambda h: (not h.is_major, h.deadline))
    blockers = [] if inspection.is_finalized else finalize_blockers(session, inspection)
    return InspectionSummary(inspection, dict(counts), hazards, blockers)


def resume_candidate(session: Session) -> Inspection | None:
    """The in-progress inspection touched last: offered for resuming at start."""
    return session.scalars(
        select(Inspection).where(Inspection.status == InspectionStatus.IN_PROGRESS)
        .order_by(Inspection.updated_at.desc()).limit(1)
    ).first()
