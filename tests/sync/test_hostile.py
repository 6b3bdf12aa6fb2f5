"""Hostile or broken bundles are refused with a Chinese reason and the store unchanged."""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import stat
import uuid
import warnings
import zipfile
from pathlib import Path

import pytest

from models.audit import event_hash
from sync import crypto
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from sync.trust import sign_head
from sync.verify_command import verify_bundle_file
from tests.conftest import make_enterprise
from tests.sync.conftest import dump

MANIFEST, SIG = "manifest.json", "manifest.sig"


def read_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write_zip(path: Path, entries, compress=zipfile.ZIP_STORED) -> None:
    """Write (name or ZipInfo, bytes) pairs as they are, duplicates and all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compress) as zf:
            for name, data in entries:
                zf.writestr(name, data)


def chain_ends(entries: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    name = next((n for n in entries if n.startswith("records/audit_event")), None)
    if name is None:
        return {}
    doc = json.loads(entries[name])
    col = {c: n for n, c in enumerate(doc["columns"])}
    ends: dict[str, tuple[int, str]] = {}
    for row in doc["rows"]:
        device, seq = row[col["device_id"]], row[col["seq"]]
        if seq > ends.get(device, (0, ""))[0]:
            ends[device] = (seq, row[col["hash"]])
    return ends


def resigned(entries: dict[str, bytes], key, manifest_edit=None, heads_for=None) -> dict[str, bytes]:
    """Entries with a manifest that matches them again, signed by `key` — and the chain heads
    of the manifest's device (or of `heads_for`) signed again by `key` over the chains as they
    are now: what an attacker holding that key can do."""
    manifest = json.loads(entries[MANIFEST])
    ends = chain_ends(entries)
    devices = set(heads_for if heads_for is not None else [manifest["device_id"]])
    heads = [h for h in manifest.get("chain_heads", [])
             if json.loads(h["payload"])["device_id"] not in devices]
    for device in sorted(devices & set(ends)):
        old = next((h for h in manifest.get("chain_heads", [])
                    if json.loads(h["payload"])["device_id"] == device), {})
        heads.append(sign_head(key, device, *ends[device], old.get("certificate")))
    manifest["chain_heads"] = heads
    manifest["entries"] = sorted(
        ({"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
         for n, d in entries.items() if n not in (MANIFEST, SIG)), key=lambda e: e["name"])
    if manifest_edit:
        manifest_edit(manifest)
    manifest["signer"]["public_key"] = crypto.public_key_text(key)
    raw = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    return {**entries, MANIFEST: raw, SIG: crypto.sign_manifest(key, raw)}


def first(entries, prefix: str) -> str:
    return next(n for n in sorted(entries) if n.startswith(prefix))


def _extra(name_or_info, data=b"x"):
    def build(entries, key, target):
        write_zip(target, [*entries.items(), (name_or_info, data)])
    return build


def _symlink(entries, key, target):
    info = zipfile.ZipInfo(first(entries, "files/photos/"))
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    rest = {n: d for n, d in entries.items() if n != info.filename}
    write_zip(target, [*rest.items(), (info, b"/etc/passwd")])


def _duplicate(entries, key, target):
    name = first(entries, "records/enterprise")
    write_zip(target, [*entries.items(), (name, b"[]")])


def _manifest_size_too_small(entries, key, target):
    photo = first(entries, "files/photos/")

    def shrink(manifest):
        for e in manifest["entries"]:
            if e["name"] == photo:
                e["size"] -= 10
    write_zip(target, resigned(entries, key, shrink).items())


def _header_size_lie(entries, key, target):
    """The zip's own directory (and the manifest) declare 10 bytes for a larger photo."""
    photo = first(entries, "files/photos/")

    def shrink(manifest):
        for e in manifest["entries"]:
            if e["name"] == photo:
                e["size"] = 10
    write_zip(target, resigned(entries, key, shrink).items())
    data = bytearray(target.read_bytes())
    central = data.index(b"PK\x01\x02")
    while True:
        name_len = int.from_bytes(data[central + 28:central + 30], "little")
        name = bytes(data[central + 46:central + 46 + name_len]).decode()
        if name == photo:
            data[central + 24:central + 28] = (10).to_bytes(4, "little")
            break
        extra = int.from_bytes(data[central + 30:central + 32], "little")
        comment = int.from_bytes(data[central + 32:central + 34], "little")
        central += 46 + name_len + extra + comment
    target.write_bytes(bytes(data))


