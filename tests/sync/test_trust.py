"""#11: who may send a bundle, whose history it may carry, what it may change.

Each attack is made the way an attacker would: with FieldCheck's own functions on a laptop
of their own, and, where the app cannot produce it, by editing the bundle and signing it again
with a key they hold. Every refusal leaves the store (records and files) exactly as it was.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from main import main
from models.audit import GENESIS_HASH, canonical_json, event_hash
from models.inspection_rules import answer_item
from models.photo_rules import delete_photo
from models.startup import start_store
from models.tables import Answer, AnswerResult, Inspection, InspectionStatus, Photo
from sync import agency, crypto
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from sync.trust import sign_head
from sync.verify_command import verify_bundle_file
from tests.sync.conftest import AGENCY_PASSPHRASE, dump, enroll
from tests.sync.test_hostile import chain_ends, read_entries, resigned, write_zip

MANIFEST, SIG = "manifest.json", "manifest.sig"


def _draft(store, table=Photo):
    with store.session() as s:
        return s.scalar(select(table.id).join(Inspection, table.inspection_id == Inspection.id)
                        .where(Inspection.status == InspectionStatus.IN_PROGRESS))


def _exists(store, table, row_id) -> bool:
    with store.session() as s:
        return s.get(table, row_id) is not None


def _answer_row(store, answer_id) -> dict:
    with store.session() as s:
        a = s.get(Answer, answer_id)
        return {"id": str(a.id), "inspection_id": str(a.inspection_id), "item_id": str(a.item_id),
                "result": a.result.value, "note": a.note}


def _forged_delete_bundle(path: Path, table: str, row: dict, *, device_id=None, key=None,
                          claim=None) -> tuple[str, crypto.ed25519.Ed25519PrivateKey]:
    """The issue's reproduction: a bundle from a device never seen, signed with a fresh key,
    holding one validly hashed `delete` event for the target's draft record."""
    key = key or crypto.ed25519.Ed25519PrivateKey.generate()
    device_id = device_id or str(uuid.uuid4())
    at = "2026-11-21T08:00:00+00:00"
    fields = {"id": str(uuid.uuid4()), "device_id": device_id, "seq": 1, "at": at,
              "actor": "某人", "action": "delete", "label": "delete_photo", "entity_type": table,
              "entity_id": row["id"], "before": canonical_json(row), "after": "{}"}
    digest = event_hash(GENESIS_HASH, fields)
    columns = ["id", "created_at", "updated_at", "device_id", "seq", "at", "actor", "action",
               "label", "entity_type", "entity_id", "before", "after", "prev_hash", "hash"]
    values = {**fields, "created_at": at, "updated_at": at, "prev_hash": GENESIS_HASH, "hash": digest}
    records = json.dumps({"table": "audit_event", "columns": columns,
                          "rows": [[values[c] for c in columns]]}, ensure_ascii=False).encode()
    entries = {"records/audit_event.json": records}
    manifest = {"format": "fieldcheck-bundle", "bundle_version": 2, "db_schema": "0001",
                "bundle_id": str(uuid.uuid4()), "created_at": at,
                "device_id": claim or device_id, "inspector": None, "destination": "/media/usb",
                "counts": {"audit_event": 1}, "device_certificate": None,
                "previous_device_ids": [], "revocations": None,
                "chain_heads": [sign_head(key, device_id, 1, digest, None)],
                "entries": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                            for n, d in entries.items()],
                "signer": {"algorithm": "Ed25519", "public_key": crypto.public_key_text(key)}}
    raw = json.dumps(manifest, ensure_ascii=False).encode()
    write_zip(path, [*entries.items(), (MANIFEST, raw), (SIG, crypto.sign_manifest(key, raw))])
    return crypto.fingerprint(crypto.public_key_text(key)), key


def _refused(store, path, reason, **kwargs) -> str:
    before = dump(store)
    with pytest.raises(BundleError) as caught:
        import_bundle(store, path, **kwargs)
    assert reason in caught.value.text(), caught.value.text()
    assert dump(store) == before
    return caught.value.text()


def _cli(*args) -> int:
    return main([*map(str, args)])


# --------------------------------------------------------------------------- 1. unknown devices

