"""Qt date-time editors on the agency's clock (models.local_time), whatever the laptop's zone."""
from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QDateTime, QTimeZone
from PySide6.QtWidgets import QDateTimeEdit

from models.local_time import agency_time, agency_zone_name


def agency_qt_zone(moment: datetime | None = None) -> QTimeZone:
    zone = QTimeZone(agency_zone_name().encode())
    if zone.isValid():
        return zone
    # Qt without this zone in its database: the agency's offset at that moment.
    offset = agency_time(moment or datetime.now(timezone.utc)).utcoffset()
    return QTimeZone.fromSecondsAheadOfUtc(int(offset.total_seconds()))


def to_qt(moment: datetime) -> QDateTime:
    """An aware moment as a QDateTime that shows the agency's wall clock."""
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), agency_qt_zone(moment))


def from_qt(value: QDateTime) -> datetime:
    """The moment a QDateTime stands for, as aware UTC (as the store keeps it)."""
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), timezone.utc)


def on_agency_clock(edit: QDateTimeEdit) -> QDateTimeEdit:
    """Make `edit` show and take the agency's wall-clock time."""
    edit.setTimeZone(agency_qt_zone())
    return edit
