"""Evidence photos: checked, read for EXIF, stored once by their SHA-256, then recorded.

Two steps, so the slow one can run off the UI thread:
  prepare_photo — bytes in, no session: decode (validating), read EXIF, write the stored
                  copy and a thumbnail; safe to call from a worker thread;
  record_photo  — the quick database step: one Photo row, refused on a finalized inspection.
attach_photo does both. A broken or non-image file is refused before anything is written;
files are written atomically, so a crash never leaves half a photo.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import NotFoundError, PhotoError
from models.documents import Document, Signature, signature_image_path
from models.inspection import Answer, Hazard, Inspection, Photo, case_label
from models.inspection_rules import editable_inspection
from models.local_time import from_agency_wall
from models.paths import atomic_write_bytes, file_sha256
from models.registry import Enterprise

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif"}
PHOTO_EXTENSIONS = frozenset(ACCEPTED_FORMATS.values())
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_PHOTO_BYTES = 60 * 1024 * 1024
THUMB_SIDE = 240  # long side of a thumbnail, in pixels
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_ORIENTATION, _DATETIME_ORIGINAL, _DATETIME, _OFFSET_ORIGINAL = 0x0112, 0x9003, 0x0132, 0x9011
_FULL_DISK = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_sha256(value) -> bool:
    """A SHA-256 in hex, as photo and signature-image records name their files by: anything
    else in those fields would become a path (`../keys/…`)."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


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


@dataclass
class PreparedPhoto:
    """A photo whose files are written and which only needs its row (record_photo)."""

    facts: PhotoFacts
    byte_size: int
    original_name: str


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
    # Cameras write wall time without a zone, set where the agency works: take its zone.
    return from_agency_wall(moment)


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


def _bomb_checked_open(data: bytes) -> Image.Image:
    """Image.open, with Pillow's decompression-bomb warning (more pixels than it deems safe
    to decode) raised like its error: a few hundred bytes can declare gigabytes of pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def _too_large(label: str, exc: Exception) -> PhotoError:
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"约 {int(found.group(1)) // 10000} 万像素，" if found else ""
    limit = (Image.MAX_IMAGE_PIXELS or 0) // 10000
    return PhotoError(f"{label}太大（{pixels}超过可安全打开的 {limit} 万像素），为防止耗尽内存未添加",
                      "请用相机或图片软件把照片缩小（如长边 8000 像素以内）后再添加")


def _draft_box(size: tuple[int, int], side: int) -> tuple[int, int]:
    # draft() only reduces while both sides stay >= the box, so the box keeps the photo's aspect.
    w, h = size
    return (side, max(1, h * side // w)) if w >= h else (max(1, w * side // h), side)


def _decode(data: bytes, label: str) -> tuple[Image.Image, Image.Exif, tuple[int, int]]:
    """The image decoded at thumbnail scale, its EXIF and its full size.

    Decoding at reduced scale still reads every byte, so truncated data is caught (verify()
    alone misses it), at a fraction of a full decode's time.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"{label}太大（超过 60 MB）", "请选择相机原始照片或压缩后再添加")
    img = None
    try:
        with _bomb_checked_open(data) as probe:
            probe.verify()
        img = Image.open(io.BytesIO(data))
        size, exif = img.size, img.getexif()
        if img.format in ACCEPTED_FORMATS:
            img.draft("RGB", _draft_box(size, THUMB_SIDE))
            img.load()
            return img, exif, size
        fmt = img.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(label, exc) from exc
    except UnidentifiedImageError as exc:
        raise PhotoError(f"{label}不是可识别的照片", "请选择 JPG 或 PNG 格式的照片") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        if img is not None:
            img.close()
        raise PhotoError(f"{label}已损坏，无法读取", "请从相机或存储卡重新复制该照片") from exc
    img.close()
    raise PhotoError(f"{label}的格式 {fmt} 不受支持", "请选择 JPG 或 PNG 格式的照片")


def _facts(data: bytes, img: Image.Image, exif: Image.Exif, size: tuple[int, int]) -> PhotoFacts:
    width, height = size
    orientation = exif.get(_ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width  # as the photo is meant to be seen
    lat, lon = _exif_gps(exif)
    return PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(), file_ext=ACCEPTED_FORMATS[img.format],
        width=width, height=height, taken_at=_exif_time(exif), gps_lat=lat, gps_lon=lon,
        orientation=orientation,
    )


def _label(name: str) -> str:
    return f"“{name}”" if name else "该文件"


def inspect_photo(data: bytes, name: str = "") -> PhotoFacts:
    """Check that `data` is a whole, readable image and read its facts."""
    img, exif, size = _decode(data, _label(name))
    with img:
        return _facts(data, img, exif, size)


def photo_path(photos_dir: Path, sha256: str, file_ext: str) -> Path:
    return photos_dir / photo_relative(sha256, file_ext)


def photo_relative(sha256: str, file_ext: str) -> str:
    """Where a photo lives under the photos folder, "aa/<sha256>.<ext>" ("/"-separated: a
    string, for an export that names thousands of them; photo_path gives the Path)."""
    # The two fields come from records, some of them another device's: never a path.
    if not is_sha256(sha256) or file_ext not in PHOTO_EXTENSIONS:
        raise ValueError(f"not a photo's hash and type: {sha256!r}.{file_ext!r}")
    return f"{sha256[:2]}/{sha256}.{file_ext}"


