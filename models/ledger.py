"""The hazard ledger (隐患台账): every ordered hazard of every enterprise, with its derived status.

Pure queries; `today` is always a parameter. A hazard enters the ledger when its inspection is
finalized (the rectification order is issued); withdrawn hazards never do.

The ledger status is derived, with `due_days` = AgencySettings.reinspection_due_days (default 10)
and "deadline" = the deadline in force (a re-inspection's new deadline, else the order's):

    已销号     the hazard is closed off (rectified at re-inspection)
    整改不合格 found not rectified at re-inspection (with a new deadline, or escalated to penalty)
    逾期       open and the deadline has passed (deadline < today)
    待复查     open and the deadline falls within the next `due_days` days: re-inspection is due
    待整改     open and the deadline is further away

The due list shown at start is exactly the 待复查 and 逾期 hazards, plus hazards found not
rectified with a new deadline (not escalated) that is near or past: those need another
re-inspection.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from models.assignment_rules import (Assignment, assignment_days_overdue, assignment_state,
                                     current_assignments)
from models.checklist import ChecklistItem
from models.inspection import Hazard, HazardStatus, Inspection, InspectionStatus
from models.local_time import agency_date, agency_zone
from models.registry import AgencySettings, Enterprise
from models.search import text_matches

TO_RECTIFY, DUE, OVERDUE, CLOSED, NOT_RECTIFIED = "待整改", "待复查", "逾期", "已销号", "整改不合格"
STATUSES = (TO_RECTIFY, OVERDUE, DUE, CLOSED, NOT_RECTIFIED)
DEFAULT_DUE_DAYS = 10
ORDER_ABBREVIATION = "责改"

# The deadline in force.
DUE_ON = func.coalesce(Hazard.current_deadline, Hazard.deadline)
# Still to be rectified: open, or found not rectified and given a new deadline (not escalated).
STILL_OPEN = or_(Hazard.status == HazardStatus.OPEN,
                 and_(Hazard.status == HazardStatus.NOT_RECTIFIED, Hazard.escalated.is_(False)))


@dataclass(frozen=True)
class LedgerFilter:
    statuses: frozenset[str] = frozenset()  # empty: every status
    area: str = ""                          # ChecklistItem.area (粉尘防爆 …); empty: all
    enterprise_id: uuid.UUID | None = None
    major_only: bool = False
    found_from: date | None = None          # local calendar days, inclusive
    found_to: date | None = None
    search: str = ""                        # enterprise name or address, item code, description
    # The enterprises and checklist items the search matched, looked up first (_resolve_search).
    search_ids: tuple | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class LedgerRow:
    id: uuid.UUID
    inspection_id: uuid.UUID
    enterprise_id: uuid.UUID
    enterprise: str
    item_code: str
    item_question: str
    area: str
    description: str
    is_major: bool
    major_clause: str
    found_on: date
    ordered_deadline: date
    deadline: date          # in force
    status: str             # one of STATUSES
    order_number: str
    days_overdue: int       # > 0 when the deadline in force has passed and the hazard is not done
    escalated: bool
    assigned_to: str
    ledger_no: str
    closed_on: date | None
    reported_on: date | None
    # 交办 of a major hazard (models.assignment_rules): the record in force, its state.
    assignment: Assignment | None = None
    assignment_state: str = ""       # 未交办 / 已交办 / 逾期 / 已销号; "" for a general hazard
    assignment_days_overdue: int = 0

    @property
    def assignment_deadline(self) -> date | None:
        return self.assignment.deadline if self.assignment else None

    @property
    def level(self) -> str:
        return "重大" if self.is_major else "一般"

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    @property
    def outcome(self) -> str:
        """What the re-inspection decided for a hazard it found not rectified."""
        if self.status != NOT_RECTIFIED:
            return ""
        if self.escalated:
            return "移交行政处罚"
        return f"限期至 {self.deadline.isoformat()} 再整改"


# Counting stops here: "more than 10000" is all a screen needs, and it keeps a page < 100 ms.
COUNT_CAP = 10_000
# A search stops counting sooner (beyond the rows already paged): past two thousand hits the
# clerk narrows the term, and checking each hit's text is what a search page costs.
SEARCH_COUNT_CAP = 2_000


@dataclass(frozen=True)
class LedgerPage:
    rows: list[LedgerRow]
    total: int             # matching rows, at most cap + 1
    offset: int = 0
    cap: int = COUNT_CAP

    @property
    def total_capped(self) -> bool:
        return self.total > self.cap


def due_days_setting(session: Session) -> int:
    days = session.scalar(select(AgencySettings.reinspection_due_days))
    return DEFAULT_DUE_DAYS if days is None else days


def _region_short(session: Session) -> str:
    return session.scalar(select(AgencySettings.region_short)) or ""


def order_number(region_short: str, year: int | None, serial: int | None) -> str:
    """The rectification order's number, as documents.content.document_number writes it."""
    if year is None or serial is None:
        return ""
    region = region_short.strip()
    return f"{'（' + region + '）' if region else ''}应急{ORDER_ABBREVIATION}〔{year}〕{serial}号"


