"""Attacks with certificates: a stolen laptop whose inspector the agency revoked (调离) goes on
issuing signed documents — it never takes the office's revocation list — and sends them.

The import refuses a document signed after the revocation (sync.trust.check_signatures);
these tests ask what it reads to decide: the PDF's own signature, or the signature row the
laptop wrote beside it.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from documents.service import issue_case_documents
from models.documents import Signature
from models.inspector_keys import signing_request
from models.registry import Inspector
from models.tables import Inspection, InspectionInspector
from sync import agency
from sync.export import export_bundle
from tests.conftest import PEOPLE_PASSPHRASE, people_signing
from tests.sync.conftest import AGENCY, AGENCY_PASSPHRASE, enroll, refused


@pytest.fixture
def signed_after_revocation(laptop_a, office, tmp_path):
    """Laptop A's two inspectors of its first finalized case hold certificates the agency
    issued; the office then revokes the first (调离); A, never told, issues and signs the
    case's documents. Returns (case, the revoked inspector's certificate number)."""
    with laptop_a.session() as s:
        case = s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                         .order_by(Inspection.started_at)).first()
        team = [(p.id, p.name, p.certificate_no) for p in s.scalars(
            select(Inspector).join(InspectionInspector, InspectionInspector.inspector_id == Inspector.id)
            .where(InspectionInspector.inspection_id == case))][:2]
    people = [{"id": str(pid), "name": name, "certificate_no": cert,
               "csr": signing_request(laptop_a.data_dir, pid, name, cert, PEOPLE_PASSPHRASE, AGENCY)}
              for pid, name, cert in team]
    (tmp_path / "enroll").mkdir()
    enroll(office.data_dir, laptop_a, tmp_path / "enroll", people)
    agency.revoke(office.data_dir, AGENCY_PASSPHRASE, certificate_no=team[0][2], reason="调离")
    issue_case_documents(laptop_a, case, people_signing(laptop_a, case))
    return case, team[0][2]


def test_a_document_signed_after_the_revocation_is_refused(laptop_a, office,
                                                           signed_after_revocation, tmp_path):
    """Defence that holds: the bundle as the laptop writes it is refused, with the reason."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    text = refused(office, tmp_path / "a.fcb")
    assert "被机构吊销（调离）" in text


def test_a_blanked_certificate_fingerprint_does_not_hide_the_revoked_signer(
        laptop_a, office, signed_after_revocation, tmp_path):
    """The clerk of the stolen laptop blanks the fingerprint in the signature rows (the PDFs
    are untouched: they still carry the revoked certificate) and exports again."""
    con = sqlite3.connect(laptop_a.db_path)
    con.execute("UPDATE signature SET certificate_fingerprint = NULL")
    con.commit()
    con.close()
    with laptop_a.session() as s:
        assert s.scalar(select(Signature.id).where(Signature.certificate_fingerprint.is_not(None))) is None
    export_bundle(laptop_a, tmp_path / "a.fcb")
    text = refused(office, tmp_path / "a.fcb")
    # refused by the case's seal: the signature rows are no longer what was sealed
    assert "吊销" in text or "签名" in text and "在定稿后被改动" in text
