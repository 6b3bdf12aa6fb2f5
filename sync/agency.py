"""The agency as root of trust: its certificate authority, enrollment, revocation.

The office runs `agency create` once: an ECDSA P-256 CA key (encrypted under a passphrase of
at least 10 characters, `keys/agency-ca.pem`) and a self-signed CA certificate
(`trust/agency-ca.crt`). It then enrolls each laptop:

    laptop:  agency request --out REQ       (device id, public key, inspectors' key requests;
                                             signed with the laptop's own key)
    office:  agency enroll REQ --out FILE   (device certificate, case-number range, inspectors'
                                             certificates; the whole file signed by the CA)
    laptop:  agency join FILE               (checked, then installed)

Every signed document here (enrollment, revocation list) is {"payload": "<canonical JSON>",
"signature": "<base64 DER ECDSA-SHA256 by the CA>"}. A laptop keeps the CA it first joined and
refuses an enrollment signed by any other, one made for another laptop, and one not newer than
the one it holds (a replay). The revocation list is numbered; a newer one replaces an older
one wherever it arrives (the office's bundles carry it; laptops relay it).
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from models.errors import FieldCheckError
from models.store_mode import is_office_store
from models.paths import (AGENCY_CA_FILE, CASE_RANGE_FILE, REVOKED_CERTIFICATES_FILE,
                          read_json_dict, with_state_files_locked, write_json)
from sync import keystore

CA_KEY_NAME = "agency-ca.pem"
ENROLLMENT_FILE = "trust/enrollment.json"
REVOCATIONS_FILE = "trust/revocations.json"
REGISTRY_FILE = "trust/registry.json"     # the office's own book of what it issued
ENROLLMENT_FORMAT = "fieldcheck-enrollment"
REQUEST_FORMAT = "fieldcheck-enrollment-request"
REVOCATION_FORMAT = "fieldcheck-revocations"
DEFAULT_RANGE = 1000
CA_VALIDITY = timedelta(days=20 * 365)
CERT_VALIDITY = timedelta(days=5 * 365 + 1)
DEVICE_PREFIX = "FieldCheck 设备 "
_ENROLL_HINT = "请向办公室索取为本机签发的最新登记文件"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _canonical(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_cert(pem: str | bytes, what: str = "证书") -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii") if isinstance(pem, str) else pem)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise FieldCheckError(f"{what}无法读取（格式错误）", _ENROLL_HINT) from exc


def cert_fingerprint(cert: x509.Certificate) -> str:
    """The CA certificate as people compare it: first 16 hex digits of its SHA-256, grouped."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:16].upper()
    return "-".join(digest[n:n + 4] for n in range(0, 16, 4))


def agency_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME) or \
        cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


# --------------------------------------------------------------------------- signed documents

def sign_document(key: ec.EllipticCurvePrivateKey, payload: dict) -> dict:
    text = _canonical(payload)
    sig = key.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    return {"payload": text, "signature": base64.b64encode(sig).decode("ascii")}


