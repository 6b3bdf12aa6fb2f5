"""What happens on every flush, whoever wrote the change: stamping, guarding, auditing.

Kept in one `before_flush` hook so no code path (UI, CLI, import) can change a row without
its audit event, or touch a finalized record. A bulk statement run through the Session
(`session.execute(update(…) / delete(…) / insert(table))`) never reaches that hook: on an
audited table it is refused (`_refuse_bulk_writes`), except inside `audited_by_caller` —
the bundle import's own Core writes, which record their audit events themselves.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from models.audit import AuditEvent, chain_head, make_event
from models.base import Base, Record, utcnow
from models.chain_anchor import remember_head
from models.documents import Document, Signature
from models.errors import FinalizedRecordError, StoreError
from models.inspection import Inspection, InspectionStatus
from models.record_policy import (POLICY_KEY, change_allowed, is_frozen, office_only_fields,
                                  policy, scalar_defaults, unaudited_fields)
from models.seal import SEAL_ACTION, SEAL_LABEL, seal_content
from models.store_mode import refuse_office_write_here


def session_now(session: Session) -> datetime:
    clock = session.info.get("clock")
    return clock() if clock else utcnow()


def _columns(obj) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _snapshot(obj) -> dict:
    return {key: getattr(obj, key) for key in _columns(obj)}


def _changed_keys(obj) -> list[str]:
    state = inspect(obj)
    unaudited = unaudited_fields(state.mapper.local_table)
    return [k for k in _columns(obj)
            if k not in unaudited and state.attrs[k].history.has_changes()]


def _stored_row(session: Session, obj) -> dict:
    """The row as it is in the database now (before this flush writes)."""
    table = inspect(obj).mapper.local_table
    row = session.execute(select(table).where(table.c.id == obj.id)).mappings().first()
    return dict(row) if row else {}


def _stored_frozen(session: Session, table_name: str, row_id) -> bool:
    """Whether the stored row `row_id` of `table_name` is frozen (models.record_policy)."""
    table = Base.metadata.tables[table_name]
    row = session.execute(select(table).where(table.c.id == row_id)).mappings().first()
    if row is None:
        return False
    return is_frozen(table, row, lambda parent, pid: _stored_frozen(session, parent, pid),
                     stored=row)


def _guard(session: Session, obj, action: str, stored: dict, changed: list[str]) -> None:
    """Refuse what the record policy forbids: a change to a frozen row (its own stored
    state or its parent's) beyond the fields it still takes."""
    table = inspect(obj).mapper.local_table
    frozen = is_frozen(table, _snapshot(obj),
                       lambda parent, pid: _stored_frozen(session, parent, pid),
                       stored=stored if action != "create" else None)
    if not change_allowed(table, action, changed, frozen):
        raise FinalizedRecordError(policy(table).refusal or "该记录")


def _office_check(session: Session, obj, action: str, changed: list[str]) -> None:
    """What only the office records, refused on a laptop (models.store_mode)."""
    table = inspect(obj).mapper.local_table
    if action == "create":  # the fields a new row sets: those not left at their default
        defaults = scalar_defaults(table.name)
        changed = [k for k in policy(table).office_fields
                   if getattr(obj, k) is not None and getattr(obj, k) != defaults[k]]
    fields = office_only_fields(table, action, changed)
    if fields is not None:
        refuse_office_write_here(session, policy(table), fields)


def _collect_changes(session: Session):
    for obj in list(session.new):
        if isinstance(obj, Record) and not isinstance(obj, AuditEvent):
            yield obj, "create", {}, []
    for obj in list(session.dirty):
        if isinstance(obj, Record):
            changed = _changed_keys(obj)
            if changed:
                yield obj, "update", _stored_row(session, obj), changed
    for obj in list(session.deleted):
        if isinstance(obj, Record):
            yield obj, "delete", _stored_row(session, obj), []


def _chain_position(session: Session, device_id: str) -> tuple[int, str]:
    """Where this device's chain ends, counting events added but not yet flushed (a seal)."""
    pending = [o for o in session.new if isinstance(o, AuditEvent) and o.device_id == device_id]
    if pending:
        last = max(pending, key=lambda ev: ev.seq)
        return last.seq, last.hash
    return chain_head(session, device_id)


def _sealed_inspection(session: Session, obj, action: str, stored: dict) -> uuid.UUID | None:
    """The inspection whose sealed content this change completes: finalizing it, or
    issuing a document (with its signatures) for it."""
    if isinstance(obj, Inspection) and obj.status == InspectionStatus.FINALIZED and (
            action == "create" or stored.get("status") != InspectionStatus.FINALIZED.value):
        return obj.id
    if isinstance(obj, Document) and action == "create":
        return obj.inspection_id
    if isinstance(obj, Signature) and action == "create":
        doc = obj.document or session.get(Document, obj.document_id)
        return doc.inspection_id if doc is not None else None
    return None


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context, instances) -> None:
    device_id = session.info.get("device_id")
    if device_id is None:
        return  # a session outside a Store (migrations, raw tools): nothing to stamp
    with session.no_autoflush:
        changes = list(_collect_changes(session))
        if not changes:
            return
        now = session_now(session)
        seq, prev_hash = _chain_position(session, device_id)
        actor = session.info.get("actor") or "本机"
        label = session.info.get("label", "")
        for obj, action, stored, changed in changes:
            _guard(session, obj, action, stored, changed)
            _office_check(session, obj, action, changed)
            if action == "create":
                obj.id = obj.id or uuid.uuid4()
                obj.device_id = obj.device_id or device_id
                obj.created_at = obj.created_at or now
                obj.updated_at = obj.updated_at or now
                before, after = {}, _snapshot(obj)
            elif action == "update":
                obj.updated_at = now
                before = {k: stored.get(k) for k in changed}
                after = {k: getattr(obj, k) for k in changed}
            else:
                before, after = stored, {}
            seq += 1
            ev = make_event(
                device_id=device_id, seq=seq, prev_hash=prev_hash, at=now, actor=actor,
                action=action, label=label, entity_type=type(obj).__tablename__,
                entity_id=str(obj.id), before=before, after=after,
            )
            prev_hash = ev.hash
            session.add(ev)
            sealed = _sealed_inspection(session, obj, action, stored)
            if sealed is not None:
                session.info.setdefault("to_seal", set()).add(sealed)
        session.info["chain_head"] = (seq, prev_hash)