def status_expression(today: date, due_days: int):
    """The ledger status as SQL, for grouping."""
    return case(
        (Hazard.status == HazardStatus.CLOSED, literal(CLOSED)),
        (Hazard.status == HazardStatus.NOT_RECTIFIED, literal(NOT_RECTIFIED)),
        (DUE_ON < today, literal(OVERDUE)),
        (DUE_ON <= today + timedelta(days=due_days), literal(DUE)),
        else_=literal(TO_RECTIFY))


def _status_condition(status: str, today: date, due_days: int):
    is_open = Hazard.status == HazardStatus.OPEN
    horizon = today + timedelta(days=due_days)
    return {CLOSED: Hazard.status == HazardStatus.CLOSED,
            NOT_RECTIFIED: Hazard.status == HazardStatus.NOT_RECTIFIED,
            OVERDUE: and_(is_open, DUE_ON < today),
            DUE: and_(is_open, DUE_ON >= today, DUE_ON <= horizon),
            TO_RECTIFY: and_(is_open, DUE_ON > horizon)}[status]


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=agency_zone())


def _ledger_conditions(flt: LedgerFilter, today: date, due_days: int) -> list:
    """Conditions on the hazard table alone (others through IN-subqueries), so SQLite can walk
    the deadline index and stop after one page instead of joining 100k rows first."""
    # "Not in an unfinalized inspection" rather than "in a finalized one": the few inspections
    # under way make a short list, and the planner keeps walking the deadline index.
    # (Only inspections of kind INSPECTION have hazards; re-inspections review them.)
    under_way = select(Inspection.id).where(Inspection.status == InspectionStatus.IN_PROGRESS)
    conds = [Hazard.status != HazardStatus.WITHDRAWN, Hazard.inspection_id.not_in(under_way)]
    if flt.statuses:
        conds.append(or_(*(_status_condition(s, today, due_days) for s in flt.statuses)))
    if flt.area:
        conds.append(Hazard.item_id.in_(select(ChecklistItem.id)
                                        .where(ChecklistItem.area == flt.area)))
    if flt.enterprise_id is not None:
        conds.append(Hazard.enterprise_id == flt.enterprise_id)
    if flt.major_only:
        conds.append(Hazard.is_major == true())
    if flt.found_from is not None:
        conds.append(Hazard.found_at >= _local_midnight_utc(flt.found_from))
    if flt.found_to is not None:
        conds.append(Hazard.found_at < _local_midnight_utc(flt.found_to + timedelta(days=1)))
    if flt.search.strip():
        conds.append(or_(*_search_arms(flt)))
    return conds


# A search matches the hazard's text, its enterprise's name or address, its item's code. The
# enterprises and items are looked up first and given as ids: an OR of plain conditions is one
# index lookup per arm on PostgreSQL (a BitmapOr), where an IN-subquery arm made it test every
# hazard (seconds at 1M hazards). Past this many ids, the subquery.
_SEARCH_IDS_MAX = 500


