"""交办 of major hazards at the office: who may assign, what, until when; re-assignment as a
new record; the state (已交办 / 逾期 / 已销号) in the ledger and the 通报. Both backends."""
from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select

from documents.office_report import run_office_report
from models.assignment import HazardAssignment
from models.assignment_rules import (ASSIGNED, ASSIGNMENT_CLOSED, ASSIGNMENT_OVERDUE, NOT_ASSIGNED,
                                     assign_hazard, assignment_history)
from models.audit import AuditEvent
from models.errors import FinalizedRecordError, NotFoundError, ValidationError
from models.ledger import ledger_row, row_dict
from models.office_views import REPORT_COLUMNS, major_hazards
from models.reinspection_rules import finalize_reinspection, record_review, start_reinspection
from models.store_mode import is_office_store
from tests.conftest import make_office
from tests.models.test_ledger import GENERAL, MAJOR, ordered_case, set_region, today

TOWNSHIP = "湘乡市月山镇人民政府"


@pytest.fixture
def office_case(store, enterprise_id, team, clock):
    set_region(store)
    make_office(store)
    return ordered_case(store, enterprise_id, team, clock)


def second_connection(store):
    """A reader of its own (not the store's pool) to see what was committed."""
    engine = create_engine(store.engine.url)
    return engine, engine.connect()


def _assign(store, hazard_id, to=TOWNSHIP, days=15, note="请督促企业整改", clock=None):
    with store.transaction(actor="办公室", label="assign_hazard") as s:
        return assign_hazard(s, hazard_id, to=to, deadline=today(clock) + timedelta(days=days),
                             note=note, assigned_by="办公室")


def test_the_office_assigns_a_major_hazard(store, office_case, clock):
    """The office assigns a major hazard; the record and its audit event are stored, and the
    ledger row shows the unit, the office's deadline and 已交办."""
    assert is_office_store(store.data_dir)
    _insp, hazards = office_case
    made = _assign(store, hazards[MAJOR], clock=clock)
    engine, conn = second_connection(store)
    try:
        row = conn.execute(select(HazardAssignment.__table__)).mappings().one()
        events = conn.execute(select(AuditEvent.__table__.c.action, AuditEvent.__table__.c.label)
                              .where(AuditEvent.__table__.c.entity_id == str(made.id))).all()
    finally:
        conn.close()
        engine.dispose()
    assert (row["assignee"], row["deadline"], row["note"]) == (
        TOWNSHIP, today(clock) + timedelta(days=15), "请督促企业整改")
    assert row["replaces_id"] is None and events == [("create", "assign_hazard")]
    with store.session() as s:
        ledger = ledger_row(s, hazards[MAJOR], today(clock))
        general = ledger_row(s, hazards[GENERAL], today(clock))
    assert (ledger.assigned_to, ledger.assignment_deadline, ledger.assignment_state) == (
        TOWNSHIP, today(clock) + timedelta(days=15), ASSIGNED)
    assert row_dict(ledger)["assignment_state"] == ASSIGNED
    assert general.assignment_state == "" and general.assignment is None


@pytest.mark.sqlite_only  # a laptop is SQLite: a PostgreSQL store is always the office
def test_a_laptop_cannot_assign(store, enterprise_id, team, clock):
    """Only the office assigns: on a laptop the call is refused and nothing is written."""
    _insp, hazards = ordered_case(store, enterprise_id, team, clock)
    with store.session() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(ValidationError, match="只有办公室"):
        _assign(store, hazards[MAJOR], clock=clock)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(HazardAssignment)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert ledger_row(s, hazards[MAJOR], today(clock)).assignment_state == NOT_ASSIGNED


def test_only_a_major_hazard_in_the_ledger_with_a_unit_and_a_deadline_ahead(
        store, office_case, clock, enterprise_id, team):
    """A general hazard, an empty unit, a deadline in the past, an unknown hazard: refused."""
    _insp, hazards = office_case
    with pytest.raises(ValidationError, match="只有重大事故隐患"):
        _assign(store, hazards[GENERAL], clock=clock)
    with pytest.raises(ValidationError) as empty:
        _assign(store, hazards[MAJOR], to="  ", days=-1, clock=clock)
    assert "责任单位" in empty.value.text() and "已过" in empty.value.text()
    _assign(store, hazards[MAJOR], days=0, clock=clock)  # today is allowed
    import uuid
    with pytest.raises(NotFoundError):
        _assign(store, uuid.uuid4(), clock=clock)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(HazardAssignment)) == 1


def test_reassignment_is_a_new_record_and_the_old_one_stays(store, office_case, clock):
    """Re-assigning adds a record pointing at the one in force; the first is unchanged and
    can be neither edited nor deleted."""
    _insp, hazards = office_case
    first = _assign(store, hazards[MAJOR], clock=clock)
    with pytest.raises(ValidationError, match="完全相同"):
        _assign(store, hazards[MAJOR], clock=clock)
    second = _assign(store, hazards[MAJOR], to="湘乡市工业和信息化局", days=30, note="改由工信局督办",
                     clock=clock)
    assert second.replaces_id == first.id and second.round == 2
    with store.session() as s:
        history = assignment_history(s, hazards[MAJOR])
        ledger = ledger_row(s, hazards[MAJOR], today(clock))
    assert [(a.id, a.assignee) for a in history] == [(first.id, TOWNSHIP),
                                                     (second.id, "湘乡市工业和信息化局")]
    assert ledger.assigned_to == "湘乡市工业和信息化局" and ledger.assignment.note == "改由工信局督办"
    with pytest.raises(FinalizedRecordError, match="交办记录"):
        with store.transaction() as s:
            s.get(HazardAssignment, first.id).deadline = today(clock) + timedelta(days=90)
    with pytest.raises(FinalizedRecordError, match="交办记录"):
        with store.transaction() as s:
            s.delete(s.get(HazardAssignment, second.id))
    with store.session() as s:
        assert s.get(HazardAssignment, first.id).deadline == first.deadline
        assert s.scalar(select(func.count()).select_from(HazardAssignment)) == 2


