"""The enterprise register's read queries: search, counts, history, open hazards."""
import uuid
from datetime import timedelta

import pytest

from models.errors import NotFoundError
from models.inspection import AnswerResult, InspectionStatus
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, local_date, start_inspection)
from models.register_queries import (enterprise_history, enterprise_input, list_enterprises,
                                     open_hazards)
from models.registry import RiskColour
from tests.conftest import make_enterprise, valid_credit_code


def _items(store, inspection_id):
    with store.session() as s:
        return inspection_items(s, inspection_id)


def _answer(store, inspection_id, item, result=AnswerResult.NONCOMPLIANT):
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, result)


def _major_item(store, inspection_id):
    return next(i for i in _items(store, inspection_id) if i.major)


def _general_item(store, inspection_id):
    return next(i for i in _items(store, inspection_id) if not i.major)


def _finalize_with(store, inspection_id, failing):
    """Answer every item (those in `failing` 不符合, the rest 符合) and finalize."""
    for item in _items(store, inspection_id):
        result = AnswerResult.NONCOMPLIANT if item.id in failing else AnswerResult.COMPLIANT
        _answer(store, inspection_id, item, result)
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)


def _rows(store, search=""):
    with store.session() as s:
        return list_enterprises(s, search)


def test_enterprise_without_inspections_has_zero_counts(store, enterprise_id):
    """A newly registered enterprise shows its fields, no inspections and no open hazards."""
    [row] = _rows(store)
    assert (row.id, row.name, row.legal_representative, row.phone) == (
        enterprise_id, "湘乡市测试木业有限公司", "陈建国", "13907321234")
    assert (row.has_dust, row.has_ammonia, row.has_confined_space) == (True, False, False)
    assert row.risk_colour == RiskColour.YELLOW  # 涉粉, no reason: the rules of 设置 give 黄
    assert (row.risk_basis, row.risk_by_hand) == ("规则：涉及 1 个及以上领域", False)
    assert (row.inspections, row.open_hazards, row.last_inspection) == (0, 0, None)


def test_counts_inspections_open_hazards_and_last_date(store, enterprise_id, inspection_id, clock):
    """Each 不符合 answer counts as an open hazard; the last inspection date is shown."""
    items = _items(store, inspection_id)
    _answer(store, inspection_id, items[0])
    _answer(store, inspection_id, items[1])
    [row] = _rows(store)
    assert (row.inspections, row.open_hazards) == (1, 2)
    assert row.last_inspection == local_date(clock())


def test_withdrawn_hazard_is_not_counted(store, enterprise_id, inspection_id):
    """An answer changed back to 符合 no longer counts as an open hazard."""
    item = _items(store, inspection_id)[0]
    _answer(store, inspection_id, item)
    _answer(store, inspection_id, item, AnswerResult.COMPLIANT)
    assert _rows(store)[0].open_hazards == 0


def test_counts_are_per_enterprise(store, enterprise_id, inspection_id):
    """Another enterprise's hazards do not show up on this one's row."""
    make_enterprise(store, name="湘乡市另一家有限公司",
                    credit_code=valid_credit_code("91430381MA4L99999"))
    _answer(store, inspection_id, _items(store, inspection_id)[0])
    counts = {r.name: (r.inspections, r.open_hazards) for r in _rows(store)}
    assert counts == {"湘乡市测试木业有限公司": (1, 1), "湘乡市另一家有限公司": (0, 0)}


@pytest.fixture
def three(store):
    make_enterprise(store, name="湘乡市恒达木业有限公司", address="湘乡市木业路 8 号",
                    credit_code=valid_credit_code("91430381MA4L00001"))
    make_enterprise(store, name="湘乡市湘味冷链物流有限公司", address="东山街道冷链大道 16 号",
                    credit_code=valid_credit_code("91430381MA4L00002"))
    make_enterprise(store, name="湘乡市清源酿造有限公司", address="壶天镇酒厂路 2 号",
                    credit_code=valid_credit_code("92430381XY1234567"))


