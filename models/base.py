"""Declarative base shared by every table: UUID keys, UTC times, creating device."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import ClassVar

from sqlalchemy import DateTime, MetaData, String, TypeDecorator, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.record_policy import POLICY_KEY, TablePolicy


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC; refuses naive input (a bug, not data)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


# Named constraints keep Alembic migrations deterministic on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, uuid.UUID: Uuid}


class Record(Base):
    """Columns every row carries so records from many laptops merge without collisions."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Filled in by the flush hook from the store's device id (see models.audit).
    device_id: Mapped[str] = mapped_column(String(36))
    # What the table is and how it freezes and merges (models.record_policy), declared
    # beside each model's columns; copied into its Table's info for code holding a Table.
    record_policy: ClassVar[TablePolicy | None] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("record_policy")
        if declared is not None:
            cls.__table__.info[POLICY_KEY] = declared
