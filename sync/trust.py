"""Who may send a bundle, and whose history it may carry (docs/bundle-format.md, *Trust*).

A bundle is accepted only from

* a device enrolled in this store's agency: the manifest carries its device certificate,
  issued by the agency CA installed here, binding the device id to the key that signed the
  manifest, and not revoked — or,
* on a store with no agency yet, a device this store already trusts, or one the user trusts
  now after comparing its fingerprint (`import FILE --trust-new-device FINGERPRINT`).

A device id is bound here to the first key trusted for it, for good (`sync/known_devices.json`).
A bundle claiming this store's own device id is refused.

Every device chain a bundle carries must end in a *chain head* that device signed — its id,
the seq and hash of its last event — with its own key: the exporter signs its own heads, and
relays the heads it received with the chains. So a sender can relay another laptop's history
but never add to it or change it.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from models.inspector_keys import signed_after_revocation
from models.paths import read_json_dict, with_state_files_locked, write_json
from sync import agency, crypto
from sync.bundle_format import BundleError, refuse

HEADS_FILE = "sync/chain_heads.json"   # device → the signed head with the highest seq held
HEAD_FORMAT = "fieldcheck-chain-head"
_ENROLL_HINT = ("请在该电脑上运行 agency request，由办公室 agency enroll 登记后，在该电脑上 agency join "
                "登记文件，再重新导出；本机数据未改动")


class UntrustedDevice(BundleError):
    """A device a store without agency has not trusted yet: the GUI offers to compare."""

    def __init__(self, device_id: str, fingerprint: str, message: str, hint: str) -> None:
        super().__init__(f"导出包无法使用：{message}", hint)
        self.device_id, self.fingerprint = device_id, fingerprint


def own_device_ids(data_dir: Path) -> list[str]:
    """This data folder's device id and the ids it had before (a restored laptop)."""
    info = read_json_dict(Path(data_dir) / "device.json")
    ids = [info.get("device_id"), *info.get("previous", [])] if info else []
    return [str(i) for i in ids if isinstance(i, str)]


def normal_fingerprint(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch in "0123456789ABCDEF")


# --------------------------------------------------------------------------- chain heads

def sign_head(key: ed25519.Ed25519PrivateKey, device_id: str, seq: int, digest: str,
              certificate: str | None) -> dict:
    payload = json.dumps({"format": HEAD_FORMAT, "device_id": device_id, "seq": seq,
                          "hash": digest, "public_key": crypto.public_key_text(key)},
                         sort_keys=True, separators=(",", ":"))
    return {"payload": payload, "certificate": certificate,
            "signature": base64.b64encode(key.sign(payload.encode("utf-8"))).decode("ascii")}


def read_head(doc) -> dict:
    """The payload of a head statement whose signature holds under the key it names."""
    try:
        payload = json.loads(doc["payload"])
        public = ed25519.Ed25519PublicKey.from_public_bytes(
            base64.b64decode(payload["public_key"], validate=True))
        public.verify(base64.b64decode(doc["signature"], validate=True),
                      doc["payload"].encode("utf-8"))
        if payload.get("format") != HEAD_FORMAT or not isinstance(payload.get("seq"), int) \
                or not isinstance(payload.get("device_id"), str):
            raise ValueError("format")
    except (KeyError, TypeError, ValueError, AttributeError, InvalidSignature) as exc:
        raise refuse("执法记录链头签名无效（导出包可能被改动或伪造）") from exc
    return payload


def stored_heads(data_dir: Path) -> dict[str, dict]:
    return read_json_dict(Path(data_dir) / HEADS_FILE)


def heads_for_export(data_dir: Path, key, own_ids: list[str], chain_ends: dict,
                     certificate: str | None) -> list[dict]:
    """The heads of every chain a bundle carries: this laptop's signed now, the others as
    received (a chain held without a head cannot be relayed: its events are left out)."""
    held = stored_heads(data_dir)
    out = []
    for device, (seq, digest) in sorted(chain_ends.items()):
        if device in own_ids:
            out.append(sign_head(key, device, seq, digest, certificate))
        elif device in held:
            out.append(held[device])
    return out


