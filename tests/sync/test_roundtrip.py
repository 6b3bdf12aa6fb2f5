"""Laptop A → office → laptop B: same records, same files; twice is a no-op."""
from __future__ import annotations

import hashlib
import zipfile

from sqlalchemy import select

from models.audit import AuditEvent, verify_chain
from models.demo import ENTERPRISES, demo_credit_code
from models.enterprise_rules import EnterpriseInput, create_enterprise
from models.tables import Base, Enterprise, Inspection
from sync.bundle_format import encode_value
from sync.crypto import device_fingerprint
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import make_enterprise, valid_credit_code
from tests.sync.conftest import dump

SKIPPED = {"checklist", "checklist_item", "audit_event", "agency_settings"}


def _item_keys(s) -> dict:
    checklist = Base.metadata.tables["checklist"]
    item = Base.metadata.tables["checklist_item"]
    keys = {r.id: f"{r.code}@{r.content_hash}" for r in s.execute(select(checklist))}
    keys.update({r.id: f"{keys[r.checklist_id]}/{r.code}" for r in s.execute(select(item))})
    return keys


def records(store) -> dict:
    """Every record except the per-laptop ones, checklist references by content, not UUID."""
    out = {}
    with store.session() as s:
        keys = _item_keys(s)
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED:
                continue
            rows = []
            for r in s.execute(select(table)).mappings():
                rows.append({k: keys.get(v, encode_value(None, v)) for k, v in r.items()})
            out[table.name] = sorted(rows, key=lambda r: r["id"])
    return out


def photo_files(store) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in store.photos_dir.rglob("*") if p.is_file()}


def assert_round_trip(laptop_a, office, laptop_b, folder):
    """A's bundle into the office, the office's whole bundle into B: B holds A's records and
    photos, nothing in conflict. Returns A's export."""
    exported = export_bundle(laptop_a, folder / "a.fcb")
    import_bundle(office, folder / "a.fcb")
    export_bundle(office, folder / "office.fcb", everything=True)
    assert import_bundle(laptop_b, folder / "office.fcb").total("conflict") == 0
    assert records(laptop_b) == records(laptop_a)
    assert photo_files(laptop_b) == photo_files(laptop_a)
    return exported


def test_round_trip_gives_identical_records_and_files(laptop_a, office, laptop_b, tmp_path):
    """Records and photos travel A → office → B unchanged, checklists matched by content."""
    assert_round_trip(laptop_a, office, laptop_b, tmp_path)
    assert len(photo_files(laptop_a)) == 8


def test_second_import_changes_nothing(laptop_a, office, tmp_path):
    """Importing the same bundle twice: 0 new, 0 updated, and the store dump is identical."""
    bundle = tmp_path / "a.fcb"
    export_bundle(laptop_a, bundle)
    first = import_bundle(office, bundle)
    before = dump(office)
    second = import_bundle(office, bundle)
    assert first.total("new") > 0
    assert (second.total("new"), second.total("updated"), second.total("conflict")) == (0, 0, 0)
    assert second.changed_nothing and "新增 0 条，更新 0 条" in second.lines()[0]
    assert dump(office) == before
    # Only the first bundle of a device asks for its fingerprint to be checked.
    assert not first.signer_known and any("首次导入" in line for line in first.lines())
    assert second.signer_known and not any("首次导入" in line for line in second.lines())
    assert first.signer_fingerprint == device_fingerprint(laptop_a.data_dir)


