"""Attacks through the files a bundle carries: an enrolled laptop (or anyone holding its key,
e.g. a stolen one) puts files into its bundle that no record of its own names, under the
names another laptop's genuine documents and signature images have (or will have), so that
those arrive at the office after the planted ones.

Built with the hostile-bundle helpers (tests/sync/test_hostile.py): B's own bundle, with
entries added and the manifest signed again with B's key — what B can do.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from documents.service import issue_case_documents
from models.documents import Document, Signature
from models.tables import Inspection
from sync import crypto
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import make_enterprise, people_signing
from tests.sync.conftest import dump
from tests.sync.test_hostile import read_entries, resigned, write_zip


def _issued(laptop):
    with laptop.session() as s:
        finalized = s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                              .order_by(Inspection.started_at)).first()
    issue_case_documents(laptop, finalized, people_signing(laptop, finalized))
    with laptop.session() as s:
        doc = s.scalars(select(Document).where(Document.inspection_id == finalized)).first()
        sig = s.scalars(select(Signature).where(Signature.image_sha256.is_not(None))).first()
        return doc.file_name.split("/")[-1], doc.sha256, sig.image_sha256


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_planted_under_another_laptops_names_do_not_replace_its_evidence(
        laptop_a, laptop_b, office, tmp_path):
    doc_name, doc_sha, sig_sha = _issued(laptop_a)
    make_enterprise(laptop_b)
    export_bundle(laptop_b, tmp_path / "b.fcb", everything=True)
    entries = read_entries(tmp_path / "b.fcb")
    entries[f"files/documents/{doc_name}"] = b"%PDF-1.7\n% not the record A issued\n"
    entries[f"files/signatures/{sig_sha}.png"] = b"\x89PNG\r\n\x1a\n another stroke"
    (tmp_path / "planted").mkdir()
    planted = tmp_path / "planted" / "b.fcb"
    write_zip(planted, resigned(entries, crypto.device_signing_key(laptop_b.data_dir)).items())
    before = dump(office)
    try:
        import_bundle(office, planted)
    except BundleError as refused:  # the right answer: files no record names are refused
        assert "导出包" in refused.text() and dump(office) == before
    (tmp_path / "a").mkdir()
    export_bundle(laptop_a, tmp_path / "a" / "a.fcb")
    import_bundle(office, tmp_path / "a" / "a.fcb")
    genuine = {"document": _sha(office.data_dir / "documents" / doc_name) == doc_sha,
               "signature image": _sha(office.data_dir / "signatures" / f"{sig_sha}.png") == sig_sha}
    assert genuine == {"document": True, "signature image": True}


def test_a_bundle_id_cannot_steer_a_file_out_of_the_data_folder(laptop_a, laptop_b, office,
                                                                 tmp_path):
    """The office holds A's issued document; B's bundle carries other bytes under that name
    and a bundle_id of '../../…': nothing may be written outside the office's data folder."""
    doc_name, _doc_sha, _sig = _issued(laptop_a)
    (tmp_path / "a").mkdir()
    export_bundle(laptop_a, tmp_path / "a" / "a.fcb")
    import_bundle(office, tmp_path / "a" / "a.fcb")
    make_enterprise(laptop_b)
    export_bundle(laptop_b, tmp_path / "b.fcb", everything=True)
    entries = read_entries(tmp_path / "b.fcb")
    entries[f"files/documents/{doc_name}"] = b"%PDF-1.7\n% written where the sender chose\n"
    escape = "../../escaped"
    (tmp_path / "planted").mkdir()
    planted = tmp_path / "planted" / "b.fcb"
    write_zip(planted, resigned(entries, crypto.device_signing_key(laptop_b.data_dir),
                                lambda m: m.update(bundle_id=escape)).items())
    outside = (office.data_dir / "conflicts" / escape).resolve()
    assert not outside.is_relative_to(office.data_dir.resolve())
    before = dump(office)
    try:
        import_bundle(office, planted)
    except BundleError as refused:
        assert "导出包" in refused.text() and dump(office) == before
    assert not outside.exists(), f"written outside the data folder: {sorted(outside.rglob('*'))}"


def _with_photo_row(entries: dict, **values) -> dict:
    """The bundle's photo records with one more row: a copy of a draft's photo, `values`
    changed (a draft of the sender's own still takes photos)."""
    import json
    import uuid
    inspections = json.loads(entries["records/inspection.json"])
    icol = {c: n for n, c in enumerate(inspections["columns"])}
    drafts = {r[icol["id"]] for r in inspections["rows"] if r[icol["status"]] == "in_progress"}
    name = "records/photo.json"
    doc = json.loads(entries[name])
    col = {c: n for n, c in enumerate(doc["columns"])}
    row = list(next(r for r in doc["rows"] if r[col["inspection_id"]] in drafts))
    for key, value in {"id": str(uuid.uuid4()), **values}.items():
        row[col[key]] = value
    doc["rows"].append(row)
    return {**entries, name: json.dumps(doc, ensure_ascii=False).encode("utf-8")}


