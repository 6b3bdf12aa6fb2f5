"""A records file is decoded a column at a time; every wrong value is still refused by name."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from models.tables import Base
from sync.bundle_format import BundleError
from sync.records import decode_records

PHOTO = Base.metadata.tables["photo"]
COLUMNS = ["id", "inspection_id", "answer_id", "created_at", "updated_at", "device_id",
           "sha256", "file_ext", "byte_size", "width", "height", "original_name", "caption",
           "taken_at", "exif_orientation", "rotation"]


def good_row(**changes) -> list:
    row = {"id": str(uuid.uuid4()), "inspection_id": str(uuid.uuid4()), "answer_id": None,
           "created_at": "2026-11-20T08:00:00+00:00", "updated_at": "2026-11-20T16:00:00+08:00",
           "device_id": "dev", "sha256": "a" * 64, "file_ext": "jpg", "byte_size": 1000,
           "width": 640, "height": 480, "original_name": "现场.jpg", "caption": "", "taken_at": None,
           "exif_orientation": 1, "rotation": 90}
    row.update(changes)
    return [row[c] for c in COLUMNS]


def decode(*rows) -> list[dict]:
    raw = json.dumps({"table": "photo", "columns": COLUMNS, "rows": list(rows)}).encode()
    return decode_records(PHOTO, raw)


def test_values_come_back_typed_and_in_utc():
    first, second = decode(good_row(), good_row(answer_id=str(uuid.uuid4()),
                                                taken_at="2026-11-19T10:00:00+08:00"))
    assert isinstance(first["id"], uuid.UUID) and first["answer_id"] is None
    assert first["updated_at"] == datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
    assert second["taken_at"] == datetime(2026, 11, 19, 2, 0, tzinfo=timezone.utc)
    assert isinstance(second["answer_id"], uuid.UUID)
    assert (first["rotation"], first["original_name"]) == (90, "现场.jpg")
    assert first["hazard_id"] is None  # a nullable column the file does not carry


@pytest.mark.parametrize("changes,reason", [
    ({"width": "640"}, "字段 width 应为整数"),
    ({"width": True}, "字段 width 应为整数"),
    ({"width": 6.5}, "字段 width 应为整数"),
    ({"sha256": 12}, "字段 sha256 应为文字"),
    ({"sha256": None}, "字段 sha256 不能为空"),
    ({"file_ext": "x" * 50}, "字段 file_ext 超过"),
    ({"created_at": "2026-11-20T08:00:00"}, "字段 created_at 的时间缺少时区"),
    ({"created_at": "昨天"}, "Invalid isoformat"),
    ({"inspection_id": "not-a-uuid"}, "badly formed"),
    ({"inspection_id": None}, "字段 inspection_id 不能为空"),
])
def test_a_wrong_value_is_refused_by_name(changes, reason):
    """One bad value among good rows refuses the whole file, naming the field."""
    with pytest.raises(BundleError) as caught:
        decode(good_row(), good_row(**changes), good_row())
    assert "photo.json 格式错误" in caught.value.text() and reason in caught.value.text()


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(BundleError, match="字段数不对"):
        decode(good_row(), good_row()[:-1])


class _CountedFiles(dict):
    """A bundle's files that count how many names were read off them."""
    visits = 0

    def __iter__(self):
        for name in super().__iter__():
            self.visits += 1
            yield name


def test_checking_a_bundles_files_reads_each_name_a_few_times_not_once_per_record():
    """An office bundle of a year (thousands of signatures with their images) is checked
    in time linear in its records and files — and still refuses an image no record names."""
    from sync.bundle_format import PHOTOS_PREFIX, SIGNATURE_IMAGES_PREFIX
    from sync.records import Bundle, check_files
    shas = [f"{i:064x}" for i in range(3000)]
    files = _CountedFiles({f"{SIGNATURE_IMAGES_PREFIX}{sha}.png": sha for sha in shas})
    files.update({f"{PHOTOS_PREFIX}{sha[:2]}/{sha}.jpg": sha for sha in shas})
    records = {"signature": [{"id": str(i), "image_sha256": sha} for i, sha in enumerate(shas)],
               "photo": [{"id": str(i), "sha256": sha, "file_ext": "jpg", "original_name": ""}
                         for i, sha in enumerate(shas)]}
    check_files(Bundle(manifest={}, records=records, files=files), lambda name: False)
    assert files.visits <= 2 * len(files), files.visits
    records["signature"].pop()
    with pytest.raises(BundleError, match="不属于包内任何记录"):
        check_files(Bundle(manifest={}, records=records, files=files), lambda name: False)
