"""The hazard ledger: derived statuses over time, filters, the due list, statistics."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from documents.content import document_number
from models.documents import DocumentKind
from models.inspection import Hazard, InspectionStatus
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, local_date, start_inspection)
from models.inspection import AnswerResult
from models.ledger import (CLOSED, DUE, NOT_RECTIFIED, OVERDUE, TO_RECTIFY, LedgerFilter,
                           due_list, iter_ledger, ledger_page, ledger_row, ledger_statistics,
                           order_number, row_dict)
from models.registry import AgencySettings
from tests.conftest import make_enterprise, valid_credit_code

# DUST-01 is a major hazard (第十一条（一）, 60 days); DUST-02 a general one (90 days).
MAJOR, GENERAL = "DUST-01", "DUST-02"


def ordered_case(store, enterprise_id, team, clock, bad=(MAJOR, GENERAL), place="木工车间"):
    """A finalized inspection whose `bad` items failed: (inspection id, {code: hazard id})."""
    with store.transaction() as s:
        inspection_id = start_inspection(s, NewInspection(enterprise_id, team, place, clock())).id
    with store.transaction() as s:
        for item in inspection_items(s, inspection_id):
            result = AnswerResult.NONCOMPLIANT if item.code in bad else AnswerResult.COMPLIANT
            answer_item(s, inspection_id, item.id, result, "现场查见" if item.code in bad else None)
        finalize_inspection(s, inspection_id)
        hazards = {h.item.code: h.id for h in s.scalars(
            select(Hazard).where(Hazard.inspection_id == inspection_id))}
    return inspection_id, hazards


def set_region(store, region="湘乡", due_days=10):
    with store.transaction() as s:
        s.add(AgencySettings(agency_name="湘乡市应急管理局", region_short=region,
                             reinspection_due_days=due_days))


def today(clock):
    return local_date(clock())


def statuses(store, clock):
    with store.session() as s:
        return {r.item_code: r.status for r in iter_ledger(s, LedgerFilter(), today(clock))}


def test_statuses_follow_the_clock(store, enterprise_id, team, clock):
    """待整改, then 待复查 within the due window, then 逾期 once the deadline passes."""
    _insp, hazards = ordered_case(store, enterprise_id, team, clock)
    with store.session() as s:
        deadline = s.get(Hazard, hazards[GENERAL]).deadline
    assert statuses(store, clock)[GENERAL] == TO_RECTIFY
    clock.now += timedelta(days=(deadline - today(clock)).days - 10)
    assert statuses(store, clock)[GENERAL] == DUE
    clock.advance(days=11)
    assert statuses(store, clock)[GENERAL] == OVERDUE
    with store.session() as s:
        row = ledger_row(s, hazards[GENERAL], today(clock))
    assert row.overdue and row.days_overdue == 1


def test_unfinalized_and_withdrawn_hazards_are_not_in_the_ledger(store, inspection_id):
    """Only an issued order puts a hazard in the ledger; a withdrawn answer never does."""
    with store.transaction() as s:
        items = inspection_items(s, inspection_id)
        answer_item(s, inspection_id, items[0].id, AnswerResult.NONCOMPLIANT)
        answer_item(s, inspection_id, items[1].id, AnswerResult.NONCOMPLIANT)
        answer_item(s, inspection_id, items[1].id, AnswerResult.COMPLIANT)
    with store.session() as s:
        assert ledger_page(s, LedgerFilter(), local_date(s.get(Hazard, s.scalar(
            select(Hazard.id))).found_at)).total == 0


def test_row_carries_order_number_and_major_fields(store, enterprise_id, team, clock):
    """A row names the enterprise, item, level and clause, found date and the order's number."""
    set_region(store)
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    with store.session() as s:
        row = ledger_row(s, hazards[MAJOR], today(clock))
        from models.inspection import Inspection
        i = s.get(Inspection, insp)
        assert i.status == InspectionStatus.FINALIZED
        expected = document_number(DocumentKind.RECTIFICATION_ORDER, "湘乡", i.case_year,
                                   i.case_serial)
    assert row.order_number == expected == order_number("湘乡", i.case_year, i.case_serial)
    assert (row.enterprise, row.item_code, row.level) == ("湘乡市测试木业有限公司", MAJOR, "重大")
    assert "第十一条（一）" in row.major_clause and row.found_on == today(clock)
    assert row_dict(row)["found_on"] == today(clock).isoformat()


