"""Signatures for demo data only: demo key pairs (passphrase "demo") and drawn squiggles.

Lets `python main.py pdf` produce signed documents for the demo without anyone at a pad.
"""
from __future__ import annotations

import io
import math
import uuid

from PIL import Image, ImageDraw
from sqlalchemy import select

from documents.keys import ensure_demo_identity
from documents.service import SigningInput
from models.demo import DEMO_MARK
from models.inspection_rules import get_inspection
from models.registry import AgencySettings
from models.store import Store


def is_demo_inspection(session, inspection_id: uuid.UUID) -> bool:
    return get_inspection(session, inspection_id).enterprise.credit_code.startswith(DEMO_MARK[:-1])


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


def demo_signing_input(store: Store, inspection_id: uuid.UUID) -> SigningInput:
    with store.session() as s:
        inspection = get_inspection(s, inspection_id)
        agency = s.scalar(select(AgencySettings))
        people = [(m.inspector.id, m.inspector.name, m.inspector.certificate_no)
                  for m in inspection.team][:2]
        representative = inspection.enterprise.legal_representative
    signers = {pid: ensure_demo_identity(store.data_dir, pid, name, cert,
                                         agency.agency_name if agency else "")
               for pid, name, cert in people}
    images = {f"inspector{n}": squiggle_png(n) for n in range(1, len(people) + 1)}
    images["representative"] = squiggle_png(9)
    return SigningInput(images=images, passphrases={}, representative_name=representative,
                        signers=signers)
