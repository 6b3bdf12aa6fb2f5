"""交办 of major hazards: the office assigns a 重大事故隐患 to the department or township
(乡镇/街道) responsible for seeing it rectified, with its own deadline and a note.

A record is never changed: a re-assignment is a new row pointing at the one it replaces
(`replaces_id`), so the chain of who was given it, when and until when stays readable (and in
the audit trail). Rules in models.assignment_rules.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Record
from models.record_policy import Merge, TablePolicy


class HazardAssignment(Record):
    __tablename__ = "hazard_assignment"
    # Never changed once stored: a re-assignment is a new row (replaces_id).
    record_policy = TablePolicy("交办", Merge.OFFICE_OWNED, finalized=lambda row: True,
                                refusal="交办记录", shown_rank=5, office_writes_only=True)

    hazard_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hazard.id"), index=True)
    assignee: Mapped[str] = mapped_column(String(100))   # 责任单位: department or township
    deadline: Mapped[date]                               # the office's own deadline
    note: Mapped[str] = mapped_column(Text, default="")  # 说明
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(200), default="")
    # Indexed: "the one no other replaces" is asked for every hazard of the office's list.
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hazard_assignment.id"),
                                                          index=True)