def test_filters_combine(store, enterprise_id, team, clock):
    """Status, area, enterprise, major only, found-date range and search narrow the ledger."""
    ordered_case(store, enterprise_id, team, clock)
    other = make_enterprise(store, name="湘乡市冷链食品有限公司", has_dust=False, has_ammonia=True,
                            credit_code=valid_credit_code("91430381MA4L99999"))
    clock.advance(days=3)
    ordered_case(store, other, team, clock, bad=("NH3-01",), place="冷库")
    day = today(clock)

    def count(**kw):
        with store.session() as s:
            return ledger_page(s, LedgerFilter(**kw), day).total
    assert count() == 3
    assert count(major_only=True) == 1
    assert count(area="涉氨制冷") == 1
    assert count(enterprise_id=enterprise_id) == 2
    assert count(found_from=day) == 1 and count(found_to=day - timedelta(days=1)) == 2
    assert count(search="冷链") == 1
    assert count(statuses=frozenset({TO_RECTIFY})) == 3
    assert count(statuses=frozenset({OVERDUE, CLOSED})) == 0


def test_page_is_sorted_by_deadline_and_paged(store, enterprise_id, team, clock):
    """Rows come nearest deadline first (or last), a page at a time, with the full count."""
    ordered_case(store, enterprise_id, team, clock)
    with store.session() as s:
        first = ledger_page(s, LedgerFilter(), today(clock), limit=1)
        rest = ledger_page(s, LedgerFilter(), today(clock), limit=1, offset=1)
        desc = ledger_page(s, LedgerFilter(), today(clock), descending=True)
    assert first.total == rest.total == 2
    assert first.rows[0].deadline <= rest.rows[0].deadline
    assert [r.id for r in desc.rows] == [rest.rows[0].id, first.rows[0].id]


def test_due_list_has_due_soon_and_overdue(store, enterprise_id, team, clock):
    """At start: hazards whose deadline is within N days, and those past it."""
    _insp, hazards = ordered_case(store, enterprise_id, team, clock)
    with store.session() as s:
        general = s.get(Hazard, hazards[GENERAL]).deadline
        major = s.get(Hazard, hazards[MAJOR]).deadline
    assert major < general
    with store.session() as s:
        assert not due_list(s, today(clock))
        clock.now += timedelta(days=(major - today(clock)).days + 1)
        due = due_list(s, today(clock), due_days=(general - major).days)
    assert [r.id for r in due.overdue] == [hazards[MAJOR]]
    assert [r.id for r in due.due_soon] == [hazards[GENERAL]]


def test_statistics_count_by_status_area_enterprise_and_items(store, enterprise_id, team, clock):
    """Counts, rectification rate, overdue and the most frequent failed item."""
    ordered_case(store, enterprise_id, team, clock)
    ordered_case(store, enterprise_id, team, clock, bad=(GENERAL,))
    with store.session() as s:
        stats = ledger_statistics(s, today(clock) + timedelta(days=400))
    assert stats.total == 3 and stats.major == 1 and stats.overdue == 3
    assert stats.by_status[OVERDUE] == 3 and stats.by_status[NOT_RECTIFIED] == 0
    assert stats.by_area == [("粉尘防爆", 3)]
    assert stats.by_enterprise == [("湘乡市测试木业有限公司", 3)]
    assert stats.top_items[0][0] == GENERAL and stats.top_items[0][2] == 2
    assert stats.rectification_rate == pytest.approx(0.0)
