"""What an inspector does with recorded photos: list, caption, rotate, delete.

Changes to photos of a finalized inspection are refused here with a clear message (and,
whatever the path, by the flush hook). Deleting removes the row only: the stored file is
shared by content with any other row of the same bytes, and the sync step may still need it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models.errors import NotFoundError, ValidationError
from models.inspection import Photo
from models.inspection_rules import editable_inspection, get_inspection
from models.photo_store import photo_path, thumbnail_path

__all__ = ["PhotoCard", "delete_photo", "exif_time_far", "get_photo", "photo_card", "photo_cards",
           "photo_path", "photos_for", "rotate_photo", "set_caption", "thumbnail_path"]

MAX_CAPTION = 200
FAR_HOURS = 12


@dataclass(frozen=True)
class PhotoCard:
    """What a screen shows of one photo, detached from the session."""

    id: uuid.UUID
    sha256: str
    file_ext: str
    original_name: str
    caption: str
    taken_at: datetime | None
    gps_lat: float | None
    gps_lon: float | None
    width: int
    height: int
    rotation: int
    time_far: bool  # EXIF time far from the inspection's start: maybe an old photo


def exif_time_far(photo_taken_at: datetime | None, inspection_started_at: datetime | None,
                  hours: float = FAR_HOURS) -> bool:
    """True when the photo says it was taken more than `hours` away from the inspection."""
    if photo_taken_at is None or inspection_started_at is None:
        return False
    return abs(photo_taken_at - inspection_started_at) > timedelta(hours=hours)


def get_photo(session: Session, photo_id: uuid.UUID) -> Photo:
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise NotFoundError("找不到该照片，可能已被删除", "请关闭照片窗口后重新打开")
    return photo


def _editable_photo(session: Session, photo_id: uuid.UUID) -> Photo:
    photo = get_photo(session, photo_id)
    editable_inspection(session, photo.inspection_id)
    return photo


def set_caption(session: Session, photo_id: uuid.UUID, caption: str) -> Photo:
    text = " ".join(caption.split())
    if len(text) > MAX_CAPTION:
        raise ValidationError("照片说明太长", [f"最多 {MAX_CAPTION} 字，现有 {len(text)} 字"],
                              "请精简说明")
    photo = _editable_photo(session, photo_id)
    if photo.caption != text:
        photo.caption = text
        session.flush()
    return photo


def rotate_photo(session: Session, photo_id: uuid.UUID) -> Photo:
    """Turn the photo a quarter to the right (the stored file is never changed)."""
    photo = _editable_photo(session, photo_id)
    photo.rotation = (photo.rotation + 90) % 360
    session.flush()
    return photo


def delete_photo(session: Session, photo_id: uuid.UUID) -> None:
    session.delete(_editable_photo(session, photo_id))
    session.flush()


def photos_for(session: Session, inspection_id: uuid.UUID, answer_id: uuid.UUID | None = None,
               hazard_id: uuid.UUID | None = None) -> list[Photo]:
    """An inspection's photos in capture order; with an answer and/or a hazard, those of
    either (a photo taken before the hazard existed belongs to its answer only)."""
    query = select(Photo).where(Photo.inspection_id == inspection_id)
    owners = [col == key for col, key in ((Photo.answer_id, answer_id), (Photo.hazard_id, hazard_id))
              if key is not None]
    if owners:
        query = query.where(or_(*owners))
    # No EXIF time (screenshots, the laptop camera): when it was added stands in for it.
    query = query.order_by(func.coalesce(Photo.taken_at, Photo.created_at), Photo.created_at)
    return list(session.scalars(query))


def _card(photo: Photo, started_at: datetime | None) -> PhotoCard:
    return PhotoCard(
        id=photo.id, sha256=photo.sha256, file_ext=photo.file_ext,
        original_name=photo.original_name, caption=photo.caption, taken_at=photo.taken_at,
        gps_lat=photo.gps_lat, gps_lon=photo.gps_lon, width=photo.width, height=photo.height,
        rotation=photo.rotation, time_far=exif_time_far(photo.taken_at, started_at),
    )


def photo_cards(session: Session, inspection_id: uuid.UUID, answer_id: uuid.UUID | None = None,
                hazard_id: uuid.UUID | None = None) -> list[PhotoCard]:
    started = get_inspection(session, inspection_id).started_at
    return [_card(p, started) for p in photos_for(session, inspection_id, answer_id, hazard_id)]


def photo_card(session: Session, photo_id: uuid.UUID) -> PhotoCard:
    photo = get_photo(session, photo_id)
    return _card(photo, get_inspection(session, photo.inspection_id).started_at)