@with_state_files_locked
def remember_heads(data_dir: Path, heads: list[dict]) -> None:
    held = stored_heads(data_dir)
    changed = False
    for doc in heads:
        payload = json.loads(doc["payload"])
        device = payload["device_id"]
        old = json.loads(held[device]["payload"])["seq"] if device in held else 0
        if payload["seq"] > old:
            held[device], changed = doc, True
    if changed:
        write_json(Path(data_dir) / HEADS_FILE, held)


# --------------------------------------------------------------------------- the decision

@dataclass
class Trust:
    """What the checks decided, applied only after the import succeeded."""

    sender_known: bool = True
    bind: dict[str, str] = field(default_factory=dict)        # device → key, new here
    device_keys: dict[str, str] = field(default_factory=dict)  # every chain's device → key
    heads: list[dict] = field(default_factory=list)
    revocations: dict | None = None
    agency: str = ""
    also_trusted: set[str] = field(default_factory=set)  # fingerprints the user compared

    def aliases(self, device: str) -> set[str]:
        """The ids one laptop signs under (its own restored-backup successors)."""
        key = self.device_keys.get(device)
        return {d for d, k in self.device_keys.items() if k == key} | {device} if key else {device}


def _revoked(entries: list[dict], device: str | None, key: str | None) -> dict | None:
    for entry in entries:
        if entry.get("kind") == "device" and (entry.get("device_id") == device
                                              or (key and entry.get("public_key") == key)):
            return entry
    return None


def _certified(ca, pem, devices: set[str], key: str) -> str | None:
    """The device id a certificate issued by `ca` binds to `key`, when it is one of
    `devices`; None otherwise."""
    if ca is None or not isinstance(pem, str):
        return None
    try:
        cert = agency.load_cert(pem)
    except Exception:  # noqa: BLE001 — an unreadable certificate certifies nothing
        return None
    if not agency.issued_by(cert, ca):
        return None
    bound = agency.device_of_certificate(cert)
    if bound is None or bound[1] != key or bound[0] not in devices:
        return None
    return bound[0]


