"""A bulk statement run through the Session — session.execute(update(…)), delete(…),
insert(table) — writes past the flush hook: no audit event, nothing signed, a finalized
record changed. Such a write to any audited table is refused before it reaches the database
(one Chinese StoreError line), the store read back by a connection of its own exactly as it
was; a plain ORM change still saves and is audited; only a writer that records its own
audit events (the bundle import) may write so, inside models.flush_hooks.audited_by_caller.
Both backends."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, delete, func, insert, select, update

from models.audit import AuditEvent, verify_chain
from models.errors import StoreError
from models.flush_hooks import audited_by_caller
from models.inspection import Answer, AnswerResult, Inspection, InspectionStatus
from models.inspection_rules import answer_item, inspection_items
from models.registry import Enterprise
from models.tables import Base


def read_back(store) -> dict:
    """Every table's rows, read by an engine of its own (not the store's pool or session)."""
    engine = create_engine(store.engine.url)
    try:
        with engine.connect() as con:
            return {t.name: sorted(json.dumps(dict(r), sort_keys=True, default=str)
                                   for r in con.execute(select(t)).mappings())
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


@pytest.fixture
def finalized(store, inspection_id):
    """An inspection with one answer, finalized (and sealed) through the models."""
    with store.session() as s:
        item = inspection_items(s, inspection_id)[0]
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)
    with store.transaction() as s:
        inspection = s.get(Inspection, inspection_id)
        inspection.status = InspectionStatus.FINALIZED
        inspection.finalized_at = inspection.started_at
    return inspection_id


def refused(store, write) -> StoreError:
    """`write(session)` in a transaction of `store`: refused with one line saying what to do;
    every table as it was."""
    before = read_back(store)
    with pytest.raises(StoreError) as caught, store.transaction(actor="张卫东") as s:
        write(s)
    text = caught.value.text()
    assert "执法" in text and "开发人员" in text and "\n" not in text
    assert read_back(store) == before
    return caught.value


@pytest.mark.parametrize("target", [Inspection, Inspection.__table__], ids=["orm", "core"])
def test_a_bulk_update_of_a_finalized_inspection_is_refused(store, finalized, target):
    key = Inspection.id if target is Inspection else target.c.id
    refused(store, lambda s: s.execute(update(target).where(key == finalized)
                                       .values(place="改过的地点")))
    with store.session() as s:
        assert s.get(Inspection, finalized).place == "木工车间"


def test_a_bulk_delete_is_refused(store, finalized):
    """Neither the finalized inspection's answers nor the audit trail's own events."""
    refused(store, lambda s: s.execute(delete(Answer).where(Answer.inspection_id == finalized)))
    refused(store, lambda s: s.execute(delete(AuditEvent.__table__)
                                       .where(AuditEvent.__table__.c.seq > 1)))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 1
        assert verify_chain(s).intact


def test_a_core_insert_into_an_audited_table_is_refused(store, enterprise_id):
    row = {"id": uuid.uuid4(), "device_id": store.device_id, "name": "未登记的企业",
           "credit_code": "91430381MA4L99999X"}
    refused(store, lambda s: s.execute(insert(Enterprise.__table__), [row]))
    refused(store, lambda s: s.execute(insert(Enterprise).values(**row)))


def test_a_plain_orm_change_still_saves_and_is_audited(store, enterprise_id):
    with store.transaction(actor="张卫东", label="edit_enterprise") as s:
        s.get(Enterprise, enterprise_id).phone = "13900000000"
        assert s.scalar(select(Enterprise.phone).where(Enterprise.id == enterprise_id)) \
            == "13900000000"  # a read through the session (autoflushed) is never refused
    with store.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(enterprise_id))
                       .order_by(AuditEvent.seq.desc())).first()
        assert (ev.action, ev.label, ev.actor) == ("update", "edit_enterprise", "张卫东")
        assert json.loads(ev.after) == {"phone": "13900000000"}
        assert verify_chain(s).intact


def test_a_writer_that_audits_itself_writes_inside_the_marker_only(store, enterprise_id):
    """What the import does (sync.merge): its Core writes inside audited_by_caller; the same
    session refuses them again once the block has ended."""
    with store.transaction(label="import_bundle") as s:
        with audited_by_caller(s):
            s.execute(update(Enterprise.__table__).where(Enterprise.id == enterprise_id)
                      .values(phone="13911111111"))
        with pytest.raises(StoreError):
            s.execute(update(Enterprise.__table__).where(Enterprise.id == enterprise_id)
                      .values(phone="13922222222"))
    with store.session() as s:
        assert s.get(Enterprise, enterprise_id).phone == "13911111111"


def test_the_sessions_bulk_methods_are_refused_on_audited_tables(store, finalized, enterprise_id):
    """Session.bulk_update_mappings / bulk_insert_mappings / bulk_save_objects — the
    Session's own "fast" writes, which a developer reaches for first — skip the flush and
    the ORM-execute event alike: a finalized inspection's place was changed, unaudited."""
    row = {"id": uuid.uuid4(), "device_id": store.device_id, "name": "未登记的企业",
           "credit_code": "91430381MA4L99999X"}
    refused(store, lambda s: s.bulk_update_mappings(Inspection, [{"id": finalized,
                                                                  "place": "改过的地点"}]))
    refused(store, lambda s: s.bulk_insert_mappings(Enterprise, [row]))
    refused(store, lambda s: s.bulk_save_objects([Enterprise(**row)]))
    with store.session() as s:
        assert s.get(Inspection, finalized).place == "木工车间"
