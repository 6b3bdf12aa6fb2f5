"""Each inspector's signing identity: a private key and certificate in a PKCS#12 file.

Stored in the data folder as `keys/<inspector_id>.p12`, encrypted with the inspector's
passphrase, next to `keys/<inspector_id>.crt` (the public certificate, PEM; every certificate
ever stored is also kept as `keys/certificates/<sha256>.crt`) so documents can be checked
against the known inspectors without any passphrase. An identity is either made
here (RSA 2048, self-signed, 5 years) or imported from the agency's PKCS#12 file.

Demo signing keys are not kept here: only a demo store has them (documents.demo_signing).
Kept in models/ (files and cryptography only) so that documents (which sign with them:
documents.keys.load_identity) and sync (agency enrollment installs their certificates) both
use one place, neither importing the other.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from models.errors import FieldCheckError
from models.paths import (AGENCY_CA_FILE, REVOKED_CERTIFICATES_FILE, atomic_write_bytes,
                          read_json_dict)

KEYS_DIR = "keys"
PAST_CERTS_DIR = "certificates"
MIN_PASSPHRASE_LENGTH = 8
VALIDITY = timedelta(days=5 * 365 + 1)
_SIGNING_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
                 ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
WRONG_PASSPHRASE = "签名证书口令不正确"
_IMPORT_HINT = "请向本单位索取正确的签名证书文件（.p12 / .pfx）及其口令"


def signed_after_revocation(signed_at: datetime | None, revoked_at: datetime) -> bool:
    """Whether a signature made at `signed_at` falls after its certificate's revocation (and is
    then invalid). A PDF's signing time has whole seconds: the second of the revocation counts
    as after, so that a document signed in that second is never taken for one signed before."""
    return signed_at is None or signed_at >= revoked_at.replace(microsecond=0)


def key_path(data_dir: Path, inspector_id: uuid.UUID | str) -> Path:
    return Path(data_dir) / KEYS_DIR / f"{inspector_id}.p12"


def certificate_path(data_dir: Path, inspector_id: uuid.UUID | str) -> Path:
    return Path(data_dir) / KEYS_DIR / f"{inspector_id}.crt"


def identity_exists(data_dir: Path, inspector_id: uuid.UUID | str) -> bool:
    return key_path(data_dir, inspector_id).is_file()


def create_inspector_identity(data_dir: Path, inspector_id: uuid.UUID | str, name: str,
                              certificate_no: str, passphrase: str, agency_name: str,
                              now: datetime | None = None, *, demo: bool = False) -> Path:
    """Make a key pair and a self-signed certificate; store them under the passphrase (the
    agency later issues its own certificate for the key: `agency request` / `join`)."""
    if not demo:  # demo identities use the public DEMO_PASSPHRASE on purpose
        _check_new_passphrase(passphrase)
    now = now or datetime.now(timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed_certificate(key, name, certificate_no, agency_name, now)
    p12 = pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), key, cert, None,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")))
    return _store(data_dir, inspector_id, p12, cert)


def import_pkcs12(data_dir: Path, inspector_id: uuid.UUID | str, p12_bytes: bytes,
                  passphrase: str, now: datetime | None = None) -> Path:
    """Check the agency's PKCS#12 file opens and can sign, then keep it as it is."""
    if not passphrase:
        raise FieldCheckError("请输入该证书文件的口令",
                              "没有口令保护的证书文件不能导入；请先用证书工具为其设置口令")
    key, cert = _open_pkcs12(p12_bytes, passphrase, _IMPORT_HINT)
    _check_importable(key, cert, now or datetime.now(timezone.utc))
    return _store(data_dir, inspector_id, p12_bytes, cert)