def check_sender(data_dir: Path, manifest: dict, trust_new_device) -> Trust:
    """Refuse unless the bundle's signer may send to this store (see the module text).
    `trust_new_device`: one fingerprint or several the user compared (no agency only)."""
    if isinstance(trust_new_device, str):
        trust_new_device = [trust_new_device]
    given = [normal_fingerprint(f) for f in trust_new_device or []]
    sender, key = manifest["device_id"], manifest["signer"].get("public_key")
    fp = crypto.fingerprint(key)
    mine = own_device_ids(data_dir)
    if sender in mine:
        raise refuse(f"导出包声称来自本机（设备编号 {sender[:8]}），本机不导入以自己名义签发的导出包",
                     "该文件来源可疑，请勿使用并报告管理员；本机数据未改动")
    previous = [p for p in manifest.get("previous_device_ids") or [] if isinstance(p, str)]
    ca = agency.installed_ca(data_dir)
    trust = Trust(agency=agency.agency_name(ca) if ca is not None else "",
                  also_trusted=set(given) if ca is None else set())
    entries = agency.revocation_entries(data_dir)
    revoked = _revoked(entries, sender, key) or next(
        (e for p in previous if (e := _revoked(entries, p, None))), None)
    if revoked:
        raise refuse(f"设备 {sender[:8]} 已于 {revoked['at'][:10]} 被机构吊销（{revoked['reason']}），"
                     "其导出包不再接受", "请与办公室联系；本机数据未改动")
    known = crypto.known_device_key(data_dir, sender)
    if known is not None and known != key:
        raise refuse(f"签名密钥与设备 {sender[:8]} 以前使用的不一致，导出包来源可疑",
                     "一个设备编号只认它第一次被信任的签名密钥；请与导出方核实，本机数据未改动")
    # The ids this signer speaks for: its own, and earlier ids of the same laptop only where
    # that is proven — bound here to this very key, or named by its device certificate.
    trust.device_keys[sender] = key
    for device in previous:
        if crypto.known_device_key(data_dir, device) == key:
            trust.device_keys[device] = key
    if ca is not None:
        certified = _certified(ca, manifest.get("device_certificate"), {sender, *previous}, key)
        if certified is not None:
            trust.device_keys[certified] = key
        if certified is None:
            raise refuse(f"设备 {sender[:8]}（签名指纹 {fp}）未在本机构（{trust.agency}）登记，"
                         "导出包未导入", _ENROLL_HINT)
        # The sender's enrollment must be current when it sends; history it relays from other
        # devices was signed while theirs were, and stays acceptable.
        if (when := agency.expired_on(agency.load_cert(manifest["device_certificate"]))) is not None:
            raise refuse(f"设备 {sender[:8]} 的机构登记证书已于 {when}，导出包未导入",
                         "请该电脑 agency request 重新申请、办公室 agency enroll 后 agency join；"
                         "该电脑上的数据仍在，重新登记后再导出；本机数据未改动")
        for device in {sender, certified}:
            bound = crypto.known_device_key(data_dir, device)
            if bound is not None and bound != key:
                raise refuse(f"设备 {device[:8]} 在本机已绑定另一把签名密钥，导出包来源可疑",
                             "请与办公室核实；本机数据未改动")
            if bound is None:
                trust.bind[device] = key
        trust.sender_known = known is not None
        return trust
    if known is not None:
        return trust
    # A laptop already trusted here that continues under a new id (restored from a backup)
    if any(crypto.known_device_key(data_dir, p) == key for p in previous):
        trust.bind[sender], trust.sender_known = key, True
        return trust
    if normal_fingerprint(fp) in given:
        trust.bind[sender], trust.sender_known = key, False
        return trust
    if not given:
        raise UntrustedDevice(sender, fp, f"首次收到设备 {sender[:8]} 的导出包（签名指纹 {fp}），未导入",
                     "请与导出电脑「设置」或 status 中显示的本机导出签名指纹逐位核对，一致时用 "
                     f"import 文件 --trust-new-device {fp} 导入（或在导入对话框中确认信任）；"
                     "或由办公室为该电脑登记。本机数据未改动")
    raise refuse(f"签名指纹不符：导出包的签名指纹为 {fp}，您确认的是 {'、'.join(trust_new_device)}",
                 "请重新核对导出电脑上显示的指纹；不一致时不要导入。本机数据未改动")


