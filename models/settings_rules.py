"""The agency's settings and its inspectors, plus the choices offered when starting an inspection.

Functions take a session owned by the caller and raise `ValidationError`s with Chinese text.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models.checklist_library import latest_checklists
from models.checklist import ChecklistItem
from models.enterprise_rules import default_checklist_codes
from models.errors import FieldCheckError, NotFoundError, ValidationError
from models.local_time import DEFAULT_ZONE, use_agency_zone, zone_problem
from models.registry import AgencySettings, Enterprise, Inspector

REGION_SHORT_MAX = 10
DUE_DAYS_RANGE = (1, 90)
# What an agency's name ends with after its area (湘乡市 + 应急管理局).
AGENCY_SUFFIXES = ("应急管理局", "应急管理厅", "应急局", "安全生产监督管理局", "安监局")
REMEDY_SETTINGS_PLACE = "设置 → 执法机关"
COPIES_MAX = 9


def stored_agency_settings(session: Session) -> AgencySettings | None:
    """The settings row as stored (None before the first save): for readers that must not
    create it (documents, reports)."""
    return session.scalar(select(AgencySettings))


def get_agency_settings(session: Session) -> AgencySettings:
    """The single settings row, created with defaults when missing."""
    settings = session.scalar(select(AgencySettings))
    if settings is None:
        # Column defaults apply only at flush; set them here so the caller sees them at once.
        settings = AgencySettings(agency_name="", region_short="", reconsideration_government="",
                                  court="", reinspection_due_days=10, serial_start=1,
                                  time_zone=DEFAULT_ZONE, document_copies=2)
        session.add(settings)
        session.flush()
    return settings


def agency_problems(*, agency_name: str, region_short: str, reinspection_due_days: int = 10,
                    serial_start: int = 1, time_zone: str = DEFAULT_ZONE,
                    document_copies: int = 2) -> dict[str, str]:
    """Each invalid settings field with the reason, for showing next to the field."""
    problems: dict[str, str] = {}
    if not agency_name.strip():
        problems["agency_name"] = "请填写执法机关名称"
    region = region_short.strip()
    if not region:
        problems["region_short"] = "请填写文书编号用的简称，例如 湘乡"
    elif len(region) > REGION_SHORT_MAX:
        problems["region_short"] = f"文书编号简称不能超过 {REGION_SHORT_MAX} 个字"
    low, high = DUE_DAYS_RANGE
    if not low <= reinspection_due_days <= high:
        problems["reinspection_due_days"] = f"复查提醒天数应在 {low}～{high} 天之间"
    if serial_start < 1:
        problems["serial_start"] = "文书起始编号应不小于 1"
    if zone_problem(time_zone):
        problems["time_zone"] = zone_problem(time_zone)
    if not 1 <= document_copies <= COPIES_MAX:
        problems["document_copies"] = f"每份文书打印份数应在 1～{COPIES_MAX} 份之间"
    return problems


def save_agency_settings(session: Session, *, agency_name: str, region_short: str,
                         reconsideration_government: str, court: str,
                         reinspection_due_days: int = 10, serial_start: int = 1,
                         time_zone: str | None = None,
                         document_copies: int | None = None) -> AgencySettings:
    """Save 设置's agency fields; a time zone or copy count not given stays as it was."""
    current = session.scalar(select(AgencySettings))
    if time_zone is None:
        time_zone = current.time_zone if current else DEFAULT_ZONE
    if document_copies is None:
        document_copies = current.document_copies if current else 2
    problems = agency_problems(agency_name=agency_name, region_short=region_short,
                               reinspection_due_days=reinspection_due_days, serial_start=serial_start,
                               time_zone=time_zone, document_copies=document_copies)
    if problems:
        raise ValidationError("执法机关设置有误", list(problems.values()))
    settings = get_agency_settings(session)
    values = dict(agency_name=agency_name.strip(), region_short=region_short.strip(),
                  reconsideration_government=reconsideration_government.strip(),
                  court=court.strip(), reinspection_due_days=reinspection_due_days,
                  serial_start=serial_start, time_zone=time_zone.strip(),
                  document_copies=document_copies)
    for key, value in values.items():
        if getattr(settings, key) != value:  # unchanged fields make no audit noise
            setattr(settings, key, value)
    session.flush()
    zone = settings.time_zone  # shown from the moment it is stored, not before
    event.listen(session, "after_commit", lambda _s: use_agency_zone(zone), once=True)
    return settings


def default_remedy_bodies(agency_name: str) -> tuple[str, str]:
    """The reconsideration authority and the court suggested for an agency, from its area:
    湘乡市应急管理局 → 湘乡市人民政府, 湘乡市人民法院 (行政复议法 2023 第二十四条: the
    government at the same level hears cases against its departments; 行政诉讼法 第十八条:
    the court where the agency sits). Only a suggestion — a city-level agency's first-instance
    court is a district's — so the fields stay editable; ("", "") when no area is seen."""
    name = agency_name.strip()
    for suffix in AGENCY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            area = name[:-len(suffix)]
            return f"{area}人民政府", f"{area}人民法院"
    return "", ""