def photo_case(session: Session, sha256: str) -> str:
    """The case a stored photo file belongs to, as people find it — "检查 2026年第3号（某公司）"
    (its id's start before it has a number); "" when no record names that file."""
    found = session.execute(
        select(Inspection.id, Inspection.case_year, Inspection.case_serial, Enterprise.name)
        .join(Photo, Photo.inspection_id == Inspection.id)
        .outerjoin(Enterprise, Enterprise.id == Inspection.enterprise_id)
        .where(Photo.sha256 == sha256).order_by(Inspection.started_at).limit(1)).first()
    if found is None:
        return ""
    number = case_label(found.case_year, found.case_serial) or str(found.id)[:8]
    return f"检查 {number}（{found.name or '未知单位'}）"


@dataclass
class PhotoFileCheck:
    checked: int          # files the records name (photos, or signature images)
    problems: list[str]   # one Chinese line each: missing, unreadable, not its name's bytes


def _file_problem(path: Path, sha256: str) -> tuple[str, str] | None:
    """What is wrong with the file that must hold the bytes of `sha256` — ("missing", ""),
    ("unreadable", why) or ("damaged", "") — or None when it holds them."""
    try:
        found = file_sha256(path)
    except FileNotFoundError:
        return "missing", ""
    except OSError as exc:
        return "unreadable", str(exc.strerror or exc)
    return None if found == sha256 else ("damaged", "")


def check_photo_files(session: Session, photos_dir: Path,
                      each_file: Callable[[], None] | None = None,
                      verified: set[str] | frozenset = frozenset()) -> PhotoFileCheck:
    """Every photo file the records name, read and hashed (`status --files`): a file damaged
    at its size shows only so. Nothing is changed; an import of a bundle carrying the photo
    brings a missing or damaged one back (sync.merge). `each_file()` is called before each
    file is read; what it raises ends the check (the program quitting meanwhile).
    `verified`: paths read and found intact in this same check already (the seals' check
    reads sealed cases' photos: read twice, an office's hundreds of thousands cost twice)."""
    named = session.execute(select(Photo.sha256, Photo.file_ext).distinct()
                            .order_by(Photo.sha256, Photo.file_ext)).all()
    problems = []
    for sha, ext in named:
        if each_file is not None:
            each_file()
        if not is_sha256(sha) or ext not in PHOTO_EXTENSIONS:
            problems.append(f"照片记录的校验值或文件类型无效：{str(sha)[:12]}…（{photo_case(session, sha)}）")
            continue
        path = photo_path(photos_dir, sha, ext)
        problem = None if str(path) in verified else _file_problem(path, sha)
        if problem is not None:
            problems.append(_problem_line("照片文件", problem, sha, photo_case(session, sha)))
    return PhotoFileCheck(len(named), problems)


def check_signature_images(session: Session, data_dir: Path,
                           each_file: Callable[[], None] | None = None) -> PhotoFileCheck:
    """Every handwritten-signature image a signature of an issued document names, read and
    hashed like the photos (`status --files`); each problem names the document. `each_file`
    as for check_photo_files."""
    named: dict[str, dict[str, list[str]]] = {}  # image hash → signer → the documents signed
    for sha, signer, number in session.execute(
            select(Signature.image_sha256, Signature.signer_name, Document.number)
            .join(Document, Document.id == Signature.document_id)
            .where(Signature.image_sha256.is_not(None)).order_by(Document.number)):
        named.setdefault(sha, {}).setdefault(signer, []).append(number)
    problems = []
    for sha in sorted(named):
        if each_file is not None:
            each_file()
        where = "；".join(f"{signer} 签于 {'、'.join(numbers)}" for signer, numbers in named[sha].items())
        if not is_sha256(sha):
            problems.append(f"签名记录的签名图像校验值无效：{str(sha)[:12]}…（{where}）")
            continue
        problem = _file_problem(signature_image_path(data_dir, sha), sha)
        if problem is not None:
            problems.append(_problem_line("签名图像", problem, sha, where))
    return PhotoFileCheck(len(named), problems)


def _problem_line(what: str, problem: tuple[str, str], sha: str, where: str) -> str:
    kind, why = problem
    if kind == "unreadable":
        return f"无法读取{what}：{sha[:12]}…（{where}，{why}）"
    if kind == "missing":
        return f"缺少{what}：{sha[:12]}…（{where}）"
    return f"{what}已损坏（内容与存入时不符）：{sha[:12]}…（{where}）"


PHOTO_REPAIR_HINT = ("重新导入含这些照片的导出包即可补回（导入会换上校验过的副本）；本机拍摄、尚未导出的照片"
                     "请从相机存储卡重新添加，或联系技术支持")


