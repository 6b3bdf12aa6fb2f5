"""Inspector identities, PAdES signatures on the final PDFs and checking them byte for byte."""
import io
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from reportlab.pdfgen import canvas

from documents import keys
from documents.signing import sha256_hex, sign_pdf, verify_pdf
from models.errors import FieldCheckError

AGENCY = "湘乡市应急管理局"
ZHANG = dict(name="张卫东", certificate_no="43038120001", passphrase="zhang-2026")
LI = dict(name="李晓红", certificate_no="43038120002", passphrase="lixh-2026")


def small_pdf(text: str = "Inspection record 2026-11-02") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, pageCompression=0)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def make_identity(data_dir, person) -> uuid.UUID:
    inspector_id = uuid.uuid4()
    keys.create_inspector_identity(data_dir, inspector_id, person["name"],
                                   person["certificate_no"], person["passphrase"], AGENCY)
    return inspector_id


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """One identity per inspector, a one-signature file and a two-signature file."""
    data_dir = tmp_path_factory.mktemp("signing")
    zhang, li = make_identity(data_dir, ZHANG), make_identity(data_dir, LI)
    once = sign_pdf(small_pdf(), keys.load_identity(data_dir, zhang, ZHANG["passphrase"]),
                    "inspector1", location="湘乡市")
    twice = sign_pdf(once, keys.load_identity(data_dir, li, LI["passphrase"]), "inspector2")
    return dict(data_dir=data_dir, once=once, twice=twice, zhang=zhang)


def flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def contents_span(data: bytes, which: int = -1) -> tuple[int, int]:
    """(start, end) of the hex between < and > of a signature's /Contents."""
    starts = []
    pos = data.find(b"/Contents <")
    while pos != -1:
        starts.append(pos + len(b"/Contents <"))
        pos = data.find(b"/Contents <", pos + 1)
    start = starts[which]
    return start, data.index(b">", start)


def cms_offset(data: bytes, part) -> int:
    """File offset of the hex digit in the middle of one DER part of the last signature."""
    start, end = contents_span(data)
    blob = bytes.fromhex(data[start:end].decode())
    der = part(cms.ContentInfo.load(blob)["content"]).dump()
    return start + 2 * blob.index(der) + len(der)