def test_audit_chains_stay_intact_after_imports(laptop_a, office, laptop_b, tmp_path):
    """Foreign chains arrive whole and the import's own events extend the local chain."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    import_bundle(laptop_b, tmp_path / "o.fcb")
    for store in (office, laptop_b):
        with store.session() as s:
            chain = verify_chain(s)
            labels = set(s.scalars(select(AuditEvent.label).where(
                AuditEvent.device_id == store.device_id)))
        assert chain.intact, chain.problems
        assert "import" in labels
    assert chain.devices == 3


def test_same_enterprise_from_two_laptops_becomes_one(laptop_a, office, tmp_path):
    """An enterprise known here under another UUID (same credit code) is merged, not doubled."""
    name, address, rep, post, phone, flags, colour = ENTERPRISES[0]
    with office.transaction() as s:
        local_id = create_enterprise(s, EnterpriseInput(
            name=name, credit_code=demo_credit_code(0), address=address,
            legal_representative=rep, representative_post=post, phone=phone, **flags)).id
    export_bundle(laptop_a, tmp_path / "a.fcb")
    report = import_bundle(office, tmp_path / "a.fcb")
    with laptop_a.session() as s:
        register_size = len(list(s.scalars(select(Enterprise.id))))
    with office.session() as s:
        codes = list(s.scalars(select(Enterprise.credit_code)))
        firms = set(s.scalars(select(Inspection.enterprise_id)))
        summary = s.scalar(select(AuditEvent.after).where(AuditEvent.entity_type == "bundle"))
    assert len(codes) == len(set(codes)) == register_size >= len(ENTERPRISES)
    assert local_id in firms
    assert any(t == "enterprise" and b == str(local_id) for t, _a, b, _k in report.merged)
    assert str(local_id) in summary


def test_export_since_last_export_to_the_same_place(laptop_a, tmp_path):
    """A second export to the same folder carries only what changed since the first."""
    (tmp_path / "stick").mkdir()
    (tmp_path / "other").mkdir()
    first = export_bundle(laptop_a, tmp_path / "stick" / "1.fcb")
    again = export_bundle(laptop_a, tmp_path / "stick" / "2.fcb")
    elsewhere = export_bundle(laptop_a, tmp_path / "other" / "1.fcb")
    assert first.counts["inspection"] == 6
    assert not again.written and not (tmp_path / "stick" / "2.fcb").exists()
    assert elsewhere.counts["inspection"] == 6


def test_chosen_inspections_do_not_count_as_the_whole_export(laptop_a, tmp_path):
    """Two chosen inspections to a stick, then the default export there: the other four go."""
    (tmp_path / "stick").mkdir()
    with laptop_a.session() as s:
        two = list(s.scalars(select(Inspection.id).order_by(Inspection.started_at)))[:2]
    chosen = export_bundle(laptop_a, tmp_path / "stick" / "1.fcb", inspection_ids=two)
    rest = export_bundle(laptop_a, tmp_path / "stick" / "2.fcb")
    assert chosen.counts["inspection"] == 2
    assert rest.written and rest.counts["inspection"] == 6


def test_export_of_chosen_inspections_carries_what_they_need(laptop_a, office, tmp_path):
    """One chosen inspection comes with its enterprise, team, checklist version and photos."""
    with laptop_a.session() as s:
        chosen = s.scalars(select(Inspection.id).order_by(Inspection.started_at)).first()
    result = export_bundle(laptop_a, tmp_path / "one.fcb", inspection_ids=[chosen])
    report = import_bundle(office, tmp_path / "one.fcb")
    assert result.counts["inspection"] == 1 and result.counts["enterprise"] == 1
    assert result.counts["photo"] >= 1 and report.total("conflict") == 0


def test_signed_documents_travel_with_their_signatures(laptop_a, office, laptop_b, tmp_path):
    """Issued PDFs and handwritten-signature images arrive byte for byte, rows and all."""
    from documents.demo_signing import demo_signing_input
    from documents.service import issue_case_documents
    from models.tables import Document, Signature
    finalized = None
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(
            Inspection.status == "finalized").order_by(Inspection.started_at)).first()
    issued = issue_case_documents(laptop_a, finalized, demo_signing_input(laptop_a, finalized))
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    report = import_bundle(laptop_b, tmp_path / "o.fcb")
    assert report.total("conflict") == 0
    with laptop_b.session() as s:
        docs = s.scalars(select(Document)).all()
        signatures = s.scalars(select(Signature)).all()
    assert {d.id for d in docs} == {d.id for d in issued} and signatures
    for doc in docs:
        pdf = (laptop_b.data_dir / doc.file_name).read_bytes()
        assert pdf == (laptop_a.data_dir / doc.file_name).read_bytes()
        assert hashlib.sha256(pdf).hexdigest() == doc.sha256
    images = {sig.image_sha256 for sig in signatures if sig.image_sha256}
    assert images and all((laptop_b.data_dir / "signatures" / f"{sha}.png").is_file()
                          for sha in images)
    assert records(laptop_b) == records(laptop_a)


def test_office_relays_what_it_imported_since_its_last_export(laptop_a, office, tmp_path):
    """The office's default export carries the records it received since its last export
    to that stick — and only those."""
    (tmp_path / "stick").mkdir()
    export_bundle(laptop_a, tmp_path / "a1.fcb")
    import_bundle(office, tmp_path / "a1.fcb")
    first = export_bundle(office, tmp_path / "stick" / "o1.fcb")
    new_firm = make_enterprise(laptop_a, credit_code=valid_credit_code("91430381MA4L77777"),
                               name="湘乡市新登记有限公司")
    export_bundle(laptop_a, tmp_path / "a2.fcb")
    assert import_bundle(office, tmp_path / "a2.fcb").counts["new"]["enterprise"] == 1
    relay = export_bundle(office, tmp_path / "stick" / "o2.fcb")
    assert first.counts["inspection"] == 6
    assert relay.written and relay.counts["enterprise"] == 1 and "inspection" not in relay.counts
    with zipfile.ZipFile(tmp_path / "stick" / "o2.fcb") as zf:
        assert str(new_firm) in zf.read("records/enterprise.json").decode("utf-8")