def open_document(doc, ca: x509.Certificate, fmt: str, what: str) -> dict:
    """The payload of a CA-signed document, or FieldCheckError when not signed by `ca`."""
    try:
        text, sig = doc["payload"], base64.b64decode(doc["signature"], validate=True)
        ca.public_key().verify(sig, text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        payload = json.loads(text)
    except (KeyError, TypeError, ValueError, AttributeError, InvalidSignature) as exc:
        raise FieldCheckError(f"{what}不是本机构根证书签发的（签名无效或内容被改动）",
                              _ENROLL_HINT) from exc
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise FieldCheckError(f"{what}格式不对", _ENROLL_HINT)
    return payload


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


# --------------------------------------------------------------------------- this store's CA

def installed_ca(data_dir: Path) -> x509.Certificate | None:
    path = Path(data_dir) / AGENCY_CA_FILE
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise FieldCheckError(f"机构根证书文件 {path} 已损坏", "请从备份恢复，或重新加入机构") from exc


def expired_on(cert: x509.Certificate, now: datetime | None = None) -> str | None:
    """The date a certificate stopped (or has not yet started) being valid, None while valid."""
    now = _now(now)
    if cert.not_valid_after_utc < now:
        return f"{cert.not_valid_after_utc:%Y-%m-%d} 到期"
    if cert.not_valid_before_utc > now + timedelta(days=1):  # a laptop clock a little ahead
        return f"{cert.not_valid_before_utc:%Y-%m-%d} 才生效"
    return None


def is_office(data_dir: Path) -> bool:
    return is_office_store(data_dir)


def own_inspector_ids(data_dir: Path) -> set[uuid.UUID]:
    """This laptop's inspectors: those it holds a signing key for (keys/<id>.p12) and those
    its installed enrollment file (checked when it was joined) certified for it."""
    ids = set()
    for path in (Path(data_dir) / keystore.KEYS_DIR).glob("*.p12"):
        try:
            ids.add(uuid.UUID(path.stem))
        except ValueError:
            continue  # not an inspector's key file
    held = read_json_dict(Path(data_dir) / ENROLLMENT_FILE)
    try:
        people = json.loads(held["payload"]).get("inspectors", []) if held else []
        ids.update(uuid.UUID(str(p["id"])) for p in people)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # an unreadable enrollment names nobody; join would have refused it
    return ids


def _registry(data_dir: Path) -> dict:
    return read_json_dict(Path(data_dir) / REGISTRY_FILE)


def _save_registry(data_dir: Path, registry: dict) -> None:
    write_json(Path(data_dir) / REGISTRY_FILE, registry)


def _name(agency: str, common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=not ca,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)


@with_state_files_locked  # the registry: read, changed, written back
def create_agency(data_dir: Path, name: str, passphrase: str, device_id: str,
                  device_public_key: str, range_size: int = DEFAULT_RANGE,
                  now: datetime | None = None) -> x509.Certificate:
    """Make the agency's CA (once) and enroll the office itself as its first device."""
    if not name.strip():
        raise FieldCheckError("请填写机构名称", "例如：agency create --name 湘乡市应急管理局")
    if installed_ca(data_dir) is not None:
        raise FieldCheckError("本机已属于一个机构（已有机构根证书），不能再创建",
                              "如需查看，请运行 agency show")
    keystore.check_new_passphrase(passphrase, keystore.MIN_AGENCY_PASSPHRASE, "机构根证书口令")
    now = _now(now)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name.strip(), f"{name.strip()} 执法证书根")
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    keystore.save_agency_key(data_dir, CA_KEY_NAME, key, passphrase)
    keystore.write_private(Path(data_dir) / AGENCY_CA_FILE, cert_pem(cert).encode("ascii"))
    registry = {"agency": name.strip(), "next_start": 1, "range_size": range_size,
                "next_number": 1, "devices": {}, "inspectors": {}, "revoked": [],
                "revocation_number": 0}
    device_cert = _device_certificate(key, cert, device_id, device_public_key, now)
    start = _take_range(registry, range_size)
    registry["devices"][device_id] = {"public_key": device_public_key, "serial": device_cert.serial_number,
                                      "range": [start, start + range_size - 1], "office": True,
                                      "enrolled_at": now.isoformat()}
    _save_registry(data_dir, registry)
    _install_enrollment_parts(data_dir, device_cert, (start, start + range_size - 1))
    write_revocations(data_dir, key, registry, now)
    return cert


def _take_range(registry: dict, size: int) -> int:
    start = int(registry.get("next_start", 1))
    registry["next_start"] = start + size
    return start


def _device_certificate(ca_key, ca: x509.Certificate, device_id: str, public_key_b64: str,
                        now: datetime) -> x509.Certificate:
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    return (x509.CertificateBuilder()
            .subject_name(_name(agency_name(ca), DEVICE_PREFIX + device_id))
            .issuer_name(ca.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"urn:uuid:{device_id}")]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))