@event.listens_for(Session, "after_flush_postexec")
def _seal_after_flush(session: Session, flush_context) -> None:
    """Seal what this flush finalized or issued, now that its rows are written; the seal
    events are flushed with the rest of the transaction (models.seal)."""
    to_seal = session.info.pop("to_seal", None)
    device_id = session.info.get("device_id")
    if not to_seal or device_id is None:
        return
    with session.no_autoflush:
        now = session_now(session)
        seq, prev_hash = _chain_position(session, device_id)
        for inspection_id in sorted(to_seal):
            seq += 1
            ev = make_event(device_id=device_id, seq=seq, prev_hash=prev_hash, at=now,
                            actor=session.info.get("actor") or "本机", action=SEAL_ACTION,
                            label=SEAL_LABEL, entity_type=Inspection.__tablename__,
                            entity_id=str(inspection_id), before={},
                            after=seal_content(session, inspection_id))
            prev_hash = ev.hash
            session.add(ev)
        session.info["chain_head"] = (seq, prev_hash)


@event.listens_for(Session, "after_commit")
def _remember_head(session: Session) -> None:
    """The chain's head also outside the database (models.chain_anchor), once committed."""
    head, data_dir = session.info.pop("chain_head", None), session.info.get("data_dir")
    if head is not None and data_dir is not None:
        try:
            remember_head(data_dir, session.info["device_id"], *head)
        except OSError:
            pass  # saved already; a head not noted only checks less (a read-only folder)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, previous_transaction) -> None:
    session.info.pop("chain_head", None)
    session.info.pop("to_seal", None)


# ------------------------------------------------------------------------- bulk statements

# The mark of a session whose caller writes audited tables by Core and appends the audit
# events itself. A private object, not a string: no `session.info` update sets it by chance;
# only audited_by_caller does, for the length of its block.
_AUDITED_BY_CALLER = object()


@contextmanager
def audited_by_caller(session: Session) -> Iterator[Session]:
    """Let `session` run INSERT / UPDATE / DELETE statements on audited tables within this
    block — for a writer that has made the flush's checks itself and appends the audit
    events of what it writes (sync.merge's import). Nothing else may: such a write is
    neither guarded nor audited nor signed."""
    depth = session.info.get(_AUDITED_BY_CALLER, 0)
    session.info[_AUDITED_BY_CALLER] = depth + 1
    try:
        yield session
    finally:
        if depth:
            session.info[_AUDITED_BY_CALLER] = depth
        else:
            session.info.pop(_AUDITED_BY_CALLER, None)


def _audited_table(statement) -> bool:
    """Whether the statement writes a table whose rows the flush audits (every table that
    declares a record policy, the audit trail's own included)."""
    table = Base.metadata.tables.get(getattr(getattr(statement, "table", None), "name", None))
    return table is not None and POLICY_KEY in table.info


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    """A bulk write through the Session skips before_flush: no guard, no audit event. Refused
    before it reaches the database (reads pass untouched). Out of its reach: SQL as text()
    and a bare Connection (exec_driver_sql, engine.begin(), session.connection().execute);
    of these FieldCheck writes records only by the import's exec_driver_sql (audited by it).
    The Session's legacy bulk methods: GuardedSession."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if not _audited_table(state.statement):
        return
    _refuse_unless_audited_by_caller(state.session)


def _refuse_unless_audited_by_caller(session: Session) -> None:
    if session.info.get(_AUDITED_BY_CALLER):
        return
    raise StoreError("这种批量写入会绕过执法全过程记录，已拒绝，数据未改动",
                     "请通过程序的功能修改记录；如果是程序自身报出的，请报告开发人员")


class GuardedSession(Session):
    """The Session a store hands out (models.store): its bulk_save_objects /
    bulk_insert_mappings / bulk_update_mappings write past the flush and past
    do_orm_execute alike, so on an audited table they are refused here as a bulk statement
    is (inside audited_by_caller they pass)."""

    def bulk_save_objects(self, objects, *args, **kwargs):
        objects = list(objects)
        self._refuse_bulk_on({type(o) for o in objects})
        return super().bulk_save_objects(objects, *args, **kwargs)

    def bulk_insert_mappings(self, mapper, mappings, *args, **kwargs):
        self._refuse_bulk_on({mapper})
        return super().bulk_insert_mappings(mapper, mappings, *args, **kwargs)

    def bulk_update_mappings(self, mapper, mappings):
        self._refuse_bulk_on({mapper})
        return super().bulk_update_mappings(mapper, mappings)

    def _refuse_bulk_on(self, targets) -> None:
        if any(POLICY_KEY in table.info for target in targets for table in inspect(target).tables):
            _refuse_unless_audited_by_caller(self)
