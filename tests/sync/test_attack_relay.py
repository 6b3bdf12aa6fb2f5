"""Attacks by an enrolled laptop (stolen: valid key and certificate) on another laptop's
evidence it relays or joins: through FieldCheck's own export and import, with a clerk's
SQL on the attacker's own store where the app would not do it.

A relay may carry another laptop's history only under that laptop's signed chain head
(sync.trust); these tests ask whether the *rows* it carries are held to that history too.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from documents.service import issue_case_documents
from models.documents import Document, Signature
from models.inspection import Answer, Hazard
from models.tables import Inspection
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import people_signing
from tests.sync.conftest import kept_out


def _finalized(store) -> uuid.UUID:
    with store.session() as s:
        return s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                         .order_by(Inspection.started_at)).first()


def test_a_relayer_cannot_rewrite_another_laptops_finalized_evidence(laptop_a, laptop_b, office,
                                                                     tmp_path):
    """B received A's cases; with sqlite3 on its own store B softens a finalized hazard of A's
    (its description and the answer's note, no lifecycle field) and sends everything to the office,
    which has not yet seen A. The office must refuse: only A's chain speaks for A's rows."""
    finalized = _finalized(laptop_a)
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    with laptop_b.engine.begin() as conn:  # past the store's hooks: the clerk's SQL
        conn.execute(update(Hazard.__table__).where(Hazard.__table__.c.inspection_id == finalized)
                     .values(description="轻微问题，已口头提醒"))
        conn.execute(update(Answer.__table__).where(Answer.__table__.c.inspection_id == finalized)
                     .values(note="现场无异常"))
    (tmp_path / "b").mkdir()
    export_bundle(laptop_b, tmp_path / "b" / "b.fcb", everything=True)
    kept_out(office, tmp_path / "b" / "b.fcb", lambda s: s.scalar(
        select(Hazard.id).where(Hazard.inspection_id == finalized,
                                Hazard.description == "轻微问题，已口头提醒")) is not None)


def test_a_genuine_relay_of_another_laptops_evidence_is_taken(laptop_a, laptop_b, office, tmp_path):
    """The control: the same relay, unaltered, is accepted and holds A's own content."""
    finalized = _finalized(laptop_a)
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    (tmp_path / "b").mkdir()
    export_bundle(laptop_b, tmp_path / "b" / "b.fcb", everything=True)
    import_bundle(office, tmp_path / "b" / "b.fcb")
    with laptop_a.session() as s:
        mine = sorted(s.scalars(select(Hazard.description).where(Hazard.inspection_id == finalized)))
    with office.session() as s:
        theirs = sorted(s.scalars(select(Hazard.description).where(Hazard.inspection_id == finalized)))
    assert mine and theirs == mine


@pytest.fixture
def issued_at_office_and_b(laptop_a, laptop_b, office, tmp_path):
    """A issued and signed the documents of its first finalized case; the office and B hold it."""
    finalized = _finalized(laptop_a)
    issue_case_documents(laptop_a, finalized, people_signing(laptop_a, finalized))
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    return finalized


def test_a_laptop_cannot_add_a_signature_to_another_laptops_issued_document(
        laptop_b, office, issued_at_office_and_b, tmp_path):
    """B adds a witness's 'signature' (and a 拒绝签字 note) to a document A issued and
    signed; the office must refuse it like any change to A's case."""
    finalized = issued_at_office_and_b
    with laptop_b.transaction(actor="某人") as s:
        doc = s.scalars(select(Document).where(Document.inspection_id == finalized)).first()
        signed = s.scalars(select(Signature).where(Signature.document_id == doc.id)).first()
        s.add(Signature(document_id=doc.id, role="witness", signer_name="王某",
                        refused=True, signed_at=signed.signed_at, note="被检查单位负责人拒绝签字"))
    (tmp_path / "b").mkdir()
    export_bundle(laptop_b, tmp_path / "b" / "b.fcb", everything=True)
    kept_out(office, tmp_path / "b" / "b.fcb", lambda s: s.scalar(
        select(Signature.id).where(Signature.signer_name == "王某")) is not None)


def test_a_laptop_cannot_add_a_document_to_another_laptops_finalized_case(
        laptop_b, office, issued_at_office_and_b, tmp_path):
    """B files a 'correction' document of its own making under A's finalized case, pointing
    at A's issued record as the one it replaces; the office must refuse."""
    finalized = issued_at_office_and_b
    with laptop_b.transaction(actor="某人") as s:
        doc = s.scalars(select(Document).where(Document.inspection_id == finalized)).first()
        s.add(Document(inspection_id=finalized, kind=doc.kind, number=doc.number + "（更正）",
                       file_name=doc.file_name, sha256=doc.sha256, finalized_at=doc.finalized_at,
                       supersedes_id=doc.id))
    (tmp_path / "b").mkdir()
    export_bundle(laptop_b, tmp_path / "b" / "b.fcb", everything=True)
    kept_out(office, tmp_path / "b" / "b.fcb", lambda s: s.scalar(
        select(Document.id).where(Document.supersedes_id.is_not(None))) is not None)


def test_a_relayer_cannot_bring_back_a_photo_its_owner_deleted(laptop_a, laptop_b, office,
                                                               tmp_path):
    """A's draft photo reached the office and B; A deleted it (a wrong photo, of another
    firm), the office took the deletion and passed it on to B. B puts the row back with SQL
    on its own store and sends everything: the office must not show A's deleted photo again.
    (Had B taken the deletion from A directly, the office's own echo of it, which B's bundle
    lacks, keeps the photo deleted: that variant holds.)"""
    from sqlalchemy import insert
    from models.photo_rules import delete_photo
    from models.tables import InspectionStatus, Photo
    with laptop_a.session() as s:
        photo = s.scalar(select(Photo.id).join(Inspection, Photo.inspection_id == Inspection.id)
                         .where(Inspection.status == InspectionStatus.IN_PROGRESS))
    for n in (1, 2):
        (tmp_path / str(n)).mkdir()
    export_bundle(laptop_a, tmp_path / "1" / "a.fcb")
    import_bundle(office, tmp_path / "1" / "a.fcb")
    import_bundle(laptop_b, tmp_path / "1" / "a.fcb")
    with laptop_b.engine.connect() as conn:
        kept = dict(conn.execute(select(Photo.__table__).where(Photo.__table__.c.id == photo))
                    .mappings().one())
    with laptop_a.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    export_bundle(laptop_a, tmp_path / "2" / "a.fcb")
    import_bundle(office, tmp_path / "2" / "a.fcb")
    (tmp_path / "o").mkdir()
    export_bundle(office, tmp_path / "o" / "o.fcb", everything=True)   # B takes it from the office
    import_bundle(laptop_b, tmp_path / "o" / "o.fcb")
    with office.session() as s:
        assert s.get(Photo, photo) is None
    with laptop_b.engine.begin() as conn:  # the clerk's SQL on B's own store
        conn.execute(insert(Photo.__table__).values(**kept))
    (tmp_path / "b").mkdir()
    export_bundle(laptop_b, tmp_path / "b" / "b.fcb", everything=True)
    kept_out(office, tmp_path / "b" / "b.fcb", lambda s: s.get(Photo, photo) is not None)
