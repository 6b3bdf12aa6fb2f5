"""Re-inspection (复查): start from an ordered inspection, record each hazard, finalize.

A re-inspection is an Inspection of kind REINSPECTION that follows the original one, with its
own team and no checklists; each hazard under review has a HazardReview. Finalizing closes off
(销号) the rectified hazards and marks the others NOT_RECTIFIED with a new deadline or escalated
to penalty. Functions take the caller's session and raise FieldCheckErrors in Chinese.
"""
from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from models.errors import FieldCheckError, FinalizedRecordError, NotFoundError, ValidationError
from models.flush_hooks import session_now
from models.checklist import ChecklistItem
from models.inspection import (Hazard, HazardReview, HazardStatus, Inspection,
                               InspectionChecklist, InspectionInspector, InspectionKind, InspectionStatus, Photo)
from models.inspection_rules import _team_problems, get_inspection, local_date
from models.paths import resources_dir
from models.photo_store import prepare_photo
from models.registry import Inspector
from models.store_mode import require_office

# 台账 and 通报 are the office's steps (sync.authority takes no laptop's): the refusal here and
# the ledger screen's note on a laptop say it alike.
TRACKING_AT_OFFICE = "台账编号和通报日期由办公室登记，本机只能查看"
NEW_DEADLINE_DAYS = 15  # a failed re-inspection proposes this many days from its own date


@cache
def _wording() -> dict:
    path = resources_dir() / "wording" / "reinspection_rules.toml"
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FieldCheckError(f"复查规则措辞文件 {path} 缺失或有误（{exc}）",
                              "请重新安装 FieldCheck") from exc


def rule_text(key: str, **values) -> str:
    """A rule's message, worded in resources/wording/reinspection_rules.toml."""
    return _wording()[key].format_map(values)


def deadline_in_force(hazard: Hazard) -> date:
    """The deadline the enterprise works to: the last re-inspection's new one, else the order's."""
    return hazard.current_deadline or hazard.deadline


def default_new_deadline(in_force: date, day: date) -> date:
    """What a not-rectified hazard's new deadline starts as: NEW_DEADLINE_DAYS after the
    re-inspection, and never earlier than the deadline in force."""
    return max(in_force, day + timedelta(days=NEW_DEADLINE_DAYS))


def _deadline_problem(what: str, hazard: Hazard, new_deadline: date | None) -> str | None:
    in_force = deadline_in_force(hazard)
    if new_deadline is not None and new_deadline < in_force:
        return rule_text("new_deadline_earlier", hazard=what, new=new_deadline.isoformat(),
                         in_force=in_force.isoformat())
    return None


def close_evidence_problem(what: str, note: str, after_photos: int) -> str | None:
    """销号 needs a reason on record: an after photo or a note of what was seen."""
    if note.strip() or after_photos:
        return None
    return rule_text("close_needs_evidence", hazard=what)


def closed_without_review(session: Session, closing: set[uuid.UUID],
                          reviews: list[tuple[uuid.UUID, uuid.UUID, bool]],
                          finalized: set[uuid.UUID]) -> list[uuid.UUID]:
    """销号 ends 闭环管理 only through a finalized re-inspection that found the hazard
    rectified (finalize_reinspection). Of the hazards `closing` (arriving closed off in an
    import), those without such a review, sorted: none among `reviews` (hazard, re-inspection,
    rectified — the bundle's) on a re-inspection in `finalized` (the bundle's) or finalized
    here, and none held here — a bare status change, signed or made with the sqlite3 command
    line, closed a major hazard at the office."""
    if not closing:
        return []
    reviewed = {(h, i) for h, i, rectified in reviews if rectified and h in closing}
    done = {h for h, i in reviewed if i in finalized}
    unknown = {i for h, i in reviewed if h not in done}
    if unknown:  # reviews of the bundle on re-inspections finalized here
        here = _found_in(session, select(Inspection.id).where(
            Inspection.status == InspectionStatus.FINALIZED), Inspection.id, unknown)
        done |= {h for h, i in reviewed if i in here}
    if rest := closing - done:
        done |= _found_in(session, select(HazardReview.hazard_id).join(
            Inspection, HazardReview.inspection_id == Inspection.id).where(
            HazardReview.rectified.is_(True), Inspection.status == InspectionStatus.FINALIZED),
            HazardReview.hazard_id, rest)
    return sorted(closing - done, key=str)


def _found_in(session: Session, query, column, values) -> set:
    values, found = list(values), set()
    for start in range(0, len(values), 500):  # SQLite's parameter limit
        found.update(session.scalars(query.where(column.in_(values[start:start + 500]))))
    return found


# Hazards a re-inspection looks at: still open, or found not rectified and given a new deadline.
AWAITING_REVIEW = or_(Hazard.status == HazardStatus.OPEN,
                      and_(Hazard.status == HazardStatus.NOT_RECTIFIED, Hazard.escalated == false()))


