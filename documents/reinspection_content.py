"""What 整改复查意见书 says, collected from a finalized re-inspection (beside documents.content).

The domain rules (models.reinspection_rules) decide what a re-inspection found; this module only
reads that and turns it into the plain ReinspectionContent the renderer prints.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from documents.content import (Officer, PhotoFacts, ReinspectedItem, ReinspectionContent,
                               Signatures, _agency, _enterprise, document_number)
from documents.layout import cn_date
from documents.reinspection_opinion import render_reinspection_opinion
from models.documents import DocumentKind
from models.errors import FieldCheckError
from models.inspection import HazardReview, Inspection, InspectionKind, Photo
from models.inspection_rules import get_inspection

if TYPE_CHECKING:  # annotations only: documents speak no SQL
    from sqlalchemy.orm import Session
from models.local_time import agency_date, agency_time
from models.photo_store import photo_path
from models.reinspection_rules import after_photos, reinspection_round, reviews


def _outcome_note(review: HazardReview) -> str:
    parts = [review.note.strip()] if review.note.strip() else []
    if not review.rectified and review.escalated:
        parts.append("依法移交行政处罚")
    elif not review.rectified and review.new_deadline:
        parts.append(f"责令于{cn_date(review.new_deadline)}前整改完毕")
    return "；".join(parts)


def _photo(photo: Photo, photos_dir: Path, review: HazardReview,
           reinspection: Inspection) -> PhotoFacts:
    item = review.hazard.item
    return PhotoFacts(photo_path(photos_dir, photo.sha256, photo.file_ext), photo.caption,
                      item.code, item.question, agency_time(photo.taken_at or photo.created_at),
                      photo.rotation % 360, reinspection.place, reinspection.enterprise.name)


def _finalized_reinspection(session: Session, reinspection_id: uuid.UUID) -> Inspection:
    reinspection = get_inspection(session, reinspection_id)
    if reinspection.kind != InspectionKind.REINSPECTION or not reinspection.is_finalized:
        raise FieldCheckError("该复查尚未完成，不能生成整改复查意见书", "请先完成复查")
    return reinspection


def collect_reinspection(session: Session, reinspection_id: uuid.UUID, photos_dir: Path,
                         signatures: dict[str, bytes] | None = None,
                         refused: bool = False) -> ReinspectionContent:
    """The ReinspectionContent of a finalized re-inspection, citing the original order."""
    reinspection = _finalized_reinspection(session, reinspection_id)
    original = get_inspection(session, reinspection.follows_inspection_id)
    agency = _agency(session)
    items, photos = [], []
    for review in reviews(session, reinspection.id):
        shots = after_photos(session, reinspection.id, review.hazard_id)
        evidence = f"整改后照片{len(shots)}张（见附件）" if shots else ""
        items.append(ReinspectedItem(review.hazard.description, bool(review.rectified),
                                     _outcome_note(review), evidence))
        photos += [_photo(p, Path(photos_dir), review, reinspection) for p in shots]
    return ReinspectionContent(
        agency=agency, enterprise=_enterprise(reinspection),
        officers=tuple(Officer(m.inspector.name, m.inspector.certificate_no)
                       for m in reinspection.team),
        case_year=original.case_year, case_serial=original.case_serial,
        order_date=agency_date(original.finalized_at),
        order_number=document_number(DocumentKind.RECTIFICATION_ORDER, agency.region_short,
                                     original.case_year, original.case_serial),
        items=tuple(items), reinspected_at=agency_time(reinspection.started_at),
        signatures=Signatures(dict(signatures or {}), refused), photos=tuple(photos),
        round_no=reinspection_round(session, reinspection))


def reinspection_opinion_pdf(session: Session, reinspection_id: uuid.UUID, photos_dir: Path,
                             signatures: dict[str, bytes] | None = None,
                             refused: bool = False) -> tuple[str, bytes]:
    """整改复查意见书 of a finalized re-inspection: its number and the PDF bytes."""
    content = collect_reinspection(session, reinspection_id, photos_dir, signatures, refused)
    return content.number(), render_reinspection_opinion(content)