def signing_pkcs12(data_dir: Path, inspector_id: uuid.UUID | str,
                   passphrase: str) -> tuple[bytes, bytes | None]:
    """The PKCS#12 data (and its passphrase) to sign with for an inspector: the agency's
    certificate for the key where one is installed; a Chinese error on a wrong passphrase, a
    missing or unreadable key file, or a revoked certificate."""
    path = key_path(data_dir, inspector_id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FieldCheckError("该执法人员尚未设置签名证书",
                              "请在“设置 → 执法人员”中生成或导入签名证书") from None
    except OSError as exc:
        raise FieldCheckError(f"无法读取签名证书文件 {path}（{exc.strerror or exc}）",
                              "请检查数据文件夹是否可读") from exc
    key, own = _open_pkcs12(data, passphrase, "请从备份恢复该执法人员的签名证书文件，或重新生成")
    issued = _issued_certificate(data_dir, inspector_id, key)
    _refuse_revoked(data_dir, issued[0] if issued else own)
    if issued is not None:
        # The agency's certificate for this key, with the agency's CA beside it: pdfsig and
        # other readers can build the chain to the agency from the document alone.
        cert, ca = issued
        return pkcs12.serialize_key_and_certificates(
            b"fieldcheck", key, cert, [ca], serialization.NoEncryption()), None
    return data, passphrase.encode("utf-8")


def _refuse_revoked(data_dir: Path, cert: x509.Certificate) -> None:
    revoked = read_json_dict(Path(data_dir) / REVOKED_CERTIFICATES_FILE).get(
        certificate_fingerprint(cert))
    if isinstance(revoked, dict):
        raise FieldCheckError(f"该执法人员的签名证书已于 {str(revoked.get('at'))[:10]} 被机构吊销"
                              f"（{revoked.get('reason')}），不能再签署文书",
                              "请由其他执法人员签署，或向办公室申请新的证书")


def agency_certificate(data_dir: Path) -> x509.Certificate | None:
    """The agency's CA certificate installed by `agency create` / `agency join`, if any."""
    try:
        return x509.load_pem_x509_certificate((Path(data_dir) / AGENCY_CA_FILE).read_bytes())
    except (OSError, ValueError):
        return None


def _issued_certificate(data_dir: Path, inspector_id, key):
    ca = agency_certificate(data_dir)
    try:
        cert = x509.load_pem_x509_certificate(certificate_path(data_dir, inspector_id).read_bytes())
    except (OSError, ValueError):
        return None
    if ca is None or cert.issuer != ca.subject or cert.subject == cert.issuer:
        return None
    if _public_der(cert.public_key()) != _public_der(key.public_key()):
        return None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return None
    return cert, ca


def signing_request(data_dir: Path, inspector_id: uuid.UUID | str, name: str,
                    certificate_no: str, passphrase: str, agency_name: str) -> str:
    """A certificate request (PEM) for the inspector's key — made here first when the
    inspector has none — for the office to sign (`agency enroll`)."""
    if not identity_exists(data_dir, inspector_id):
        create_inspector_identity(data_dir, inspector_id, name, certificate_no, passphrase,
                                  agency_name)
    key, _ = _open_pkcs12(key_path(data_dir, inspector_id).read_bytes(), passphrase,
                          "请从备份恢复该执法人员的签名证书文件，或重新生成")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.SERIAL_NUMBER, certificate_no)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")



def _keep_certificate(data_dir: Path, inspector_id, cert, *, current: bool) -> None:
    """Write the inspector's certificate (as the current one when `current`) and keep it
    among the past ones: documents signed before a key was replaced still show as signed
    by a known inspector."""
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if current:
        atomic_write_bytes(certificate_path(data_dir, inspector_id), pem)
    atomic_write_bytes(Path(data_dir) / KEYS_DIR / PAST_CERTS_DIR
                       / f"{certificate_fingerprint(cert)}.crt", pem)


def _cannot_save(exc: OSError) -> FieldCheckError:
    return FieldCheckError(f"无法保存签名证书（{exc.strerror or exc}）",
                           "请检查数据文件夹是否可写、磁盘是否已满")

def install_issued_certificate(data_dir: Path, inspector_id: uuid.UUID | str,
                               cert: x509.Certificate) -> None:
    """Keep the agency's certificate for an inspector's key (from an enrollment file); used
    at the next signing. A certificate for a key other than the one held here is refused."""
    try:
        held = x509.load_pem_x509_certificate(certificate_path(data_dir, inspector_id).read_bytes())
    except (OSError, ValueError):
        held = None
    if held is not None and _public_der(held.public_key()) != _public_der(cert.public_key()):
        raise FieldCheckError("登记文件中执法人员的证书与本机保存的签名密钥不符",
                              "请在本机重新运行 agency request，再向办公室登记")
    try:
        _keep_certificate(data_dir, inspector_id, cert, current=held is not None)
    except OSError as exc:
        raise _cannot_save(exc) from exc


