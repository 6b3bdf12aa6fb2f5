"""执法全过程记录: an append-only, hash-chained log of every change.

Each device keeps its own chain (seq 1, 2, 3 … each event hashing the previous one), so
chains from many laptops can sit in one database and each still be verified: an edited,
deleted or re-ordered event breaks its chain.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Record
# The hash of an event is part of the one record policy (objects and raw rows alike).
from models.record_policy import (GENESIS_HASH, HASHED_FIELDS, Merge, TablePolicy, canonical_json,
                                  event_hash, event_hashes, to_jsonable)

__all__ = ["GENESIS_HASH", "AuditEvent", "ChainReport", "canonical_json", "chain_head",
           "event_hash", "make_event", "to_jsonable", "verify_chain"]


class AuditEvent(Record):
    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)
    # Append-only: every stored event is frozen; chains merge by device and position.
    record_policy = TablePolicy("执法全过程记录", Merge.CHAINED, finalized=lambda row: True,
                                refusal="执法全过程记录")

    seq: Mapped[int]
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))       # create / update / delete
    label: Mapped[str] = mapped_column(String(100), default="")  # what the user did, e.g. answer_item
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    before: Mapped[str] = mapped_column(Text)  # canonical JSON
    after: Mapped[str] = mapped_column(Text)   # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def chain_head(session: Session, device_id: str) -> tuple[int, str]:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.device_id == device_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def make_event(
    *, device_id: str, seq: int, prev_hash: str, at: datetime, actor: str, action: str,
    label: str, entity_type: str, entity_id: str, before: dict, after: dict,
) -> AuditEvent:
    ev = AuditEvent(
        id=uuid.uuid4(), device_id=device_id, seq=seq, at=at, actor=actor, action=action,
        label=label, entity_type=entity_type, entity_id=entity_id,
        before=canonical_json(before), after=canonical_json(after),
        prev_hash=prev_hash, created_at=at, updated_at=at,
    )
    ev.hash = event_hash(prev_hash, ev)
    return ev


@dataclass
class ChainReport:
    events: int = 0
    devices: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(session: Session) -> ChainReport:
    """Recompute every device's chain; name each event that was edited, removed or moved.
    Rows, not objects, hashed a batch at a time (record_policy.event_hashes): an office holds
    millions of events, and an AuditEvent and a canonical_json per event cost ~65 µs each."""
    report = ChainReport()
    expected_seq, prev_hash, device = 0, GENESIS_HASH, None
    table = AuditEvent.__table__
    wanted = [table.c[name] for name in (*HASHED_FIELDS, "prev_hash", "hash")]
    rows = session.execute(select(*wanted).order_by(table.c.device_id, table.c.seq),
                           execution_options={"yield_per": 2000}).mappings()
    for batch in rows.partitions():
        for ev, digest in zip(batch, event_hashes(batch)):
            if ev["device_id"] != device:
                device, expected_seq, prev_hash = ev["device_id"], 0, GENESIS_HASH
                report.devices += 1
            expected_seq += 1
            report.events += 1
            if ev["seq"] != expected_seq:
                report.problems.append(f"设备 {device} 缺少第 {expected_seq} 条记录（下一条为第 {ev['seq']} 条）")
                expected_seq = ev["seq"]
            if ev["prev_hash"] != prev_hash:
                report.problems.append(f"设备 {device} 第 {ev['seq']} 条记录与前一条不衔接")
            if digest != ev["hash"]:
                report.problems.append(f"设备 {device} 第 {ev['seq']} 条记录内容被改动")
            prev_hash = ev["hash"]
    return report