SIGNATURE_IMAGE_HINT = ("导入一份其他电脑导出的、含这些文书的导出包即可补回（导入会换上校验过的副本；检查电脑请向"
                        "办公室要一份「全部记录」导出包，本机自己导出的包不能导入本机）；已签发文书的 PDF 中"
                        "仍有签名（文书文件也在本检查中核对）；本机签署、尚未导出的，请联系技术支持")


def thumbnail_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / "thumbs" / f"{sha256}.jpg"


def disk_error(exc: OSError, name: str, folder: Path) -> PhotoError:
    """The user's disk said no: say so in Chinese, with what to do."""
    what = f"照片{_label(name)}未能保存"
    if exc.errno in _FULL_DISK:
        return PhotoError(f"磁盘空间已满，{what}",
                          "请删除不需要的文件、腾出磁盘空间后重新添加照片")
    return PhotoError(f"无法写入照片文件夹 {folder}（{exc.strerror or exc}），{what}",
                      "请确认该文件夹存在且可写（不是只读的存储卡或光盘），或换用一个可写的数据文件夹")


def store_photo_bytes(photos_dir: Path, data: bytes, facts: PhotoFacts, name: str = "") -> Path:
    target = photo_path(photos_dir, facts.sha256, facts.file_ext)
    try:
        if not target.exists():  # same content is stored once
            atomic_write_bytes(target, data)
    except OSError as exc:
        raise disk_error(exc, name, photos_dir) from exc
    return target


def _write_thumbnail(img: Image.Image, target: Path, name: str) -> None:
    upright = ImageOps.exif_transpose(img)
    if upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    upright.thumbnail((THUMB_SIDE, THUMB_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85)
    # A thumbnail can always be made again: atomic, but not worth an fsync.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(out.getvalue())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise disk_error(exc, name, target.parent) from exc


def prepare_photo(photos_dir: Path, data: bytes, name: str = "") -> PreparedPhoto:
    """The slow step, without a session: validate, read EXIF, store the copy, make the thumbnail.

    Thumbnails live beside the photo folder, in `<data folder>/thumbs/`.
    """
    img, exif, size = _decode(data, _label(name))
    with img:
        facts = _facts(data, img, exif, size)
        store_photo_bytes(photos_dir, data, facts, name)
        thumb = thumbnail_path(photos_dir.parent, facts.sha256)
        if not thumb.exists():
            _write_thumbnail(img, thumb, name)
    return PreparedPhoto(facts=facts, byte_size=len(data), original_name=name)


def ensure_thumbnail(photos_dir: Path, sha256: str, file_ext: str) -> Path:
    """The thumbnail of a stored photo, made again if it is missing (thumbs/ is a cache)."""
    thumb = thumbnail_path(photos_dir.parent, sha256)
    if not thumb.exists():
        data = read_photo_file(photo_path(photos_dir, sha256, file_ext))
        img, _exif, _size = _decode(data, "该照片")
        with img:
            _write_thumbnail(img, thumb, "")
    return thumb


def read_photo_file(source: Path) -> bytes:
    try:
        return source.read_bytes()
    except OSError as exc:
        raise PhotoError(f"无法读取文件“{source.name}”（{exc.strerror or exc}）",
                         "请确认文件存在且存储卡已插好") from exc


def _check_target(session: Session, inspection_id: uuid.UUID, answer_id: uuid.UUID | None,
                  hazard_id: uuid.UUID | None) -> None:
    editable_inspection(session, inspection_id)
    for model, key, what in ((Answer, answer_id, "检查项"), (Hazard, hazard_id, "隐患")):
        if key is not None:
            target = session.get(model, key)
            if target is None or target.inspection_id != inspection_id:
                raise NotFoundError(f"照片要关联的{what}不属于本次检查", "请重新选择")


def record_photo(session: Session, inspection_id: uuid.UUID, prepared: PreparedPhoto, *,
                 answer_id: uuid.UUID | None = None, hazard_id: uuid.UUID | None = None,
                 caption: str = "") -> Photo:
    """The quick step: record a prepared photo on an inspection's answer or hazard."""
    _check_target(session, inspection_id, answer_id, hazard_id)
    facts = prepared.facts
    photo = Photo(
        inspection_id=inspection_id, answer_id=answer_id, hazard_id=hazard_id,
        sha256=facts.sha256, file_ext=facts.file_ext, byte_size=prepared.byte_size,
        width=facts.width, height=facts.height, original_name=prepared.original_name,
        caption=caption, taken_at=facts.taken_at, gps_lat=facts.gps_lat, gps_lon=facts.gps_lon,
        exif_orientation=facts.orientation,
    )
    session.add(photo)
    session.flush()
    return photo


def attach_photo(session: Session, photos_dir: Path, inspection_id: uuid.UUID, data: bytes, *,
                 original_name: str = "", answer_id: uuid.UUID | None = None,
                 hazard_id: uuid.UUID | None = None, caption: str = "") -> Photo:
    """Attach evidence to an inspection's answer or hazard (both steps, in sequence)."""
    _check_target(session, inspection_id, answer_id, hazard_id)  # before writing any file
    prepared = prepare_photo(photos_dir, data, original_name)
    return record_photo(session, inspection_id, prepared, answer_id=answer_id,
                        hazard_id=hazard_id, caption=caption)
