"""Evidence photos: checked, read for EXIF, stored once by their SHA-256, then recorded.

A broken or non-image file is refused before anything is written, so it leaves nothing
behind; the bytes are written atomically, so a crash never leaves half a photo.
"""
from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from models.errors import NotFoundError, PhotoError
from models.inspection import Answer, Hazard, Photo
from models.inspection_rules import editable_inspection
from models.paths import atomic_write_bytes

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif"}
MAX_PHOTO_BYTES = 60 * 1024 * 1024
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_ORIENTATION, _DATETIME_ORIGINAL, _DATETIME, _OFFSET_ORIGINAL = 0x0112, 0x9003, 0x0132, 0x9011


@dataclass
class PhotoFacts:
    sha256: str
    file_ext: str
    width: int
    height: int
    taken_at: datetime | None
    gps_lat: float | None
    gps_lon: float | None
    orientation: int


def _exif_time(exif: Image.Exif) -> datetime | None:
    sub = exif.get_ifd(_EXIF_IFD)
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_OFFSET_ORIGINAL)
    if isinstance(offset, str):
        try:
            return datetime.fromisoformat(moment.isoformat() + offset.strip("\x00 "))
        except ValueError:
            pass
    # Cameras write local wall time without a zone: take the laptop's zone.
    return moment.astimezone()


def _gps_degrees(values, ref) -> float | None:
    try:
        deg, minutes, seconds = (float(v) for v in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = deg + minutes / 60 + seconds / 3600
    return -result if ref in ("S", "W") else result


def _exif_gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    if not gps:
        return None, None
    return _gps_degrees(gps.get(2), gps.get(1)), _gps_degrees(gps.get(4), gps.get(3))


def inspect_photo(data: bytes, name: str = "") -> PhotoFacts:
    """Check that `data` is a whole, readable image and read its facts."""
    label = f"“{name}”" if name else "该文件"
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"{label}太大（超过 60 MB）", "请选择相机原始照片或压缩后再添加")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # verify() misses truncated pixel data; a full decode does not
            fmt = img.format
            exif = img.getexif()
            width, height = img.size
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"{label}不是可识别的照片", "请选择 JPG 或 PNG 格式的照片") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"{label}已损坏，无法读取", "请从相机或存储卡重新复制该照片") from exc
    if fmt not in ACCEPTED_FORMATS:
        raise PhotoError(f"{label}的格式 {fmt} 不受支持", "请选择 JPG 或 PNG 格式的照片")
    orientation = exif.get(_ORIENTATION, 1)
    if orientation in (5, 6, 7, 8):
        width, height = height, width  # as the photo is meant to be seen
    lat, lon = _exif_gps(exif)
    return PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(), file_ext=ACCEPTED_FORMATS[fmt],
        width=width, height=height, taken_at=_exif_time(exif), gps_lat=lat, gps_lon=lon,
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1,
    )


def photo_path(photos_dir: Path, sha256: str, file_ext: str) -> Path:
    return photos_dir / sha256[:2] / f"{sha256}.{file_ext}"


def store_photo_bytes(photos_dir: Path, data: bytes, facts: PhotoFacts) -> Path:
    target = photo_path(photos_dir, facts.sha256, facts.file_ext)
    if not target.exists():  # same content is stored once
        atomic_write_bytes(target, data)
    return target


def read_photo_file(source: Path) -> bytes:
    try:
        return source.read_bytes()
    except OSError as exc:
        raise PhotoError(f"无法读取文件“{source.name}”（{exc.strerror or exc}）",
                         "请确认文件存在且存储卡已插好") from exc


def attach_photo(session: Session, photos_dir: Path, inspection_id: uuid.UUID, data: bytes, *,
                 original_name: str = "", answer_id: uuid.UUID | None = None,
                 hazard_id: uuid.UUID | None = None, caption: str = "") -> Photo:
    """Attach evidence to an inspection's answer or hazard."""
    editable_inspection(session, inspection_id)
    for model, key, what in ((Answer, answer_id, "检查项"), (Hazard, hazard_id, "隐患")):
        if key is not None:
            target = session.get(model, key)
            if target is None or target.inspection_id != inspection_id:
                raise NotFoundError(f"照片要关联的{what}不属于本次检查", "请重新选择")
    facts = inspect_photo(data, original_name)
    store_photo_bytes(photos_dir, data, facts)
    photo = Photo(
        inspection_id=inspection_id, answer_id=answer_id, hazard_id=hazard_id,
        sha256=facts.sha256, file_ext=facts.file_ext, byte_size=len(data),
        width=facts.width, height=facts.height, original_name=original_name, caption=caption,
        taken_at=facts.taken_at, gps_lat=facts.gps_lat, gps_lon=facts.gps_lon,
        exif_orientation=facts.orientation,
    )
    session.add(photo)
    session.flush()
    return photo
