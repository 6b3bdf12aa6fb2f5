"""What a document says, collected from the store into plain dataclasses.

Rendering sees only these: no ORM object, no session. Times are on the agency's clock
(models.local_time), whatever the laptop's time zone.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from models.documents import DocumentKind
from models.errors import FieldCheckError
from models.inspection import HazardStatus, Inspection, Photo
from models.inspection_rules import get_inspection
from models.local_time import agency_time
from models.photo_rules import photos_for
from models.photo_store import photo_path
from models.settings_rules import stored_agency_settings
from models.walk_queries import walk_items

if TYPE_CHECKING:  # annotations only: documents speak no SQL
    from sqlalchemy.orm import Session

ABBREVIATIONS = {
    DocumentKind.INSPECTION_RECORD: "检记",
    DocumentKind.RECTIFICATION_ORDER: "责改",
    DocumentKind.ONSITE_MEASURES: "现决",
    DocumentKind.REINSPECTION_OPINION: "复查",
}
SIGNATURE_ROLES = ("inspector1", "inspector2", "representative", "witness", "expert")


def document_number(kind: DocumentKind, region_short: str, year: int, serial: int,
                    round_no: int = 1) -> str:
    """（湘乡）应急检记〔2026〕3号 — without the brackets when no region short name is set.
    A later document of the same kind in the same case (the second re-inspection of one
    order) reads 〔2026〕3-2号, so no two documents share a number."""
    region = region_short.strip()
    prefix = f"（{region}）" if region else ""
    serial_text = f"{serial}-{round_no}" if round_no > 1 else f"{serial}"
    return f"{prefix}应急{ABBREVIATIONS[kind]}〔{year}〕{serial_text}号"


@dataclass(frozen=True)
class Agency:
    name: str
    region_short: str
    reconsideration_government: str
    court: str


@dataclass(frozen=True)
class Officer:
    """An inspector as printed: name and enforcement certificate number."""

    name: str
    certificate_no: str


@dataclass(frozen=True)
class EnterpriseFacts:
    name: str
    credit_code: str
    address: str
    representative: str
    post: str
    phone: str


@dataclass(frozen=True)
class CheckedItem:
    """One row of 检查情况: the item and what was found."""

    checklist_title: str
    code: str
    question: str
    result: str        # AnswerResult value: compliant / noncompliant / not_applicable
    result_label: str  # 符合 / 不符合 / 不适用
    note: str


@dataclass(frozen=True)
class HazardFacts:
    """A problem as ordered: what, under which rule, what to do, by when."""

    code: str
    question: str
    description: str
    legal_basis: str
    is_major: bool
    major_clause: str
    rectification: str
    deadline: date


@dataclass(frozen=True)
class PhotoFacts:
    """An evidence photo: where its file is, how to turn it, what to print with it."""

    path: Path
    caption: str
    item_code: str
    item_question: str
    taken_at: datetime | None  # local time; EXIF time, else when it was added
    rotation: int              # the inspector's extra turn, degrees clockwise
    place: str
    enterprise: str


@dataclass(frozen=True)
class Signatures:
    """Handwritten signature images (PNG bytes) per role, and whether the enterprise refused."""

    images: dict[str, bytes] = field(default_factory=dict)
    refused: bool = False
    witness_name: str = ""
    expert_name: str = ""


@dataclass(frozen=True)
class CaseContent:
    """Everything the documents of one finalized inspection print."""

    agency: Agency
    enterprise: EnterpriseFacts
    officers: tuple[Officer, ...]
    place: str
    started_at: datetime
    ended_at: datetime
    finalized_at: datetime
    case_year: int
    case_serial: int
    checklists: tuple[str, ...]
    items: tuple[CheckedItem, ...]
    hazards: tuple[HazardFacts, ...]  # every hazard ordered at finalization (not withdrawn)
    photos: tuple[PhotoFacts, ...]
    signatures: Signatures = Signatures()
    measures: tuple[str, ...] = ()    # on-site measures; empty: the standard wording

    def number(self, kind: DocumentKind) -> str:
        return document_number(kind, self.agency.region_short, self.case_year, self.case_serial)

    @property
    def major_hazards(self) -> tuple[HazardFacts, ...]:
        return tuple(h for h in self.hazards if h.is_major)

    @property
    def document_date(self) -> date:
        return self.finalized_at.date()


@dataclass(frozen=True)
class ReinspectedItem:
    """One ordered problem at re-inspection: rectified or not, and what was seen."""

    problem: str
    rectified: bool
    note: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class ReinspectionContent:
    """The data the re-inspection flow supplies for 整改复查意见书."""

    agency: Agency
    enterprise: EnterpriseFacts
    officers: tuple[Officer, ...]
    case_year: int
    case_serial: int
    order_date: date
    order_number: str
    items: tuple[ReinspectedItem, ...]
    reinspected_at: datetime  # local time; also the document's date
    decision: str = "责令限期整改"
    signatures: Signatures = Signatures()
    photos: tuple[PhotoFacts, ...] = ()
    round_no: int = 1  # the nth re-inspection of this order

    def number(self) -> str:
        return document_number(DocumentKind.REINSPECTION_OPINION, self.agency.region_short,
                               self.case_year, self.case_serial, self.round_no)

    @property
    def document_date(self) -> date:
        return self.reinspected_at.date()


def _agency(session: Session) -> Agency:
    s = stored_agency_settings(session)  # read only: never create the row here
    if s is None:
        return Agency("", "", "", "")
    return Agency(s.agency_name, s.region_short, s.reconsideration_government, s.court)


def _enterprise(inspection: Inspection) -> EnterpriseFacts:
    e = inspection.enterprise
    return EnterpriseFacts(e.name, e.credit_code, e.address, e.legal_representative,
                           e.representative_post, e.phone)


def _items_and_hazards(session: Session, inspection_id: uuid.UUID):
    items, hazards = [], []
    for w in walk_items(session, inspection_id):
        if w.answer is None:
            continue
        result = w.answer.result
        items.append(CheckedItem(w.checklist_title, w.item.code, w.item.question, result.value,
                                 result.label, w.answer.note))
        h = w.hazard
        if h is not None and h.status != HazardStatus.WITHDRAWN:
            hazards.append(HazardFacts(w.item.code, w.item.question, h.description,
                                       h.legal_basis, h.is_major, h.major_clause,
                                       h.rectification, h.deadline))
    return tuple(items), tuple(hazards)


def _photo(photo: Photo, photos_dir: Path, items: dict, inspection: Inspection) -> PhotoFacts:
    code, question = items.get(photo.answer_id) or items.get(photo.hazard_id) or ("", "")
    return PhotoFacts(photo_path(photos_dir, photo.sha256, photo.file_ext), photo.caption,
                      code, question, agency_time(photo.taken_at or photo.created_at),
                      photo.rotation % 360, inspection.place, inspection.enterprise.name)


def _photos(session: Session, inspection: Inspection, photos_dir: Path) -> tuple[PhotoFacts, ...]:
    items = {a.id: (a.item.code, a.item.question) for a in inspection.answers}
    items |= {h.id: (h.item.code, h.item.question) for h in inspection.hazards}
    return tuple(_photo(p, photos_dir, items, inspection)
                 for p in photos_for(session, inspection.id))


def _checked_finalized(session: Session, inspection_id: uuid.UUID) -> Inspection:
    inspection = get_inspection(session, inspection_id)
    if not inspection.is_finalized or inspection.case_serial is None:
        raise FieldCheckError("该检查尚未定稿，不能生成执法文书", "请先在检查小结中完成定稿")
    return inspection


def collect_case(session: Session, inspection_id: uuid.UUID, photos_dir: Path,
                 signatures: dict[str, bytes] | None = None, refused: bool = False,
                 witness_name: str = "", expert_name: str = "") -> CaseContent:
    """The content of every document of a finalized inspection."""
    inspection = _checked_finalized(session, inspection_id)
    items, hazards = _items_and_hazards(session, inspection_id)
    return CaseContent(
        agency=_agency(session), enterprise=_enterprise(inspection),
        officers=tuple(Officer(m.inspector.name, m.inspector.certificate_no)
                       for m in inspection.team),
        place=inspection.place, started_at=agency_time(inspection.started_at),
        ended_at=agency_time(inspection.ended_at or inspection.finalized_at),
        finalized_at=agency_time(inspection.finalized_at),
        case_year=inspection.case_year, case_serial=inspection.case_serial,
        checklists=tuple(link.checklist.title for link in inspection.checklists),
        items=items, hazards=hazards, photos=_photos(session, inspection, Path(photos_dir)),
        signatures=Signatures(dict(signatures or {}), refused, witness_name, expert_name),
    )
