"""Inspections and what is recorded during them: answers, hazards, photos."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Record
from models.record_policy import Merge, TablePolicy
from models.checklist import Checklist, ChecklistItem
from models.registry import Enterprise, Inspector, str_enum


# What may still change on a hazard of a finalized inspection: its life after the visit
# (re-inspections, the office's 一单四制); its record_policy lets only these through.
HAZARD_LIFECYCLE_KEYS = frozenset({"status", "closed_at", "current_deadline", "escalated",
                                   "assigned_to", "ledger_no", "reported_on"})
# Of those, the office's steps of 一单四制 (交办's old free text, 台账, 通报): set at the office only.
HAZARD_OFFICE_KEYS = frozenset({"assigned_to", "ledger_no", "reported_on"})


def _of_the_visit(label: str, rank: int) -> TablePolicy:
    """Rows of a visit: frozen once it is finalized, and it gains no more of them."""
    return TablePolicy(label, Merge.ROW, frozen_with="inspection", shown_rank=rank,
                       refusal="该检查")


def case_label(year: int | None, serial: int | None) -> str:
    """An inspection's case number as people say it: 2026年第3号 ("" before it has one)."""
    return f"{year}年第{serial}号" if year and serial else ""


class InspectionStatus(str, enum.Enum):
    IN_PROGRESS = "in_progress"
    FINALIZED = "finalized"

    @property
    def label(self) -> str:
        return {"in_progress": "检查中", "finalized": "已定稿"}[self.value]


class AnswerResult(str, enum.Enum):
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return {"compliant": "符合", "noncompliant": "不符合", "not_applicable": "不适用"}[self.value]


class HazardStatus(str, enum.Enum):
    OPEN = "open"                    # 待整改
    WITHDRAWN = "withdrawn"          # answer changed back before finalizing
    CLOSED = "closed"                # 已销号
    NOT_RECTIFIED = "not_rectified"  # 整改不合格

    @property
    def label(self) -> str:
        return {"open": "待整改", "withdrawn": "已撤回",
                "closed": "已销号", "not_rectified": "整改不合格"}[self.value]


class InspectionKind(str, enum.Enum):
    INSPECTION = "inspection"      # 现场检查: walks checklists, orders hazards
    REINSPECTION = "reinspection"  # 复查: reviews the hazards another inspection ordered

    @property
    def label(self) -> str:
        return {"inspection": "现场检查", "reinspection": "复查"}[self.value]


class Inspection(Record):
    __tablename__ = "inspection"
    # One visit, made on one laptop: its case number under another id is another visit.
    record_policy = TablePolicy(
        "检查", Merge.ONE_VISIT, finalized=lambda row: row.get("status") == InspectionStatus.FINALIZED,
        screen_state=frozenset({"current_item_id"}), shown_rank=0, refusal="该检查")
    __table_args__ = (
        Index("ix_inspection_enterprise_status_started", "enterprise_id", "status", "started_at"),
        Index("ix_inspection_status_started", "status", "started_at"),
        UniqueConstraint("case_year", "case_serial"),
    )

    enterprise_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enterprise.id"))
    place: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status: Mapped[InspectionStatus] = mapped_column(
        str_enum(InspectionStatus), default=InspectionStatus.IN_PROGRESS
    )
    finalized_at: Mapped[datetime | None]
    # One case keeps one serial across its documents: （简称）应急检记〔年〕N号
    case_year: Mapped[int | None]
    case_serial: Mapped[int | None]
    # Where the inspector was, so a restart resumes at the same item.
    current_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("checklist_item.id"))
    # A correction or re-inspection points to the record it follows.
    follows_inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspection.id"))
    # The 待检任务 (plan_task) it was started from, if any: its result closes the task.
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_task.id"))
    # Checked by the enum in Python; no CHECK in the database (see migration 0003).
    kind: Mapped[InspectionKind] = mapped_column(
        Enum(InspectionKind, native_enum=False, create_constraint=False, validate_strings=True,
             length=32, values_callable=lambda cls: [m.value for m in cls]),
        default=InspectionKind.INSPECTION, server_default=InspectionKind.INSPECTION.value)

    enterprise: Mapped[Enterprise] = relationship()
    team: Mapped[list[InspectionInspector]] = relationship(
        back_populates="inspection", order_by="InspectionInspector.position",
        cascade="all, delete-orphan",
    )
    checklists: Mapped[list[InspectionChecklist]] = relationship(
        back_populates="inspection", order_by="InspectionChecklist.position",
        cascade="all, delete-orphan",
    )
    answers: Mapped[list[Answer]] = relationship(back_populates="inspection")
    hazards: Mapped[list[Hazard]] = relationship(back_populates="inspection")
    photos: Mapped[list[Photo]] = relationship(back_populates="inspection")

    @property
    def is_finalized(self) -> bool:
        return self.status == InspectionStatus.FINALIZED


class InspectionInspector(Record):
    __tablename__ = "inspection_inspector"
    record_policy = _of_the_visit("检查人员", 7)
    __table_args__ = (UniqueConstraint("inspection_id", "inspector_id"),)

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"))
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspector.id"))
    position: Mapped[int]

    inspection: Mapped[Inspection] = relationship(back_populates="team")
    inspector: Mapped[Inspector] = relationship()


