"""Agency settings, inspectors and the enterprise register (台账)."""
from __future__ import annotations

import enum

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Record
from models.record_policy import Merge, TablePolicy


class RiskColour(str, enum.Enum):
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"

    @property
    def label(self) -> str:
        return {"red": "红（重大风险）", "orange": "橙（较大风险）",
                "yellow": "黄（一般风险）", "blue": "蓝（低风险）"}[self.value]


def str_enum(enum_cls: type[enum.Enum]) -> Enum:
    """A portable enum column: VARCHAR + CHECK on SQLite and PostgreSQL alike."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=32,
        values_callable=lambda cls: [m.value for m in cls],
        name=enum_cls.__name__.lower(),
    )


class AgencySettings(Record):
    """One row: the agency whose inspectors use this laptop."""

    __tablename__ = "agency_settings"
    record_policy = TablePolicy("本机机构设置", Merge.LOCAL_ONLY)

    agency_name: Mapped[str] = mapped_column(String(200), default="")
    # Region short name used in document numbers: （湘乡）应急检记〔2026〕3号
    region_short: Mapped[str] = mapped_column(String(20), default="")
    reconsideration_government: Mapped[str] = mapped_column(String(200), default="")
    court: Mapped[str] = mapped_column(String(200), default="")
    reinspection_due_days: Mapped[int] = mapped_column(default=10)
    # First case serial this laptop hands out each year; the office gives each laptop its
    # own range (1, 501, 1001 …) so documents made offline never share a number.
    serial_start: Mapped[int] = mapped_column(default=1)
    # The wall clock documents and screens show (models.local_time); the store keeps UTC.
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Copies 「打印全部」 prints of each document (the 2016 template: 一式两份).
    document_copies: Mapped[int] = mapped_column(default=2)


class Inspector(Record):
    __tablename__ = "inspector"
    # 名录库: whether the draw may pick an inspector is the office's to say (a laptop's
    # 不在岗 would take people out of the office's 双随机 draws).
    record_policy = TablePolicy("执法人员", Merge.REGISTER, shown_rank=10,
                                office_fields=frozenset({"available", "unavailable_reason"}),
                                office_fields_label="在岗情况")

    name: Mapped[str] = mapped_column(String(50))
    certificate_no: Mapped[str] = mapped_column(String(50), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # 执法检查人员名录库: whether the draw may pick this inspector now (leave, training …).
    available: Mapped[bool] = mapped_column(default=True, server_default="1")
    unavailable_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Enterprise(Record):
    __tablename__ = "enterprise"
    record_policy = TablePolicy("企业", Merge.REGISTER, shown_rank=9)

    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    legal_representative: Mapped[str] = mapped_column(String(50), default="")
    representative_post: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    has_dust: Mapped[bool] = mapped_column(default=False)
    has_ammonia: Mapped[bool] = mapped_column(default=False)
    has_confined_space: Mapped[bool] = mapped_column(default=False)
    risk_colour: Mapped[RiskColour] = mapped_column(str_enum(RiskColour), default=RiskColour.BLUE)
    # 检查对象名录库: why the class was set by hand ("" when it follows the 设置 rules).
    risk_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # 乡镇/街道: 回避 by township, the office's statistics and 交办 (added in 0004_plan).
    township: Mapped[str] = mapped_column(String(100), default="", server_default="")
