"""Collecting a case from the store, numbering, and choosing which documents apply."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import pytest

from documents import collect_case, document_number, documents_for_case
from models.documents import DocumentKind
from models.errors import FieldCheckError
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, inspection_items
from tests.documents import collect, set_agency, walk_and_finalize

PLAIN = (str, int, bool, float, date, datetime, Path, bytes, type(None))


def _plain(value) -> bool:
    if dataclasses.is_dataclass(value):
        return all(_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return isinstance(value, PLAIN)


def test_document_number_has_region_kind_year_and_serial():
    """Numbers read （简称）应急检记/责改/现决/复查〔年〕N号."""
    assert document_number(DocumentKind.INSPECTION_RECORD, "湘乡", 2026, 3) == "（湘乡）应急检记〔2026〕3号"
    assert document_number(DocumentKind.RECTIFICATION_ORDER, "湘乡", 2026, 3) == "（湘乡）应急责改〔2026〕3号"
    assert document_number(DocumentKind.ONSITE_MEASURES, "湘乡", 2027, 12) == "（湘乡）应急现决〔2027〕12号"
    assert document_number(DocumentKind.REINSPECTION_OPINION, "湘乡", 2026, 1) == "（湘乡）应急复查〔2026〕1号"


def test_document_number_without_region_has_no_empty_brackets():
    """An agency without a region short name gets a number without empty brackets."""
    assert document_number(DocumentKind.INSPECTION_RECORD, " ", 2026, 5) == "应急检记〔2026〕5号"


def test_collect_refuses_an_unfinalized_inspection(store, inspection_id):
    """Documents are made only for finalized inspections: a Chinese message says so."""
    with store.session() as s, pytest.raises(FieldCheckError, match="尚未定稿"):
        collect_case(s, inspection_id, store.photos_dir)


def test_collected_case_holds_only_plain_data(store, clock, inspection_id):
    """The content is plain dataclasses and values, no ORM object leaks into rendering."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01", "DUST-03"},
                      notes={"DUST-03": "除尘器灰斗积尘约5厘米"})
    content = collect(store, inspection_id, signatures={"inspector1": b"png"}, refused=True)
    assert _plain(content)
    assert [h.code for h in content.hazards] == ["DUST-01", "DUST-03"]
    assert [h.code for h in content.major_hazards] == ["DUST-01"]
    assert content.agency.region_short == "湘乡" and content.case_serial == 1
    assert content.signatures.refused and content.signatures.images == {"inspector1": b"png"}
    assert next(i for i in content.items if i.code == "DUST-03").note == "除尘器灰斗积尘约5厘米"


def test_withdrawn_hazard_is_not_ordered(store, clock, inspection_id):
    """An answer changed back to 符合 before finalizing leaves no problem in the order."""
    with store.transaction() as s:
        first = inspection_items(s, inspection_id)[0]
        answer_item(s, inspection_id, first.id, AnswerResult.NONCOMPLIANT)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"})
    assert [h.code for h in collect(store, inspection_id).hazards] == ["DUST-03"]


@pytest.mark.parametrize("fail, kinds", [
    (set(), [DocumentKind.INSPECTION_RECORD]),
    ({"DUST-03"}, [DocumentKind.INSPECTION_RECORD, DocumentKind.RECTIFICATION_ORDER]),
    ({"DUST-01", "DUST-03"}, [DocumentKind.INSPECTION_RECORD, DocumentKind.RECTIFICATION_ORDER,
                              DocumentKind.ONSITE_MEASURES]),
])
def test_documents_for_case_chooses_by_hazards(store, clock, inspection_id, fail, kinds):
    """Record always; order when hazards need rectifying; measures when one is major."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail=fail)
    made = documents_for_case(collect(store, inspection_id))
    assert [kind for kind, _number, _pdf in made] == kinds
    assert all(pdf.startswith(b"%PDF-") for _kind, _number, pdf in made)
    assert all(number.endswith("〔2026〕1号") for _kind, number, _pdf in made)