class InspectionChecklist(Record):
    """The checklist *version* an inspection was started with; later edits don't move it."""

    __tablename__ = "inspection_checklist"
    record_policy = _of_the_visit("所用检查表", 8)
    __table_args__ = (UniqueConstraint("inspection_id", "checklist_id"),)

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"))
    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklist.id"))
    position: Mapped[int]

    inspection: Mapped[Inspection] = relationship(back_populates="checklists")
    checklist: Mapped[Checklist] = relationship()


class Answer(Record):
    __tablename__ = "answer"
    record_policy = _of_the_visit("检查项答复", 2)
    __table_args__ = (UniqueConstraint("inspection_id", "item_id"),)

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklist_item.id"))
    # None: a note or photos recorded before the result was chosen (the item is unanswered).
    result: Mapped[AnswerResult | None] = mapped_column(str_enum(AnswerResult))
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime]

    inspection: Mapped[Inspection] = relationship(back_populates="answers")
    item: Mapped[ChecklistItem] = relationship()
    hazard: Mapped[Hazard | None] = relationship(back_populates="answer")


class Hazard(Record):
    __tablename__ = "hazard"
    # Frozen with its visit except for its life after it, which two places change (a
    # re-inspection, the office), often different fields: merged field by field.
    record_policy = TablePolicy("隐患", Merge.FIELD_MERGED, frozen_with="inspection",
                                still_changes=HAZARD_LIFECYCLE_KEYS, shown_rank=1,
                                refusal="该检查的隐患", office_fields=HAZARD_OFFICE_KEYS,
                                office_fields_label="交办、台账编号和通报日期")
    __table_args__ = (
        Index("ix_hazard_status_deadline", "status", "deadline"),
        Index("ix_hazard_enterprise_status", "enterprise_id", "status"),
    )

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"), index=True)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("answer.id"), unique=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklist_item.id"))
    enterprise_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enterprise.id"))
    description: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    is_major: Mapped[bool]
    major_clause: Mapped[str] = mapped_column(String(200), default="")
    rectification: Mapped[str] = mapped_column(Text)
    deadline_days: Mapped[int]
    deadline: Mapped[date]
    status: Mapped[HazardStatus] = mapped_column(str_enum(HazardStatus), default=HazardStatus.OPEN)
    found_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # Life after the order (may change on a finalized inspection, see flush_hooks):
    # a re-inspection that finds it not rectified may set a new deadline, or escalate it.
    current_deadline: Mapped[date | None]
    escalated: Mapped[bool] = mapped_column(default=False, server_default="0")
    # 一单四制 of major hazards: 交办 (assigned to), 台账 (ledger number), 通报 (reported on);
    # 销号 is closed_at.
    assigned_to: Mapped[str] = mapped_column(String(100), default="", server_default="")
    ledger_no: Mapped[str] = mapped_column(String(50), default="", server_default="")
    reported_on: Mapped[date | None]

    inspection: Mapped[Inspection] = relationship(back_populates="hazards")
    answer: Mapped[Answer] = relationship(back_populates="hazard")
    item: Mapped[ChecklistItem] = relationship()
    enterprise: Mapped[Enterprise] = relationship()


# The ledger sorts and filters by the deadline in force: the re-inspection's new one, else the order's.
# Two orders: by deadline (no status filter), and by status then deadline (a status filter).
Index("ix_hazard_due", func.coalesce(Hazard.current_deadline, Hazard.deadline), Hazard.status,
      Hazard.inspection_id)
Index("ix_hazard_found_at", Hazard.found_at)
Index("ix_hazard_status_due", Hazard.status, func.coalesce(Hazard.current_deadline, Hazard.deadline),
      Hazard.inspection_id)
# A search arm (an item's code, a firm) walks its hazards in deadline order (models.ledger).
Index("ix_hazard_item_due", Hazard.item_id, func.coalesce(Hazard.current_deadline, Hazard.deadline),
      Hazard.id)
Index("ix_hazard_enterprise_due", Hazard.enterprise_id,
      func.coalesce(Hazard.current_deadline, Hazard.deadline), Hazard.id)


class HazardReview(Record):
    """What a re-inspection found about one ordered hazard (None: not yet decided)."""

    __tablename__ = "hazard_review"
    record_policy = _of_the_visit("复查意见", 3)
    __table_args__ = (UniqueConstraint("inspection_id", "hazard_id"),)

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"), index=True)
    hazard_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hazard.id"), index=True)
    position: Mapped[int]
    rectified: Mapped[bool | None]
    note: Mapped[str] = mapped_column(Text, default="")
    new_deadline: Mapped[date | None]
    escalated: Mapped[bool] = mapped_column(default=False)

    hazard: Mapped[Hazard] = relationship()


class Photo(Record):
    """Evidence photo; the bytes live content-addressed under the data folder."""

    __tablename__ = "photo"
    record_policy = _of_the_visit("照片", 4)

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"), index=True)
    answer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("answer.id"), index=True)
    hazard_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_ext: Mapped[str] = mapped_column(String(8))
    byte_size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    original_name: Mapped[str] = mapped_column(String(300), default="")
    caption: Mapped[str] = mapped_column(Text, default="")
    taken_at: Mapped[datetime | None]
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    exif_orientation: Mapped[int] = mapped_column(default=1)
    # Extra rotation the inspector applied, in degrees clockwise (0/90/180/270).
    rotation: Mapped[int] = mapped_column(default=0)

    inspection: Mapped[Inspection] = relationship(back_populates="photos")