def remedy_problems(*, reconsideration_government: str, court: str) -> dict[str, str]:
    """The remedy notice (复议、诉讼) needs both bodies named; each blank one with the reason."""
    problems = {}
    if not reconsideration_government.strip():
        problems["reconsideration_government"] = "请填写行政复议机关（本级人民政府），如 湘乡市人民政府"
    if not court.strip():
        problems["court"] = "请填写人民法院，如 湘乡市人民法院"
    return problems


def check_ready_to_issue(session: Session) -> None:
    """Refuse to issue a document that would go out with a blank where the law requires the
    reconsideration authority or the court."""
    settings = get_agency_settings(session)
    problems = remedy_problems(reconsideration_government=settings.reconsideration_government or "",
                               court=settings.court or "")
    if problems:
        blanks = "、".join({"reconsideration_government": "行政复议机关", "court": "人民法院"}[k]
                          for k in problems)
        raise FieldCheckError(f"尚未填写{blanks}，文书中的复议、诉讼告知不能空白，文书未生成",
                              f"请在“{REMEDY_SETTINGS_PLACE}”中填写{blanks}后再签署")


def list_inspectors(session: Session, active_only: bool = True) -> list[Inspector]:
    query = select(Inspector).order_by(Inspector.created_at, Inspector.name)
    if active_only:
        query = query.where(Inspector.active.is_(True))
    return list(session.scalars(query))


def inspector_problems(session: Session, name: str, certificate_no: str,
                       own_id: uuid.UUID | None = None) -> dict[str, str]:
    """Each invalid inspector field with the reason; a certificate number names its holder."""
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = "请填写执法人员姓名"
    cert = certificate_no.strip()
    if not cert:
        problems["certificate_no"] = "请填写执法证号"
    else:
        holder = session.scalar(select(Inspector).where(Inspector.certificate_no == cert))
        if holder is not None and holder.id != own_id:
            problems["certificate_no"] = f"执法证号 {cert} 已登记给 {holder.name}"
    return problems


def _check_inspector(session: Session, name: str, certificate_no: str,
                     own_id: uuid.UUID | None) -> None:
    problems = inspector_problems(session, name, certificate_no, own_id)
    if problems:
        raise ValidationError("执法人员信息有误", list(problems.values()))


def add_inspector(session: Session, name: str, certificate_no: str) -> Inspector:
    _check_inspector(session, name, certificate_no, None)
    person = Inspector(name=name.strip(), certificate_no=certificate_no.strip(), active=True)
    session.add(person)
    session.flush()
    return person


def update_inspector(session: Session, inspector_id: uuid.UUID, name: str, certificate_no: str,
                     active: bool) -> Inspector:
    person = session.get(Inspector, inspector_id)
    if person is None:
        raise NotFoundError("找不到该执法人员", "请重新打开设置")
    _check_inspector(session, name, certificate_no, inspector_id)
    for key, value in (("name", name.strip()), ("certificate_no", certificate_no.strip()),
                       ("active", active)):
        if getattr(person, key) != value:
            setattr(person, key, value)
    session.flush()
    return person


def setup_needed(session: Session) -> bool:
    """True until the agency is named and two active inspectors hold certificate numbers."""
    name = session.scalar(select(AgencySettings.agency_name))
    certified = session.scalar(select(func.count()).select_from(Inspector).where(
        Inspector.active.is_(True), func.trim(Inspector.certificate_no) != ""))
    return not (name or "").strip() or certified < 2


# Choices offered by the new-inspection dialog.

@dataclass(frozen=True)
class EnterpriseChoice:
    id: uuid.UUID
    name: str
    credit_code: str
    address: str
    checklist_codes: tuple[str, ...]  # preselected from the enterprise's hazard flags


@dataclass(frozen=True)
class ChecklistChoice:
    code: str
    title: str
    item_count: int


def enterprise_choices(session: Session) -> list[EnterpriseChoice]:
    return [EnterpriseChoice(e.id, e.name, e.credit_code, e.address,
                             tuple(default_checklist_codes(e)))
            for e in session.scalars(select(Enterprise).order_by(Enterprise.name))]


def checklist_choices(session: Session) -> list[ChecklistChoice]:
    """The newest version of each checklist, in the order of the default selection."""
    latest = latest_checklists(session)
    counts = dict(session.execute(
        select(ChecklistItem.checklist_id, func.count()).group_by(ChecklistItem.checklist_id)).all())
    order = ["dust", "confined_space", "ammonia", "general"]
    codes = sorted(latest, key=lambda c: (order.index(c) if c in order else len(order), c))
    return [ChecklistChoice(c, latest[c].title, counts.get(latest[c].id, 0)) for c in codes]