def _zip_bomb(entries, key, target):
    info = zipfile.ZipInfo("files/documents/bomb.pdf")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        with zf.open(info, "w") as fh:
            zero = bytes(1024 * 1024)
            for _ in range(200):
                fh.write(zero)


def _truncated(entries, key, target, good=None):
    write_zip(target, entries.items())
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def _replace(name_prefix, data, resign=True, **edit):
    def build(entries, key, target):
        name = first(entries, name_prefix)
        changed = {**entries, name: data(entries[name]) if callable(data) else data}
        write_zip(target, (resigned(changed, key) if resign else changed).items())
    return build


def _manifest_edit(edit):
    def build(entries, key, target):
        write_zip(target, resigned(entries, key, edit).items())
    return build


def _drop(*prefixes, resign=True):
    def build(entries, key, target):
        kept = {n: d for n, d in entries.items() if not any(n.startswith(p) for p in prefixes)}
        write_zip(target, (resigned(kept, key) if resign else kept).items())
    return build


def _add_record_table(entries, key, target):
    extra = {**entries, "records/future_table.json": b'{"table":"future_table","columns":[],"rows":[]}'}
    write_zip(target, resigned(extra, key).items())


def _tamper_event(raw: bytes) -> bytes:
    doc = json.loads(raw)
    after = doc["columns"].index("after")
    doc["rows"][3][after] = '{"name":"改过的名字"}'
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _tampered_event_and_missing_reference(entries, key, target):
    """Two faults: the changed event is the one named, though the planner, which runs before
    the events' hashes are checked (sync.records.ChainCheck), meets the missing firm first."""
    name = first(entries, "records/audit_event")
    changed = {n: d for n, d in entries.items() if not n.startswith("records/enterprise")}
    changed[name] = _tamper_event(entries[name])
    write_zip(target, resigned(changed, key).items())


def _unsigned_change(entries, key, target):
    manifest = json.loads(entries[MANIFEST])
    manifest["created_at"] = "2020-01-01T00:00:00+00:00"
    write_zip(target, {**entries, MANIFEST: json.dumps(manifest).encode()}.items())


def _signed_by_stranger(entries, key, target):
    stranger = crypto.ed25519.Ed25519PrivateKey.generate()
    changed = resigned(entries, key)
    changed[SIG] = crypto.sign_manifest(stranger, changed[MANIFEST])
    write_zip(target, changed.items())


def _forge_head_signature(manifest):
    head = manifest["chain_heads"][0]
    sig = bytearray(base64.b64decode(head["signature"]))
    sig[0] ^= 1
    head["signature"] = base64.b64encode(bytes(sig)).decode()


def _head_claims_more(manifest):
    """The head's payload edited to cover more events than it was signed for."""
    head = manifest["chain_heads"][0]
    payload = json.loads(head["payload"])
    payload["seq"] += 1
    head["payload"] = json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _other_laptops_certificate(manifest):
    """laptop B's genuine certificate (public in every bundle B sends), on A's bundle."""
    manifest["device_certificate"] = OTHER_CERTIFICATE[0]


OTHER_CERTIFICATE: list[str] = []