def _matching_firms(term: str):
    return select(Enterprise.id).where(
        text_matches("enterprise", (Enterprise.name, Enterprise.address), term))


def _matching_items(term: str):
    return select(ChecklistItem.id).where(ChecklistItem.code.icontains(term, autoescape=True))


def _resolve_search(session: Session, flt: LedgerFilter) -> LedgerFilter:
    term = flt.search.strip()
    if not term or flt.search_ids is not None:
        return flt
    found = tuple(tuple(session.scalars(q.limit(_SEARCH_IDS_MAX + 1)))
                  for q in (_matching_firms(term), _matching_items(term)))
    return replace(flt, search_ids=found)


# An arm's ids up to this many are walked one by one, each down its own (id, deadline) index.
_ARM_IDS_WALKED = 20


def _search_arms(flt: LedgerFilter, *, split: bool = False) -> list:
    """The search's conditions, one per way a hazard can match. split: an arm of a few ids
    becomes one condition per id, each of which one index walks in deadline order; the text
    and the arms of many ids stay one condition (their hits are many: walking the deadline
    order finds them soon)."""
    term = flt.search.strip()
    firms, items = flt.search_ids or (None, None)
    arms, walked = [text_matches("hazard", (Hazard.description,), term)], []
    for column, ids, lookup in ((Hazard.enterprise_id, firms, _matching_firms),
                                (Hazard.item_id, items, _matching_items)):
        if split and ids is not None and len(ids) <= _ARM_IDS_WALKED:
            walked += [column == one for one in ids]
            continue
        if split:
            # Many firms or items: many hits, found soonest down the deadline order. Given its
            # index (by firm or item, then deadline), SQLite took every hit and sorted them all
            # (170 ms at 100k); coalesce(x, x) is x, and no index of x serves it.
            column = func.coalesce(column, column)
        if ids is None or len(ids) > _SEARCH_IDS_MAX:
            arms.append(column.in_(lookup(term)))
        elif ids:
            arms.append(column.in_(ids))
    return [or_(*arms), *walked] if split else arms


def _first_hits(session: Session, flt: LedgerFilter, today: date, due_days: int, count: int,
                descending: bool) -> list:
    """The first `count` hits of a search in deadline order, as (id, deadline) pairs: the first
    of each arm, merged. One walk of the deadline order filtered by the whole OR reads every
    row before the hits when they lie late in that order (an item's hazards: 175 ms at 1M);
    each arm alone goes down its own index, or sorts its few hits."""
    plain = replace(flt, search="", search_ids=None)
    conds = _ledger_conditions(plain, today, due_days)
    # One statement (a round trip per arm cost more than the arm itself), each arm a subquery
    # of its own, as SQLite wants for ORDER BY … LIMIT inside a UNION.
    arms = [select(Hazard.id, DUE_ON.label("due")).where(*conds, arm)
            .order_by(*_ordering(descending)).limit(count).subquery()
            for arm in _search_arms(flt, split=True)]
    hits = dict(session.execute(union_all(*(select(a.c.id, a.c.due) for a in arms))).all())
    # (deadline, id) as in the SQL order; the id as its int, compared in C
    return sorted(hits.items(), key=lambda h: (h[1], h[0].int), reverse=descending)[:count]


def _filtered(columns, flt: LedgerFilter, today: date, due_days: int):
    return select(*columns).where(*_ledger_conditions(flt, today, due_days))


_HAZARD_COLUMNS = (Hazard.id, Hazard.inspection_id, Hazard.enterprise_id, Hazard.item_id,
                   Hazard.description, Hazard.is_major, Hazard.major_clause, Hazard.found_at,
                   Hazard.deadline, Hazard.current_deadline, Hazard.status, Hazard.escalated,
                   Hazard.assigned_to, Hazard.ledger_no, Hazard.closed_at, Hazard.reported_on)