def test_unknown_device_cannot_delete_a_draft_photo_at_the_office(laptop_a, office, tmp_path,
                                                                    capsys):
    """Found 1: a never-seen device's bundle with one validly hashed delete event was imported
    (exit 0) and the photo gone. Now: refused, exit 2, one Chinese line saying how to enroll."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    photo = _draft(office)
    with office.session() as s:
        p = s.get(Photo, photo)
        row = {"id": str(p.id), "inspection_id": str(p.inspection_id), "sha256": p.sha256}
    _forged_delete_bundle(tmp_path / "evil.fcb", "photo", row)
    text = _refused(office, tmp_path / "evil.fcb", "未在本机构")
    assert "agency enroll" in text
    office.close()
    assert _cli("import", tmp_path / "evil.fcb", "--data-dir", office.data_dir) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "未在本机构" in err
    again = start_store(office.data_dir)
    try:
        assert _exists(again, Photo, photo)
    finally:
        again.close()


def test_unknown_device_on_a_store_without_agency_needs_the_fingerprint(laptop_a, stranger,
                                                                        tmp_path, capsys):
    """A store with no agency takes a new device only after the user compared its
    fingerprint — the one the sending laptop's `status --json` shows — and says how."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    text = _refused(stranger, tmp_path / "a.fcb", "首次收到设备")
    laptop_a.close()
    assert _cli("status", "--json", "--data-dir", laptop_a.data_dir) == 0
    shown = json.loads(capsys.readouterr().out)["device_fingerprint"]
    assert f"--trust-new-device {shown}" in text
    wrong = shown[:-1] + ("0" if shown[-1] != "0" else "1")
    _refused(stranger, tmp_path / "a.fcb", "签名指纹不符", trust_new_device=wrong)
    report = import_bundle(stranger, tmp_path / "a.fcb", trust_new_device=shown.lower())
    assert report.total("new") > 0
    assert any("首次导入该设备的导出包" in line and shown in line for line in report.lines())
    again = import_bundle(stranger, tmp_path / "a.fcb")   # trusted for good now
    assert again.changed_nothing and again.signer_known


def test_trusted_stranger_still_cannot_delete_what_it_does_not_own(laptop_a, stranger, tmp_path):
    """Even trusted by fingerprint, a device deletes only its own drafts."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(stranger, tmp_path / "a.fcb",
                  trust_new_device=crypto.device_fingerprint(laptop_a.data_dir))
    answer = _draft(stranger, Answer)
    fp, _ = _forged_delete_bundle(tmp_path / "evil.fcb", "answer", _answer_row(stranger, answer))
    _refused(stranger, tmp_path / "evil.fcb", "无权删除", trust_new_device=fp)
    assert _exists(stranger, Answer, answer)


def test_enrolled_laptop_cannot_delete_another_laptops_draft_photo(laptop_a, laptop_b, office,
                                                                    tmp_path):
    """Enrolled is not all-powerful: B deletes a photo of A's draft it received; the office
    refuses B's bundle whole."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    photo = _draft(laptop_b)
    with laptop_b.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    export_bundle(laptop_b, tmp_path / "b.fcb")
    _refused(office, tmp_path / "b.fcb", "无权删除")
    assert _exists(office, Photo, photo)


