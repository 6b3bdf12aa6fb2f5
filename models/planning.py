"""计划执法 tables: the annual plan, its 双随机 draws, the tasks they hand to laptops, 回避.

A draw row keeps everything needed to replay it (the seed, the exact input lists and their
hashes, every exclusion and the result), so `plan verify` can redo it from what was recorded.
Draws and tasks are office records: a laptop receives them, it never changes them.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Record
from models.record_policy import Merge, TablePolicy


class PlanningSettings(Record):
    """One row: the office's planning rules (JSON, see models.plan_rules.PlanRules)."""

    __tablename__ = "planning_settings"
    record_policy = TablePolicy("计划执法设置", Merge.OFFICE_OWNED, office_writes_only=True)

    rules_json: Mapped[str] = mapped_column(Text, default="")


class InspectorAvoidance(Record):
    """回避: an inspector must not be drawn for an enterprise, or for a whole township."""

    __tablename__ = "inspector_avoidance"
    # The office's 名录库 like its rules: a laptop's 回避 would bar inspectors from its draws.
    record_policy = TablePolicy("执法人员回避", Merge.OFFICE_OWNED, office_writes_only=True)

    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspector.id"), index=True)
    enterprise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enterprise.id"))
    township: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(300))


class InspectionPlan(Record):
    """The year's plan: the rules it was made with, the hand-picked 重点检查 list, the sums."""

    __tablename__ = "inspection_plan"
    record_policy = TablePolicy("年度检查计划", Merge.OFFICE_OWNED, office_writes_only=True)
    __table_args__ = (UniqueConstraint("year"),)

    year: Mapped[int]
    rules_json: Mapped[str] = mapped_column(Text)       # the rules as they were at creation
    focus_json: Mapped[str] = mapped_column(Text)       # [enterprise id, …] chosen by hand
    quotas_json: Mapped[str] = mapped_column(Text)      # per round and class: how many to draw
    summary_json: Mapped[str] = mapped_column(Text)     # per month: inspections and teams


class PlanDraw(Record):
    """One 双随机 draw of a plan round; a redraw is a new row pointing at the one it replaces."""

    __tablename__ = "plan_draw"
    record_policy = TablePolicy("双随机抽取", Merge.OFFICE_OWNED, office_writes_only=True)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_plan.id"), index=True)
    round: Mapped[int]
    seed: Mapped[str] = mapped_column(String(200))
    algorithm: Mapped[str] = mapped_column(String(50))
    drawn_at: Mapped[datetime]
    drawn_by: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")  # why a redraw was made
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_draw.id"))
    inputs_json: Mapped[str] = mapped_column(Text)
    inputs_hash: Mapped[str] = mapped_column(String(64))
    enterprises_hash: Mapped[str] = mapped_column(String(64))
    inspectors_hash: Mapped[str] = mapped_column(String(64))
    exclusions_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str] = mapped_column(Text)
    result_hash: Mapped[str] = mapped_column(String(64))


class PlanTask(Record):
    """待检任务: inspect this enterprise with this team by the end of `due_month`."""

    __tablename__ = "plan_task"
    record_policy = TablePolicy("待检任务", Merge.OFFICE_OWNED, office_writes_only=True)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_plan.id"), index=True)
    draw_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_draw.id"), index=True)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enterprise.id"), index=True)
    inspector_ids: Mapped[str] = mapped_column(Text)  # JSON list, the drawn order
    kind: Mapped[str] = mapped_column(String(20))     # draw / focus
    first_month: Mapped[int]
    due_month: Mapped[int]
    # A redraw cancels the replaced draw's tasks; a task is never deleted.
    cancelled: Mapped[bool] = mapped_column(default=False)