def test_identity_is_a_signing_certificate_for_the_inspector(tmp_path):
    """A new identity: RSA key, self-signed certificate with name, agency, number, usage, 5 years."""
    inspector_id = make_identity(tmp_path, ZHANG)
    assert keys.identity_exists(tmp_path, inspector_id)
    assert not keys.identity_exists(tmp_path, uuid.uuid4())
    p12 = (tmp_path / "keys" / f"{inspector_id}.p12").read_bytes()
    key, cert, _ = pkcs12.load_key_and_certificates(p12, ZHANG["passphrase"].encode())
    assert key is not None
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "张卫东"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == AGENCY
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "43038120001"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    years = (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365
    assert 4.9 < years < 5.1
    assert keys.certificate_fingerprint(cert) == keys.certificate_fingerprint(
        keys.trusted_certificates(tmp_path)[0])


def test_identity_file_needs_the_passphrase(tmp_path):
    """The stored PKCS#12 does not open without the passphrase."""
    inspector_id = make_identity(tmp_path, ZHANG)
    p12 = keys.key_path(tmp_path, inspector_id).read_bytes()
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(p12, None)


def test_replaced_identity_keeps_old_documents_trusted(tmp_path):
    """After a new key for the same inspector, a document signed with the old one stays trusted."""
    inspector_id = make_identity(tmp_path, ZHANG)
    old = sign_pdf(small_pdf(), keys.load_identity(tmp_path, inspector_id, ZHANG["passphrase"]),
                   "inspector1")
    keys.create_inspector_identity(tmp_path, inspector_id, "张卫东", "43038120001", "new-pass",
                                   AGENCY)
    assert len(keys.trusted_certificates(tmp_path)) == 2
    assert verify_pdf(old, trust_roots=keys.trusted_certificates(tmp_path)).trusted


def test_wrong_passphrase_gives_a_chinese_error(tmp_path):
    """Loading an identity with the wrong passphrase says so in Chinese."""
    inspector_id = make_identity(tmp_path, ZHANG)
    with pytest.raises(FieldCheckError, match="口令不正确"):
        keys.load_identity(tmp_path, inspector_id, "wrong")


def test_missing_identity_says_to_set_one_up(tmp_path):
    """Signing as an inspector without an identity names what to do."""
    with pytest.raises(FieldCheckError, match="尚未设置签名证书"):
        keys.load_identity(tmp_path, uuid.uuid4(), "whatever")


def test_too_short_passphrase_is_refused(tmp_path):
    """A passphrase shorter than eight characters is refused before any key is made (#11)."""
    with pytest.raises(FieldCheckError, match="口令至少需要 8 个字符"):
        keys.create_inspector_identity(tmp_path, uuid.uuid4(), "张卫东", "1", "abcdefg", AGENCY)
    assert not (tmp_path / "keys").exists()


def test_signed_pdf_verifies_as_intact_with_the_signer(signed):
    """A signed file is signed and intact, naming the signer, number, time and full coverage."""
    report = verify_pdf(signed["once"])
    assert report.signed and report.intact and report.exit_code == 0
    (sig,) = report.signatures
    assert (sig.signer_name, sig.certificate_no) == ("张卫东", "43038120001")
    assert sig.intact and sig.covers_whole_file and sig.field_name == "inspector1"
    assert abs(sig.signed_at - datetime.now(timezone.utc)) < timedelta(minutes=10)


def test_trust_is_reported_apart_from_integrity(signed):
    """Self-signed: intact but untrusted by default, trusted with the data folder's certificates."""
    assert not verify_pdf(signed["once"]).trusted
    roots = keys.trusted_certificates(signed["data_dir"])
    report = verify_pdf(signed["once"], trust_roots=roots)
    assert report.intact and report.trusted
    assert "证书为本机已知执法人员" in "\n".join(report.lines())


def test_two_signatures_in_sequence_both_validate(signed):
    """Inspector 1 then inspector 2: both signatures hold, the last covers the whole file."""
    report = verify_pdf(signed["twice"])
    assert report.signed and report.intact
    assert [s.signer_name for s in report.signatures] == ["张卫东", "李晓红"]
    assert all(s.intact for s in report.signatures)
    assert [s.covers_whole_file for s in report.signatures] == [False, True]


def test_verify_reads_a_path(signed, tmp_path):
    """verify_pdf accepts a file path as well as bytes."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed["twice"])
    assert verify_pdf(path).intact
    assert verify_pdf(str(path)).intact


def test_missing_file_gives_a_chinese_error(tmp_path):
    """Verifying a file that is not there is the user's situation, not a crash."""
    with pytest.raises(FieldCheckError, match="找不到文件"):
        verify_pdf(tmp_path / "nope.pdf")


TAMPER_SPOTS = {
    "page content": lambda d: d.index(b"Inspection record") + 3,
    "first signature's byte range": lambda d: d.index(b"/ByteRange") + 14,
    "signed attributes": lambda d: cms_offset(d, lambda sd: sd["signer_infos"][0]["signed_attrs"]),
    "signature value": lambda d: cms_offset(d, lambda sd: sd["signer_infos"][0]["signature"]),
    "signer's certificate": lambda d: cms_offset(d, lambda sd: sd["certificates"][0]),
    "CMS digest algorithm list": lambda d: cms_offset(d, lambda sd: sd["digest_algorithms"]),
    "CMS content type": lambda d: cms_offset(d, lambda sd: sd["encap_content_info"]),
    "CMS outer length": lambda d: contents_span(d)[0] + 6,
    "zero padding of /Contents": lambda d: contents_span(d)[1] - 1,
    "startxref near the end": lambda d: len(d) - 10,
    "last byte": lambda d: len(d) - 1,
}


@pytest.mark.parametrize("file", ["once", "twice"])
@pytest.mark.parametrize("spot", TAMPER_SPOTS)
def test_any_single_changed_byte_is_caught(signed, file, spot):
    """Flipping one bit anywhere — content, signed attributes, unsigned CMS parts, end — alters."""
    data = signed[file]
    offset = TAMPER_SPOTS[spot](data)
    assert 0 <= offset < len(data)
    report = verify_pdf(flip(data, offset))
    assert not report.intact and report.exit_code == 1


@pytest.mark.parametrize("extra", [b"x", b"\n", b" "])
def test_a_byte_appended_after_eof_counts_as_altered(signed, extra):
    """Even whitespace after %%EOF means the last signature no longer covers the file."""
    report = verify_pdf(signed["twice"] + extra)
    assert report.signed and not report.intact
    assert not report.signatures[-1].covers_whole_file


def test_hex_case_change_in_contents_is_caught(signed):
    """A hex digit of /Contents changed only in letter case is still a changed byte."""
    data = signed["once"]
    start, end = contents_span(data)
    letter = next(i for i in range(start, end) if chr(data[i]).isalpha())
    changed = bytearray(data)
    changed[letter] ^= 0x20
    assert not verify_pdf(bytes(changed)).intact


def replace_in_signer_info(data: bytes, field: str, find: bytes, digit: bytes,
                           nibble: int = 0) -> bytes:
    """Swap one hex digit of /Contents: a nibble of the byte starting `find` in one field of
    the last signature's SignerInfo (the certificate holds look-alike bytes, so search there)."""
    start, end = contents_span(data)
    blob = bytes.fromhex(data[start:end].decode())
    signer_info = cms.ContentInfo.load(blob)["content"]["signer_infos"][0]
    outer, inner = signer_info.dump(), signer_info[field].dump()
    at = blob.index(outer) + outer.index(inner) + inner.rindex(find)
    offset = start + 2 * at + nibble
    assert data[offset:offset + 1] != digit
    return data[:offset] + digit + data[offset + 1:]


def test_signature_algorithm_swapped_for_its_bare_twin_is_caught(signed):
    """sha256WithRSAEncryption → rsaEncryption (one hex digit) verifies the same: still altered."""
    changed = replace_in_signer_info(signed["twice"], "signature_algorithm", b"\x0b\x05\x00",
                                     b"1", nibble=1)
    assert not verify_pdf(changed).intact


def test_signer_identifier_in_another_letter_case_is_caught(signed):
    """C=CN → C=cN in the signer identifier still finds the certificate: still altered."""
    changed = replace_in_signer_info(signed["twice"], "sid", b"CN", b"6")
    assert not verify_pdf(changed).intact


def test_sweep_of_single_byte_changes(signed):
    """A stride through the whole two-signature file: no flipped byte leaves it intact."""
    data = signed["twice"]
    survivors = [i for i in range(0, len(data), 53) if verify_pdf(flip(data, i)).intact]
    assert survivors == []


def test_corrupted_signature_blob_is_reported_not_raised(signed):
    """Garbage in the middle of /Contents gives intact False, not an exception."""
    data = signed["twice"]
    start, end = contents_span(data, which=0)
    middle = (start + end) // 2
    garbled = data[:middle] + b"ZZ" + data[middle + 2:]
    report = verify_pdf(garbled)
    assert report.signed and not report.intact and report.exit_code == 1


def test_unsigned_pdf_is_reported_unsigned():
    """A PDF without signatures: signed False, exit code 1, a Chinese line saying so."""
    report = verify_pdf(small_pdf())
    assert not report.signed and not report.intact and report.exit_code == 1
    assert report.lines() == ["文件未签名"]


def test_not_a_pdf_is_reported_unsigned():
    """Bytes that are no PDF at all are reported, not raised."""
    assert verify_pdf(b"hello").exit_code == 1


def test_report_lines_say_who_when_and_verdict(signed):
    """The report reads in Chinese: each signer with number and time, then the verdict."""
    lines = verify_pdf(signed["twice"]).lines()
    assert lines[0].startswith("签名 1：张卫东（证号 43038120001），签于 ")
    assert lines[1].startswith("签名 2：李晓红")
    assert lines[-1] == "结论：文件完整，签名后未被改动"
    assert verify_pdf(signed["twice"] + b"x").lines()[-1].startswith("结论：文件已被改动")


def test_sha256_hex_is_the_documents_digest(signed):
    """sha256_hex gives the 64-digit lowercase digest stored with a document."""
    digest = sha256_hex(signed["once"])
    assert len(digest) == 64 and digest == digest.lower()
    assert digest != sha256_hex(signed["twice"])


def agency_p12(passphrase: bytes, *, days: int = 365, usage: bool = True,
               start: datetime | None = None) -> bytes:
    """A PKCS#12 file as an agency CA might hand out (EC P-256 key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "王建军"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "43038120009")])
    start = start or datetime.now(timezone.utc) - timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=days)))
    if usage:
        builder = builder.add_extension(x509.KeyUsage(True, True, False, False, False, False,
                                                      False, False, False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(False, False, True, False, False, False,
                                                      False, False, False), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    return pkcs12.serialize_key_and_certificates(
        b"agency", key, cert, None, serialization.BestAvailableEncryption(passphrase))


def test_imported_pkcs12_signs_and_verifies(tmp_path):
    """An agency PKCS#12 file is imported as is, loads with its passphrase and signs."""
    inspector_id = uuid.uuid4()
    keys.import_pkcs12(tmp_path, inspector_id, agency_p12(b"agency-pass"), "agency-pass")
    assert keys.identity_exists(tmp_path, inspector_id)
    signer = keys.load_identity(tmp_path, inspector_id, "agency-pass")
    report = verify_pdf(sign_pdf(small_pdf(), signer, "inspector1"),
                        trust_roots=keys.trusted_certificates(tmp_path))
    assert report.intact and report.trusted
    assert (report.signatures[0].signer_name, report.signatures[0].certificate_no) == \
        ("王建军", "43038120009")


@pytest.mark.parametrize("data, passphrase, message", [
    (b"this is not a certificate", "x", "不是有效的签名证书"),
    (b"\x30\x03\x02\x01\x03", "x", "不是有效的签名证书"),
])
def test_garbage_import_is_refused(tmp_path, data, passphrase, message):
    """A file that is no PKCS#12 is refused in Chinese and nothing is stored."""
    with pytest.raises(FieldCheckError, match=message):
        keys.import_pkcs12(tmp_path, uuid.uuid4(), data, passphrase)
    assert not (tmp_path / "keys").exists()


def test_import_with_wrong_passphrase_is_refused(tmp_path):
    """Importing with the wrong passphrase says the passphrase is wrong."""
    with pytest.raises(FieldCheckError, match="口令不正确"):
        keys.import_pkcs12(tmp_path, uuid.uuid4(), agency_p12(b"right"), "wrong")


def test_import_without_passphrase_is_refused(tmp_path):
    """A key file is only kept passphrase-protected: an empty passphrase is refused."""
    with pytest.raises(FieldCheckError, match="口令"):
        keys.import_pkcs12(tmp_path, uuid.uuid4(), agency_p12(b"pw12"), "")


def test_expired_certificate_import_is_refused(tmp_path):
    """An expired certificate cannot be imported."""
    old = agency_p12(b"pw12", days=30, start=datetime.now(timezone.utc) - timedelta(days=400))
    with pytest.raises(FieldCheckError, match="过期"):
        keys.import_pkcs12(tmp_path, uuid.uuid4(), old, "pw12")


def test_certificate_without_signing_usage_is_refused(tmp_path):
    """A certificate meant only for encryption cannot be imported for signing."""
    with pytest.raises(FieldCheckError, match="不能用于文书签名"):
        keys.import_pkcs12(tmp_path, uuid.uuid4(), agency_p12(b"pw12", usage=False), "pw12")


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_poppler_pdfsig_accepts_the_signatures(signed, tmp_path):
    """poppler's pdfsig, reading independently, finds both signatures valid."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed["twice"])
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                         timeout=60).stdout
    assert out.count("Signature is Valid") == 2, out
    assert "Digest Mismatch" not in out and "Total document signed" in out


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_poppler_pdfsig_sees_a_changed_byte(signed, tmp_path):
    """pdfsig agrees: a flipped content byte is a digest mismatch."""
    path = tmp_path / "tampered.pdf"
    data = signed["once"]
    path.write_bytes(flip(data, data.index(b"Inspection record") + 3))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                         timeout=60).stdout
    assert "Digest Mismatch" in out, out
