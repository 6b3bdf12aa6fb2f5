"""Read-only views of the enterprise register (台账) for its screen.

Create and edit go through `models.enterprise_rules`; this module only reads.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models.checklist import ChecklistItem
from models.enterprise_rules import EnterpriseInput
from models.errors import NotFoundError
from models.inspection import Hazard, HazardStatus, Inspection, InspectionStatus
from models.local_time import agency_date
from models.ledger import DUE_ON, STILL_OPEN
from models.plan_rules import risk_decisions
from models.registry import Enterprise, RiskColour
from models.risk_class import RiskDecision
from models.reports import list_inspections
from models.search import text_matches

# Hazards of these inspections count as open; a future "cancelled" status would not.
LIVE_INSPECTIONS = (InspectionStatus.IN_PROGRESS, InspectionStatus.FINALIZED)


@dataclass(frozen=True)
class EnterpriseRow:
    id: uuid.UUID
    name: str
    credit_code: str
    address: str
    legal_representative: str
    phone: str
    has_dust: bool
    has_ammonia: bool
    has_confined_space: bool
    risk_colour: RiskColour
    township: str
    risk_reason: str
    inspections: int
    open_hazards: int
    last_inspection: date | None
    # 分类分级 (models.risk_class): what gave `risk_colour`, and whether it was set by hand.
    risk_basis: str = ""
    risk_by_hand: bool = False


@dataclass(frozen=True)
class HistoryRow:
    id: uuid.UUID
    started_at: datetime
    place: str
    status: InspectionStatus
    status_label: str
    hazards: int
    major_hazards: int


@dataclass(frozen=True)
class OpenHazardRow:
    id: uuid.UUID
    inspection_id: uuid.UUID
    item_id: uuid.UUID
    item_code: str
    description: str
    is_major: bool
    major_clause: str
    deadline: date
    found_on: date
    ordered: bool   # the inspection is finalized, so the rectification order was issued
    overdue: bool
    days_overdue: int


def _inspection_stats():
    return (select(Inspection.enterprise_id, func.count(Inspection.id).label("n"),
                   func.max(Inspection.started_at).label("last"))
            .group_by(Inspection.enterprise_id).subquery())


def _open_hazard_counts():
    return (select(Hazard.enterprise_id, func.count(Hazard.id).label("n"))
            .join(Inspection, Inspection.id == Hazard.inspection_id)
            .where(Hazard.status == HazardStatus.OPEN, Inspection.status.in_(LIVE_INSPECTIONS))
            .group_by(Hazard.enterprise_id).subquery())


def list_enterprises(session: Session, search: str = "") -> list[EnterpriseRow]:
    """Every enterprise matching `search` (name, credit code, address or township), by name."""
    stats, hazards = _inspection_stats(), _open_hazard_counts()
    query = (select(Enterprise, func.coalesce(stats.c.n, 0), stats.c.last,
                    func.coalesce(hazards.c.n, 0))
             .outerjoin(stats, stats.c.enterprise_id == Enterprise.id)
             .outerjoin(hazards, hazards.c.enterprise_id == Enterprise.id)
             .order_by(Enterprise.name))
    if search.strip():
        term = search.strip()
        query = query.where(or_(text_matches("enterprise", (Enterprise.name, Enterprise.address), term),
                                Enterprise.credit_code.icontains(term, autoescape=True),
                                Enterprise.township.icontains(term, autoescape=True)))
    decisions = risk_decisions(session)
    return [_enterprise_row(e, n, last, open_n, decisions[e.id])
            for e, n, last, open_n in session.execute(query)]


def _enterprise_row(e: Enterprise, inspections: int, last: datetime | None,
                    open_hazards: int, risk: RiskDecision) -> EnterpriseRow:
    return EnterpriseRow(
        id=e.id, name=e.name, credit_code=e.credit_code, address=e.address,
        legal_representative=e.legal_representative, phone=e.phone, has_dust=e.has_dust,
        has_ammonia=e.has_ammonia, has_confined_space=e.has_confined_space,
        risk_colour=risk.colour, township=e.township, risk_reason=e.risk_reason,
        inspections=inspections, open_hazards=open_hazards,
        last_inspection=agency_date(last) if last else None,
        risk_basis=risk.basis, risk_by_hand=risk.by_hand)


def enterprise_input(session: Session, enterprise_id: uuid.UUID) -> EnterpriseInput:
    """The stored fields of one enterprise, ready for the edit form."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError("找不到该企业", "它可能已被删除，请刷新台账")
    data = EnterpriseInput(**{f.name: getattr(enterprise, f.name) for f in fields(EnterpriseInput)})
    # A class without a reason follows the rules: the form offers 按规则定级, not the colour.
    return data if data.risk_reason else replace(data, risk_colour=None)


def enterprise_history(session: Session, enterprise_id: uuid.UUID) -> list[HistoryRow]:
    """The enterprise's inspections, newest first, with their hazard counts."""
    return [HistoryRow(id=i.id, started_at=i.started_at, place=i.place, status=i.status,
                       status_label=i.status.label, hazards=hazards, major_hazards=major)
            for i, _name, hazards, major in
            list_inspections(session, enterprise_id=enterprise_id, limit=None)]


def open_hazards(session: Session, enterprise_id: uuid.UUID, today: date) -> list[OpenHazardRow]:
    """The enterprise's hazards still to rectify: major first, then by deadline."""
    query = (select(Hazard, Inspection.status, ChecklistItem.code)
             .join(Inspection, Inspection.id == Hazard.inspection_id)
             .join(ChecklistItem, ChecklistItem.id == Hazard.item_id)
             .where(Hazard.enterprise_id == enterprise_id, STILL_OPEN,
                    Inspection.status.in_(LIVE_INSPECTIONS))
             .order_by(Hazard.is_major.desc(), DUE_ON, Hazard.found_at))
    rows = []
    for hazard, status, code in session.execute(query):
        # Only an issued order can be overdue: before finalizing nothing was ordered yet.
        deadline = hazard.current_deadline or hazard.deadline  # a re-inspection may move it
        late = (today - deadline).days if status == InspectionStatus.FINALIZED else 0
        rows.append(OpenHazardRow(
            id=hazard.id, inspection_id=hazard.inspection_id, item_id=hazard.item_id,
            item_code=code, description=hazard.description, is_major=hazard.is_major,
            major_clause=hazard.major_clause, deadline=deadline,
            found_on=agency_date(hazard.found_at), ordered=status == InspectionStatus.FINALIZED,
            overdue=late > 0, days_overdue=max(late, 0)))
    return rows