def _derive(status: HazardStatus, due_on: date, today: date, due_days: int) -> str:
    if status == HazardStatus.CLOSED:
        return CLOSED
    if status == HazardStatus.NOT_RECTIFIED:
        return NOT_RECTIFIED
    if due_on < today:
        return OVERDUE
    return DUE if due_on <= today + timedelta(days=due_days) else TO_RECTIFY


@dataclass
class _Lookups:
    """Names and numbers for a batch of hazard rows, fetched by primary key."""

    region: str
    enterprises: dict
    items: dict
    orders: dict
    assignments: dict

    @classmethod
    def fetch(cls, session: Session, rows: list, region: str) -> _Lookups:
        def by_id(columns, key, ids):
            ids = list(ids)
            found = {}
            for start in range(0, len(ids), 500):  # stay under SQLite's parameter limit
                for r in session.execute(select(key, *columns).where(key.in_(ids[start:start + 500]))):
                    found[r[0]] = tuple(r[1:])
            return found
        return cls(region,
                   by_id((Enterprise.name,), Enterprise.id, {r.enterprise_id for r in rows}),
                   by_id((ChecklistItem.code, ChecklistItem.question, ChecklistItem.area),
                         ChecklistItem.id, {r.item_id for r in rows}),
                   by_id((Inspection.case_year, Inspection.case_serial), Inspection.id,
                         {r.inspection_id for r in rows}),
                   current_assignments(session, {r.id for r in rows if r.is_major}))


def _row(r, today: date, due_days: int, look: _Lookups) -> LedgerRow:
    due_on = r.current_deadline or r.deadline
    status = _derive(r.status, due_on, today, due_days)
    still_open = r.status == HazardStatus.OPEN or (
        r.status == HazardStatus.NOT_RECTIFIED and not r.escalated)
    late = (today - due_on).days if still_open else 0
    code, question, area = look.items[r.item_id]
    assignment = look.assignments.get(r.id)
    office_deadline = assignment.deadline if assignment else None
    return LedgerRow(
        id=r.id, inspection_id=r.inspection_id, enterprise_id=r.enterprise_id,
        enterprise=look.enterprises[r.enterprise_id][0], item_code=code, item_question=question,
        area=area, description=r.description, is_major=r.is_major, major_clause=r.major_clause,
        found_on=agency_date(r.found_at), ordered_deadline=r.deadline, deadline=due_on,
        status=status, order_number=order_number(look.region, *look.orders[r.inspection_id]),
        days_overdue=max(late, 0), escalated=r.escalated,
        # the 交办 record's unit; before such records, the text typed in the ledger
        assigned_to=assignment.assignee if assignment else r.assigned_to,
        ledger_no=r.ledger_no,
        closed_on=agency_date(r.closed_at) if r.closed_at else None,
        reported_on=r.reported_on, assignment=assignment,
        assignment_state=assignment_state(r.status, r.escalated, office_deadline, today)
        if r.is_major else "",
        assignment_days_overdue=assignment_days_overdue(r.status, r.escalated, office_deadline,
                                                        today) if r.is_major else 0)


def _rows(session: Session, raw: list, today: date, due_days: int, region: str) -> list[LedgerRow]:
    look = _Lookups.fetch(session, raw, region)
    return [_row(r, today, due_days, look) for r in raw]


def _ordering(descending: bool):
    return (DUE_ON.desc(), Hazard.id.desc()) if descending else (DUE_ON, Hazard.id)


def ledger_page(session: Session, flt: LedgerFilter, today: date, *, due_days: int | None = None,
                limit: int = 100, offset: int = 0, descending: bool = False) -> LedgerPage:
    """One page of the filtered ledger, by deadline in force, and how many rows match in all."""
    due_days = due_days_setting(session) if due_days is None else due_days
    flt = _resolve_search(session, flt)
    if not flt.search.strip():
        total, cap = count_ledger(session, flt, today, due_days=due_days), COUNT_CAP
        query, skip = _filtered(_HAZARD_COLUMNS, flt, today, due_days), offset
    else:
        # Counted through the search indexes (no rows brought back), and the page found arm
        # by arm (_first_hits): not a walk of the whole deadline order looking for the hits.
        cap = offset + limit + SEARCH_COUNT_CAP
        total = count_ledger(session, flt, today, due_days=due_days, cap=cap)
        hits = _first_hits(session, flt, today, due_days, offset + limit, descending) if total else []
        # the hits met every condition: the page is fetched by their ids alone
        query = select(*_HAZARD_COLUMNS).where(Hazard.id.in_([h[0] for h in hits[offset:offset + limit]]))
        skip = 0
    query = query.order_by(*_ordering(descending)).limit(limit).offset(skip)
    rows = _rows(session, session.execute(query).all(), today, due_days, _region_short(session))
    return LedgerPage(rows, total, offset, cap)