CASES = [
    ("path_traversal", _extra("../evil.txt"), "导出包以外"),
    ("absolute_path", _extra("/tmp/evil.txt"), "导出包以外"),
    ("drive_letter", _extra("C:\\Windows\\evil.txt"), "盘符"),
    ("drive_letter_slash", _extra("C:/evil.txt"), "盘符"),
    ("symlink", _symlink, "链接"),
    ("duplicate_name", _duplicate, "重名"),
    ("size_larger_than_declared", _manifest_size_too_small, "大小"),
    ("zip_header_size_lie", _header_size_lie, "已损坏"),
    ("zip_bomb", _zip_bomb, "压缩炸弹"),
    ("truncated", _truncated, "不完整"),
    ("malformed_json", _replace("records/enterprise", b"{not json"), "格式错误"),
    ("newer_schema", _manifest_edit(lambda m: m.update(bundle_version=99)), "更新版本"),
    ("unknown_table", _add_record_table, "未知的数据表"),
    ("wrong_hash", _replace("files/photos/", lambda d: d[:-1] + b"\0", resign=False), "校验值不符"),
    # signed as it is: a photo whose content is not its name (the sender's disk damaged it)
    ("photo_not_its_name", _replace("files/photos/", lambda d: d[:-1] + b"\0"), "与文件名不符"),
    ("missing_signature", _drop(SIG, resign=False), "没有签名"),
    ("bad_signature", _unsigned_change, "签名无效"),
    ("signature_by_other_key", _signed_by_stranger, "签名无效"),
    ("missing_reference", _drop("records/enterprise"), "既不在导出包中"),
    ("missing_photo_file", _drop("files/photos/"), "缺少照片文件"),
    ("unlisted_entry", _extra("files/documents/extra.pdf"), "不在清单中"),
    ("tampered_audit_event", _replace("records/audit_event", _tamper_event), "内容被改动"),
    ("tampered_event_and_missing_reference", _tampered_event_and_missing_reference, "内容被改动"),
    ("not_a_bundle", lambda e, k, t: t.write_bytes(b"hello"), "不完整或已损坏"),
    # #11: who signed what (docs/bundle-format.md, Trust)
    ("chain_heads_left_out", _manifest_edit(lambda m: m.update(chain_heads=[])),
     "没有该设备本身的链头签名"),
    ("chain_head_signature_forged", _manifest_edit(_forge_head_signature), "链头签名无效"),
    ("chain_head_claims_more", _manifest_edit(_head_claims_more), "链头签名无效"),
    ("device_certificate_left_out", _manifest_edit(lambda m: m.update(device_certificate=None)),
     "未在本机构"),
    ("device_certificate_of_another_laptop", _manifest_edit(_other_laptops_certificate),
     "未在本机构"),
    ("bundle_of_the_version_before_trust", _manifest_edit(lambda m: m.update(bundle_version=1)),
     "旧版本"),
]


@pytest.fixture(scope="module")
def exported_once(agency_templates, tmp_path_factory) -> Path:
    """Laptop A's bundle, exported once for the module (exporting the demo took a second or
    more a test); the tests only read it, each from its own copy."""
    from models.startup import start_store
    folder = tmp_path_factory.mktemp("good-bundle")
    shutil.copytree(agency_templates["laptop-a"], folder / "laptop-a")
    laptop = start_store(folder / "laptop-a")
    try:
        export_bundle(laptop, folder / "good.fcb")
    finally:
        laptop.close()
    return folder / "good.fcb"


@pytest.fixture
def good_bundle(exported_once, agency_templates, tmp_path) -> Path:
    from sync.agency import device_certificate
    OTHER_CERTIFICATE[:] = [device_certificate(agency_templates["laptop-b"])]
    path = tmp_path / "good.fcb"
    shutil.copyfile(exported_once, path)
    return path


@pytest.mark.parametrize("build,reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_bundle_is_refused_and_store_unchanged(build, reason, good_bundle, laptop_a,
                                                       office, tmp_path):
    """Each broken or hostile bundle is refused with its reason; the store dump is unchanged."""
    make_enterprise(office)
    hostile = tmp_path / "hostile.fcb"
    build(read_entries(good_bundle), crypto.device_signing_key(laptop_a.data_dir), hostile)
    before = dump(office)
    with pytest.raises(BundleError) as caught:
        import_bundle(office, hostile)
    assert reason in caught.value.text()
    assert "导出包" in caught.value.text()
    assert dump(office) == before
    assert not list((office.data_dir / "tmp").glob("import-*"))
    report = verify_bundle_file(hostile, office)
    assert report.exit_code == 1 and reason in report.problem


