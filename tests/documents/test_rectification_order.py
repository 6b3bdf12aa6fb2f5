"""责令限期整改指令书: numbered problems with basis and deadline, fixed paragraphs, long orders."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from documents import render_rectification_order
from models.inspection_rules import NewInspection, start_inspection, update_hazard
from models.walk_queries import inspection_summary
from tests.conftest import make_enterprise, valid_credit_code
from tests.documents import (collect, flat, item_codes, page_count, pdf_fonts, pdf_text,
                             set_agency, walk_and_finalize)


@pytest.fixture
def big_inspection_id(store, team, clock):
    """An inspection of an enterprise with all three hazard areas (48 items)."""
    firm = make_enterprise(store, name="湘乡市综合冷链食品有限公司",
                           credit_code=valid_credit_code("91430381MA4L99999"),
                           has_dust=True, has_confined_space=True, has_ammonia=True)
    with store.transaction() as s:
        return start_inspection(s, NewInspection(firm, team, "全厂", clock())).id


def test_order_lists_problems_with_basis_deadline_and_fixed_paragraphs(store, clock, inspection_id):
    """Addressed to the enterprise: 经查 + numbered problems with basis/deadline + the notices."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01", "DUST-03"})
    content = collect(store, inspection_id)
    text = flat(pdf_text(render_rectification_order(content)))
    assert text.startswith("安全生产行政执法文书责令限期整改指令书（湘乡）应急责改〔2026〕1号"
                           "湘乡市测试木业有限公司：经查，你单位存在下列问题：1．")
    for n, hazard in enumerate(content.hazards, 1):
        assert f"{n}．{flat(hazard.description.rstrip('。'))}" in text
        assert flat(f"依据：{hazard.legal_basis}") in text
        d = hazard.deadline
        assert f"整改期限：{d.year}年{d.month}月{d.day}日前" in text
    assert "（重大事故隐患，判定依据：《工贸企业重大事故隐患判定标准》第十一条（一））" in text
    assert "达到有关法律法规规章和标准规定的要求。由此造成事故的，依法追究有关人员的责任。" in text
    assert "整改期间，你单位应当采取措施，确保安全生产。对安全生产违法行为，将依法予以行政处罚。" in text
    assert "可以依法在60日内向湘乡市人民政府申请行政复议，或者在6个月内依法向湘乡市人民法院提起行政诉讼，但本指令不停止执行" in text
    assert "（应急管理）行政执法人员（签名）：证号：43038120001" in text
    assert "（应急管理）行政执法人员（签名）：证号：43038120002" in text
    assert "被检查单位负责人（签名）：" in text
    assert "湘乡市应急管理局（盖章）" in text
    assert text.endswith("本文书一式两份：一份由应急管理部门备案，一份交被检查单位。共1页第1页") or \
        "本文书一式两份：一份由应急管理部门备案，一份交被检查单位。共" in text


def test_each_problem_keeps_its_own_deadline(store, clock, inspection_id):
    """Different deadlines are ordered item by item: 第1项…于A前，第2项…于B前."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01", "DUST-03"})
    content = collect(store, inspection_id)
    first, second = (h.deadline for h in content.hazards)
    assert first != second
    text = flat(pdf_text(render_rectification_order(content)))
    early, late = sorted([(first, 1), (second, 2)])
    expected = "，".join(f"第{n}项问题于{d.year}年{d.month}月{d.day}日前" for d, n in (early, late))
    assert f"现责令你单位对上述{expected}整改完毕" in text


def test_missing_agency_settings_leave_blanks_to_fill(store, clock, inspection_id):
    """Without a configured government and court the remedy notice prints blanks, not 'None'."""
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"})
    text = flat(pdf_text(render_rectification_order(collect(store, inspection_id))))
    assert "60日内向＿＿＿＿＿＿＿＿申请行政复议" in text and "None" not in text
    assert text.startswith("安全生产行政执法文书责令限期整改指令书应急责改〔2026〕1号")


def test_forty_hazards_flow_onto_continuation_pages(store, clock, big_inspection_id):
    """40 problems: 续页 pages with the header, 共N页第n页 right on each, each problem once."""
    set_agency(store)
    codes = item_codes(store, big_inspection_id)
    walk_and_finalize(store, clock, big_inspection_id, fail=set(codes[:40]))
    content = collect(store, big_inspection_id)
    assert len(content.hazards) == 40
    pdf = render_rectification_order(content)
    total = page_count(pdf)
    assert total > 1
    numbers = []
    for n in range(1, total + 1):
        page = pdf_text(pdf, n)
        assert re.findall(r"共(\d+)页第(\d+)页", flat(page)) == [(str(total), str(n))]
        assert "（湘乡）应急责改〔2026〕1号" in page
        assert ("责令限期整改指令书（续页）" in flat(page)) == (n > 1)
        numbers += [int(m) for m in re.findall(r"^(\d+)．", page, re.MULTILINE)]
    assert numbers == list(range(1, 41))
    assert flat(pdf_text(pdf)).count("整改期限：") == 40
    assert all(emb == "yes" for _name, emb in pdf_fonts(pdf))


def test_edited_deadline_is_printed(store, clock, inspection_id):
    """A deadline changed by the inspector before finalizing is the one ordered."""
    set_agency(store)
    with store.transaction() as s:
        from models.inspection import AnswerResult
        from models.inspection_rules import answer_item, inspection_items
        item = next(i for i in inspection_items(s, inspection_id) if i.code == "DUST-03")
        answer = answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
        new_deadline = answer.hazard.deadline + timedelta(days=3)
        update_hazard(s, answer.hazard.id, deadline=new_deadline)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"})
    with store.session() as s:
        assert inspection_summary(s, inspection_id).hazards[0].deadline == new_deadline
    text = flat(pdf_text(render_rectification_order(collect(store, inspection_id))))
    d = new_deadline
    assert f"整改期限：{d.year}年{d.month}月{d.day}日前" in text

