"""照片附页: photos upright whatever their EXIF orientation or rotation, downscaled, watermarked."""
from __future__ import annotations

import dataclasses
import io
from datetime import datetime, timedelta, timezone

from PIL import Image

from documents import render_inspection_record
from documents.photo_annex import BOX_H, PRINT_DPI, RESAMPLE_ABOVE
from models.demo import demo_photo
from models.photo_rules import photos_for, rotate_photo
from models.photo_store import attach_photo
from tests.documents import (collect, flat, marked_photo, page_count, page_images, pdf_text,
                             set_agency, top_is_red, walk_and_finalize)

TAKEN = datetime(2026, 11, 2, 9, 40)


def _annex_images(pdf: bytes) -> list[Image.Image]:
    return [img for n in range(page_count(pdf)) for img in page_images(pdf, n)]


def test_exif_orientations_6_and_8_come_out_upright(store, clock, inspection_id):
    """Landscape and portrait photos stored sideways (EXIF 6 and 8) are printed upright."""
    set_agency(store)
    shots = [((1600, 1200), 6), ((1600, 1200), 8), ((1200, 1600), 6), ((1200, 1600), 8),
             ((1600, 1200), 1)]
    photos = [(marked_photo(size, o, taken=TAKEN + timedelta(minutes=n), shade=200 + 10 * n),
               f"照片{n}")
              for n, (size, o) in enumerate(shots)]
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"}, photos={"DUST-03": photos})
    images = _annex_images(render_inspection_record(collect(store, inspection_id)))
    assert len(images) == 5
    assert sorted(img.width > img.height for img in images) == [False, False, True, True, True]
    assert all(top_is_red(img) for img in images)


def test_inspector_rotation_is_applied_on_top_of_exif(store, clock, inspection_id):
    """A photo the inspector turned a quarter to the right is printed turned that way."""
    set_agency(store)
    walk_and_finalize_with_rotation(store, clock, inspection_id)
    images = _annex_images(render_inspection_record(collect(store, inspection_id)))
    assert len(images) == 1
    assert images[0].width > images[0].height and top_is_red(images[0])


def walk_and_finalize_with_rotation(store, clock, inspection_id) -> None:
    with store.transaction() as s:
        photo = attach_photo(s, store.photos_dir, inspection_id,
                             marked_photo((1600, 1200), 1, turn_for_user=90, taken=TAKEN))
        rotate_photo(s, photo.id)
    walk_and_finalize(store, clock, inspection_id)


def test_photos_are_downscaled_to_print_resolution(store, clock, inspection_id):
    """A large photo is embedded at about 200 dpi for its printed size, not at full size."""
    set_agency(store)
    big = Image.effect_noise((4000, 3000), 40).convert("RGB")
    raw = io.BytesIO()
    big.save(raw, "JPEG", quality=90)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"},
                      photos={"DUST-03": [(raw.getvalue(), "大图")]})
    (image,) = _annex_images(render_inspection_record(collect(store, inspection_id)))
    printed_h = BOX_H / 72 * PRINT_DPI            # a 4:3 landscape fills the box's height
    assert printed_h - 1 <= image.height <= printed_h * RESAMPLE_ABOVE
    assert image.width / image.height == 4 / 3


def test_annex_captions_item_and_watermark(store, clock, inspection_id):
    """Each photo has its caption, the item it proves and the time/place/enterprise stamp."""
    set_agency(store)
    taken = datetime(2026, 11, 2, 1, 40, tzinfo=timezone.utc)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"},
                      photos={"DUST-03": [(demo_photo("DUST-03", taken, 6), "除尘器灰斗积尘")]})
    content = collect(store, inspection_id)
    pdf = render_inspection_record(content)
    text = flat(pdf_text(pdf, page_count(pdf)))
    assert text.startswith("现场检查记录（续页）")
    assert "照片附页" in text and "照片1：除尘器灰斗积尘" in text
    assert "证明事项：DUST-03产尘点" in text
    assert "拍摄时间：2026-11-0209:40" in text  # 01:40 UTC on the agency's (Beijing) clock
    assert "地点：木工车间" in text and "单位：湘乡市测试木业有限公司" in text


def test_two_photos_fit_on_each_annex_page(store, clock, inspection_id):
    """Four photos take two annex pages after the record itself."""
    set_agency(store)
    photos = [(demo_photo(f"P{n}", TAKEN, 1 + 5 * (n % 2)), f"照片说明{n}") for n in range(4)]
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"}, photos={"DUST-03": photos})
    content = collect(store, inspection_id)
    with_photos = render_inspection_record(content)
    without = render_inspection_record(dataclasses.replace(content, photos=()))
    assert page_count(with_photos) == page_count(without) + 2


def test_missing_photo_file_prints_a_notice(store, clock, inspection_id):
    """A photo whose file is gone is marked in the annex instead of failing the document."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"},
                      photos={"DUST-03": [(demo_photo("X", TAKEN), "丢失的照片")]})
    content = collect(store, inspection_id)
    content.photos[0].path.unlink()
    text = flat(pdf_text(render_inspection_record(content)))
    assert "照片文件缺失或无法读取" in text and "照片1：丢失的照片" in text


def test_photos_in_capture_order(store, clock, inspection_id):
    """The annex shows the photos in the order they were taken."""
    set_agency(store)
    photos = [(demo_photo("B", TAKEN + timedelta(minutes=5)), "后拍"),
              (demo_photo("A", TAKEN), "先拍")]
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"}, photos={"DUST-03": photos})
    with store.session() as s:
        assert [p.caption for p in photos_for(s, inspection_id)] == ["先拍", "后拍"]
    text = flat(pdf_text(render_inspection_record(collect(store, inspection_id))))
    assert text.index("照片1：先拍") < text.index("照片2：后拍")