def test_enrolled_laptop_cannot_change_another_laptops_draft_answer(laptop_a, laptop_b, office,
                                                                     tmp_path):
    """B changes the result of an answer in A's draft: refused at the office; A's own later
    change of the same answer is accepted, and relayed through the office to B."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    answer = _draft(laptop_b, Answer)
    row = _answer_row(laptop_b, answer)
    other = AnswerResult.NOT_APPLICABLE if row["result"] != "not_applicable" else AnswerResult.COMPLIANT
    with laptop_b.transaction() as s:
        answer_item(s, uuid.UUID(row["inspection_id"]), uuid.UUID(row["item_id"]), other, "B 改的")
    export_bundle(laptop_b, tmp_path / "b.fcb")
    _refused(office, tmp_path / "b.fcb", "无权修改其他设备的记录")
    mine = _answer_row(laptop_a, answer)   # (B holds the checklist under its own item ids)
    with laptop_a.transaction() as s:
        answer_item(s, uuid.UUID(mine["inspection_id"]), uuid.UUID(mine["item_id"]), other, "A 改的")
    (tmp_path / "2").mkdir()
    export_bundle(laptop_a, tmp_path / "2" / "a.fcb")
    import_bundle(office, tmp_path / "2" / "a.fcb")
    assert _answer_row(office, answer)["note"] == "A 改的"
    fresh = start_store(tmp_path / "laptop-c")
    try:
        enroll(office.data_dir, fresh, tmp_path)
        export_bundle(office, tmp_path / "o.fcb")
        import_bundle(fresh, tmp_path / "o.fcb")    # A's change, relayed under A's own head
        assert _answer_row(fresh, answer)["note"] == "A 改的"
    finally:
        fresh.close()


# --------------------------------------------------------------------------- 2. device ids

def _laptop_claiming(folder: Path, device_id: str):
    """A laptop of the attacker's whose device.json names someone else's id."""
    folder.mkdir(parents=True)
    (folder / "device.json").write_text(json.dumps({"device_id": device_id}), "utf-8")
    return start_store(folder)


def test_bundle_claiming_a_genuine_laptops_id_is_refused_and_the_laptop_keeps_it(
        laptop_a, office, tmp_path):
    """Found 2: the first bundle to claim a device id owned it, and the genuine laptop was
    refused from then on. Now the impostor is refused; the genuine laptop is accepted."""
    impostor = _laptop_claiming(tmp_path / "impostor", laptop_a.device_id)
    try:
        from tests.conftest import make_enterprise
        make_enterprise(impostor)
        export_bundle(impostor, tmp_path / "fake.fcb")
    finally:
        impostor.close()
    _refused(office, tmp_path / "fake.fcb", "未在本机构")
    export_bundle(laptop_a, tmp_path / "a.fcb")
    assert import_bundle(office, tmp_path / "a.fcb").total("new") > 0


def test_id_bound_to_its_first_trusted_key_on_a_store_without_agency(laptop_a, stranger, tmp_path):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(stranger, tmp_path / "a.fcb",
                  trust_new_device=crypto.device_fingerprint(laptop_a.data_dir))
    impostor = _laptop_claiming(tmp_path / "impostor", laptop_a.device_id)
    try:
        from tests.conftest import make_enterprise
        make_enterprise(impostor)
        export_bundle(impostor, tmp_path / "fake.fcb")
        fp = crypto.device_fingerprint(impostor.data_dir)
    finally:
        impostor.close()
    _refused(stranger, tmp_path / "fake.fcb", "签名密钥与设备", trust_new_device=fp)


@pytest.mark.parametrize("target", ["office", "laptop_a"])
def test_bundle_claiming_the_importers_own_id_is_refused(target, request, tmp_path):
    store = request.getfixturevalue(target)
    _forged_delete_bundle(tmp_path / "me.fcb", "photo", {"id": str(uuid.uuid4())},
                          claim=store.device_id)
    _refused(store, tmp_path / "me.fcb", "声称来自本机")
    # also signed with a head for the importer's own chain, by a stranger's key
    _refused(store, tmp_path / "me.fcb", "声称来自本机", trust_new_device="0000")


# --------------------------------------------------------------------------- 3. relays

def test_relay_with_a_head_forged_by_the_relayer_is_refused(laptop_a, laptop_b, office, tmp_path):
    """B relays A's chain with an event added and A's head signed by B's own key; or with
    A's head left out: both refused — only A can extend A's history."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    from tests.conftest import make_enterprise
    make_enterprise(laptop_b)
    export_bundle(laptop_b, tmp_path / "b.fcb", everything=True)
    entries = read_entries(tmp_path / "b.fcb")
    name = next(n for n in entries if n.startswith("records/audit_event"))
    doc = json.loads(entries[name])
    col = {c: n for n, c in enumerate(doc["columns"])}
    a_events = sorted((r for r in doc["rows"] if r[col["device_id"]] == laptop_a.device_id),
                      key=lambda r: r[col["seq"]])
    last = a_events[-1]
    photo = _draft(laptop_a)
    extra = list(last)
    fields = {"id": str(uuid.uuid4()), "device_id": laptop_a.device_id, "seq": last[col["seq"]] + 1,
              "at": "2026-11-21T09:00:00+00:00", "actor": "伪造", "action": "delete",
              "label": "delete_photo", "entity_type": "photo", "entity_id": str(photo),
              "before": "{}", "after": "{}"}
    for k, v in fields.items():
        extra[col[k]] = v
    extra[col["prev_hash"]] = last[col["hash"]]
    extra[col["hash"]] = event_hash(last[col["hash"]], fields)
    extra[col["created_at"]] = extra[col["updated_at"]] = fields["at"]
    doc["rows"].append(extra)
    changed = {**entries, name: json.dumps(doc, ensure_ascii=False).encode()}
    b_key = crypto.device_signing_key(laptop_b.data_dir)
    write_zip(tmp_path / "forged.fcb",
              resigned(changed, b_key, heads_for=[laptop_b.device_id, laptop_a.device_id]).items())
    _refused(office, tmp_path / "forged.fcb", "不是该设备的签名密钥所签")
    write_zip(tmp_path / "headless.fcb", resigned(changed, b_key).items())   # A's old head kept
    _refused(office, tmp_path / "headless.fcb", "没有该设备本身的链头签名")
    assert _exists(office, Photo, photo)