@pytest.mark.parametrize("search,names", [
    ("冷链", {"湘乡市湘味冷链物流有限公司"}),                       # name and address
    ("酒厂路", {"湘乡市清源酿造有限公司"}),                          # address only
    ("ma4l0000", {"湘乡市恒达木业有限公司", "湘乡市湘味冷链物流有限公司"}),  # code, any case
    ("  ", {"湘乡市恒达木业有限公司", "湘乡市湘味冷链物流有限公司", "湘乡市清源酿造有限公司"}),
    ("%", set()),                                                   # a literal, not a wildcard
    ("不存在", set()),
])
def test_search_matches_name_code_or_address(store, three, search, names):
    """Searching finds enterprises by name, credit code (case-insensitive) or address."""
    assert {r.name for r in _rows(store, search)} == names


def test_history_newest_first_with_hazard_counts(store, enterprise_id, inspection_id, team, clock):
    """An enterprise's inspections are listed newest first, each with its hazard counts."""
    _answer(store, inspection_id, _major_item(store, inspection_id))
    _answer(store, inspection_id, _general_item(store, inspection_id))
    clock.advance(days=3)
    with store.transaction() as s:
        later = start_inspection(s, NewInspection(enterprise_id, team, "仓库", clock())).id
    with store.session() as s:
        history = enterprise_history(s, enterprise_id)
    assert [h.id for h in history] == [later, inspection_id]
    assert [(h.hazards, h.major_hazards) for h in history] == [(0, 0), (2, 1)]
    assert history[1].status == InspectionStatus.IN_PROGRESS
    assert history[1].status_label == "检查中"
    assert history[1].place == "木工车间"


def test_open_hazards_show_major_flag_and_clause(store, enterprise_id, inspection_id, clock):
    """Open hazards list major ones first with their clause, then general ones."""
    major, general = _major_item(store, inspection_id), _general_item(store, inspection_id)
    _answer(store, inspection_id, general)
    _answer(store, inspection_id, major)
    with store.session() as s:
        rows = open_hazards(s, enterprise_id, local_date(clock()))
    assert [(r.item_id, r.is_major) for r in rows] == [(major.id, True), (general.id, False)]
    assert rows[0].major_clause == major.major_clause
    assert "第" in rows[0].major_clause
    assert rows[0].inspection_id == inspection_id
    assert rows[0].deadline == local_date(clock()) + timedelta(days=major.deadline_days)


def test_overdue_only_after_the_deadline_of_an_issued_order(store, enterprise_id, inspection_id,
                                                            clock):
    """A finalized hazard is overdue the day after its deadline; an unfinalized one never is."""
    item = _general_item(store, inspection_id)
    _answer(store, inspection_id, item)
    with store.session() as s:
        [draft] = open_hazards(s, enterprise_id, local_date(clock()) + timedelta(days=365))
    assert (draft.ordered, draft.overdue) == (False, False)
    _finalize_with(store, inspection_id, {item.id})
    with store.session() as s:
        on_time = open_hazards(s, enterprise_id, draft.deadline)[0]
        late = open_hazards(s, enterprise_id, draft.deadline + timedelta(days=3))[0]
    assert (on_time.ordered, on_time.overdue, on_time.days_overdue) == (True, False, 0)
    assert (late.overdue, late.days_overdue) == (True, 3)


def test_enterprise_input_reads_back_the_stored_fields(store, enterprise_id):
    """The edit form starts from exactly what is stored."""
    with store.session() as s:
        data = enterprise_input(s, enterprise_id)
    assert (data.name, data.representative_post, data.has_dust) == (
        "湘乡市测试木业有限公司", "总经理", True)


def test_enterprise_input_of_unknown_id_says_so(store):
    """Asking for an enterprise that does not exist gives a Chinese message."""
    with store.session() as s, pytest.raises(NotFoundError, match="找不到该企业"):
        enterprise_input(s, uuid.uuid4())
