"""Checklists as loaded from `checklists/data/*.toml`; each edit of a file is a new version."""
from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Record
from models.record_policy import Merge, TablePolicy

AREAS = {
    "dust": "粉尘防爆",
    "confined_space": "有限空间作业",
    "ammonia": "涉氨制冷",
    "general": "通用",
}


class Checklist(Record):
    __tablename__ = "checklist"
    # Its natural key holds its content hash: the same key is the same version.
    record_policy = TablePolicy("检查表", Merge.CONTENT_KEYED)
    __table_args__ = (
        UniqueConstraint("code", "version"),
        UniqueConstraint("code", "content_hash"),
    )

    code: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int]
    # SHA-256 of the parsed content: an unchanged file loads as the same version.
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(200))

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="checklist", order_by="ChecklistItem.position"
    )


class ChecklistItem(Record):
    __tablename__ = "checklist_item"
    record_policy = TablePolicy("检查项", Merge.CONTENT_KEYED)
    __table_args__ = (UniqueConstraint("checklist_id", "code"),)

    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklist.id"), index=True)
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(String(20))
    question: Mapped[str] = mapped_column(Text)
    how_to_check: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    major: Mapped[bool]
    major_clause: Mapped[str] = mapped_column(String(200), default="")
    rectification: Mapped[str] = mapped_column(Text)
    # The failure stated as a finding, as the rectification order words it (optional).
    finding: Mapped[str] = mapped_column(Text, default="", server_default="")
    deadline_days: Mapped[int]
    # JSON list of seed item references, e.g. ["粉尘-1"]
    seed_refs: Mapped[str] = mapped_column(Text, default="[]")
    # JSON list: where each citation of legal_basis was checked, or 待核 and why
    # (models.checklist_library.BasisSource).
    basis_sources: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")

    checklist: Mapped[Checklist] = relationship(back_populates="items")