def test_relayed_chain_from_a_device_unknown_here_is_accepted_under_its_own_head(
        laptop_a, laptop_b, office, tmp_path):
    """The normal relay: A's history reaches B through the office, under A's signed head."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    export_bundle(office, tmp_path / "o.fcb")
    report = import_bundle(laptop_b, tmp_path / "o.fcb")
    assert report.total("new") > 0
    manifest = json.loads(read_entries(tmp_path / "o.fcb")[MANIFEST])
    heads = {json.loads(h["payload"])["device_id"]: json.loads(h["payload"])
             for h in manifest["chain_heads"]}
    assert heads[laptop_a.device_id]["public_key"] == crypto.device_public_key(laptop_a.data_dir)
    assert set(heads) == set(chain_ends(read_entries(tmp_path / "o.fcb")))


# --------------------------------------------------------------------------- enrollment

def _enrollment_doc(office, laptop, tmp_path) -> dict:
    key = crypto.device_signing_key(laptop.data_dir)
    req = agency.make_request(laptop.data_dir, laptop.device_id, [], key, [])
    return agency.enroll(office.data_dir, req, AGENCY_PASSPHRASE).document


def _trust_files(store) -> list:
    return sorted((str(p.relative_to(store.data_dir)), p.read_bytes())
                  for p in (store.data_dir / "trust").rglob("*") if p.is_file())


def _join_refused(store, path, reason) -> None:
    before = _trust_files(store)
    store_dir = store.data_dir
    from sync.agency_cli import join_file
    from models.errors import FieldCheckError
    with pytest.raises(FieldCheckError) as caught:
        join_file(store, path)
    assert reason in caught.value.text(), caught.value.text()
    assert _trust_files(store) == before and store_dir == store.data_dir


def test_replayed_old_enrollment_is_refused(laptop_a, office, tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_enrollment_doc(office, laptop_a, tmp_path)), "utf-8")
    newer = tmp_path / "new.json"
    newer.write_text(json.dumps(_enrollment_doc(office, laptop_a, tmp_path)), "utf-8")
    from sync.agency_cli import join_file
    join_file(laptop_a, newer)
    _join_refused(laptop_a, old, "不比本机已安装的")


def test_first_join_needs_the_ca_fingerprint_compared(office, stranger, tmp_path):
    """Whoever hands a laptop its first enrollment file could have made their own 'agency':
    the laptop installs it only with the CA fingerprint the clerk compared with the office's."""
    path = tmp_path / "first.json"
    path.write_text(json.dumps(_enrollment_doc(office, stranger, tmp_path)), "utf-8")
    office_fp = agency.cert_fingerprint(agency.installed_ca(office.data_dir))
    _join_refused(stranger, path, f"根证书指纹为 {office_fp}")
    from sync.agency_cli import join_file
    from models.errors import FieldCheckError
    before = _trust_files(stranger)
    wrong = "0000-" + office_fp[5:]
    with pytest.raises(FieldCheckError, match="不符"):
        join_file(stranger, path, wrong)
    assert _trust_files(stranger) == before
    joined = join_file(stranger, path, office_fp.lower().replace("-", " "))  # as typed, any grouping
    assert joined.fingerprint == office_fp
    assert agency.installed_ca(stranger.data_dir) is not None