@dataclass(frozen=True)
class OrderChoice:
    """An inspection whose order still has hazards to re-inspect."""

    inspection_id: uuid.UUID
    started_at: datetime
    case_year: int
    case_serial: int
    place: str
    hazards: int


def reinspection_candidates(session: Session, enterprise_id: uuid.UUID) -> list[OrderChoice]:
    """The enterprise's finalized inspections with hazards awaiting re-inspection, oldest first."""
    query = (select(Inspection, Hazard.id)
             .join(Hazard, Hazard.inspection_id == Inspection.id)
             .where(Inspection.enterprise_id == enterprise_id,
                    Inspection.status == InspectionStatus.FINALIZED,
                    Inspection.kind == InspectionKind.INSPECTION, AWAITING_REVIEW)
             .order_by(Inspection.started_at))
    counts: dict[uuid.UUID, list] = {}
    for inspection, _hazard in session.execute(query):
        counts.setdefault(inspection.id, [inspection, 0])[1] += 1
    return [OrderChoice(i.id, i.started_at, i.case_year, i.case_serial, i.place, n)
            for i, n in counts.values()]


def open_reinspection(session: Session, original_id: uuid.UUID) -> Inspection | None:
    """A re-inspection of the original already started and not yet finalized."""
    return session.scalar(select(Inspection).where(
        Inspection.follows_inspection_id == original_id,
        Inspection.kind == InspectionKind.REINSPECTION,
        Inspection.status == InspectionStatus.IN_PROGRESS))


def _original(session: Session, original_id: uuid.UUID) -> Inspection:
    original = get_inspection(session, original_id)
    if original.kind != InspectionKind.INSPECTION or not original.is_finalized:
        raise ValidationError("无法开始复查", ["只能对已定稿、已下达整改指令的检查进行复查"])
    return original


def start_reinspection(session: Session, original_id: uuid.UUID, inspector_ids: list[uuid.UUID],
                       started_at: datetime, place: str = "") -> Inspection:
    """Begin re-inspecting every hazard of the original order that still awaits review."""
    original = _original(session, original_id)
    inspectors = [session.get(Inspector, i) for i in inspector_ids]
    problems = _team_problems(inspectors, inspector_ids)
    hazards = _awaiting_in_order_sequence(session, original.id)
    if not hazards:
        problems.append("该检查的隐患均已销号或已移交处罚，无需复查")
    if open_reinspection(session, original.id) is not None:
        problems.append("该检查已有一次进行中的复查，请继续该复查")
    if problems:
        raise ValidationError("无法开始复查", problems)
    reinspection = Inspection(
        enterprise_id=original.enterprise_id, place=(place or original.place).strip(),
        started_at=started_at, status=InspectionStatus.IN_PROGRESS,
        kind=InspectionKind.REINSPECTION, follows_inspection_id=original.id)
    reinspection.team = [InspectionInspector(inspector=p, position=n)
                         for n, p in enumerate(inspectors, 1)]
    session.add(reinspection)
    session.flush()
    for n, hazard in enumerate(hazards, 1):
        session.add(HazardReview(inspection_id=reinspection.id, hazard_id=hazard.id, position=n,
                                 note=""))
    session.flush()
    return reinspection


def _awaiting_in_order_sequence(session: Session, original_id: uuid.UUID) -> list[Hazard]:
    """The original's hazards awaiting review, numbered as its rectification order lists them."""
    return list(session.scalars(
        select(Hazard)
        .join(ChecklistItem, ChecklistItem.id == Hazard.item_id)
        .join(InspectionChecklist, and_(InspectionChecklist.checklist_id == ChecklistItem.checklist_id,
                                        InspectionChecklist.inspection_id == original_id))
        .where(Hazard.inspection_id == original_id, AWAITING_REVIEW)
        .order_by(InspectionChecklist.position, ChecklistItem.position)))


def _editable_reinspection(session: Session, reinspection_id: uuid.UUID) -> Inspection:
    inspection = get_inspection(session, reinspection_id)
    if inspection.kind != InspectionKind.REINSPECTION:
        raise NotFoundError("该记录不是复查", "请从隐患台账或企业台账开始复查")
    if inspection.is_finalized:
        raise FinalizedRecordError("该复查")
    return inspection


def reviews(session: Session, reinspection_id: uuid.UUID) -> list[HazardReview]:
    return list(session.scalars(select(HazardReview)
                                .where(HazardReview.inspection_id == reinspection_id)
                                .order_by(HazardReview.position)))


