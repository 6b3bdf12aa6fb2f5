"""交办 of major hazards (一单四制): who may assign, what, until when; the state of an
assignment. The table is models.assignment.HazardAssignment.

* Only the office assigns (the store holding the agency CA's key, models.store_mode), and
  only a 重大事故隐患 in the ledger (its inspection finalized) that is not yet closed off.
* The responsible unit is named; the deadline is not in the past (the agency's calendar).
* A re-assignment is a new record replacing the one in force; nothing is changed or deleted
  (models.flush_hooks refuses it), so the chain stays in the audit trail.
* The state — 已交办 / 逾期 / 已销号 (未交办 without a record) — is decided here, in
  `assignment_state`, for the ledger, the 通报, the CLI and the screen alike.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.assignment import HazardAssignment
from models.errors import NotFoundError, ValidationError
from models.flush_hooks import session_now
from models.inspection import Hazard, HazardStatus, Inspection, InspectionStatus
from models.local_time import agency_date
from models.record_policy import same_as_recorded
from models.store_mode import require_office

NOT_ASSIGNED, ASSIGNED, ASSIGNMENT_OVERDUE, ASSIGNMENT_CLOSED = "未交办", "已交办", "逾期", "已销号"
ASSIGNMENT_STATES = (NOT_ASSIGNED, ASSIGNED, ASSIGNMENT_OVERDUE, ASSIGNMENT_CLOSED)
ASSIGNEE_MAX = 100


@dataclass(frozen=True)
class Assignment:
    """The assignment in force of one hazard, as the ledger and the screens show it."""

    id: uuid.UUID
    hazard_id: uuid.UUID
    assignee: str
    deadline: date
    note: str
    assigned_on: date
    assigned_by: str
    replaces_id: uuid.UUID | None
    round: int  # 1 for the first 交办, 2 for the first re-assignment …


def assignment_state(status: HazardStatus, escalated: bool, deadline: date | None,
                     today: date) -> str:
    """已销号 once the hazard is closed off; 逾期 when the office's deadline has passed and
    the hazard is still to be rectified; else 已交办 (未交办 without an assignment)."""
    if status == HazardStatus.CLOSED:
        return ASSIGNMENT_CLOSED
    if deadline is None:
        return NOT_ASSIGNED
    still_open = status == HazardStatus.OPEN or (
        status == HazardStatus.NOT_RECTIFIED and not escalated)
    return ASSIGNMENT_OVERDUE if still_open and deadline < today else ASSIGNED


def assignment_days_overdue(status: HazardStatus, escalated: bool, deadline: date | None,
                            today: date) -> int:
    if assignment_state(status, escalated, deadline, today) != ASSIGNMENT_OVERDUE:
        return 0
    return (today - deadline).days


def _rows(session: Session, hazard_ids) -> list[HazardAssignment]:
    ids = list(hazard_ids)
    found: list[HazardAssignment] = []
    for start in range(0, len(ids), 500):  # under SQLite's parameter limit
        found += session.scalars(select(HazardAssignment).where(
            HazardAssignment.hazard_id.in_(ids[start:start + 500])))
    return found


def _chains(records: list[HazardAssignment]) -> dict[uuid.UUID, list[HazardAssignment]]:
    """Per hazard, its assignments oldest first: along the replaces links (two made in the
    same second keep their order), then by time."""
    by_id = {r.id: r for r in records}

    def depth(r: HazardAssignment) -> int:
        n, seen = 0, {r.id}
        while r.replaces_id in by_id and r.replaces_id not in seen:
            r = by_id[r.replaces_id]
            seen.add(r.id)
            n += 1
        return n

    out: dict[uuid.UUID, list[HazardAssignment]] = {}
    for r in sorted(records, key=lambda r: (depth(r), r.assigned_at, str(r.id))):
        out.setdefault(r.hazard_id, []).append(r)
    return out


def _in_force(chain: list[HazardAssignment]) -> HazardAssignment:
    """The one no other replaces. Should two clerks have re-assigned at once (two such), the
    earlier deadline holds — as models.office_views orders and counts in SQL."""
    replaced = {r.replaces_id for r in chain}
    heads = [r for r in chain if r.id not in replaced] or chain
    return min(heads, key=lambda r: (r.deadline, -chain.index(r)))


def _view(record: HazardAssignment, chain: list[HazardAssignment]) -> Assignment:
    return Assignment(record.id, record.hazard_id, record.assignee, record.deadline, record.note,
                      agency_date(record.assigned_at), record.assigned_by, record.replaces_id,
                      chain.index(record) + 1)


def current_assignments(session: Session, hazard_ids) -> dict[uuid.UUID, Assignment]:
    """The assignment in force of each hazard that has one."""
    return {h: _view(_in_force(chain), chain)
            for h, chain in _chains(_rows(session, hazard_ids)).items()}


def assignment_history(session: Session, hazard_id: uuid.UUID) -> list[Assignment]:
    """Every 交办 of the hazard, oldest first (re-assignments point to the one they replace)."""
    chain = _chains(_rows(session, [hazard_id])).get(hazard_id, [])
    return [_view(r, chain) for r in chain]


def assignee_suggestions(session: Session) -> list[str]:
    """Units a clerk may pick: those assigned before, then the register's 乡镇/街道."""
    from models.registry import Enterprise
    before = list(session.scalars(select(HazardAssignment.assignee).distinct()
                                  .order_by(HazardAssignment.assignee)))
    towns = session.scalars(select(Enterprise.township).where(Enterprise.township != "")
                            .distinct().order_by(Enterprise.township))
    return before + [t for t in towns if t not in before]


