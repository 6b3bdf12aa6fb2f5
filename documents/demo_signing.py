"""Signatures for a demo store only: demo key pairs and drawn squiggles.

Lets `python main.py pdf` produce signed documents for the demo without anyone at a pad.
Nothing here runs outside a store that `python main.py demo` marked at creation
(models.store_mode): the keys live in that store's `demo_keys/` (never `keys/`, so they are
never anyone's signing key and never trusted as an inspector's), their certificates say
演示数据 in the organizational unit, which `verify` reports, and the documents carry the
演示 watermark (documents.service).
"""
from __future__ import annotations

import io
import math
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw
from pyhanko.sign.signers import SimpleSigner

from documents.service import SigningInput
from documents.signing import DEMO_CERT_UNIT
from models.errors import FieldCheckError
from models.inspection_rules import get_inspection
from models.paths import atomic_write_bytes
from models.store import Store
from models.settings_rules import stored_agency_settings
from models.store_mode import is_demo_store

DEMO_KEYS_DIR = "demo_keys"
_DEMO_PASSPHRASE = b"demo"  # public on purpose: these keys prove nothing


def squiggle_png(seed: int) -> bytes:
    """A handwriting-like stroke, different per signer, transparent background."""
    img = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    points = [(20 + x, 60 + 28 * math.sin(x / (14 + seed % 7)) * math.cos(x / (37 + seed)))
              for x in range(0, 320, 4)]
    draw.line(points, fill=(20, 20, 80, 255), width=4, joint="curve")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _demo_certificate(key, name: str, certificate_no: str, agency: str) -> x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, name),
             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_CERT_UNIT)]
    if agency:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency))
    if certificate_no:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, certificate_no))
    subject = x509.Name(attrs)
    now = datetime.now(timezone.utc)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=400)).not_valid_after(now + timedelta(days=3650))
            .add_extension(usage, critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def _demo_signer(data_dir: Path, person_id: uuid.UUID, name: str, certificate_no: str,
                 agency: str) -> SimpleSigner:
    """The demo signer of one demo inspector, made on first use inside the demo store."""
    path = Path(data_dir) / DEMO_KEYS_DIR / f"{person_id}.p12"
    if not path.is_file():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _demo_certificate(key, name, certificate_no, agency)
        atomic_write_bytes(path, pkcs12.serialize_key_and_certificates(
            name.encode("utf-8"), key, cert, None,
            serialization.BestAvailableEncryption(_DEMO_PASSPHRASE)))
    return SimpleSigner.load_pkcs12_data(path.read_bytes(), other_certs=[],
                                         passphrase=_DEMO_PASSPHRASE)


def demo_signing_input(store: Store, inspection_id: uuid.UUID) -> SigningInput:
    """Demo keys and drawn strokes for an inspection of a demo store; refused elsewhere."""
    if not is_demo_store(store.data_dir):
        raise FieldCheckError("该数据文件夹不是演示数据，不能用演示签名生成文书",
                              "请在程序中定稿并由执法人员和被检查单位负责人签字后生成文书")
    with store.session() as s:
        inspection = get_inspection(s, inspection_id)
        agency = stored_agency_settings(s)
        people = [(m.inspector.id, m.inspector.name, m.inspector.certificate_no)
                  for m in inspection.team][:2]
        representative = inspection.enterprise.legal_representative
    signers = {pid: _demo_signer(store.data_dir, pid, name, cert, agency.agency_name if agency else "")
               for pid, name, cert in people}
    images = {f"inspector{n}": squiggle_png(n) for n in range(1, len(people) + 1)}
    images["representative"] = squiggle_png(9)
    return SigningInput(images=images, passphrases={}, representative_name=representative,
                        signers=signers)
