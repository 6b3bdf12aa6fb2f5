"""#11 point 1: inspectors' certificates issued by the agency CA — `verify` names the agency,
pdfsig validates the chain given the agency certificate; a revoked inspector's earlier
documents stay valid, later ones are refused (verify and import) with the reason."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid

import pytest

from documents import keys
from documents.signing import sign_pdf, verify_pdf
from models.errors import FieldCheckError
from sync import agency, crypto
from sync.agency_cli import join_file
from tests.documents.test_signing import small_pdf
from tests.sync.conftest import AGENCY, AGENCY_PASSPHRASE

PASS = "zhang-2026"


@pytest.fixture
def issued(office, stranger, tmp_path):
    """A laptop whose inspector 张卫东 made a key and a request; the office signed it."""
    inspector = uuid.uuid4()
    csr = keys.signing_request(stranger.data_dir, inspector, "张卫东", "43038120001", PASS, AGENCY)
    key = crypto.device_signing_key(stranger.data_dir)
    request = agency.make_request(stranger.data_dir, stranger.device_id, [], key, [
        {"id": str(inspector), "name": "张卫东", "certificate_no": "43038120001", "csr": csr}])
    done = agency.enroll(office.data_dir, request, AGENCY_PASSPHRASE)
    (tmp_path / "enroll.json").write_text(json.dumps(done.document), "utf-8")
    join_file(stranger, tmp_path / "enroll.json", agency.cert_fingerprint(agency.installed_ca(office.data_dir)))
    return stranger, inspector


def _verify(store, pdf: bytes):
    return verify_pdf(pdf, keys.trusted_certificates(store.data_dir),
                      agency.revoked_certificates(store.data_dir))


def test_signature_chains_to_the_agency_and_verify_names_it(issued, tmp_path):
    laptop, inspector = issued
    signer = keys.load_identity(laptop.data_dir, inspector, PASS)
    assert signer.signing_cert.issuer.native["organization_name"] == AGENCY
    pdf = sign_pdf(small_pdf(), signer, "inspector1")
    report = _verify(laptop, pdf)
    assert report.exit_code == 0 and report.trusted
    assert f"证书由 {AGENCY} 签发" in report.lines()[0]
    # another store that only knows the agency's CA trusts it too
    other = tmp_path / "office-copy"
    (other / "trust").mkdir(parents=True)
    shutil.copy(laptop.data_dir / "trust" / "agency-ca.crt", other / "trust" / "agency-ca.crt")
    assert verify_pdf(pdf, keys.trusted_certificates(other)).trusted


@pytest.mark.skipif(shutil.which("pdfsig") is None or shutil.which("certutil") is None,
                    reason="poppler-utils and libnss3-tools (certutil) are needed")
def test_pdfsig_validates_the_chain_with_the_agency_certificate(issued, tmp_path):
    """The README's recipe: the agency certificate into an NSS database, pdfsig -nssdir."""
    laptop, inspector = issued
    pdf = tmp_path / "record.pdf"
    pdf.write_bytes(sign_pdf(small_pdf(), keys.load_identity(laptop.data_dir, inspector, PASS),
                             "inspector1"))
    bare = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    assert "Certificate is Trusted." not in bare   # without the agency: issuer not trusted
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, timeout=60)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "agency", "-t", "C,C,C", "-i",
                    str(laptop.data_dir / "trust" / "agency-ca.crt")], check=True, timeout=60)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True,
                         text=True, timeout=60).stdout
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out


def test_revoked_inspector_earlier_documents_valid_later_refused(issued, office, tmp_path):
    laptop, inspector = issued
    before = sign_pdf(small_pdf("before"), keys.load_identity(laptop.data_dir, inspector, PASS),
                      "inspector1")
    time.sleep(1.1)  # signing times have whole seconds
    agency.revoke(office.data_dir, AGENCY_PASSPHRASE, certificate_no="43038120001", reason="调离")
    assert agency.accept_revocations(laptop.data_dir, agency.current_revocations(office.data_dir))
    with pytest.raises(FieldCheckError, match="被机构吊销（调离），不能再签署文书"):
        keys.load_identity(laptop.data_dir, inspector, PASS)   # this laptop knows: refuses
    # a laptop that has not received the list yet still signs; verify then refuses it
    (laptop.data_dir / "trust" / "revoked-certificates.json").unlink()
    after = sign_pdf(small_pdf("after"), keys.load_identity(laptop.data_dir, inspector, PASS),
                     "inspector1")
    assert _verify(laptop, before).exit_code == 0
    late = _verify(laptop, after)
    assert late.exit_code == 1 and "被吊销（调离）" in "\n".join(late.lines())


def test_revocation_list_cannot_be_replaced_by_an_older_one(issued, office):
    laptop, _ = issued
    old = agency.current_revocations(office.data_dir)
    agency.revoke(office.data_dir, AGENCY_PASSPHRASE, certificate_no="43038120001", reason="调离")
    assert agency.accept_revocations(laptop.data_dir, agency.current_revocations(office.data_dir))
    assert not agency.accept_revocations(laptop.data_dir, old)
    assert agency.revocation_entries(laptop.data_dir)[0]["reason"] == "调离"


def test_wrong_inspector_passphrase_makes_no_request(stranger):
    inspector = uuid.uuid4()
    keys.signing_request(stranger.data_dir, inspector, "张卫东", "1", PASS, AGENCY)
    with pytest.raises(FieldCheckError, match="口令不正确"):
        keys.signing_request(stranger.data_dir, inspector, "张卫东", "1", "wrong-pass", AGENCY)


def test_bundle_with_a_document_signed_after_revocation_is_refused(issued, office):
    """The import's check (sync.trust.check_signatures) on the signature records a bundle
    carries: the certificate's SHA-256 and signing time, against the agency's list."""
    from datetime import datetime, timedelta, timezone

    from sync.bundle_format import BundleError
    from sync.trust import Trust, check_signatures
    laptop, inspector = issued
    cert = keys.load_identity(laptop.data_dir, inspector, PASS).signing_cert
    fp = keys.certificate_fingerprint(cert)
    entry = agency.revoke(office.data_dir, AGENCY_PASSPHRASE, certificate_no="43038120001",
                          reason="调离")
    at = datetime.fromisoformat(entry["at"])
    row = {"certificate_fingerprint": fp, "signer_name": "张卫东"}
    early = {"signature": [{**row, "signed_at": at - timedelta(days=1)}]}
    late = {"signature": [{**row, "signed_at": at + timedelta(minutes=1)}]}
    arriving = Trust(revocations=agency.current_revocations(office.data_dir))
    check_signatures(laptop.data_dir, early, arriving)       # signed before: valid
    with pytest.raises(BundleError, match="被机构吊销（调离）"):
        check_signatures(laptop.data_dir, late, arriving)    # the list in the bundle counts
    assert at.tzinfo == timezone.utc or at.utcoffset() == timedelta(0)
