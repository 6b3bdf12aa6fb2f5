"""Each inspector's signing identity, as the PDF signer (pyhanko) uses it.

The key files themselves — made, imported, their certificates kept, requested and
installed from the agency — are models.inspector_keys (no signing stack, so that sync's
enrollment installs certificates without importing documents); their names are imported
here too for the screens that work on an inspector's key.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from pyhanko.sign.signers import SimpleSigner

from models.inspector_keys import (  # noqa: F401  (the key files' API, for the screens)
    KEYS_DIR, MIN_PASSPHRASE_LENGTH, PAST_CERTS_DIR, WRONG_PASSPHRASE, agency_certificate,
    certificate_fingerprint, certificate_path, create_inspector_identity, identity_exists,
    import_pkcs12, install_issued_certificate, key_path, new_passphrase_problem, signing_pkcs12,
    signing_request, trusted_certificates)


def load_identity(data_dir: Path, inspector_id: uuid.UUID | str, passphrase: str) -> SimpleSigner:
    """The pyhanko signer for an inspector; a Chinese error on a wrong passphrase."""
    data, secret = signing_pkcs12(data_dir, inspector_id, passphrase)
    return SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=secret)