def device_of_certificate(cert: x509.Certificate) -> tuple[str, str] | None:
    """(device id, public key base64) a device certificate binds, or None if it is none."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        device = next(u[len("urn:uuid:"):] for u in uris if u.startswith("urn:uuid:"))
        device = str(uuid.UUID(device))
        public = cert.public_key()
        if not isinstance(public, ed25519.Ed25519PublicKey):
            return None
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    except (x509.ExtensionNotFound, StopIteration, ValueError):
        return None
    return device, base64.b64encode(raw).decode("ascii")


def _inspector_certificate(ca_key, ca: x509.Certificate, csr: x509.CertificateSigningRequest,
                           name: str, certificate_no: str, now: datetime) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name(ca)),
                         x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.SERIAL_NUMBER, certificate_no)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))


# --------------------------------------------------------------------------- the request

def make_request(data_dir: Path, device_id: str, previous: list[str], device_key,
                 inspectors: list[dict], now: datetime | None = None) -> dict:
    """The laptop's enrollment request: who it is and its inspectors' key requests, signed
    with its own device key (the office sees the laptop holds the key it asks a certificate
    for). `inspectors`: dicts with id, name, certificate_no and csr (PEM)."""
    from sync.crypto import fingerprint, public_key_text
    public = public_key_text(device_key)
    body = {"format": REQUEST_FORMAT, "device_id": device_id, "previous_device_ids": previous,
            "public_key": public, "fingerprint": fingerprint(public),
            "created_at": _now(now).isoformat(), "inspectors": inspectors}
    text = _canonical(body)
    return {"payload": text,
            "signature": base64.b64encode(device_key.sign(text.encode("utf-8"))).decode("ascii")}


def read_request(doc) -> dict:
    try:
        text = doc["payload"]
        body = json.loads(text)
        public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
        public.verify(base64.b64decode(doc["signature"], validate=True), text.encode("utf-8"))
        body["device_id"] = str(uuid.UUID(body["device_id"]))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, InvalidSignature) as exc:
        raise FieldCheckError("登记申请文件无效（签名不符或内容被改动）",
                              "请在该电脑上重新运行 agency request") from exc
    if body.get("format") != REQUEST_FORMAT:
        raise FieldCheckError("该文件不是登记申请文件", "请在该电脑上运行 agency request 生成")
    return body


# --------------------------------------------------------------------------- enrolling (office)

@dataclass
class Enrolled:
    document: dict
    device_id: str
    fingerprint: str
    case_range: tuple[int, int]
    inspectors: list[str]


@with_state_files_locked  # two at once: one's device and case range forgotten
def enroll(data_dir: Path, request: dict, passphrase: str | None,
           range_size: int | None = None, now: datetime | None = None,
           new_range: bool = False) -> Enrolled:
    """The office signs a laptop's request: device certificate, case-number range (kept on
    re-enrollment), inspectors' certificates, the current revocation list."""
    ca = installed_ca(data_dir)
    key = keystore.load_agency_key(data_dir, CA_KEY_NAME, passphrase)
    if ca is None:
        raise FieldCheckError("本机没有机构根证书", "请先运行 agency create")
    body = read_request(request)
    now = _now(now)
    registry = _registry(data_dir)
    device = body["device_id"]
    if any(r.get("kind") == "device" and (r.get("device_id") == device
                                          or r.get("public_key") == body["public_key"])
           for r in registry["revoked"]):
        raise FieldCheckError(f"设备 {device[:8]} 已被吊销，不能再次登记",
                              "请在该电脑上重新安装 FieldCheck 后以新设备登记")
    known = registry["devices"].get(device)
    if known and known["public_key"] != body["public_key"]:
        raise FieldCheckError(f"设备 {device[:8]} 已以另一把签名密钥登记，本次申请被拒绝",
                              "请核实该申请文件的来源；如确为重装的电脑，请先吊销原设备")
    for other, info in registry["devices"].items():
        if other != device and info["public_key"] == body["public_key"] and \
                other not in body.get("previous_device_ids", []):
            raise FieldCheckError("该签名密钥已登记给另一台设备", "请核实该申请文件的来源")
    if known and not new_range:
        case_range = tuple(known["range"])
    else:
        size = range_size or int(registry.get("range_size", DEFAULT_RANGE))
        start = _take_range(registry, size)
        case_range = (start, start + size - 1)
    device_cert = _device_certificate(key, ca, device, body["public_key"], now)
    inspectors = []
    for person in body.get("inspectors", []):
        csr = _read_csr(person)
        cert = _inspector_certificate(key, ca, csr, person["name"], person["certificate_no"], now)
        inspectors.append({"id": person["id"], "name": person["name"],
                           "certificate_no": person["certificate_no"], "certificate": cert_pem(cert)})
        registry["inspectors"][cert_fingerprint_hex(cert)] = {
            "certificate_no": person["certificate_no"], "name": person["name"],
            "serial": cert.serial_number, "device_id": device, "issued_at": now.isoformat()}
    number = int(registry.get("next_number", 1))
    registry["next_number"] = number + 1
    registry["devices"][device] = {"public_key": body["public_key"], "serial": device_cert.serial_number,
                                   "range": list(case_range), "enrolled_at": now.isoformat(),
                                   "previous_device_ids": body.get("previous_device_ids", [])}
    payload = {"format": ENROLLMENT_FORMAT, "version": 1, "number": number,
               "issued_at": now.isoformat(),
               "agency": {"name": agency_name(ca), "fingerprint": cert_fingerprint(ca)},
               "ca_certificate": cert_pem(ca),
               "device": {"device_id": device, "public_key": body["public_key"],
                          "certificate": cert_pem(device_cert)},
               "case_range": {"start": case_range[0], "end": case_range[1]},
               "inspectors": inspectors,
               "revocations": current_revocations(data_dir)}
    _save_registry(data_dir, registry)
    return Enrolled(sign_document(key, payload), device, body["fingerprint"], case_range,
                    [p["name"] for p in inspectors])


