"""名录库 of the inspectors for the draw: who is available (and why not), and 回避.

Functions take a session owned by the caller and raise ValidationErrors with Chinese text;
the draw reads the result through models.plan_rules.draw_inputs.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import NotFoundError, ValidationError
from models.planning import InspectorAvoidance
from models.registry import Enterprise, Inspector
from models.store_mode import require_office

# 在岗 and 回避 decide the office's draws: the office registers them (sync.authority takes no
# laptop's), a laptop receives them with the next bundle.
_AT_OFFICE_HINT = "请在办公室的电脑上（设置 → 在岗与回避）登记；本机随下次同步收到"


@dataclass(frozen=True)
class AvailabilityRow:
    id: uuid.UUID
    name: str
    certificate_no: str
    active: bool
    available: bool
    reason: str


@dataclass(frozen=True)
class AvoidanceRow:
    id: uuid.UUID
    inspector_id: uuid.UUID
    inspector: str
    enterprise_id: uuid.UUID | None
    enterprise: str   # "" for a township entry
    township: str     # "" for an enterprise entry
    reason: str


def _inspector(session: Session, inspector_id: uuid.UUID) -> Inspector:
    person = session.get(Inspector, inspector_id)
    if person is None:
        raise NotFoundError("找不到该执法人员", "请重新打开设置")
    return person


def availability(session: Session) -> list[AvailabilityRow]:
    """Every inspector (active ones first) with whether they can be drawn."""
    people = session.scalars(select(Inspector).order_by(Inspector.active.desc(),
                                                        Inspector.created_at, Inspector.name))
    return [AvailabilityRow(p.id, p.name, p.certificate_no, p.active, p.available,
                            p.unavailable_reason) for p in people]


def set_availability(session: Session, inspector_id: uuid.UUID, available: bool,
                     reason: str = "") -> Inspector:
    """Mark an inspector available, or not available with the reason (培训、病假…)."""
    require_office(session, "执法人员是否在岗由办公室登记，本机只能查看", _AT_OFFICE_HINT)
    person = _inspector(session, inspector_id)
    reason = "" if available else reason.strip()
    if not available and not reason:
        raise ValidationError(f"{person.name}：设为不在岗须写明理由", hint="例如 脱产培训、病假、借调")
    if person.available != available:
        person.available = available
    if person.unavailable_reason != reason:
        person.unavailable_reason = reason
    session.flush()
    return person


def list_avoidances(session: Session) -> list[AvoidanceRow]:
    rows = session.execute(
        select(InspectorAvoidance, Inspector.name, Enterprise.name)
        .join(Inspector, Inspector.id == InspectorAvoidance.inspector_id)
        .outerjoin(Enterprise, Enterprise.id == InspectorAvoidance.enterprise_id)
        .order_by(Inspector.name, Enterprise.name, InspectorAvoidance.township))
    return [AvoidanceRow(a.id, a.inspector_id, person, a.enterprise_id, firm or "", a.township or "",
                         a.reason) for a, person, firm in rows]


def avoidance_problems(session: Session, inspector_id: uuid.UUID, *,
                       enterprise_id: uuid.UUID | None = None, township: str = "",
                       reason: str = "") -> list[str]:
    """Why this 回避 cannot be registered (empty when it can); also for checking a form early."""
    person = _inspector(session, inspector_id)
    township, reason = township.strip(), reason.strip()
    problems = []
    if (enterprise_id is None) == (not township):
        problems.append("请选择一家企业或填写一个乡镇/街道（二选一）")
    if enterprise_id is not None and session.get(Enterprise, enterprise_id) is None:
        problems.append("所选企业不存在，请刷新后重选")
    if not reason:
        problems.append("请写明回避理由，例如 近亲属任该企业负责人")
    duplicate = session.scalar(select(InspectorAvoidance.id).where(
        InspectorAvoidance.inspector_id == inspector_id,
        InspectorAvoidance.enterprise_id.is_(None) if enterprise_id is None
        else InspectorAvoidance.enterprise_id == enterprise_id,
        InspectorAvoidance.township == township))
    if duplicate is not None and not problems:
        problems.append(f"{person.name}的这条回避已经登记")
    return problems


def add_avoidance(session: Session, inspector_id: uuid.UUID, *, enterprise_id: uuid.UUID | None = None,
                  township: str = "", reason: str) -> InspectorAvoidance:
    """回避 for one enterprise or for a whole township (exactly one of the two), with the reason."""
    require_office(session, "执法人员回避由办公室登记，本机只能查看", _AT_OFFICE_HINT)
    problems = avoidance_problems(session, inspector_id, enterprise_id=enterprise_id,
                                  township=township, reason=reason)
    if problems:
        raise ValidationError("回避登记有误", problems)
    entry = InspectorAvoidance(inspector_id=inspector_id, enterprise_id=enterprise_id,
                               township=township.strip(), reason=reason.strip())
    session.add(entry)
    session.flush()
    return entry


def remove_avoidance(session: Session, avoidance_id: uuid.UUID) -> None:
    """Past draws keep the 回避 list they used in their recorded inputs; the audit keeps the row."""
    require_office(session, "执法人员回避由办公室登记，本机只能查看", _AT_OFFICE_HINT)
    entry = session.get(InspectorAvoidance, avoidance_id)
    if entry is None:
        raise NotFoundError("该回避记录已不存在", "请重新打开设置")
    session.delete(entry)
    session.flush()


def townships(session: Session) -> list[str]:
    """The townships named in the register, for choosing a township 回避."""
    return sorted(t for t in session.scalars(select(Enterprise.township).distinct()) if t)


def inspector_names(session: Session, ids: set[uuid.UUID]) -> list[str]:
    """The names of these inspectors that the store knows, by name."""
    if not ids:
        return []
    return list(session.scalars(select(Inspector.name).where(Inspector.id.in_(ids))
                                .order_by(Inspector.name)))


def find_inspector(session: Session, reference: str) -> uuid.UUID:
    """An inspector by their id or their 执法证号 (what a clerk has at hand)."""
    try:
        person = session.get(Inspector, uuid.UUID(reference))
    except ValueError:
        person = session.scalar(select(Inspector).where(Inspector.certificate_no == reference.strip()))
    if person is None:
        raise NotFoundError(f"找不到执法人员：{reference}", "请填写执法人员编号或执法证号（设置 → 执法人员）")
    return person.id