_FIELD_NAMES = {"hazard_id": "隐患", "assignee": "责任单位", "deadline": "交办期限", "note": "说明",
                "assigned_at": "交办时间", "assigned_by": "交办人", "replaces_id": "所改交的原交办",
                "id": "记录编号", "created_at": "创建时间", "updated_at": "修改时间",
                "device_id": "录入设备"}


def assignment_problems(session: Session) -> list[str]:
    """Every 交办 record that differs from what its create event recorded, or that no create
    event records (written beside the chain): a 交办 is never changed, so the row must be
    what was recorded when it was made. For `status`."""
    from models.audit import AuditEvent
    created = {entity_id: after for entity_id, after in session.execute(
        select(AuditEvent.entity_id, AuditEvent.after).where(
            AuditEvent.entity_type == HazardAssignment.__tablename__,
            AuditEvent.action == "create"))}
    table = HazardAssignment.__table__
    problems = []
    for row in session.execute(select(table)).mappings():
        recorded = created.get(str(row["id"]))
        if recorded is None:
            problems.append(f"交办记录 {str(row['id'])[:8]} 没有对应的执法记录（疑似在记录链之外写入）")
            continue
        try:
            after = json.loads(recorded)
        except ValueError:
            after = {}
        changed = [k for k in row.keys() if not same_as_recorded(after.get(k), row[k])]
        if changed:
            names = "、".join(_FIELD_NAMES.get(k, k) for k in changed)
            problems.append(f"交办记录 {str(row['id'])[:8]} 与建立时的记录不一致（{names}）")
    return problems


def _assignable(session: Session, hazard_id: uuid.UUID) -> Hazard:
    hazard = session.get(Hazard, hazard_id)
    if hazard is None:
        raise NotFoundError(f"找不到隐患 {hazard_id}", "请在隐患台账中核对隐患编号")
    finalized = session.scalar(select(Inspection.status).where(
        Inspection.id == hazard.inspection_id)) == InspectionStatus.FINALIZED
    if not finalized or hazard.status == HazardStatus.WITHDRAWN:
        raise ValidationError("该隐患尚未列入隐患台账，不能交办", hint="检查定稿、下达整改指令后才能交办")
    if not hazard.is_major:
        raise ValidationError("只有重大事故隐患由办公室交办", hint="一般隐患由检查组督促整改和复查")
    if hazard.status == HazardStatus.CLOSED:
        raise ValidationError("该隐患已销号，无需再交办")
    return hazard


def assign_hazard(session: Session, hazard_id: uuid.UUID, *, to: str, deadline: date,
                  note: str = "", assigned_by: str = "") -> Assignment:
    """交办 a major hazard to a department or township until `deadline`; a hazard already
    assigned is re-assigned: a new record replacing the one in force."""
    require_office(session, "只有办公室可以交办重大事故隐患",
                   "请在办公室的电脑上办理交办；本机可在隐患台账中查看交办情况")
    hazard = _assignable(session, hazard_id)
    now = session_now(session)
    problems = []
    to, note = to.strip(), note.strip()
    if not to:
        problems.append("请填写责任单位（部门或乡镇/街道）")
    elif len(to) > ASSIGNEE_MAX:
        problems.append(f"责任单位最多 {ASSIGNEE_MAX} 个字")
    if deadline < agency_date(now):
        problems.append(f"交办期限 {deadline.isoformat()} 已过，请选择今天或以后的日期")
    chain = _chains(_rows(session, [hazard.id])).get(hazard.id, [])
    previous = _in_force(chain) if chain else None
    if previous is not None and (previous.assignee, previous.deadline, previous.note) == (
            to, deadline, note):
        problems.append("与现行交办完全相同，无需重新交办")
    if problems:
        raise ValidationError("不能交办", problems)
    record = HazardAssignment(hazard_id=hazard.id, assignee=to, deadline=deadline, note=note,
                              assigned_at=now, assigned_by=assigned_by.strip(),
                              replaces_id=previous.id if previous else None)
    session.add(record)
    session.flush()
    return _view(record, [*chain, record])