def check_chains(data_dir: Path, manifest: dict, events: list[dict], trust: Trust) -> None:
    """Every device chain the bundle carries ends at a head that device signed."""
    ends: dict[str, tuple[int, str]] = {}
    for event in events:
        if event["seq"] > ends.get(event["device_id"], (0, ""))[0]:
            ends[event["device_id"]] = (event["seq"], event["hash"])
    heads = {}
    for doc in manifest.get("chain_heads") or []:
        payload = read_head(doc)
        heads.setdefault(payload["device_id"], []).append((payload, doc))
    mine = set(own_device_ids(data_dir))
    my_key = crypto.device_public_key(data_dir, create=False) if mine & set(ends) else None
    ca = agency.installed_ca(data_dir)
    entries = agency.revocation_entries(data_dir)
    for device, (seq, digest) in sorted(ends.items()):
        match = [(p, d) for p, d in heads.get(device, []) if p["seq"] == seq and p["hash"] == digest]
        if not match:
            raise refuse(f"设备 {device[:8]} 的执法记录（至第 {seq} 条）没有该设备本身的链头签名，"
                         "无法排除被转交方伪造或改写", "请让该设备重新导出；本机数据未改动")
        payload, doc = match[0]
        key = payload["public_key"]
        if device in mine and my_key is None:
            raise refuse(f"导出包含有本机编号 {device[:8]} 的执法记录，但本机从未签发过（疑似伪造）",
                         "请勿导入并报告管理员；本机数据未改动")
        expected = (my_key if device in mine else trust.device_keys.get(device)
                    or crypto.known_device_key(data_dir, device) or trust.bind.get(device))
        if expected is None and ca is not None:
            if _certified(ca, doc.get("certificate"), {device}, key) is None:
                raise refuse(f"转交的设备 {device[:8]} 的执法记录不是由本机构登记的设备签名的",
                             "请让该设备登记后重新导出；本机数据未改动")
            expected = key
        elif expected is None:
            # No agency: another laptop's history only from one trusted here, or one the user
            # trusts now by its fingerprint — never on the sender's word alone (it could bind
            # a real laptop's id to a key of its own making).
            fp = crypto.fingerprint(key)
            if normal_fingerprint(fp) not in trust.also_trusted:
                raise UntrustedDevice(device, fp, f"导出包转交了本机未信任的设备 {device[:8]} 的执法记录"
                                      f"（签名指纹 {fp}），未导入",
                                      "请先直接导入该设备的导出包，或与该设备核对指纹后用 "
                                      f"--trust-new-device {fp} 一并信任（可重复该选项）；本机数据未改动")
            expected = key
        if key != expected:
            raise refuse(f"设备 {device[:8]} 的执法记录链头不是该设备的签名密钥所签（疑似伪造）",
                         "请勿导入并报告管理员；本机数据未改动")
        revoked = _revoked(entries, device, key)
        if revoked and seq > int(revoked.get("last_seq") or 0):
            raise refuse(f"导出包含有设备 {device[:8]} 被吊销（{revoked['at'][:10]}，{revoked['reason']}）"
                         "之后的执法记录", "请与办公室联系；本机数据未改动")
        trust.device_keys.setdefault(device, key)
        if device not in mine and crypto.known_device_key(data_dir, device) is None:
            trust.bind.setdefault(device, key)
        trust.heads.append(doc)
    doc = manifest.get("revocations")
    if doc and ca is not None:
        try:
            if agency.check_revocations(data_dir, doc) is not None:
                trust.revocations = doc
        except Exception as exc:  # noqa: BLE001 — a list not signed by the agency
            raise refuse("导出包中的吊销列表不是本机构签发的（疑似伪造）",
                         "请勿导入并报告管理员；本机数据未改动") from exc


def check_signatures(data_dir: Path, records: dict, trust: Trust) -> None:
    """A document signed with an inspector's certificate after the agency revoked it is
    refused (signed before: valid). The list is the newest at hand: the bundle's or ours."""
    revoked = agency.revoked_certificates(data_dir)
    if trust.revocations:
        ca = agency.installed_ca(data_dir)
        payload = agency.open_document(trust.revocations, ca, agency.REVOCATION_FORMAT, "吊销列表")
        for entry in payload.get("revoked", []):
            if entry.get("kind") == "inspector":
                at = datetime.fromisoformat(entry["at"])
                revoked.update({fp: (at, entry.get("reason", "")) for fp in entry.get("fingerprints", [])})
    for row in records.get("signature", []):
        hit = revoked.get(row.get("certificate_fingerprint") or "")
        if hit and signed_after_revocation(row["signed_at"], hit[0]):
            raise refuse(f"文书签名（{row['signer_name']}，{row['signed_at']:%Y-%m-%d}）所用的证书已于 "
                         f"{hit[0]:%Y-%m-%d} 被机构吊销（{hit[1]}），此后签署的文书不予接受",
                         "请由未被吊销的执法人员重新签署；本机数据未改动")


def apply(data_dir: Path, trust: Trust) -> None:
    """After a successful import: bind the new devices, keep the heads, the newer list."""
    for device, key in trust.bind.items():
        crypto.remember_device_key(data_dir, device, key)
    remember_heads(data_dir, trust.heads)
    if trust.revocations:
        agency.accept_revocations(data_dir, trust.revocations)
