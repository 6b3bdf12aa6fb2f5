"""PAdES signatures on the final documents, and checking them.

`sign_pdf` adds one PAdES B-B signature (SHA-256, invisible field) as an incremental
update, so inspector 1 and inspector 2 sign one after the other and both stay valid.
`verify_pdf` judges integrity on its own — hash, signature mathematics, coverage of the whole
file — and reports trust (the signer's certificate is among `trust_roots`) separately,
since the inspectors' certificates are self-signed. A single changed byte anywhere in the
file makes it "altered": every byte outside the last signature's /Contents is hashed, and
the /Contents themselves must be exactly the canonical hex of the signature blob.
"""
from __future__ import annotations

import hashlib
import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path

from asn1crypto import cms
from asn1crypto import parser as asn1_parser
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers, validation
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from documents.keys import certificate_fingerprint
from models.errors import FieldCheckError
from models.inspector_keys import signed_after_revocation
from models.local_time import agency_text, agency_time

DEFAULT_REASON = "执法文书签章"
# The organizational unit of every demo certificate (documents.demo_signing): a signature
# under it is demo data, whoever made the certificate — the label can only lower trust.
DEMO_CERT_UNIT = "FieldCheck 演示数据"
DEMO_NOTE = "演示数据：本文书由演示数据生成，签名为演示签名，不是执法文书"
ALTERED = "签名数据已被改动"
# Adobe accepts either usage on a signing certificate; pyhanko's default wants nonRepudiation.
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"},
                                 match_all_key_usages=False)


@dataclass(frozen=True)
class SignatureCheck:
    """What one embedded signature says and whether it holds."""

    signer_name: str             # the certificate's CN
    certificate_no: str          # subject serialNumber (or OU); "" when absent
    signed_at: datetime | None   # the signer's own clock (no timestamp server: PAdES B-B)
    intact: bool                 # hash and signature mathematics hold for what it covers
    covers_whole_file: bool
    trusted: bool = False        # the certificate is one of the trust roots
    field_name: str = ""
    fingerprint: str = ""        # SHA-256 of the signer's certificate
    problem: str = ""            # Chinese reason when not intact
    demo: bool = False           # signed with a demo certificate (演示数据)
    issuer: str = ""             # who issued the certificate (the agency, when CA-issued)
    revoked: str = ""            # Chinese reason when signed after its certificate was revoked


@dataclass(frozen=True)
class VerifyReport:
    signed: bool
    intact: bool
    signatures: list[SignatureCheck] = field(default_factory=list)
    problem: str = ""

    @property
    def trusted(self) -> bool:
        return self.signed and all(s.trusted for s in self.signatures)

    @property
    def demo(self) -> bool:
        return any(s.demo for s in self.signatures)

    @property
    def exit_code(self) -> int:
        """0 when signed and intact, 1 when altered, unsigned, or signed with a certificate
        already revoked (the `verify` contract)."""
        revoked = any(s.revoked for s in self.signatures)
        return 0 if self.signed and self.intact and not revoked else 1

    def lines(self) -> list[str]:
        """The report in Chinese, one line per fact, for the CLI and message boxes."""
        if not self.signed:
            return [self.problem or "文件未签名"]
        out = [DEMO_NOTE] if self.demo else []
        out += [f"签名 {i}：{_describe(s)}" for i, s in enumerate(self.signatures, 1)]
        revoked = [s.revoked for s in self.signatures if s.revoked]
        if revoked:
            out.append(f"结论：签名无效（{revoked[0]}）")
        elif self.intact:
            out.append("结论：文件完整，签名后未被改动")
        else:
            out.append(f"结论：文件已被改动或签名无效（{self.problem}）")
        return out


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _SignerAt(signers.PdfSigner):
    """A PdfSigner that writes the given signing moment instead of reading its own clock."""

    def __init__(self, meta: signers.PdfSignatureMetadata, signer: signers.Signer,
                 moment: datetime) -> None:
        super().__init__(meta, signer=signer)
        self._moment = moment

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._moment  # PAdES: the signature dictionary's /M
        return session


