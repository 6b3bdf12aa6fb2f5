"""A public key as people compare it by eye or over the phone (device keys, the office's key,
the release key): one format everywhere, so two screens never show the same key differently."""
from __future__ import annotations

import base64
import hashlib


def fingerprint(public_key_b64: str) -> str:
    """16 hex digits of the key's SHA-256, in four groups."""
    digest = hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16].upper()
    return "-".join(digest[n:n + 4] for n in range(0, 16, 4))
