"""The signing time inside each PAdES signature is the moment of signing on site."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from documents import keys
from tests.conftest import people_signing
from documents.service import document_file, issue_case_documents
from documents.signing import sign_pdf, verify_pdf
from models.base import utcnow
from models.documents import Signature
from tests.documents.test_service import finalized  # noqa: F401 (fixture)
from tests.documents.test_signing import ZHANG, small_pdf


def _signatures(pdf: bytes):
    return PdfFileReader(io.BytesIO(pdf)).embedded_signatures


def test_sign_pdf_writes_the_given_moment_in_agency_time(tmp_path):
    """The moment given is what pyhanko reads back, written as Beijing time (+08'00')."""
    person = "a" * 32
    keys.create_inspector_identity(tmp_path, person, "张卫东", "43038120001",
                                   ZHANG["passphrase"], "湘乡市应急管理局")
    signer = keys.load_identity(tmp_path, person, ZHANG["passphrase"])
    moment = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    pdf = sign_pdf(small_pdf(), signer, "inspector1", signed_at=moment)
    (sig,) = _signatures(pdf)
    assert sig.self_reported_timestamp == moment
    assert str(sig.sig_object["/M"]).endswith("+08'00'")
    assert verify_pdf(pdf).intact


def test_issued_documents_carry_the_moment_of_signing(store, finalized):  # noqa: F811
    """Both PAdES signatures of every document hold the moment the team signed; the store
    records that same moment, read back through a second connection."""
    before = utcnow().replace(microsecond=0)
    docs = issue_case_documents(store, finalized, people_signing(store, finalized))
    after = utcnow()
    with store.session() as s:  # a fresh session: what was committed
        stored = {(row.document_id, row.role): row.signed_at
                  for row in s.scalars(select(Signature))}
    assert len(docs) >= 2
    for doc in docs:
        pdf = document_file(store.data_dir, doc).read_bytes()
        sigs = _signatures(pdf)
        assert [s.field_name for s in sigs] == ["inspector1", "inspector2"]
        for sig in sigs:
            when = sig.self_reported_timestamp
            assert before <= when <= after
            assert when == stored[(doc.id, sig.field_name)] == stored[(doc.id, "representative")]
            # PAdES: the time is in the signed /M entry, never a second one in the CMS.
            attrs = {a["type"].native for a in sig.signer_info["signed_attrs"]}
            assert "signing_time" not in attrs
    # Re-reading a stored document later changes nothing: the time is inside the signature.
    again = document_file(store.data_dir, docs[0]).read_bytes()
    assert _signatures(again)[0].self_reported_timestamp <= after < datetime.now(timezone.utc)