def test_overdue_then_closed_off(store, office_case, clock, team):
    """Past the office's deadline the assignment is 逾期 and the hazard goes to the top of
    the major list; a re-inspection that closes it off makes it 已销号."""
    insp, hazards = office_case
    _assign(store, hazards[MAJOR], days=3, clock=clock)
    clock.advance(days=5)
    with store.session() as s:
        row = ledger_row(s, hazards[MAJOR], today(clock))
        majors = major_hazards(s, today(clock))
    assert (row.assignment_state, row.assignment_days_overdue) == (ASSIGNMENT_OVERDUE, 2)
    assert row.days_overdue == 0  # the order's own deadline has not passed: only the 交办 is late
    assert majors[0].id == hazards[MAJOR]
    with store.transaction() as s:
        re_id = start_reinspection(s, insp, team, clock()).id
    with store.transaction() as s:
        record_review(s, re_id, hazards[MAJOR], rectified=True, note="宿舍已迁出，现场核实")
        record_review(s, re_id, hazards[GENERAL], rectified=True, note="已整改")
        finalize_reinspection(s, re_id)
    with store.session() as s:
        row = ledger_row(s, hazards[MAJOR], today(clock))
    assert (row.assignment_state, row.assignment_days_overdue) == (ASSIGNMENT_CLOSED, 0)
    with pytest.raises(ValidationError, match="已销号"):
        _assign(store, hazards[MAJOR], days=10, clock=clock)


def test_the_report_states_each_assignment(store, office_case, clock, tmp_path):
    """The 通报 (Excel and PDF) carries the unit, the deadline and the state of each 交办."""
    _insp, hazards = office_case
    _assign(store, hazards[MAJOR], days=2, clock=clock)
    clock.advance(days=4)
    day = today(clock)
    summary = run_office_report(store, tmp_path, f"{day.year}-01-01", f"{day.year}-12-31", day)
    sheet = load_workbook(summary["xlsx"])["重大事故隐患通报"]
    header = [c.value for c in sheet[3]]
    assert header == list(REPORT_COLUMNS)
    values = dict(zip(header, [c.value for c in sheet[4]]))
    assert (values["交办单位"], values["交办状态"]) == (TOWNSHIP, ASSIGNMENT_OVERDUE)
    assert "逾期未完成交办 1 项" in sheet["A2"].value
    text = subprocess.run(["pdftotext", "-layout", summary["pdf"], "-"], capture_output=True,
                          text=True).stdout
    assert "逾期未完成交办 1 项" in text and "月山镇" in text and "交办单位" in text


def test_the_list_order_and_counts_in_sql_agree_with_the_rule(store, clock):
    """The office's list is ordered and counted in SQL: overdue either way first (the
    longest on top), closed last; its counts are those of the rows' own states."""
    from models.demo import build_demo
    from models.office_views import major_summary
    from tests.sync.conftest import DEMO_NOW
    build_demo(store, now=DEMO_NOW)
    make_office(store)
    clock.now = DEMO_NOW
    with store.session() as s:
        majors = major_hazards(s, today(clock))
    assert len(majors) >= 4
    # one assigned with a short deadline (late soon), one with a long one, one re-assigned
    _assign(store, majors[-1].id, days=2, clock=clock)
    _assign(store, majors[-2].id, days=90, clock=clock)
    _assign(store, majors[-3].id, days=60, clock=clock)
    _assign(store, majors[-3].id, to="工信局", days=1, clock=clock)
    clock.advance(days=12)
    day = today(clock)
    with store.session() as s:
        rows = major_hazards(s, day)
        summary = major_summary(s, day)
        first_two = major_hazards(s, day, limit=2)

    def late(r):
        return max(r.days_overdue, r.assignment_days_overdue)
    expected = sorted(rows, key=lambda r: (r.closed_on is not None, late(r) == 0, -late(r),
                                           r.deadline if late(r) == 0 else date.min))
    assert [(late(r), r.closed_on is None) for r in rows] == [
        (late(r), r.closed_on is None) for r in expected]
    assert any(r.assignment_days_overdue > r.days_overdue for r in rows)  # the 交办 decides
    assert [r.id for r in first_two] == [r.id for r in rows[:2]]
    assert summary.total == len(rows)
    assert summary.overdue == sum(1 for r in rows if r.overdue)
    assert summary.assignment_overdue == sum(1 for r in rows
                                             if r.assignment_state == ASSIGNMENT_OVERDUE) >= 2
    assert summary.not_assigned == sum(1 for r in rows if r.assignment_state == NOT_ASSIGNED)