def sign_pdf(pdf_bytes: bytes, signer: signers.Signer, field_name: str,
             reason: str = DEFAULT_REASON, location: str = "",
             signed_at: datetime | None = None) -> bytes:
    """Add one PAdES B-B signature in a new invisible field; returns the signed file.

    `signed_at` is the moment of signing on site (default: now), written in the agency's
    local time; it is covered by the signature, so it can never be changed afterwards."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason=reason or None, location=location or None)
    moment = agency_time(signed_at or datetime.now(timezone.utc))
    out = io.BytesIO()
    _SignerAt(meta, signer, moment).sign_pdf(writer, output=out)
    return out.getvalue()


def verify_pdf(source: bytes | str | PathLike, trust_roots: list | None = None,
               revoked: dict | None = None) -> VerifyReport:
    """Who signed, when, and whether the file is exactly as signed. `revoked`: certificate
    SHA-256 → (revoked at, reason); a signature made after that moment is refused, one made
    before stays valid."""
    data = _read(source)
    try:
        with _quiet_pyhanko():
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            embedded = sorted(reader.embedded_regular_signatures,
                              key=lambda s: s.signed_revision)
    except Exception:  # noqa: BLE001 — any unreadable structure is a damaged file
        embedded = []
    if not embedded:
        # Traces of a signature that no longer reads as one: damaged, not merely unsigned.
        if b"/ByteRange" in data:
            return VerifyReport(True, False, [], "签名结构已损坏，无法读取")
        return VerifyReport(False, False, [], "文件未签名")
    with _quiet_pyhanko():
        checks = [_check(sig, data, list(trust_roots or [])) for sig in embedded]
    checks = [_revocation(c, revoked or {}) for c in checks]
    return VerifyReport(True, *_judge(checks))


def _revocation(check: SignatureCheck, revoked: dict) -> SignatureCheck:
    from dataclasses import replace
    if check.fingerprint not in revoked:
        return check
    at, reason = revoked[check.fingerprint]
    if not signed_after_revocation(check.signed_at, at):
        return check  # signed before the revocation: stays valid
    return replace(check, trusted=False,
                   revoked=f"签名证书已于 {at.astimezone():%Y-%m-%d %H:%M} 被吊销（{reason}），此后的签名无效")


def _judge(checks: list[SignatureCheck]) -> tuple[bool, list[SignatureCheck], str]:
    broken = [c for c in checks if not c.intact]
    if broken:
        return False, checks, broken[0].problem
    if not checks[-1].covers_whole_file:
        return False, checks, "最后一次签名之后文件又被改动"
    return True, checks, ""


def _check(sig, data: bytes, trust_roots: list) -> SignatureCheck:
    try:
        who = _signer(sig)
        problem = _contents_problem(sig, data)
        context = ValidationContext(trust_roots=trust_roots, allow_fetching=False,
                                    moment=sig.self_reported_timestamp)
        status = validation.validate_pdf_signature(sig, context, key_usage_settings=_KEY_USAGE)
    except Exception:  # noqa: BLE001 — a mangled signature blob raises instead of reporting
        return SignatureCheck("", "", None, intact=False, covers_whole_file=False,
                              field_name=_field_name(sig), problem="签名数据已损坏")
    problem = problem or _status_problem(status)
    return SignatureCheck(
        signed_at=status.signer_reported_dt, intact=not problem,
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=bool(status.trusted), problem=problem, field_name=_field_name(sig), **who)


def is_demo_signer(signer) -> bool:
    """A signer (pyhanko SimpleSigner) whose certificate is one of the demo's."""
    subject = signer.signing_cert.subject.native
    units = subject.get("organizational_unit_name")
    units = units if isinstance(units, list) else [units] if units else []
    return DEMO_CERT_UNIT in units


def _signer(sig) -> dict:
    cert = sig.signer_cert
    subject = cert.subject.native
    units = subject.get("organizational_unit_name")
    units = units if isinstance(units, list) else [units] if units else []
    demo = DEMO_CERT_UNIT in units
    number = subject.get("serial_number") or ("" if demo else _first(units))
    issuer = cert.issuer.native
    return dict(signer_name=_first(subject.get("common_name")), certificate_no=number or "",
                fingerprint=certificate_fingerprint(cert), demo=demo,
                issuer="" if cert.issuer == cert.subject else (_first(issuer.get("organization_name"))
                                                    or _first(issuer.get("common_name"))))


def _field_name(sig) -> str:
    try:
        return str(sig.field_name or "")
    except Exception:  # noqa: BLE001
        return ""


def _status_problem(status) -> str:
    if not status.intact:
        return "文件内容与签名时不一致（摘要不符）"
    if not status.valid:
        return "签名值无效"
    if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        return "签名未覆盖其所签的整个版本"
    if not (status.docmdp_ok or status.modification_level is None):
        return "签名之后文件被作了不允许的修改"
    stamp = status.timestamp_validity
    if stamp is not None and not (stamp.intact and stamp.valid):
        return "签名所附的时间戳已被改动"
    return ""


def _contents_problem(sig, data: bytes) -> str:
    """The /Contents bytes lie outside the hash, and parts of a CMS blob are not signed (its
    lengths, version, digest list, content type, extra certificates): none of them may differ
    from what a signer writes, or a changed byte there would go unnoticed."""
    _, len1, start2, _ = sig.byte_range
    blob = sig.pkcs7_content
    hexed = blob.hex().encode()
    if data[len1:start2] not in (b"<" + hexed + b">", b"<" + hexed.upper() + b">"):
        return ALTERED
    try:
        size = _der_size(blob)
        if blob[size:].strip(b"\0"):
            return ALTERED
        return "" if _cms_is_canonical(cms.ContentInfo.load(blob[:size])) else ALTERED
    except (ValueError, TypeError, KeyError):
        return ALTERED


