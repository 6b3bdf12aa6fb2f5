"""models.integrity.check_integrity — what `status --files` and 设置 → 数据检查 report."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select

from documents.demo_signing import demo_signing_input
from documents.service import issue_case_documents
from models.demo import build_demo
from models.documents import Signature, signature_image_path
from models.inspection import Inspection, Photo
from models.integrity import check_integrity
from models.photo_store import photo_path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_in_place_of_an_evidence_file_is_named_not_waited_on(store):
    """A named pipe (or a device) where a photo or signature image should be: the check
    names each and ends — it waited for ever on the first, and 数据检查 with it (the export
    already reads such a place as missing, never waiting)."""
    build_demo(store)
    with store.session() as s:
        finalized = s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                              .order_by(Inspection.started_at)).first()
    issue_case_documents(store, finalized, demo_signing_input(store, finalized))
    with store.session() as s:
        photo = s.scalars(select(Photo).order_by(Photo.sha256)).first()
        image = s.scalars(select(Signature.image_sha256).where(Signature.image_sha256.is_not(None))
                          .order_by(Signature.image_sha256)).first()
    places = [photo_path(store.photos_dir, photo.sha256, photo.file_ext),
              signature_image_path(store.data_dir, image)]
    for place in places:
        place.unlink()
        os.mkfifo(place)
    found = []
    checking = threading.Thread(target=lambda: found.append(_check(store)), daemon=True)
    checking.start()
    checking.join(timeout=30)
    try:
        assert not checking.is_alive(), "the check waits on a pipe"
    finally:
        for place in places:  # let a blocked reader go
            try:
                os.close(os.open(place, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    report = found[0]
    assert not report.intact
    lines = report.file_lines()
    assert any(photo.sha256[:12] in line and "照片文件" in line for line in lines), lines
    assert any(image[:12] in line and "签名图像" in line for line in lines), lines


def _check(store):
    with store.session() as s:
        return check_integrity(s, store.data_dir, store.photos_dir)