def test_good_bundle_passes_the_same_checks(good_bundle, office):
    """The unmodified bundle verifies, with and without a store."""
    assert verify_bundle_file(good_bundle).exit_code == 0
    assert verify_bundle_file(good_bundle, office).exit_code == 0


def test_total_size_limit_refuses_before_reading(good_bundle, office, monkeypatch):
    """A bundle whose entries add up past the total limit is refused from the directory alone."""
    monkeypatch.setattr("sync.container.MAX_TOTAL_BYTES", 1000)
    before = dump(office)
    with pytest.raises(BundleError, match="总大小过大"):
        import_bundle(office, good_bundle)
    assert dump(office) == before


def test_device_key_change_is_refused(good_bundle, laptop_a, office, tmp_path):
    """A later bundle claiming a known device but signed with another key is refused."""
    import_bundle(office, good_bundle)
    stranger = crypto.ed25519.Ed25519PrivateKey.generate()
    forged = tmp_path / "forged.fcb"
    write_zip(forged, resigned(read_entries(good_bundle), stranger).items())
    before = dump(office)
    with pytest.raises(BundleError, match="签名密钥与设备"):
        import_bundle(office, forged)
    assert dump(office) == before


def _rewritten_history(raw: bytes, new_id: bool) -> bytes:
    """The device's chain with its 3rd event changed and every later hash recomputed: a chain
    that checks out by itself, but is not the history the office already holds."""
    doc = json.loads(raw)
    col = {c: n for n, c in enumerate(doc["columns"])}
    device = doc["rows"][0][col["device_id"]]
    events = sorted((r for r in doc["rows"] if r[col["device_id"]] == device),
                    key=lambda r: r[col["seq"]])
    events[2][col["after"]] = '{"name":"改写的历史"}'
    if new_id:
        events[2][col["id"]] = str(uuid.uuid4())
    prev = events[2][col["prev_hash"]]
    for event in events[2:]:
        event[col["prev_hash"]] = prev
        fields = {k: event[col[k]] for k in ("id", "device_id", "seq", "at", "actor", "action",
                                             "label", "entity_type", "entity_id", "before", "after")}
        event[col["hash"]] = prev = event_hash(prev, fields)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("new_id,reason", [(False, "与本机保存的不一致"), (True, "记录链分叉")])
def test_history_rewritten_after_an_import_is_refused(new_id, reason, good_bundle, laptop_a,
                                                      office, tmp_path):
    """A later bundle whose chain differs from the events already imported — the same event
    changed, or another event at the same position — is refused; nothing changes."""
    import_bundle(office, good_bundle)
    entries = read_entries(good_bundle)
    name = first(entries, "records/audit_event")
    changed = {**entries, name: _rewritten_history(entries[name], new_id)}
    forged = tmp_path / "rewritten.fcb"
    write_zip(forged, resigned(changed, crypto.device_signing_key(laptop_a.data_dir)).items())
    before = dump(office)
    with pytest.raises(BundleError) as caught:
        import_bundle(office, forged)
    assert reason in caught.value.text()
    assert dump(office) == before


def test_refused_at_the_write_leaves_no_file_behind(laptop_a, office, tmp_path, monkeypatch):
    """Files are placed just before the rows are written; if the write then fails, they go
    again: the data folder is as it was, not only the database."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    before = dump(office)

    def broken_write(_s, _writes):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("sync.merge._write_rows", broken_write)
    with pytest.raises(BundleError, match="磁盘空间"):
        import_bundle(office, tmp_path / "a.fcb")
    assert dump(office) == before
