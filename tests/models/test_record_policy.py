"""One record policy: what is frozen, what may still change and how an event is hashed are
answered the same for ORM objects (the flush hook) and raw rows (the import)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import models.tables  # noqa: F401  (every model registered)
from models.audit import AuditEvent, verify_chain
from models.base import Base
from models.documents import Document, DocumentKind, Signature
from models.errors import FinalizedRecordError
from models.inspection import Answer, AnswerResult, Hazard, Inspection, InspectionStatus
from models.inspection_rules import answer_item, inspection_items
from models.record_policy import (POLICY_KEY, Merge, change_allowed, closed_children, event_hash,
                                  is_frozen, policy)


def test_every_table_declares_its_policy_beside_its_model():
    """A new table cannot slip past the planner, the flush hook or the conflicts screen."""
    undeclared = [t.name for t in Base.metadata.sorted_tables if POLICY_KEY not in t.info]
    assert undeclared == []
    assert policy("inspection").merge is Merge.ONE_VISIT
    assert policy(Hazard).merge is Merge.FIELD_MERGED and "status" in policy(Hazard).still_changes
    assert set(closed_children("inspection")) >= {"answer", "photo", "hazard"}
    assert "document" not in closed_children("inspection")  # a finalized visit gains documents


def test_office_fields_are_columns_of_shared_rows():
    """What only the office sets is declared once, on rows other devices share (a misspelt
    field would silently guard nothing): 在岗 of the 名录库, 台账/通报 of a major hazard."""
    declared = {t.name: t.info[POLICY_KEY].office_fields for t in Base.metadata.sorted_tables
                if t.info[POLICY_KEY].office_fields}
    assert declared["inspector"] >= {"available", "unavailable_reason"}
    assert declared["hazard"] >= {"ledger_no", "reported_on"}
    for table, fields in declared.items():
        assert fields <= set(Base.metadata.tables[table].c.keys()), table
        assert policy(table).merge in (Merge.REGISTER, Merge.FIELD_MERGED), table
    assert policy("inspector_avoidance").office_writes_only  # 回避: rows only the office makes


def _finalize(store, inspection_id) -> None:
    with store.transaction() as s:
        inspection = s.get(Inspection, inspection_id)
        inspection.status = InspectionStatus.FINALIZED
        inspection.finalized_at = inspection.started_at


def _stored(store, table: str) -> dict:
    with store.session() as s:
        t = Base.metadata.tables[table]
        return dict(s.execute(select(t)).mappings().first())


def test_a_finalized_answer_is_frozen_as_object_and_as_row(store, inspection_id):
    """The hook refuses to change it; the same rule on its raw row says frozen."""
    with store.session() as s:
        item = inspection_items(s, inspection_id)[0]
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)
    _finalize(store, inspection_id)
    with pytest.raises(FinalizedRecordError), store.transaction() as s:
        s.scalar(select(Answer)).note = "改动"
    row, inspection = _stored(store, "answer"), _stored(store, "inspection")
    frozen = is_frozen("answer", row, lambda parent, pid: is_frozen(parent, inspection,
                                                                    None, stored=inspection))
    assert frozen and not change_allowed("answer", "update", {"note"}, frozen)
    assert change_allowed("hazard", "update", {"status", "closed_at"}, True)
    assert not change_allowed("hazard", "update", {"description"}, True)


def test_a_signature_of_an_issued_document_cannot_be_changed(store, inspection_id, clock):
    """An issued document is still signed (a new signature row), but a signature once made
    is frozen with it — as the import already held (the hook let it be rewritten)."""
    with store.transaction() as s:
        doc = Document(inspection_id=inspection_id, kind=DocumentKind.INSPECTION_RECORD,
                       number="（湘乡）应急检记〔2026〕1号", file_name="documents/a.pdf",
                       sha256="0" * 64, finalized_at=clock())
        s.add(doc)
    with store.transaction() as s:
        s.add(Signature(document_id=doc.id, role="representative", signer_name="王五",
                        signed_at=clock()))
    with pytest.raises(FinalizedRecordError), store.transaction() as s:
        s.scalar(select(Signature)).signer_name = "别人"
    with pytest.raises(FinalizedRecordError), store.transaction() as s:
        s.delete(s.scalar(select(Signature)))
    assert _stored(store, "signature")["signer_name"] == "王五"


def test_an_event_hashes_the_same_as_object_and_as_row(store, inspection_id):
    """The stored chain verifies, and each event's hash is the same from its object and from
    its raw row (what a bundle carries)."""
    with store.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        rows = [dict(r) for r in s.execute(select(AuditEvent.__table__)
                                           .order_by(AuditEvent.seq)).mappings()]
        assert events and verify_chain(s).intact
        for ev, row in zip(events, rows):
            assert event_hash(ev.prev_hash, ev) == event_hash(row["prev_hash"], row) == ev.hash
        with pytest.raises(FinalizedRecordError), store.transaction() as t:
            t.scalar(select(AuditEvent)).actor = "别人"


def _event(n: int, **changes) -> dict:
    import uuid as uuid_module
    from datetime import datetime, timedelta, timezone
    row = {"id": uuid_module.UUID(int=n * 7919 + 1), "device_id": "dev-甲", "seq": n,
           "at": datetime(2026, 11, 30, 8, tzinfo=timezone.utc) + timedelta(microseconds=n * 977),
           "actor": "张三 \"老张\"\\", "action": "update", "label": "answer_item",
           "entity_type": "answer", "entity_id": str(uuid_module.UUID(int=n)),
           "before": '{"note":"旧\\n"}', "after": '{"note":"新\\t\\u0001 €"}',
           "prev_hash": f"{n:064x}"}
    row.update(changes)
    return row


@pytest.mark.parametrize("odd", [
    {}, {"seq": True}, {"label": None}, {"entity_id": 5}, {"actor": "\u2028\x7f\U0001F600"},
    {"at": __import__("datetime").datetime(2026, 1, 2, 3, 4, 5)}, {"seq": 2**70}])
def test_many_events_hash_as_each_alone(odd):
    """A bundle's events are checked many at once (event_hashes, column by column): each hash
    is exactly event_hash's — control and non-BMP characters, quotes, a naive time, a bool
    or a None among the values (those go event by event) — and a changed event is told."""
    from models.record_policy import event_hashes
    events = [_event(n) for n in range(1, 40)]
    events[17].update(odd)
    expected = [event_hash(e["prev_hash"], e) for e in events]
    assert event_hashes(events) == expected and len(set(expected)) == len(events)
    events[5]["after"] = events[5]["after"].replace("新", "改")
    assert [n for n, (a, b) in enumerate(zip(event_hashes(events), expected)) if a != b] == [5]