def test_cli_first_join_refuses_without_fingerprint(office, stranger, tmp_path, capsys):
    path = tmp_path / "first.json"
    path.write_text(json.dumps(_enrollment_doc(office, stranger, tmp_path)), "utf-8")
    office_fp = agency.cert_fingerprint(agency.installed_ca(office.data_dir))
    stranger.close()
    capsys.readouterr()
    assert _cli("agency", "join", path, "--data-dir", stranger.data_dir) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and office_fp in err and "--ca-fingerprint" in err
    assert _cli("agency", "join", path, "--data-dir", stranger.data_dir, "--ca-fingerprint", office_fp) == 0
    assert "已加入机构：湘乡市应急管理局" in capsys.readouterr().out


def test_enrollment_not_signed_by_the_agency_is_refused(laptop_a, office, tmp_path):
    """A changed range (signature broken), one signed by another 'agency', one for another
    laptop: all refused, nothing installed."""
    doc = _enrollment_doc(office, laptop_a, tmp_path)
    payload = json.loads(doc["payload"])
    payload["case_range"] = {"start": 1, "end": 999999}
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**doc, "payload": json.dumps(payload)}), "utf-8")
    _join_refused(laptop_a, tampered, "签名无效")
    rogue = start_store(tmp_path / "rogue-office")
    try:
        agency.create_agency(rogue.data_dir, "假冒应急管理局", "rogue-passphrase", rogue.device_id,
                             crypto.public_key_text(crypto.device_signing_key(rogue.data_dir)))
        key = crypto.device_signing_key(laptop_a.data_dir)
        req = agency.make_request(laptop_a.data_dir, laptop_a.device_id, [], key, [])
        forged = agency.enroll(rogue.data_dir, req, "rogue-passphrase").document
    finally:
        rogue.close()
    (tmp_path / "rogue.json").write_text(json.dumps(forged), "utf-8")
    _join_refused(laptop_a, tmp_path / "rogue.json", "不是本机所属机构")
    other = start_store(tmp_path / "other-laptop")
    try:
        (tmp_path / "for-a.json").write_text(json.dumps(doc), "utf-8")
        _join_refused(other, tmp_path / "for-a.json", "为另一台电脑签发")
    finally:
        other.close()


# --------------------------------------------------------------------------- revocation

def test_bundle_signed_by_a_revoked_device_is_refused_everywhere(laptop_a, laptop_b, office,
                                                                 tmp_path, monkeypatch):
    """The office revokes B: B's later bundles are refused at the office, and — once the
    signed revocation list reached A in an office bundle — at A too. What B sent before stays."""
    from tests.conftest import make_enterprise
    make_enterprise(laptop_b)
    export_bundle(laptop_b, tmp_path / "b1.fcb")
    import_bundle(office, tmp_path / "b1.fcb")
    office.close()
    monkeypatch.setenv("FIELDCHECK_AGENCY_PASSPHRASE", AGENCY_PASSPHRASE)
    assert _cli("agency", "revoke", "--device", laptop_b.device_id, "--reason", "电脑丢失",
                "--data-dir", office.data_dir) == 0
    office_again = start_store(office.data_dir)
    try:
        with laptop_b.transaction() as s:
            from models.registry import Enterprise
            s.scalars(select(Enterprise)).first().address = "吊销之后"
        (tmp_path / "2").mkdir()
        export_bundle(laptop_b, tmp_path / "2" / "b2.fcb")
        _refused(office_again, tmp_path / "2" / "b2.fcb", "被机构吊销")
        export_bundle(office_again, tmp_path / "o.fcb")
        import_bundle(laptop_a, tmp_path / "o.fcb")   # carries the signed list (and B's old work)
        assert agency.revocation_entries(laptop_a.data_dir)[0]["reason"] == "电脑丢失"
        _refused(laptop_a, tmp_path / "2" / "b2.fcb", "被机构吊销")
    finally:
        office_again.close()