def _der_size(blob: bytes) -> int:
    """Length of the DER element at the start of `blob`; ValueError unless every nested
    element is minimally encoded, definite-length and exactly fills its parent."""
    class_, method, tag, header, content, trailer = asn1_parser.parse(blob)
    if trailer or (class_ == 0 and tag == 0) or \
            asn1_parser.emit(class_, method, tag, content) != header + content:
        raise ValueError("not DER")
    pos = 0
    while method == 1 and pos < len(content):
        pos += _der_size(content[pos:])
    return len(header) + len(content)


def _cms_is_canonical(info: cms.ContentInfo) -> bool:
    signed = info["content"]
    encap = signed["encap_content_info"]
    signer_infos = list(signed["signer_infos"])
    sid_v3 = any(si["sid"].name == "subject_key_identifier" for si in signer_infos)
    expected_version = "v3" if sid_v3 or encap["content_type"].native != "data" else "v1"
    return (info["content_type"].native == "signed_data"
            and signed["version"].native == expected_version
            and encap["content_type"].native == "data" and encap["content"].native is None
            and all(si["version"].native == ("v3" if si["sid"].name == "subject_key_identifier"
                                             else "v1") for si in signer_infos)
            and {_algorithm(a) for a in signed["digest_algorithms"]}
            == {_algorithm(si["digest_algorithm"]) for si in signer_infos}
            and all(_names_a_certificate(si["sid"], signed["certificates"]) for si in signer_infos)
            and all(_explicit_mechanism(si) for si in signer_infos)
            and _chain_certificates_intact(signed["certificates"]))


def _explicit_mechanism(signer_info) -> bool:
    """The signature algorithm must name its digest, as FieldCheck's signatures do: the bare
    rsaEncryption identifier verifies the same signature, so one changed byte (…0B → …01)
    would otherwise pass. Signatures of other tools that use it are reported as altered."""
    name = signer_info["signature_algorithm"]["algorithm"].native
    if name in ("rsassa_pkcs1v15", "dsa", "ecdsa"):
        return False
    if name.endswith(("_rsa", "_dsa", "_ecdsa")):
        return name.rsplit("_", 1)[0] == signer_info["digest_algorithm"]["algorithm"].native
    return True   # RSASSA-PSS (digest in its parameters), Ed25519, Ed448


def _names_a_certificate(sid, choices) -> bool:
    """The signer identifier must match a certificate byte for byte (name matching elsewhere
    ignores letter case, so a changed letter would still find the certificate)."""
    certs = [c.chosen for c in choices or [] if c.name == "certificate"]
    if sid.name == "subject_key_identifier":
        return any(c.key_identifier == sid.chosen.native for c in certs)
    wanted = (sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native)
    return any((c.issuer.dump(), c.serial_number) == wanted for c in certs)


def _algorithm(identifier) -> tuple[str, bytes]:
    params = identifier["parameters"]
    null_or_absent = params.native is None and params.dump() in (b"", b"\x05\x00")
    return identifier["algorithm"].dotted, b"" if null_or_absent else params.dump()


def _chain_certificates_intact(choices) -> bool:
    """Extra certificates are outside the signature: each must verify under an issuer in the set."""
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in choices or []
             if c.name == "certificate"]
    for cert in certs:
        issuers = [i for i in certs if i.subject == cert.issuer]
        if issuers and not any(_issued_by(cert, i) for i in issuers):
            return False
    return True


def _issued_by(cert, issuer) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


@contextmanager
def _quiet_pyhanko():
    """pyhanko logs every untrusted certificate and odd structure with a traceback; the
    report says it all, so keep those lines off the console while verifying."""
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _first(value) -> str:
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


def _describe(s: SignatureCheck) -> str:
    who = s.signer_name + (f"（证号 {s.certificate_no}）" if s.certificate_no else "")
    when = agency_text(s.signed_at, "%Y-%m-%d %H:%M:%S", "时间不明")
    state = "完好" if s.intact else f"无效：{s.problem}"
    if s.demo:
        trust = "，演示证书（演示数据）"
    elif s.trusted and s.issuer:
        trust = f"，证书由 {s.issuer} 签发（本机构根证书验证通过）"
    elif s.trusted:
        trust = "，证书为本机已知执法人员"
    else:
        trust = "，证书不在本机信任列表中" + (f"（签发者：{s.issuer}）" if s.issuer else "")
    return f"{who}，签于 {when}，{state}{trust}" + (f"；{s.revoked}" if s.revoked else "")


def _read(source: bytes | str | PathLike) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    path = Path(source)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FieldCheckError(f"找不到文件 {path}", "请检查文件路径") from None
    except OSError as exc:
        raise FieldCheckError(f"无法读取文件 {path}（{exc.strerror or exc}）",
                              "请检查文件是否可读") from exc
