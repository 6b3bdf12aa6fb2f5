"""Enforcement documents and their signatures (rendered by the documents layer)."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Record
from models.record_policy import Merge, TablePolicy
from models.registry import str_enum


# Where the handwritten-signature images of issued documents live in the data folder, by
# their SHA-256 (documents.service writes them, before the Signature rows that name them).
SIGNATURE_IMAGES_DIR = "signatures"
SIGNATURE_IMAGE_SUFFIX = ".png"  # the only one: an image's file is its hash and this


def signature_image_name(sha256: str) -> str:
    return f"{sha256}{SIGNATURE_IMAGE_SUFFIX}"


def signature_image_path(data_dir: Path, sha256: str) -> Path:
    return Path(data_dir) / SIGNATURE_IMAGES_DIR / signature_image_name(sha256)


class DocumentKind(str, enum.Enum):
    INSPECTION_RECORD = "inspection_record"        # 现场检查记录 — 检记
    RECTIFICATION_ORDER = "rectification_order"    # 责令限期整改指令书 — 责改
    ONSITE_MEASURES = "onsite_measures"            # 现场处理措施决定书 — 现决
    REINSPECTION_OPINION = "reinspection_opinion"  # 整改复查意见书 — 复查


class Document(Record):
    __tablename__ = "document"
    # Frozen once issued (finalized_at); a finalized inspection still gains documents.
    record_policy = TablePolicy("文书", Merge.ROW, finalized=lambda row: row.get("finalized_at") is not None,
                                shown_rank=5, refusal="该文书", joins_own="inspection")

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind))
    number: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    finalized_at: Mapped[datetime | None]
    # A correction is a new document pointing at the one it replaces.
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))

    signatures: Mapped[list[Signature]] = relationship(back_populates="document")


class Signature(Record):
    __tablename__ = "signature"
    # Frozen with its document; an issued document is signed after it is written.
    record_policy = TablePolicy("签字", Merge.ROW, frozen_with="document", grows_when_frozen=True,
                                joins_own="document",
                                shown_rank=6, refusal="该文书的签字")

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))   # inspector1/inspector2/representative/witness/expert
    signer_name: Mapped[str] = mapped_column(String(50))
    refused: Mapped[bool] = mapped_column(default=False)
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    certificate_fingerprint: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[Document] = relationship(back_populates="signatures")


def issued_documents(session: Session, inspection_id: uuid.UUID) -> list[Document]:
    """The documents in force for an inspection (the latest of each kind)."""
    docs = session.scalars(select(Document).where(Document.inspection_id == inspection_id)
                           .order_by(Document.created_at)).all()
    replaced = {d.supersedes_id for d in docs if d.supersedes_id}
    return [d for d in docs if d.id not in replaced]