def count_ledger(session: Session, flt: LedgerFilter, today: date, *, due_days: int | None = None,
                 cap: int = COUNT_CAP) -> int:
    """How many rows match, counting no further than cap + 1."""
    due_days = due_days_setting(session) if due_days is None else due_days
    flt = _resolve_search(session, flt)
    matching = _filtered((Hazard.id,), flt, today, due_days).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(matching)) or 0


def iter_ledger(session: Session, flt: LedgerFilter, today: date, *, due_days: int | None = None,
                descending: bool = False, batch: int = 5000) -> Iterator[LedgerRow]:
    """Every matching row, streamed in batches (for the Excel export and the CLI)."""
    due_days = due_days_setting(session) if due_days is None else due_days
    region = _region_short(session)
    flt = _resolve_search(session, flt)
    query = _filtered(_HAZARD_COLUMNS, flt, today, due_days).order_by(*_ordering(descending))
    raw = session.execute(query).all()  # plain tuples: ~100 bytes a row, no ORM objects
    for start in range(0, len(raw), batch):
        yield from _rows(session, raw[start:start + batch], today, due_days, region)


def ledger_row(session: Session, hazard_id: uuid.UUID, today: date) -> LedgerRow | None:
    """One hazard as the ledger shows it (None when it is not in the ledger)."""
    due_days = due_days_setting(session)
    query = _filtered(_HAZARD_COLUMNS, LedgerFilter(), today, due_days).where(Hazard.id == hazard_id)
    raw = session.execute(query).all()
    return _rows(session, raw, today, due_days, _region_short(session))[0] if raw else None


@dataclass(frozen=True)
class DueList:
    due_soon: list[LedgerRow]  # deadline within the next due_days days
    overdue: list[LedgerRow]   # deadline passed

    def __bool__(self) -> bool:
        return bool(self.due_soon or self.overdue)


def due_list(session: Session, today: date, due_days: int | None = None) -> DueList:
    """Re-inspections due within `due_days` days, and those whose deadline has passed."""
    due_days = due_days_setting(session) if due_days is None else due_days
    awaiting = or_(Hazard.status == HazardStatus.OPEN,
                   and_(Hazard.status == HazardStatus.NOT_RECTIFIED, Hazard.escalated == false()))
    query = (_filtered(_HAZARD_COLUMNS, LedgerFilter(), today, due_days)
             .where(awaiting, DUE_ON <= today + timedelta(days=due_days))
             .order_by(*_ordering(False)))
    rows = _rows(session, session.execute(query).all(), today, due_days, _region_short(session))
    return DueList([r for r in rows if r.deadline >= today], [r for r in rows if r.deadline < today])


def ledger_areas(session: Session) -> list[str]:
    """The areas that have hazards in the ledger, for the filter."""
    return list(session.scalars(
        select(ChecklistItem.area).join(Hazard, Hazard.item_id == ChecklistItem.id)
        .distinct().order_by(ChecklistItem.area)))


def ledger_enterprises(session: Session) -> list[tuple[uuid.UUID, str]]:
    """Enterprises that have hazards, by name, for the filter."""
    return [(i, n) for i, n in session.execute(
        select(Enterprise.id, Enterprise.name)
        .where(Enterprise.id.in_(select(Hazard.enterprise_id).distinct()))
        .order_by(Enterprise.name))]