def test_a_photo_record_cannot_make_the_office_export_its_keys(laptop_a, office, tmp_path):
    """Stolen laptop A adds to its own draft a 'photo' whose hash is a path to the office's
    CA key (the office's data folder name is no secret); the office must not send that file
    out in its next bundle."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")   # the office holds A's photos (a photos folder)
    entries = _with_photo_row(read_entries(tmp_path / "a.fcb"),
                              sha256=f"../{office.data_dir.name}/keys/agency-ca", file_ext="pem")
    (tmp_path / "forged").mkdir()
    forged = tmp_path / "forged" / "a.fcb"
    write_zip(forged, resigned(entries, crypto.device_signing_key(laptop_a.data_dir)).items())
    before = dump(office)
    try:
        import_bundle(office, forged)
    except BundleError as refused:
        assert "导出包" in refused.text() and dump(office) == before
    secret = (office.data_dir / "keys" / "agency-ca.pem").read_bytes()
    (tmp_path / "out").mkdir()
    export_bundle(office, tmp_path / "out" / "o.fcb", everything=True, encrypt=False)
    leaked = [n for n, data in read_entries(tmp_path / "out" / "o.fcb").items() if data == secret]
    assert leaked == []


def test_a_signature_image_under_another_extension_is_not_planted_nor_exported(
        laptop_a, office, tmp_path):
    """A handwritten-signature image is `<hash>.png` (documents.service writes no other).
    Stolen laptop A re-sends the genuine bytes of one of its images under `<hash>.aaa` too
    (any 1-8 letters passed as an extension): the office must not keep that file — listed
    before the .png, its next export carried it instead of the image, and a laptop receiving
    that export lacked the image with no line saying so."""
    _doc, _doc_sha, sig_sha = _issued(laptop_a)
    (tmp_path / "a").mkdir()
    export_bundle(laptop_a, tmp_path / "a" / "a.fcb")
    import_bundle(office, tmp_path / "a" / "a.fcb")
    entries = read_entries(tmp_path / "a" / "a.fcb")
    image = entries[f"files/signatures/{sig_sha}.png"]
    entries[f"files/signatures/{sig_sha}.aaa"] = image
    (tmp_path / "planted").mkdir()
    planted = tmp_path / "planted" / "a.fcb"
    write_zip(planted, resigned(entries, crypto.device_signing_key(laptop_a.data_dir)).items())
    before = dump(office)
    try:
        import_bundle(office, planted)
    except BundleError as refused:  # refused is right too: no signature image has that name
        assert "导出包" in refused.text() and dump(office) == before
    assert sorted(p.name for p in (office.data_dir / "signatures").glob(f"{sig_sha}.*")) \
        == [f"{sig_sha}.png"]
    (tmp_path / "out").mkdir()
    result = export_bundle(office, tmp_path / "out" / "o.fcb", everything=True, encrypt=False)
    carried = read_entries(tmp_path / "out" / "o.fcb")
    assert carried.get(f"files/signatures/{sig_sha}.png") == image
    assert result.missing_images == 0


def test_the_export_carries_a_signature_image_only_under_its_own_name(laptop_a, tmp_path):
    """A stray file beside the signature images (`<hash>.aaa`, a copy `<hash>.png.bak`) is
    not the image: with the .png there, the .png goes; with it gone, the export says one is
    missing (and does not refuse the image as damaged, nor write a name no import takes)."""
    _doc, _doc_sha, sig_sha = _issued(laptop_a)
    folder = laptop_a.data_dir / "signatures"
    image = (folder / f"{sig_sha}.png").read_bytes()
    (folder / f"{sig_sha}.aaa").write_bytes(image)
    (folder / f"{sig_sha}.png.bak").write_bytes(image)
    (tmp_path / "1").mkdir()
    result = export_bundle(laptop_a, tmp_path / "1" / "a.fcb", everything=True)
    names = {n for n in read_entries(tmp_path / "1" / "a.fcb") if n.startswith("files/signatures/")}
    assert f"files/signatures/{sig_sha}.png" in names
    assert not any(n.startswith(f"files/signatures/{sig_sha}.") and not n.endswith(f"{sig_sha}.png")
                   for n in names), names
    assert result.missing_images == 0
    (folder / f"{sig_sha}.png").unlink()
    (tmp_path / "2").mkdir()
    result = export_bundle(laptop_a, tmp_path / "2" / "a.fcb", everything=True)
    names = {n for n in read_entries(tmp_path / "2" / "a.fcb") if n.startswith("files/signatures/")}
    assert not any(n.startswith(f"files/signatures/{sig_sha}") for n in names), names
    assert result.missing_images == 1
