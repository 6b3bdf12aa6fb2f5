"""The inspection list of the first screen: newest first, a page at a time, with hazard counts."""
from __future__ import annotations

from models.inspection import AnswerResult, InspectionStatus
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, start_inspection)
from models.reports import list_inspections


def test_a_page_of_inspections_newest_first_with_their_hazards(store, enterprise_id, team, clock):
    ids = []
    for n in range(5):
        clock.advance(hours=1)
        with store.transaction() as s:
            ids.append(start_inspection(s, NewInspection(enterprise_id, team, f"车间{n}", clock())).id)
    with store.session() as s:
        items = inspection_items(s, ids[3])
    with store.transaction() as s:
        for item in items[:2]:
            answer_item(s, ids[3], item.id, AnswerResult.NONCOMPLIANT)
        for item in items[2:]:
            answer_item(s, ids[3], item.id, AnswerResult.COMPLIANT)
        finalize_inspection(s, ids[3])
    with store.session() as s:
        first = list_inspections(s, limit=2)
        second = list_inspections(s, limit=2, offset=2)
        done = list_inspections(s, status=InspectionStatus.FINALIZED)
        assert [r[0].id for r in first] == [ids[4], ids[3]]
        assert [r[0].id for r in second] == [ids[2], ids[1]]
        assert [(r[0].id, r.hazards) for r in done] == [(ids[3], 2)]
        assert first[1].hazards == 2 and first[0].hazards == 0
        assert all(r[1] == "湘乡市测试木业有限公司" for r in first + second)
