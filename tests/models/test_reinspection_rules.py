"""Re-inspection (复查): the whole loop from order to 销号 or 整改不合格, and its opinion document."""
import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from models.errors import FinalizedRecordError, ValidationError
from models.inspection import (Hazard, HazardReview, HazardStatus, Inspection, InspectionKind,
                               InspectionStatus, Photo)
from models.inspection_rules import local_date
from models.register_queries import open_hazards
from models.reports import overdue_hazards
from models.ledger import (CLOSED, NOT_RECTIFIED, OVERDUE, LedgerFilter, due_list, ledger_row,
                           ledger_statistics)
from models.reinspection_rules import (add_after_photo, finalize_reinspection, open_reinspection,
                                       record_review, reinspection_candidates,
                                       set_major_tracking, start_reinspection)
from documents.reinspection_content import reinspection_opinion_pdf
from tests.conftest import make_office
from tests.documents import flat, pdf_text
from tests.models.test_ledger import GENERAL, MAJOR, ordered_case, set_region, today


def jpeg(colour=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def start(store, insp, team, clock):
    with store.transaction() as s:
        return start_reinspection(s, insp, team, clock()).id


def test_full_loop_one_rectified_one_not(store, enterprise_id, team, clock):
    """Order, deadline passes, re-inspect: one closed off, one not rectified with a new deadline."""
    set_region(store)
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    with store.session() as s:
        order_day = local_date(s.get(Inspection, insp).finalized_at)
        deadline = s.get(Hazard, hazards[MAJOR]).deadline
    clock.now += timedelta(days=(deadline - order_day).days + 2)
    with store.session() as s:
        assert ledger_row(s, hazards[MAJOR], today(clock)).status == OVERDUE
        assert [r.id for r in due_list(s, today(clock)).overdue] == [hazards[MAJOR]]
    re_id = start(store, insp, team, clock)
    with store.session() as s:  # not yet due: a new deadline cannot come before its own
        new_deadline = s.get(Hazard, hazards[GENERAL]).deadline + timedelta(days=15)
    with store.transaction() as s:
        record_review(s, re_id, hazards[MAJOR], rectified=True, note="宿舍已迁出")
        add_after_photo(s, store.photos_dir, re_id, hazards[MAJOR], jpeg(), "after.jpg")
        record_review(s, re_id, hazards[GENERAL], rectified=False, note="防火间距仍不足",
                      new_deadline=new_deadline)
        finalize_reinspection(s, re_id)
    with store.session() as s:
        major, general = s.get(Hazard, hazards[MAJOR]), s.get(Hazard, hazards[GENERAL])
        assert (major.status, major.closed_at) == (HazardStatus.CLOSED, clock())
        assert general.status == HazardStatus.NOT_RECTIFIED
        assert general.current_deadline == new_deadline and general.deadline != new_deadline
        re = s.get(Inspection, re_id)
        assert (re.kind, re.status, re.follows_inspection_id) == (
            InspectionKind.REINSPECTION, InspectionStatus.FINALIZED, insp)
        closed, open_row = (ledger_row(s, hazards[c], today(clock)) for c in (MAJOR, GENERAL))
        assert (closed.status, closed.closed_on, closed.overdue) == (CLOSED, today(clock), False)
        assert open_row.status == NOT_RECTIFIED and open_row.deadline == new_deadline
        assert open_row.outcome == f"限期至 {new_deadline.isoformat()} 再整改"
        assert ledger_statistics(s, today(clock)).rectification_rate == pytest.approx(0.5)
        assert not due_list(s, today(clock)).overdue
        number, pdf = reinspection_opinion_pdf(s, re_id, store.photos_dir)
        order_no = ledger_row(s, hazards[MAJOR], today(clock)).order_number
    assert number == order_no.replace("责改", "复查")
    text = flat(pdf_text(pdf))
    d = order_day
    assert f"本机关于{d.year}年{d.month}月{d.day}日作出了责令限期整改的决定（文书编号：{order_no}）" in text
    assert "：已整改。复查情况：宿舍已迁出佐证材料：整改后照片1张" in text
    assert "：未整改。复查情况：防火间距仍不足；责令于" in text
    assert "你单位对上述第2项问题未按要求整改完毕" in text
    # Past the new deadline the unrectified hazard is due again and can be re-inspected again.
    clock.now += timedelta(days=(new_deadline - today(clock)).days + 1)
    with store.session() as s:
        assert [r.id for r in due_list(s, today(clock)).overdue] == [hazards[GENERAL]]
        assert [c.hazards for c in reinspection_candidates(s, enterprise_id)] == [1]
        # The register and the overdue list follow the new deadline too.
        assert [h.id for h in overdue_hazards(s, today(clock))] == [hazards[GENERAL]]
        [still] = open_hazards(s, enterprise_id, today(clock))
        assert (still.id, still.deadline, still.overdue) == (hazards[GENERAL], new_deadline, True)
    second = start(store, insp, team, clock)
    with store.transaction() as s:
        record_review(s, second, hazards[GENERAL], rectified=False, escalated=True)
        finalize_reinspection(s, second)
        row = ledger_row(s, hazards[GENERAL], today(clock))
        assert (row.outcome, row.overdue) == ("移交行政处罚", False)
        assert reinspection_candidates(s, enterprise_id) == []
    # Each re-inspection of the order has its own opinion number; the first keeps its own.
    with store.session() as s:
        first_again, _ = reinspection_opinion_pdf(s, re_id, store.photos_dir)
        second_number, second_pdf = reinspection_opinion_pdf(s, second, store.photos_dir)
    assert first_again == number
    assert second_number == number.replace("号", "-2号")
    assert second_number in flat(pdf_text(second_pdf))


def test_finalize_lists_what_is_missing(store, enterprise_id, team, clock):
    """Undecided hazards and an unrectified one without deadline or escalation block finalizing."""
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    re_id = start(store, insp, team, clock)
    with store.transaction() as s:
        record_review(s, re_id, hazards[GENERAL], rectified=False)
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            finalize_reinspection(s, re_id)
    assert "尚未确定是否已整改" in err.value.text() and "移交行政处罚" in err.value.text()
    with store.session() as s:
        assert s.get(Hazard, hazards[MAJOR]).status == HazardStatus.OPEN
        assert open_reinspection(s, insp).id == re_id


def test_start_needs_a_finalized_order_and_two_inspectors(store, enterprise_id, team, clock,
                                                          inspection_id):
    """An unfinalized inspection or a one-person team cannot start a re-inspection."""
    with pytest.raises(ValidationError, match="已定稿"):
        with store.transaction() as s:
            start_reinspection(s, inspection_id, team, clock())
    insp, _h = ordered_case(store, enterprise_id, team, clock)
    with pytest.raises(ValidationError, match="至少两名"):
        with store.transaction() as s:
            start_reinspection(s, insp, team[:1], clock())
    start(store, insp, team, clock)
    with pytest.raises(ValidationError, match="进行中的复查"):
        start(store, insp, team, clock)


def test_finalized_reinspection_is_frozen(store, enterprise_id, team, clock):
    """After finalizing, reviews and after-photos can no longer change."""
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    re_id = start(store, insp, team, clock)
    with store.transaction() as s:
        for h in hazards.values():
            record_review(s, re_id, h, rectified=True, note="已整改")
        finalize_reinspection(s, re_id)
    with pytest.raises(FinalizedRecordError):
        with store.transaction() as s:
            record_review(s, re_id, hazards[MAJOR], rectified=False)
    with pytest.raises(FinalizedRecordError):
        with store.transaction() as s:
            s.scalar(select(HazardReview)).note = "改动"
    with store.session() as s:
        assert s.scalars(select(Photo)).all() == []


def test_major_hazard_tracking_is_recorded(store, enterprise_id, team, clock):
    """一单四制 at the office (it alone records them; a laptop's refusal: test_office_only):
    assigned to, ledger number and reported date are kept on a finalized hazard."""
    make_office(store)
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    with store.transaction() as s:
        set_major_tracking(s, hazards[MAJOR], assigned_to="湘乡经开区安监站",
                           ledger_no="ZD-2026-001", reported_on=today(clock))
    with store.session() as s:
        row = ledger_row(s, hazards[MAJOR], today(clock))
    assert (row.assigned_to, row.ledger_no, row.reported_on) == (
        "湘乡经开区安监站", "ZD-2026-001", today(clock))
    with pytest.raises(ValidationError, match="一单四制"):
        with store.transaction() as s:
            set_major_tracking(s, hazards[GENERAL], assigned_to="x", ledger_no="", reported_on=None)
    with store.session() as s:
        assert ledger_statistics(s, today(clock), LedgerFilter(major_only=True)).total == 1


def _moved_deadline_case(store, enterprise_id, team, clock):
    """The observed case: a first re-inspection moved the deadline to 2027-01-30; the second
    one, on 2026-12-01, finds it not rectified again."""
    from datetime import date
    insp, hazards = ordered_case(store, enterprise_id, team, clock, bad=(MAJOR,))
    first = start(store, insp, team, clock)
    with store.transaction() as s:
        record_review(s, first, hazards[MAJOR], rectified=False, new_deadline=date(2027, 1, 30))
        finalize_reinspection(s, first)
    clock.now = clock.now.replace(month=12, day=1)
    return insp, hazards[MAJOR], start(store, insp, team, clock)


def test_new_deadline_is_never_earlier_than_the_one_in_force(store, enterprise_id, team, clock):
    """The proposed new deadline keeps the one in force (not 15 days from today, which would be
    earlier); an earlier one is refused by record_review and by finalizing, in Chinese."""
    from datetime import date
    from models.reinspection_rules import default_new_deadline, review_rows
    _insp, hazard, second = _moved_deadline_case(store, enterprise_id, team, clock)
    with store.session() as s:
        [row] = review_rows(s, second)
    assert row.deadline == date(2027, 1, 30)
    assert default_new_deadline(row.deadline, today(clock)) == date(2027, 1, 30)
    assert default_new_deadline(date(2026, 12, 5), today(clock)) == date(2026, 12, 16)
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            record_review(s, second, hazard, rectified=False, new_deadline=date(2026, 12, 16))
    assert "早于现行整改期限（2027-01-30）" in err.value.text()
    with store.transaction() as s:
        record_review(s, second, hazard, rectified=False, new_deadline=date(2027, 1, 30))
        s.scalar(select(HazardReview).where(HazardReview.inspection_id == second)
                 ).new_deadline = date(2026, 12, 20)  # e.g. arrived from another laptop
    with pytest.raises(ValidationError, match="早于现行整改期限"):
        with store.transaction() as s:
            finalize_reinspection(s, second)
    with store.transaction() as s:
        record_review(s, second, hazard, rectified=False, escalated=True)  # no deadline needed
        finalize_reinspection(s, second)


def test_closing_off_needs_an_after_photo_or_a_note(store, enterprise_id, team, clock):
    """销号 without an after photo and without a note is refused with the configured wording;
    either one is enough."""
    from models.reinspection_rules import rule_text
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    re_id = start(store, insp, team, clock)
    with store.transaction() as s:
        for h in hazards.values():
            record_review(s, re_id, h, rectified=True)
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            finalize_reinspection(s, re_id)
    assert err.value.text().count("拟销号：请添加整改后照片或填写复查情况") == 2
    assert rule_text("close_needs_evidence", hazard="第1项") in (
        "第1项拟销号：请添加整改后照片或填写复查情况，作为销号依据",)
    with store.transaction() as s:
        add_after_photo(s, store.photos_dir, re_id, hazards[MAJOR], jpeg(), "after.jpg")
        record_review(s, re_id, hazards[GENERAL], rectified=True, note="防火间距已满足")
        finalize_reinspection(s, re_id)
    with store.session() as s:
        assert {s.get(Hazard, h).status for h in hazards.values()} == {HazardStatus.CLOSED}


def test_closing_rule_wording_comes_from_the_wording_file(store, enterprise_id, team, clock,
                                                          monkeypatch, tmp_path):
    """The agency can reword the rule in resources/wording/reinspection_rules.toml."""
    import models.reinspection_rules as rules
    (tmp_path / "wording").mkdir()
    (tmp_path / "wording" / "reinspection_rules.toml").write_text(
        'close_needs_evidence = "{hazard}：销号须附照片或说明"\nnew_deadline_earlier = "x"\n',
        encoding="utf-8")
    monkeypatch.setattr(rules, "resources_dir", lambda: tmp_path)
    rules._wording.cache_clear()
    try:
        insp, hazards = ordered_case(store, enterprise_id, team, clock, bad=(GENERAL,))
        re_id = start(store, insp, team, clock)
        with store.transaction() as s:
            record_review(s, re_id, hazards[GENERAL], rectified=True)
        with pytest.raises(ValidationError, match="：销号须附照片或说明"):
            with store.transaction() as s:
                finalize_reinspection(s, re_id)
    finally:
        rules._wording.cache_clear()


def test_outcome_summary_says_what_finishing_will_do(store, enterprise_id, team, clock):
    """Closed, new deadline and escalated are counted and named before finishing."""
    from models.reinspection_rules import reinspection_outcome
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    re_id = start(store, insp, team, clock)
    new = today(clock) + timedelta(days=200)
    with store.transaction() as s:
        record_review(s, re_id, hazards[MAJOR], rectified=True, note="已迁出")
        record_review(s, re_id, hazards[GENERAL], rectified=False, new_deadline=new)
        outcome = reinspection_outcome(s, re_id)
    assert len(outcome.closed) == 1 and outcome.closed[0].startswith(MAJOR)
    assert outcome.new_deadline[0][1] == new and outcome.escalated == ()
    text = outcome.text()
    assert "销号 1 项" in text and f"新期限 {new.isoformat()}" in text and "移交行政处罚 0 项" in text
