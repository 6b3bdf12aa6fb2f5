"""Same input, same bytes: documents can be hashed, signed and compared."""
from __future__ import annotations

import dataclasses
import io
from datetime import timedelta

from pypdf import PdfReader

from documents import documents_for_case, render_inspection_record
from models.demo import demo_photo
from tests.conftest import T0
from tests.documents import collect, set_agency, signature_png, walk_and_finalize


def test_same_case_renders_byte_identical_documents(store, clock, inspection_id):
    """Collecting and rendering the same case twice gives byte-identical PDFs."""
    set_agency(store)
    photos = [(demo_photo("DUST-01", T0 + timedelta(minutes=3), 6), "宿舍设在车间内")]
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01", "DUST-03"},
                      photos={"DUST-01": photos})
    sigs = {"inspector1": signature_png(), "representative": signature_png((0, 0, 0))}
    first = documents_for_case(collect(store, inspection_id, signatures=sigs))
    second = documents_for_case(collect(store, inspection_id, signatures=sigs))
    assert len(first) == 3
    assert [pdf for *_rest, pdf in first] == [pdf for *_rest, pdf in second]


def test_creation_date_comes_from_the_data(store, clock, inspection_id):
    """The PDF's creation date is the finalization time, not the time of rendering."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    content = collect(store, inspection_id)
    info = PdfReader(io.BytesIO(render_inspection_record(content))).metadata
    assert info.creation_date.replace(tzinfo=None) == content.finalized_at.replace(tzinfo=None,
                                                                                   microsecond=0)
    later = dataclasses.replace(content, finalized_at=content.finalized_at + timedelta(days=1))
    assert render_inspection_record(later) != render_inspection_record(content)