def _review(session: Session, reinspection_id: uuid.UUID, hazard_id: uuid.UUID) -> HazardReview:
    review = session.scalar(select(HazardReview).where(
        HazardReview.inspection_id == reinspection_id, HazardReview.hazard_id == hazard_id))
    if review is None:
        raise NotFoundError("该隐患不在本次复查范围内", "请从复查列表中选择隐患")
    return review


def record_review(session: Session, reinspection_id: uuid.UUID, hazard_id: uuid.UUID, *,
                  rectified: bool | None, note: str | None = None,
                  new_deadline: date | None = None, escalated: bool = False) -> HazardReview:
    """What the team found for one hazard; a rectified one needs no deadline or escalation."""
    _editable_reinspection(session, reinspection_id)
    review = _review(session, reinspection_id, hazard_id)
    if not rectified and not escalated:
        problem = _deadline_problem(f"第{review.position}项", review.hazard, new_deadline)
        if problem:
            raise ValidationError("新的整改期限有误", [problem])
    review.rectified = rectified
    if note is not None:
        review.note = note.strip()
    review.new_deadline = None if rectified else new_deadline
    review.escalated = bool(escalated) and not rectified
    session.flush()
    return review


def add_after_photo(session: Session, photos_dir: Path, reinspection_id: uuid.UUID,
                    hazard_id: uuid.UUID, data: bytes, original_name: str = "") -> Photo:
    """An "after" photo of a reviewed hazard: stored like evidence, owned by the re-inspection."""
    _editable_reinspection(session, reinspection_id)
    _review(session, reinspection_id, hazard_id)
    prepared = prepare_photo(photos_dir, data, original_name)
    facts = prepared.facts
    photo = Photo(inspection_id=reinspection_id, hazard_id=hazard_id, sha256=facts.sha256,
                  file_ext=facts.file_ext, byte_size=prepared.byte_size, width=facts.width,
                  height=facts.height, original_name=prepared.original_name, caption="整改后",
                  taken_at=facts.taken_at, gps_lat=facts.gps_lat, gps_lon=facts.gps_lon,
                  exif_orientation=facts.orientation)
    session.add(photo)
    session.flush()
    return photo


def after_photos(session: Session, reinspection_id: uuid.UUID,
                 hazard_id: uuid.UUID | None = None) -> list[Photo]:
    query = select(Photo).where(Photo.inspection_id == reinspection_id)
    if hazard_id is not None:
        query = query.where(Photo.hazard_id == hazard_id)
    return list(session.scalars(query.order_by(Photo.created_at, Photo.id)))


def reinspection_blockers(session: Session, reinspection: Inspection) -> list[str]:
    problems = []
    if len(reinspection.team) < 2:
        problems.append("复查须有至少两名执法人员")
    problems += [f"执法人员 {m.inspector.name} 没有执法证号"
                 for m in reinspection.team if not m.inspector.certificate_no.strip()]
    day = local_date(reinspection.started_at)
    photos = _after_photo_counts(session, reinspection.id)
    for n, review in enumerate(reviews(session, reinspection.id), 1):
        what = f"第{n}项“{review.hazard.description[:16]}”"
        if review.rectified is None:
            problems.append(f"{what}尚未确定是否已整改")
        elif review.rectified:
            problems += filter(None, [close_evidence_problem(
                what, review.note, photos.get(review.hazard_id, 0))])
        elif not review.escalated and review.new_deadline is None:
            problems.append(f"{what}未整改：请给出新的整改期限，或移交行政处罚")
        elif not review.escalated and review.new_deadline <= day:
            problems.append(f"{what}的新整改期限须晚于复查日期")
        elif not review.escalated:
            problems += filter(None, [_deadline_problem(what, review.hazard, review.new_deadline)])
    return problems


def _after_photo_counts(session: Session, reinspection_id: uuid.UUID) -> dict[uuid.UUID, int]:
    counts: dict[uuid.UUID, int] = {}
    for photo in after_photos(session, reinspection_id):
        counts[photo.hazard_id] = counts.get(photo.hazard_id, 0) + 1
    return counts


@dataclass(frozen=True)
class ReinspectionOutcome:
    """What finishing will do, for the confirmation: closed, new deadline, escalated."""

    closed: tuple[str, ...]
    new_deadline: tuple[tuple[str, date], ...]
    escalated: tuple[str, ...]

    def text(self) -> str:
        lines = [f"销号 {len(self.closed)} 项"] + [f"　· {d}" for d in self.closed]
        lines += [f"限期再整改 {len(self.new_deadline)} 项"]
        lines += [f"　· {d}\n　　新期限 {day.isoformat()}" for d, day in self.new_deadline]
        lines += [f"移交行政处罚 {len(self.escalated)} 项"] + [f"　· {d}" for d in self.escalated]
        return "\n".join(lines)


