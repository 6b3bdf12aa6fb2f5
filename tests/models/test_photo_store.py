"""Evidence photos: checked, EXIF read, stored once by content, broken files refused."""
import io
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import select

from models.demo import demo_photo
from models.errors import PhotoError
from models.inspection import AnswerResult, Photo
from models.inspection_rules import answer_item, inspection_items
from models.photo_store import attach_photo, photo_path


def _noncompliant(store, inspection_id):
    with store.transaction() as s:
        item = inspection_items(s, inspection_id)[0]
        answer = answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
        return answer.id, answer.hazard.id


def _files(store):
    return sorted(p for p in store.photos_dir.rglob("*") if p.is_file()) if store.photos_dir.exists() else []


def test_photo_attaches_with_exif_time_gps_and_orientation(store, inspection_id, clock):
    """A camera photo is stored by hash with its EXIF time, GPS and upright size."""
    answer_id, hazard_id = _noncompliant(store, inspection_id)
    taken = datetime(2026, 11, 2, 9, 41).astimezone()
    data = demo_photo("DUST-01", taken, orientation=6)
    with store.transaction() as s:
        photo = attach_photo(s, store.photos_dir, inspection_id, data, original_name="IMG_1.jpg",
                             answer_id=answer_id, hazard_id=hazard_id, caption="积尘")
    assert photo.taken_at == taken
    assert photo.gps_lat == pytest.approx(27.7368, abs=1e-3)
    assert photo.gps_lon == pytest.approx(112.5278, abs=1e-3)
    assert (photo.exif_orientation, photo.width, photo.height) == (6, 1200, 1600)
    stored = photo_path(store.photos_dir, photo.sha256, "jpg")
    assert stored.read_bytes() == data


def test_same_photo_twice_is_stored_once(store, inspection_id):
    """Adding the same file twice keeps one copy of the bytes."""
    answer_id, _ = _noncompliant(store, inspection_id)
    data = demo_photo("x", datetime(2026, 11, 2, 9, 0).astimezone())
    for _ in range(2):
        with store.transaction() as s:
            attach_photo(s, store.photos_dir, inspection_id, data, answer_id=answer_id)
    assert len(_files(store)) == 1
    with store.session() as s:
        assert len(s.scalars(select(Photo)).all()) == 2


def _truncated_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()[: len(buf.getvalue()) // 2]


@pytest.mark.parametrize("data,words", [
    (b"%PDF-1.7 not a photo", "不是可识别的照片"),
    (_truncated_jpeg(), "已损坏"),
    (b"", "不是可识别的照片"),
])
def test_broken_or_foreign_file_is_refused_and_leaves_nothing(store, inspection_id, data, words):
    """A non-image or truncated file is refused with a message; no file, no row remains."""
    answer_id, _ = _noncompliant(store, inspection_id)
    with pytest.raises(PhotoError, match=words):
        with store.transaction() as s:
            attach_photo(s, store.photos_dir, inspection_id, data, original_name="坏.jpg",
                         answer_id=answer_id)
    assert _files(store) == []
    with store.session() as s:
        assert s.scalars(select(Photo)).all() == []


def test_photo_without_exif_has_no_time(store, inspection_id):
    """A PNG screenshot without EXIF is accepted with no time and no position."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buf, "PNG")
    with store.transaction() as s:
        photo = attach_photo(s, store.photos_dir, inspection_id, buf.getvalue())
    assert (photo.taken_at, photo.gps_lat, photo.file_ext) == (None, None, "png")


def _png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that declares width×height pixels (a decompression bomb when large)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = zlib.compress(b"\0" * (1 + width // 8) * 16, 9)  # a few rows: the header is the point
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [20000, 10000])
def test_photo_too_large_to_open_safely_is_called_too_large(store, inspection_id, side):
    """A side×side PNG (a decompression bomb) is refused as too large, not as unrecognisable;
    nothing is stored."""
    answer_id, _ = _noncompliant(store, inspection_id)
    with pytest.raises(PhotoError) as caught:
        with store.transaction() as s:
            attach_photo(s, store.photos_dir, inspection_id, _png_bomb(side, side),
                         original_name="炸弹.png", answer_id=answer_id)
    text = caught.value.text()
    assert "太大" in text and "像素" in text and "不是可识别" not in text
    assert f"{side * side // 10000} 万像素" in text  # how large, so the inspector sees why
    assert _files(store) == []