def _read_csr(person: dict) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(person["csr"].encode("ascii"))
        ok = csr.is_signature_valid and bool(person["name"]) and bool(person["certificate_no"])
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise FieldCheckError("登记申请中执法人员的证书申请无效", "请在该电脑上重新运行 agency request") from exc
    if not ok:
        raise FieldCheckError("登记申请中执法人员的证书申请签名无效", "请在该电脑上重新运行 agency request")
    return csr


def cert_fingerprint_hex(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# --------------------------------------------------------------------------- joining (laptop)

@dataclass
class Joined:
    agency: str
    fingerprint: str
    case_range: tuple[int, int]
    inspectors: list[dict]
    number: int


class CAUnconfirmed(FieldCheckError):
    """A first enrollment names a CA this laptop has never seen: whoever can hand over a file
    could otherwise make the laptop trust their own "agency". The user compares the
    fingerprint with the office's and confirms it (`--ca-fingerprint`, the dialog)."""

    def __init__(self, agency: str, fingerprint: str) -> None:
        super().__init__(f"首次加入机构须核对根证书指纹：该登记文件中「{agency}」的根证书指纹为 {fingerprint}",
                         f"请与办公室 agency show 显示的逐字核对，一致后加 --ca-fingerprint {fingerprint} "
                         "再运行；未作任何改动")
        self.agency, self.fingerprint = agency, fingerprint


def normal_ca_fingerprint(text: str) -> str:
    return "".join(c for c in text.upper() if c in "0123456789ABCDEF")


def read_enrollment(data_dir: Path, doc, device_id: str, aliases: list[str],
                    public_key: str, ca_fingerprint: str | None = None) -> tuple[dict, x509.Certificate]:
    """Check an enrollment file for this laptop; returns (payload, CA). A first enrollment
    needs `ca_fingerprint`, the CA fingerprint the user compared with the office's."""
    try:
        embedded = json.loads(doc["payload"])["ca_certificate"]
    except (KeyError, TypeError, ValueError) as exc:
        raise FieldCheckError("该文件不是登记文件（格式错误）", _ENROLL_HINT) from exc
    offered = load_cert(embedded, "登记文件中的机构根证书")
    mine = installed_ca(data_dir)
    if mine is not None and mine.public_bytes(serialization.Encoding.DER) != \
            offered.public_bytes(serialization.Encoding.DER):
        raise FieldCheckError(
            f"该登记文件不是本机所属机构（{agency_name(mine)}，{cert_fingerprint(mine)}）签发的",
            "请向本机构办公室索取登记文件；未作任何改动")
    if not issued_by(offered, offered):
        raise FieldCheckError("登记文件中的机构根证书无效", _ENROLL_HINT)
    payload = open_document(doc, offered, ENROLLMENT_FORMAT, "该登记文件")
    device = payload.get("device") or {}
    if device.get("device_id") not in [device_id, *aliases] or device.get("public_key") != public_key:
        raise FieldCheckError("该登记文件是为另一台电脑签发的（设备编号或签名密钥不符）",
                              "请在本机运行 agency request，把生成的申请文件交给办公室登记")
    cert = load_cert(device.get("certificate", ""), "本机设备证书")
    if not issued_by(cert, offered) or device_of_certificate(cert) != (device["device_id"], public_key):
        raise FieldCheckError("登记文件中的本机设备证书无效", _ENROLL_HINT)
    if (when := expired_on(cert)) is not None:
        raise FieldCheckError(f"登记文件中的本机设备证书已于 {when}，未作任何改动",
                              "请检查本机日期，或请办公室重新签发登记文件")
    held = read_json_dict(Path(data_dir) / ENROLLMENT_FILE)
    try:
        held_number = json.loads(held["payload"])["number"] if held else 0
    except (KeyError, TypeError, ValueError):
        held_number = 0
    if not isinstance(payload.get("number"), int) or payload["number"] <= held_number:
        raise FieldCheckError(f"该登记文件（第 {payload.get('number')} 号）不比本机已安装的"
                              f"（第 {held_number} 号）新，可能是旧文件被重复使用，未作任何改动",
                              _ENROLL_HINT)
    rng = payload.get("case_range") or {}
    if not (isinstance(rng.get("start"), int) and isinstance(rng.get("end"), int)
            and 1 <= rng["start"] <= rng["end"]):
        raise FieldCheckError("登记文件中的文书编号段无效", _ENROLL_HINT)
    if mine is None:  # asked last: only a file otherwise sound is put to the user
        offered_fp = cert_fingerprint(offered)
        if ca_fingerprint is None:
            raise CAUnconfirmed(agency_name(offered), offered_fp)
        if normal_ca_fingerprint(ca_fingerprint) != normal_ca_fingerprint(offered_fp):
            raise FieldCheckError(
                f"登记文件中的机构根证书指纹为 {offered_fp}，与核对的 {ca_fingerprint} 不符，未作任何改动",
                "该文件可能被调换；请向办公室当面索取登记文件并核对指纹")
    return payload, offered


def install_enrollment(data_dir: Path, doc: dict, payload: dict, ca: x509.Certificate) -> Joined:
    """Install a checked enrollment: CA, device certificate, range, inspectors' certificates,
    revocation list."""
    from models.inspector_keys import install_issued_certificate
    inspectors = []
    for person in payload.get("inspectors", []):
        cert = load_cert(person.get("certificate", ""), "执法人员证书")
        if not issued_by(cert, ca):
            raise FieldCheckError(f"登记文件中{person.get('name')}的证书不是本机构签发的", _ENROLL_HINT)
        inspectors.append((person, cert))
    for person, cert in inspectors:  # all checked before the first is written
        install_issued_certificate(data_dir, person["id"], cert)
    keystore.write_private(Path(data_dir) / AGENCY_CA_FILE, cert_pem(ca).encode("ascii"))
    device_cert = load_cert(payload["device"]["certificate"])
    rng = payload["case_range"]
    _install_enrollment_parts(data_dir, device_cert, (rng["start"], rng["end"]))
    if payload.get("revocations"):
        accept_revocations(data_dir, payload["revocations"])
    write_json(Path(data_dir) / ENROLLMENT_FILE, doc)
    return Joined(payload["agency"]["name"], cert_fingerprint(ca), (rng["start"], rng["end"]),
                  [{"name": p["name"], "certificate_no": p["certificate_no"]} for p, _ in inspectors],
                  payload["number"])


DEVICE_CERT_FILE = "trust/device-certificate.json"


def _install_enrollment_parts(data_dir: Path, device_cert: x509.Certificate,
                              case_range: tuple[int, int]) -> None:
    write_json(Path(data_dir) / DEVICE_CERT_FILE, {"certificate": cert_pem(device_cert)})
    write_json(Path(data_dir) / CASE_RANGE_FILE, {"start": case_range[0], "end": case_range[1]})


def device_certificate(data_dir: Path) -> str | None:
    """This laptop's device certificate (PEM), once enrolled."""
    got = read_json_dict(Path(data_dir) / DEVICE_CERT_FILE)
    return got.get("certificate") if isinstance(got.get("certificate"), str) else None


# --------------------------------------------------------------------------- revocation

def current_revocations(data_dir: Path) -> dict | None:
    got = read_json_dict(Path(data_dir) / REVOCATIONS_FILE)
    return got or None


def revocation_entries(data_dir: Path) -> list[dict]:
    """The revoked devices and inspectors of the list held here (checked when it arrived)."""
    doc = current_revocations(data_dir)
    ca = installed_ca(data_dir)
    if not doc or ca is None:
        return []
    try:
        return open_document(doc, ca, REVOCATION_FORMAT, "吊销列表").get("revoked", [])
    except FieldCheckError:
        return []


def office_devices(data_dir: Path) -> set[str] | None:
    """The office's device ids, as the agency's signed list held here names them (None: no
    agency, or a list from before lists named them)."""
    doc = current_revocations(data_dir)
    ca = installed_ca(data_dir)
    if not doc or ca is None:
        return None
    try:
        named = open_document(doc, ca, REVOCATION_FORMAT, "吊销列表").get("office_devices")
    except FieldCheckError:
        return None
    return set(named) if isinstance(named, list) else None


def revoked_certificates(data_dir: Path) -> dict[str, tuple[datetime, str]]:
    """Inspectors' certificates revoked by the agency: SHA-256 → (when, reason)."""
    out = {}
    for entry in revocation_entries(data_dir):
        if entry.get("kind") == "inspector":
            at = datetime.fromisoformat(entry["at"])
            for fp in entry.get("fingerprints", []):
                out[fp] = (at, entry.get("reason", ""))
    return out


def write_revocations(data_dir: Path, key, registry: dict, now: datetime) -> dict:
    number = int(registry.get("revocation_number", 0)) + 1
    registry["revocation_number"] = number
    ca = installed_ca(data_dir)
    doc = sign_document(key, {"format": REVOCATION_FORMAT, "number": number,
                              "agency_fingerprint": cert_fingerprint(ca),
                              "issued_at": now.isoformat(), "revoked": registry["revoked"],
                              # who the office is, for laptops (sync.authority: plans, draws,
                              # tasks and 交办 are taken only as the office's)
                              "office_devices": sorted(d for d, info in registry["devices"].items()
                                                       if info.get("office"))})
    _save_registry(data_dir, registry)
    write_json(Path(data_dir) / REVOCATIONS_FILE, doc)
    _keep_revoked_certificates(data_dir)
    return doc


def check_revocations(data_dir: Path, doc) -> int | None:
    """The number of a CA-signed revocation list newer than the one held here; None when it
    is not newer. Raises when it is not signed by this store's agency."""
    ca = installed_ca(data_dir)
    if ca is None:
        return None
    payload = open_document(doc, ca, REVOCATION_FORMAT, "导出包中的吊销列表")
    held = current_revocations(data_dir)
    held_number = json.loads(held["payload"]).get("number", 0) if held else 0
    return payload["number"] if payload.get("number", 0) > held_number else None


@with_state_files_locked
def accept_revocations(data_dir: Path, doc) -> bool:
    if check_revocations(data_dir, doc) is None:
        return False
    write_json(Path(data_dir) / REVOCATIONS_FILE, doc)
    _keep_revoked_certificates(data_dir)
    return True


def _keep_revoked_certificates(data_dir: Path) -> None:
    """The checked list's inspector certificates, for documents.keys (which refuses to sign
    with them and knows nothing of the agency's signatures)."""
    write_json(Path(data_dir) / REVOKED_CERTIFICATES_FILE,
               {fp: {"at": at.isoformat(), "reason": reason}
                for fp, (at, reason) in revoked_certificates(data_dir).items()})


@with_state_files_locked
def revoke(data_dir: Path, passphrase: str | None, *, device_id: str | None = None,
           certificate_no: str | None = None, reason: str, last_seq: int | None = None,
           now: datetime | None = None) -> dict:
    """Add a device or an inspector to the list. A device's events up to `last_seq` (what
    the office holds of its chain now) stay valid; an inspector's signatures made before
    now stay valid."""
    key = keystore.load_agency_key(data_dir, CA_KEY_NAME, passphrase)
    if not reason.strip():
        raise FieldCheckError("请说明吊销原因", "例如：--reason 电脑丢失")
    now = _now(now)
    registry = _registry(data_dir)
    if device_id:
        info = registry["devices"].get(device_id)
        if info is None:
            raise FieldCheckError(f"设备 {device_id} 未在本机构登记", "请用 agency list 查看已登记的设备")
        if info.get("office"):
            raise FieldCheckError("不能吊销办公室本机", "")
        entry = {"kind": "device", "device_id": device_id, "public_key": info["public_key"],
                 "serial": str(info["serial"]), "at": now.isoformat(), "reason": reason.strip(),
                 "last_seq": last_seq or 0}
    elif certificate_no:
        found = [(fp, i) for fp, i in registry["inspectors"].items()
                 if i["certificate_no"] == certificate_no]
        if not found:
            raise FieldCheckError(f"本机构没有为执法证号 {certificate_no} 签发过证书",
                                  "请用 agency list 查看已签发的证书")
        entry = {"kind": "inspector", "certificate_no": certificate_no,
                 "fingerprints": sorted(fp for fp, _ in found), "at": now.isoformat(),
                 "reason": reason.strip()}
    else:
        raise FieldCheckError("请指定要吊销的设备或执法人员", "--device 设备编号 或 --inspector 执法证号")
    registry["revoked"].append(entry)
    write_revocations(data_dir, key, registry, now)
    return entry


def registry_summary(data_dir: Path) -> dict:
    return _registry(data_dir)