def reinspection_outcome(session: Session, reinspection_id: uuid.UUID) -> ReinspectionOutcome:
    closed, later, escalated = [], [], []
    for review in reviews(session, reinspection_id):
        text = review.hazard.description
        what = f"{review.hazard.item.code} {text[:12]}{'…' if len(text) > 12 else ''}"
        if review.rectified:
            closed.append(what)
        elif review.escalated:
            escalated.append(what)
        elif review.new_deadline is not None:
            later.append((what, review.new_deadline))
    return ReinspectionOutcome(tuple(closed), tuple(later), tuple(escalated))


def finalize_reinspection(session: Session, reinspection_id: uuid.UUID,
                          ended_at: datetime | None = None) -> Inspection:
    """Close off rectified hazards, record the outcome of the others, freeze the re-inspection."""
    reinspection = _editable_reinspection(session, reinspection_id)
    problems = reinspection_blockers(session, reinspection)
    if problems:
        raise ValidationError("复查尚不能完成", problems, "请补全以上内容后再完成复查")
    now = session_now(session)
    for review in reviews(session, reinspection.id):
        hazard = review.hazard
        if review.rectified:
            hazard.status, hazard.closed_at = HazardStatus.CLOSED, now
        else:
            hazard.status = HazardStatus.NOT_RECTIFIED
            hazard.escalated = review.escalated
            if review.new_deadline is not None:
                hazard.current_deadline = review.new_deadline
    reinspection.ended_at = ended_at or reinspection.ended_at or now
    reinspection.status = InspectionStatus.FINALIZED
    reinspection.finalized_at = now
    session.flush()
    return reinspection


def set_major_tracking(session: Session, hazard_id: uuid.UUID, *, assigned_to: str | None = None,
                       ledger_no: str, reported_on: date | None) -> Hazard:
    """一单四制 of a major hazard: its ledger number, when reported (and the free text of whom
    it was assigned to, kept for stores from before the office's 交办 records,
    models.assignment_rules; None leaves it as it is)."""
    require_office(session, TRACKING_AT_OFFICE,
                   "请在办公室的电脑上（隐患台账 → 一单四制）登记；本机随下次同步收到")
    hazard = session.get(Hazard, hazard_id)
    if hazard is None:
        raise NotFoundError("找不到该隐患", "请刷新隐患台账后重试")
    if not hazard.is_major:
        raise ValidationError("只有重大事故隐患实行一单四制管理")
    if assigned_to is not None:
        hazard.assigned_to = assigned_to.strip()
    hazard.ledger_no = ledger_no.strip()
    hazard.reported_on = reported_on
    session.flush()
    return hazard


def reinspection_round(session: Session, reinspection: Inspection) -> int:
    """Which finalized re-inspection of its order this is (1, 2 …), in the order they were
    finalized: each one's opinion keeps the number it was first issued with."""
    earlier = session.scalar(select(func.count()).select_from(Inspection).where(
        Inspection.follows_inspection_id == reinspection.follows_inspection_id,
        Inspection.kind == InspectionKind.REINSPECTION,
        Inspection.status == InspectionStatus.FINALIZED,
        or_(Inspection.finalized_at < reinspection.finalized_at,
            and_(Inspection.finalized_at == reinspection.finalized_at,
                 Inspection.id < reinspection.id))))
    return earlier + 1


# ----------------------------------------------------------------- what the screen shows

@dataclass(frozen=True)
class ReviewRow:
    hazard_id: uuid.UUID
    item_code: str
    description: str
    rectification: str
    is_major: bool
    deadline: date          # the deadline in force when the re-inspection started
    rectified: bool | None
    note: str
    new_deadline: date | None
    escalated: bool
    photos: int


@dataclass(frozen=True)
class ReinspectionHeader:
    id: uuid.UUID
    original_id: uuid.UUID
    enterprise: str
    order_number: str
    order_date: date
    team: tuple[str, ...]
    started_at: datetime
    finalized: bool


def reinspection_header(session: Session, reinspection_id: uuid.UUID) -> ReinspectionHeader:
    from models.ledger import _region_short, order_number
    re = get_inspection(session, reinspection_id)
    original = get_inspection(session, re.follows_inspection_id)
    return ReinspectionHeader(
        re.id, original.id, re.enterprise.name,
        order_number(_region_short(session), original.case_year, original.case_serial),
        local_date(original.finalized_at), tuple(m.inspector.name for m in re.team),
        re.started_at, re.is_finalized)


def review_rows(session: Session, reinspection_id: uuid.UUID) -> list[ReviewRow]:
    counts = _after_photo_counts(session, reinspection_id)
    return [ReviewRow(r.hazard_id, r.hazard.item.code, r.hazard.description,
                      r.hazard.rectification, r.hazard.is_major,
                      deadline_in_force(r.hazard), r.rectified, r.note,
                      r.new_deadline, r.escalated, counts.get(r.hazard_id, 0))
            for r in reviews(session, reinspection_id)]