def test_forged_revocation_list_in_a_bundle_is_refused(laptop_a, office, tmp_path):
    """A revocation list not signed by the agency (here: by laptop A's enrolled key) is refused."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    entries = read_entries(tmp_path / "a.fcb")
    fake = agency.sign_document(ec.generate_private_key(ec.SECP256R1()),
                                {"format": agency.REVOCATION_FORMAT, "number": 99, "revoked": []})
    key = crypto.device_signing_key(laptop_a.data_dir)
    write_zip(tmp_path / "f.fcb", resigned(entries, key, lambda m: m.update(revocations=fake)).items())
    _refused(office, tmp_path / "f.fcb", "吊销列表不是本机构签发的")


def test_verify_reports_an_untrusted_bundle_with_a_store(laptop_a, stranger, tmp_path):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    assert verify_bundle_file(tmp_path / "a.fcb").exit_code == 0     # intact, no store
    report = verify_bundle_file(tmp_path / "a.fcb", stranger)
    assert report.exit_code == 1 and "首次收到设备" in report.problem



def test_no_agency_relay_of_a_laptop_not_trusted_here_needs_its_fingerprint_too(
        laptop_a, stranger, tmp_path):
    """Without an agency, a trusted sender cannot vouch for another laptop's history (it could
    bind a real laptop's id to a key of its own): that laptop's fingerprint is asked as well."""
    fp_a = crypto.device_fingerprint(laptop_a.data_dir)
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(stranger, tmp_path / "a.fcb", trust_new_device=fp_a)
    export_bundle(stranger, tmp_path / "s.fcb")
    second = start_store(tmp_path / "second")
    try:
        fp_s = crypto.device_fingerprint(stranger.data_dir)
        _refused(second, tmp_path / "s.fcb", "转交了本机未信任的设备", trust_new_device=fp_s)
        report = import_bundle(second, tmp_path / "s.fcb", trust_new_device=[fp_s, fp_a])
        assert report.total("new") > 0
        assert crypto.known_device_key(second.data_dir, laptop_a.device_id) == \
            crypto.device_public_key(laptop_a.data_dir)
    finally:
        second.close()


def test_previous_ids_claimed_without_proof_give_no_power(laptop_a, laptop_b, office, tmp_path):
    """B names A's id among its 'earlier ids' and signs A's chain head itself, to delete A's
    draft photo: refused (an earlier id counts only when bound here to the same key, or named
    by the device certificate)."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    photo = _draft(laptop_b)
    with laptop_b.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    export_bundle(laptop_b, tmp_path / "b.fcb")
    entries = read_entries(tmp_path / "b.fcb")
    b_key = crypto.device_signing_key(laptop_b.data_dir)

    def claim(manifest):
        manifest["previous_device_ids"] = [laptop_a.device_id]
    write_zip(tmp_path / "claim.fcb", resigned(entries, b_key, claim,
                                               heads_for=[laptop_b.device_id]).items())
    _refused(office, tmp_path / "claim.fcb", "无权删除")
    write_zip(tmp_path / "claim2.fcb", resigned(entries, b_key, claim, heads_for=[
        laptop_b.device_id, laptop_a.device_id]).items())
    _refused(office, tmp_path / "claim2.fcb", "不是该设备的签名密钥所签")
    assert _exists(office, Photo, photo)


def test_verify_names_the_agency_that_enrolled_the_sender(laptop_a, office, tmp_path, capsys):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    office.close()
    assert _cli("verify", tmp_path / "a.fcb", "--data-dir", office.data_dir) == 0
    assert "来自本机构「湘乡市应急管理局」登记的设备" in capsys.readouterr().out


def test_laptop_enrolled_in_another_agency_is_refused(office, tmp_path):
    rogue = start_store(tmp_path / "rogue-office")
    laptop = start_store(tmp_path / "rogue-laptop")
    try:
        agency.create_agency(rogue.data_dir, "另一个应急管理局", "rogue-passphrase", rogue.device_id,
                             crypto.public_key_text(crypto.device_signing_key(rogue.data_dir)))
        key = crypto.device_signing_key(laptop.data_dir)
        doc = agency.enroll(rogue.data_dir, agency.make_request(
            laptop.data_dir, laptop.device_id, [], key, []), "rogue-passphrase").document
        (tmp_path / "e.json").write_text(json.dumps(doc), "utf-8")
        from sync.agency_cli import join_file
        join_file(laptop, tmp_path / "e.json", agency.cert_fingerprint(agency.installed_ca(rogue.data_dir)))
        from tests.conftest import make_enterprise
        make_enterprise(laptop)
        export_bundle(laptop, tmp_path / "x.fcb")
    finally:
        rogue.close()
        laptop.close()
    _refused(office, tmp_path / "x.fcb", "未在本机构（湘乡市应急管理局）登记")


