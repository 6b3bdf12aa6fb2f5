"""Each enrolled laptop's own case-number range (文书编号段), given by the office.

`agency join` writes the range into the data folder (models.paths.CASE_RANGE_FILE); from then
on this laptop numbers its cases only inside it, every year, so laptops of one agency never
give out the same number offline. Running out is told in time: from 90 % used on, at start,
in `status` and after each finalizing; past the end, finalizing is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.errors import ValidationError
from models.inspection import Inspection
from models.paths import CASE_RANGE_FILE, read_json_dict

WARN_AT = 0.9
NEW_RANGE_HINT = "请向办公室申请新的编号段（本机 agency request，办公室 agency enroll --new-range，本机 agency join）"


@dataclass(frozen=True)
class CaseRange:
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1


def case_range(data_dir: Path | None) -> CaseRange | None:
    if data_dir is None:
        return None
    got = read_json_dict(Path(data_dir) / CASE_RANGE_FILE)
    start, end = got.get("start"), got.get("end")
    if isinstance(start, int) and isinstance(end, int) and 1 <= start <= end:
        return CaseRange(start, end)
    return None


def last_in_range(session: Session, rng: CaseRange, year: int) -> int | None:
    return session.scalar(select(func.max(Inspection.case_serial)).where(
        Inspection.case_year == year, Inspection.case_serial.between(rng.start, rng.end)))


def next_in_range(rng: CaseRange, last: int | None, exported: int) -> int:
    """The next serial inside the range; refused when the range is used up."""
    floor = exported if rng.start <= exported <= rng.end else 0
    serial = max(rng.start, (last or 0) + 1, floor + 1)
    if serial > rng.end:
        raise ValidationError(f"本机文书编号段（{rng.start}–{rng.end}）已用完，不能再定稿新的检查",
                              hint=NEW_RANGE_HINT)
    return serial


def range_warning(session: Session, data_dir: Path | None, year: int) -> str | None:
    """A Chinese line when 90 % or more of this year's range is used, else None."""
    rng = case_range(data_dir)
    if rng is None:
        return None
    last = last_in_range(session, rng, year)
    used = 0 if last is None else last - rng.start + 1
    if used < WARN_AT * rng.size:
        return None
    left = rng.size - used
    return (f"本机{year}年文书编号段 {rng.start}–{rng.end} 已用 {used} 个，仅剩 {left} 个"
            + ("（已用完）" if left <= 0 else "") + f"；{NEW_RANGE_HINT}")
