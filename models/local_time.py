"""The agency's local time: what every document and screen shows, whatever the laptop's zone.

The store keeps UTC. People read dates and clock times on the agency's wall clock (Asia/Shanghai
unless 设置 says otherwise): a laptop set to UTC, or a build machine, must still print 9时30分
for an inspection begun at 9:30 in Hunan. The zone is one process-wide setting, applied when
the store opens and when 设置 is saved (`use_agency_zone`); everything else calls
`agency_time` / `agency_date` / `agency_wall`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
# China has kept UTC+8 without summer time since 1991: the default still works on a Windows
# laptop without the tzdata package.
_CHINA = timezone(timedelta(hours=8), "CST")


def zone_problem(name: str) -> str:
    """Why `name` is not a usable IANA time zone ("" when it is)."""
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return f"无法识别的时区“{name}”，请填写如 Asia/Shanghai 的时区名称"
    return ""


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return _CHINA
        raise


_current: list[tzinfo] = [_zone(DEFAULT_ZONE)]


def use_agency_zone(name: str | None) -> None:
    """Make `name` (default Asia/Shanghai) the zone of every date and time shown from now on."""
    _current[0] = _zone((name or "").strip() or DEFAULT_ZONE)


def agency_zone() -> tzinfo:
    return _current[0]


def agency_zone_name() -> str:
    """The IANA name of the agency's zone (for Qt's QTimeZone)."""
    return getattr(agency_zone(), "key", DEFAULT_ZONE)


def agency_time(moment: datetime) -> datetime:
    """`moment` (aware, any zone; naive means UTC as the store keeps it) on the agency's clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(agency_zone())


def agency_date(moment: datetime) -> date:
    """The agency's calendar date of `moment` — deadlines are counted in these days."""
    return agency_time(moment).date()


def agency_wall(moment: datetime) -> datetime:
    """The agency's wall-clock time without a zone (for Qt date-time editors)."""
    return agency_time(moment).replace(tzinfo=None)


def from_agency_wall(wall: datetime) -> datetime:
    """A wall-clock time typed on the agency's clock (naive) as an aware moment."""
    if wall.tzinfo is not None:
        return wall
    zone = agency_zone()
    return wall.replace(tzinfo=zone)


def agency_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = "") -> str:
    """`moment` as the screens print it, on the agency's clock."""
    return agency_time(moment).strftime(fmt) if moment is not None else empty