def test_revoked_laptop_cannot_enroll_again_under_a_new_id(laptop_b, office, tmp_path):
    agency.revoke(office.data_dir, AGENCY_PASSPHRASE, device_id=laptop_b.device_id, reason="丢失")
    key = crypto.device_signing_key(laptop_b.data_dir)
    request = agency.make_request(laptop_b.data_dir, str(uuid.uuid4()), [laptop_b.device_id], key, [])
    from models.errors import FieldCheckError
    with pytest.raises(FieldCheckError, match="已被吊销"):
        agency.enroll(office.data_dir, request, AGENCY_PASSPHRASE)


def test_cli_import_with_the_compared_fingerprint(laptop_a, stranger, tmp_path, capsys):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    fp = crypto.device_fingerprint(laptop_a.data_dir)
    stranger.close()
    before = (stranger.data_dir / "fieldcheck.db").read_bytes()
    assert _cli("import", tmp_path / "a.fcb", "--data-dir", stranger.data_dir) == 2
    assert f"--trust-new-device {fp}" in capsys.readouterr().err
    assert (stranger.data_dir / "fieldcheck.db").read_bytes() == before   # byte for byte
    assert _cli("import", tmp_path / "a.fcb", "--data-dir", stranger.data_dir,
                "--trust-new-device", fp) == 0
    assert "首次导入该设备的导出包" in capsys.readouterr().out


def test_bundle_from_a_laptop_whose_enrollment_expired_is_refused(laptop_a, office, tmp_path):
    """Device certificates run five years; one that ran out certifies nothing new (was: its
    dates were never looked at)."""
    from datetime import datetime, timedelta, timezone
    from sync import keystore
    from models.paths import write_json
    ca = agency.installed_ca(office.data_dir)
    ca_key = keystore.load_agency_key(office.data_dir, agency.CA_KEY_NAME, AGENCY_PASSPHRASE)
    long_ago = datetime.now(timezone.utc) - agency.CERT_VALIDITY - timedelta(days=2)
    stale = agency._device_certificate(ca_key, ca, laptop_a.device_id,
                                       crypto.device_public_key(laptop_a.data_dir), long_ago)
    write_json(laptop_a.data_dir / agency.DEVICE_CERT_FILE, {"certificate": agency.cert_pem(stale)})
    export_bundle(laptop_a, tmp_path / "a.fcb")
    text = _refused(office, tmp_path / "a.fcb", "机构登记证书已于")
    assert "到期" in text and "重新申请" in text


def test_a_document_signed_in_the_second_of_the_revocation_is_refused(tmp_path, monkeypatch):
    """Signing times are whole seconds (as in the PDF): a signature in the same second as the
    revocation counts as after it — at import as in the document check. (Taken for 'before',
    the attack test of a revoked signer passed or failed by where in the second it ran.)"""
    from datetime import datetime, timedelta, timezone

    from sync import agency, trust
    from sync.bundle_format import BundleError
    signed = datetime(2026, 11, 30, 8, 0, 5, tzinfo=timezone.utc)
    revoked = {"f" * 64: (signed + timedelta(microseconds=400_000), "调离")}
    monkeypatch.setattr(agency, "revoked_certificates", lambda _d: dict(revoked))
    row = {"signer_name": "张卫东", "signed_at": signed, "certificate_fingerprint": "f" * 64}
    with pytest.raises(BundleError, match="吊销"):
        trust.check_signatures(tmp_path, {"signature": [row]}, trust.Trust())
    earlier = {**row, "signed_at": signed - timedelta(seconds=1)}
    trust.check_signatures(tmp_path, {"signature": [earlier]}, trust.Trust())  # before: valid