def trusted_certificates(data_dir: Path) -> list[asn1_x509.Certificate]:
    """The certificates of every identity kept in this data folder and the agency's CA
    (every certificate it issued chains to it), for verification."""
    folder = Path(data_dir) / KEYS_DIR
    found: dict[bytes, asn1_x509.Certificate] = {}
    ca = agency_certificate(data_dir)
    if ca is not None:
        der = ca.public_bytes(serialization.Encoding.DER)
        found[der] = asn1_x509.Certificate.load(der)
    for path in sorted(folder.rglob("*.crt")) if folder.is_dir() else []:
        try:
            der = x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
                serialization.Encoding.DER)
        except (OSError, ValueError):
            continue  # a damaged public copy only costs trust, never integrity
        found.setdefault(der, asn1_x509.Certificate.load(der))
    return list(found.values())


def certificate_fingerprint(cert) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex (cryptography or asn1crypto)."""
    if isinstance(cert, x509.Certificate):
        der = cert.public_bytes(serialization.Encoding.DER)
    else:
        der = cert.dump()
    return hashlib.sha256(der).hexdigest()


def new_passphrase_problem(passphrase: str) -> str | None:
    """Why a new passphrase would be refused (to show next to its field), or None."""
    try:
        _check_new_passphrase(passphrase)
    except FieldCheckError as exc:
        return exc.message
    return None


def _check_new_passphrase(passphrase: str) -> None:
    if len(passphrase or "") < MIN_PASSPHRASE_LENGTH:
        raise FieldCheckError(f"签名证书口令至少需要 {MIN_PASSPHRASE_LENGTH} 个字符",
                              "请设置一个只有本人知道的口令，签署文书时需要输入")


def _self_signed_certificate(key, name: str, certificate_no: str, agency_name: str,
                             now: datetime) -> x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if agency_name:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name))
    if certificate_no:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, certificate_no))
    attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"))
    subject = x509.Name(attrs)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))  # a laptop clock a little behind
            .not_valid_after(now + VALIDITY)
            .add_extension(usage, critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))


def _open_pkcs12(data: bytes, passphrase: str, hint: str):
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, (passphrase or "").encode("utf-8"))
    except ValueError:
        if _looks_like_pkcs12(data):
            raise FieldCheckError(WRONG_PASSPHRASE, "请重新输入口令（区分大小写）") from None
        raise FieldCheckError("该文件不是有效的签名证书（PKCS#12）文件", hint) from None
    if key is None or cert is None:
        raise FieldCheckError("签名证书文件中缺少私钥或证书", hint)
    return key, cert


def _looks_like_pkcs12(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return pfx["auth_safe"]["content_type"].native in ("data", "signed_data")
    except (ValueError, TypeError, KeyError):
        return False


def _check_importable(key, cert: x509.Certificate, now: datetime) -> None:
    if not isinstance(key, _SIGNING_KEYS):
        raise FieldCheckError("签名证书的密钥类型不受支持", _IMPORT_HINT)
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise FieldCheckError("签名证书文件中的私钥与证书不匹配", _IMPORT_HINT)
    if cert.not_valid_after_utc < now:
        raise FieldCheckError(
            f"签名证书已于 {cert.not_valid_after_utc:%Y-%m-%d} 过期", "请向本单位申请更新证书")
    if cert.not_valid_before_utc > now:
        raise FieldCheckError(
            f"签名证书自 {cert.not_valid_before_utc:%Y-%m-%d} 起才生效", "请检查本机日期，或等证书生效后再导入")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.content_commitment or usage.digital_signature):
        raise FieldCheckError("该证书不能用于文书签名（密钥用法不含数字签名）",
                              "请向本单位索取用于电子签名的证书")


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _store(data_dir: Path, inspector_id, p12: bytes, cert: x509.Certificate) -> Path:
    target = key_path(data_dir, inspector_id)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            os.chmod(target.parent, 0o700)  # key files 0600 in a 0700 folder
        atomic_write_bytes(target, p12)
        if os.name == "posix":
            os.chmod(target, 0o600)
        _keep_certificate(data_dir, inspector_id, cert, current=True)
    except OSError as exc:
        raise _cannot_save(exc) from exc
    return target
