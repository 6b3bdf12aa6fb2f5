"""#11 point 7: an enrolled laptop numbers its cases only inside the office's range, is told
from 90 % used on, and cannot go past the end."""
from __future__ import annotations

import json

import pytest

from models.case_range import range_warning
from models.errors import ValidationError
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, start_inspection)
from models.paths import CASE_RANGE_FILE
from models.tables import AnswerResult


def _write_range(store, start, end) -> None:
    path = store.data_dir / CASE_RANGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"start": start, "end": end}), "utf-8")


def _finalize_new(store, enterprise_id, team, clock) -> int:
    with store.transaction() as s:
        iid = start_inspection(s, NewInspection(enterprise_id, team, "车间", clock())).id
    with store.transaction() as s:
        for item in inspection_items(s, iid):
            answer_item(s, iid, item.id, AnswerResult.COMPLIANT)
    with store.transaction() as s:
        return finalize_inspection(s, iid).case_serial


def test_numbers_stay_inside_the_range_and_warn_from_90_percent(store, enterprise_id, team, clock):
    _write_range(store, 1001, 1010)
    serials = [_finalize_new(store, enterprise_id, team, clock) for _ in range(8)]
    assert serials == list(range(1001, 1009))
    with store.session() as s:
        assert range_warning(s, store.data_dir, 2026) is None      # 8 of 10: not yet
    assert _finalize_new(store, enterprise_id, team, clock) == 1009
    with store.session() as s:
        text = range_warning(s, store.data_dir, 2026)
    assert "1001–1010 已用 9 个，仅剩 1 个" in text and "agency enroll --new-range" in text
    assert _finalize_new(store, enterprise_id, team, clock) == 1010
    with pytest.raises(ValidationError, match="编号段（1001–1010）已用完"):
        _finalize_new(store, enterprise_id, team, clock)


def test_numbers_outside_the_range_do_not_push_it(store, enterprise_id, team, clock):
    """Serials given out before enrollment (1, 2) or by other laptops do not move this
    laptop's next number inside its own range."""
    assert [_finalize_new(store, enterprise_id, team, clock) for _ in range(2)] == [1, 2]
    _write_range(store, 2001, 3000)
    assert _finalize_new(store, enterprise_id, team, clock) == 2001
