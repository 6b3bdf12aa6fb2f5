"""Photos in two steps (files off the UI thread, then the row), and what is done with them."""
import errno
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import select

import models.photo_store as photo_store
from models.demo import demo_photo
from models.errors import FinalizedRecordError, PhotoError, ValidationError
from models.inspection import AnswerResult, Photo
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from models.photo_rules import (delete_photo, exif_time_far, photo_cards, photos_for,
                                rotate_photo, set_caption, thumbnail_path)
from models.photo_store import (attach_photo, ensure_thumbnail, photo_path, prepare_photo,
                                record_photo)

T0 = datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc)  # the clock fixture's start


def _noncompliant(store, inspection_id, index=0):
    with store.transaction() as s:
        item = inspection_items(s, inspection_id)[index]
        answer = answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
        return answer.id, answer.hazard.id


def _finalize(store, inspection_id):
    with store.transaction() as s:
        for item in inspection_items(s, inspection_id):
            answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)
        finalize_inspection(s, inspection_id)


def _attach(store, inspection_id, label="x", taken=T0, **kw):
    with store.transaction() as s:
        return attach_photo(s, store.photos_dir, inspection_id, demo_photo(label, taken), **kw).id


def test_prepare_writes_copy_and_upright_thumbnail_without_a_session(store):
    """The slow step stores the bytes and a 240 px thumbnail turned the way the photo is seen."""
    data = demo_photo("CS-01", T0, orientation=6)
    prepared = prepare_photo(store.photos_dir, data, "IMG_7.jpg")
    facts = prepared.facts
    assert (facts.width, facts.height, prepared.byte_size) == (1200, 1600, len(data))
    assert photo_path(store.photos_dir, facts.sha256, "jpg").read_bytes() == data
    with Image.open(thumbnail_path(store.data_dir, facts.sha256)) as thumb:
        assert thumb.size == (180, 240)


def test_record_step_refuses_a_finalized_inspection(store, inspection_id):
    """A photo prepared while the inspection was open cannot be recorded after finalizing."""
    prepared = prepare_photo(store.photos_dir, demo_photo("x", T0), "a.jpg")
    _finalize(store, inspection_id)
    with pytest.raises(FinalizedRecordError, match="已定稿"):
        with store.transaction() as s:
            record_photo(s, inspection_id, prepared)
    with store.session() as s:
        assert s.scalars(select(Photo)).all() == []


def test_rotate_caption_and_delete_change_the_stored_photo(store, inspection_id):
    """Rotating turns a quarter right each time; the caption is trimmed; delete keeps the file."""
    first = _attach(store, inspection_id)
    second = _attach(store, inspection_id)  # same bytes: one file, two rows
    with store.transaction() as s:
        for _ in range(3):
            rotate_photo(s, first)
        set_caption(s, first, "  除尘器 积尘  ")
    with store.session() as s:
        photo = s.get(Photo, first)
        assert (photo.rotation, photo.caption) == (270, "除尘器 积尘")
    with store.transaction() as s:
        assert rotate_photo(s, first).rotation == 0
        delete_photo(s, second)
    with store.session() as s:
        assert [p.id for p in s.scalars(select(Photo))] == [first]
        stored = photo_path(store.photos_dir, s.get(Photo, first).sha256, "jpg")
    assert stored.exists()


def test_overlong_caption_is_refused(store, inspection_id):
    """A caption beyond 200 characters is refused with the count."""
    photo_id = _attach(store, inspection_id)
    with pytest.raises(ValidationError, match="太长"):
        with store.transaction() as s:
            set_caption(s, photo_id, "字" * 201)


def test_finalized_photos_cannot_be_changed(store, inspection_id):
    """After finalizing, caption, rotation and deletion are all refused."""
    photo_id = _attach(store, inspection_id)
    _finalize(store, inspection_id)
    for change in (lambda s: set_caption(s, photo_id, "补记"), lambda s: rotate_photo(s, photo_id),
                   lambda s: delete_photo(s, photo_id)):
        with pytest.raises(FinalizedRecordError):
            with store.transaction() as s:
                change(s)


def test_photos_for_lists_in_capture_order_per_answer_or_hazard(store, inspection_id):
    """An item's photos come in the order they were taken; other items' photos are left out."""
    answer_a, hazard_a = _noncompliant(store, inspection_id, 0)
    answer_b, _ = _noncompliant(store, inspection_id, 1)
    late = _attach(store, inspection_id, "late", T0 + timedelta(minutes=9), answer_id=answer_a,
                   hazard_id=hazard_a)
    early = _attach(store, inspection_id, "early", T0, answer_id=answer_a)
    other = _attach(store, inspection_id, "other", T0, answer_id=answer_b)
    with store.session() as s:
        assert [p.id for p in photos_for(s, inspection_id, answer_a, hazard_a)] == [early, late]
        assert [p.id for p in photos_for(s, inspection_id, hazard_id=hazard_a)] == [late]
        assert {p.id for p in photos_for(s, inspection_id)} == {early, late, other}


def test_photo_far_from_the_inspection_time_is_flagged(store, inspection_id):
    """A photo taken more than 12 h from the inspection's start is marked; a fresh one is not."""
    _attach(store, inspection_id, "now", T0 + timedelta(minutes=5))
    _attach(store, inspection_id, "old", T0 - timedelta(days=3))
    with store.session() as s:
        cards = photo_cards(s, inspection_id)
    assert [c.time_far for c in cards] == [True, False]
    assert not exif_time_far(None, T0)
    assert not exif_time_far(T0 + timedelta(hours=12), T0)
    assert exif_time_far(T0 - timedelta(hours=12, minutes=1), T0)


def test_photos_folder_that_cannot_be_written_gives_a_chinese_error(store):
    """A photo folder that cannot be created is reported with what to do."""
    store.data_dir.mkdir(parents=True, exist_ok=True)
    store.photos_dir.write_bytes(b"")  # a file where the folder should be
    with pytest.raises(PhotoError, match="无法写入照片文件夹") as caught:
        prepare_photo(store.photos_dir, demo_photo("x", T0), "IMG_1.jpg")
    assert "可写" in caught.value.hint and "IMG_1.jpg" in caught.value.message


def test_full_disk_gives_a_chinese_error(store, monkeypatch):
    """A full disk is reported as such, with the advice to free space."""
    def full(_target, _data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(photo_store, "atomic_write_bytes", full)
    with pytest.raises(PhotoError, match="磁盘空间已满") as caught:
        prepare_photo(store.photos_dir, demo_photo("x", T0), "IMG_2.jpg")
    assert "腾出磁盘空间" in caught.value.hint


def test_missing_thumbnail_is_made_again(store):
    """Thumbnails are a cache: a deleted one is rebuilt from the stored photo."""
    facts = prepare_photo(store.photos_dir, demo_photo("x", T0), "a.jpg").facts
    thumb = thumbnail_path(store.data_dir, facts.sha256)
    thumb.unlink()
    assert ensure_thumbnail(store.photos_dir, facts.sha256, "jpg") == thumb
    assert thumb.stat().st_size > 0