@dataclass(frozen=True)
class LedgerStats:
    total: int
    by_status: dict[str, int]       # every status, zeros included, in STATUSES order
    by_area: list[tuple[str, int]]  # most hazards first
    by_enterprise: list[tuple[str, int]]
    top_items: list[tuple[str, str, int]]  # (code, question, hazards), most frequent first
    overdue: int                    # open (or pending after re-inspection) past the deadline
    major: int

    @property
    def closed(self) -> int:
        return self.by_status.get(CLOSED, 0)

    @property
    def rectification_rate(self) -> float:
        """整改率: hazards closed off as a share of all ordered hazards (0 when there are none)."""
        return self.closed / self.total if self.total else 0.0


def _base(columns, flt: LedgerFilter, today: date, due_days: int):
    """The filtered ledger joined to its enterprise and item, for grouping."""
    return (select(*columns).select_from(Hazard)
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .join(ChecklistItem, ChecklistItem.id == Hazard.item_id)
            .where(*_ledger_conditions(flt, today, due_days)))


def _grouped(session: Session, column, flt, today, due_days) -> list[tuple[str, int]]:
    n = func.count(Hazard.id)
    query = (_base((column, n), flt, today, due_days).group_by(column)
             .order_by(n.desc(), column))
    return [(k, c) for k, c in session.execute(query)]


def ledger_statistics(session: Session, today: date, flt: LedgerFilter = LedgerFilter(), *,
                      due_days: int | None = None, top: int = 10) -> LedgerStats:
    """Counts by status, area and enterprise; overdue; the most frequent failed items."""
    due_days = due_days_setting(session) if due_days is None else due_days
    flt = _resolve_search(session, flt)
    by_status = dict.fromkeys(STATUSES, 0)
    by_status.update(_grouped(session, status_expression(today, due_days), flt, today, due_days))
    n = func.count(Hazard.id)
    items = (_base((ChecklistItem.code, func.max(ChecklistItem.question), n), flt, today, due_days)
             .group_by(ChecklistItem.code).order_by(n.desc(), ChecklistItem.code).limit(top))
    late = or_(Hazard.status == HazardStatus.OPEN,
               and_(Hazard.status == HazardStatus.NOT_RECTIFIED, Hazard.escalated == false()))
    overdue = session.scalar(_filtered((n,), flt, today, due_days).where(late, DUE_ON < today))
    major = session.scalar(_filtered((n,), flt, today, due_days).where(Hazard.is_major == true()))
    return LedgerStats(
        total=sum(by_status.values()), by_status=by_status,
        by_area=_grouped(session, ChecklistItem.area, flt, today, due_days),
        by_enterprise=_grouped(session, Enterprise.name, flt, today, due_days),
        top_items=[(c, q, k) for c, q, k in session.execute(items)],
        overdue=overdue or 0, major=major or 0)


def row_dict(row: LedgerRow) -> dict:
    """A ledger row as JSON-ready data (dates as ISO strings)."""
    def iso(d):
        return d.isoformat() if d else None
    return {
        "id": str(row.id), "inspection_id": str(row.inspection_id),
        "enterprise_id": str(row.enterprise_id), "enterprise": row.enterprise,
        "item_code": row.item_code, "item_question": row.item_question, "area": row.area,
        "description": row.description, "level": row.level, "is_major": row.is_major,
        "major_clause": row.major_clause, "found_on": iso(row.found_on),
        "ordered_deadline": iso(row.ordered_deadline), "deadline": iso(row.deadline),
        "status": row.status, "overdue": row.overdue, "days_overdue": row.days_overdue,
        "order_number": row.order_number, "outcome": row.outcome,
        "assigned_to": row.assigned_to, "ledger_no": row.ledger_no,
        "closed_on": iso(row.closed_on), "reported_on": iso(row.reported_on),
        "assignment_state": row.assignment_state,
        "assignment_deadline": iso(row.assignment_deadline),
        "assignment_note": row.assignment.note if row.assignment else "",
        "assignment_days_overdue": row.assignment_days_overdue,
    }
