"""The import conflicts kept aside, read back for the user to compare (no Qt here).

An import never overwrites a finalized record: when a bundle carries a different version,
sync.merge keeps the local one and writes the incoming one (and the local one, for
comparison) to `conflicts/<bundle_id>/<table>/<record id>.json`; a document file with the
same name but other bytes goes to `conflicts/<bundle_id>/documents/<file name>`. This module
turns those files into `Conflict`s with Chinese labels, so the screen never parses JSON
itself. A file that cannot be read is still listed (with `problem` saying why): hiding it
would hide a conflict.

Given a session on the store, the columns that point at another record (企业, 所属检查,
检查项 …) read as that record's name with a short id, e.g. 「湘乡市恒达木业有限公司（3f2a9c01…）」,
or 「（本机无此记录）（3f2a9c01…）」 when this store does not hold it. Without one they stay ids.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models.assignment import HazardAssignment
from models.checklist import AREAS, Checklist, ChecklistItem
from models.documents import Document, Signature
from models.inspection import (Answer, AnswerResult, Hazard, HazardReview, HazardStatus,
                               Inspection, InspectionChecklist, InspectionInspector,
                               InspectionKind, InspectionStatus, Photo, case_label)
from models.local_time import agency_text
from models.planning import PlanTask
from models.record_policy import Merge, policy
from models.registry import Enterprise, Inspector, RiskColour
from models.tables import Base
from sync.bundle_format import DOCUMENTS_DIR
from sync.merge import CONFLICTS_DIR

KIND_RECORD = "记录"
KIND_DOCUMENT_FILE = "文书文件"

# What a table is called and where its conflicts are listed (most telling first) is
# declared beside its model (models.record_policy: label, shown_rank).
_UNKNOWN_RANK = 1000  # a table this program does not know (a newer version's): last

COLUMN_LABELS = {
    # every record
    "id": "记录编号", "created_at": "创建时间", "updated_at": "修改时间", "device_id": "录入设备",
    # inspection
    "enterprise_id": "企业", "place": "检查场所", "started_at": "开始时间", "ended_at": "结束时间",
    "status": "状态", "finalized_at": "定稿时间", "case_year": "案件年度", "case_serial": "案件序号",
    "current_item_id": "当前检查项", "follows_inspection_id": "所跟进的检查", "kind": "类型",
    "task_id": "待检任务",
    # answer, hazard, review
    "inspection_id": "所属检查", "item_id": "检查项", "answer_id": "检查项答复", "result": "检查结果",
    "note": "备注", "answered_at": "答复时间", "description": "隐患描述", "legal_basis": "依据",
    "is_major": "重大事故隐患", "major_clause": "重大隐患判定条款", "rectification": "整改要求",
    "deadline_days": "整改期限（天）", "deadline": "整改期限", "found_at": "发现时间",
    "closed_at": "销号时间", "current_deadline": "现行整改期限", "escalated": "已升级处理",
    "assigned_to": "交办", "ledger_no": "台账编号", "reported_on": "通报日期",
    "hazard_id": "隐患", "rectified": "已整改", "new_deadline": "新整改期限", "position": "顺序",
    # photo
    "sha256": "SHA-256 校验值", "file_ext": "文件类型", "byte_size": "文件大小（字节）",
    "width": "宽度（像素）", "height": "高度（像素）", "original_name": "原文件名",
    "caption": "照片说明", "taken_at": "拍摄时间", "gps_lat": "纬度", "gps_lon": "经度",
    "exif_orientation": "相机方向", "rotation": "旋转角度",
    # document, signature
    "number": "文书编号", "file_name": "文件名", "supersedes_id": "更正的原文书",
    "role": "签字角色", "signer_name": "签字人", "refused": "拒绝签字",
    "image_sha256": "签名图像校验值", "signed_at": "签字时间", "certificate_fingerprint": "证书指纹",
    # enterprise, inspector
    "name": "名称", "credit_code": "统一社会信用代码", "address": "地址",
    "legal_representative": "负责人", "representative_post": "职务", "phone": "电话",
    "has_dust": "涉粉尘", "has_ammonia": "涉氨制冷", "has_confined_space": "有限空间",
    "risk_colour": "风险等级", "certificate_no": "执法证号", "active": "在用",
    "inspector_id": "执法人员", "checklist_id": "检查表", "area": "领域",
    "document_id": "所属文书",
    # hazard_assignment (交办)
    "assignee": "责任单位", "assigned_at": "交办时间", "assigned_by": "交办人",
    "replaces_id": "所改交的原交办",
}



def can_be_kept_aside(table) -> bool:
    """Only frozen rows conflict (or new ones under a frozen parent): models.record_policy.
    Audit events never do: another version of one refuses the whole bundle."""
    declared = policy(table)
    if declared.merge is Merge.CHAINED:
        return False
    return declared.finalized is not None or declared.frozen_with is not None


# Columns holding another record's id → the table that record lives in: the foreign keys
# of the tables whose versions an import can keep aside.
LINK_TABLES = {fk.parent.name: fk.column.table.name for t in Base.metadata.sorted_tables
               if can_be_kept_aside(t) for fk in t.foreign_keys}
SHORT_ID_CHARS = 8
LINK_NAME_CHARS = 30   # a question or hazard description, cut to this inside a link
_LOOKUP_CHUNK = 500    # ids per IN (…): well under SQLite's parameter limit
log = logging.getLogger(__name__)

# Stored enum values as the user knows them (documents.service has the same document names;
# importing it would load the PDF signing stack for four words).
_VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": {**{m.value: m.label for m in InspectionStatus},
               **{m.value: m.label for m in HazardStatus}},
    "result": {m.value: m.label for m in AnswerResult},
    "kind": {**{m.value: m.label for m in InspectionKind},
             "inspection_record": "现场检查记录", "rectification_order": "责令限期整改指令书",
             "onsite_measures": "现场处理措施决定书", "reinspection_opinion": "整改复查意见书"},
    "risk_colour": {m.value: m.label for m in RiskColour},
    "role": {"inspector1": "执法人员一", "inspector2": "执法人员二", "representative": "企业负责人",
             "witness": "见证人", "expert": "检查专家"},
    "area": AREAS,
}
_STAMPS = ("id", "created_at", "updated_at", "device_id")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
EMPTY = "（空）"
ABSENT = "（本机无此记录）"
NO_LOCAL_FILE = "（本机文件不存在）"
DESCRIPTION_CHARS = 40


@dataclass(frozen=True)
class FieldRow:
    """One line of the side-by-side comparison."""

    column: str
    label: str
    local: str
    incoming: str
    differs: bool
    local_id: str = ""     # a link column: the full id behind `local` (for a tooltip)
    incoming_id: str = ""  # … and behind `incoming`


@dataclass
class Conflict:
    """One version kept aside: a record (`kind` 记录) or a document file (`kind` 文书文件)."""

    kind: str
    table: str                    # the record's table; DOCUMENTS_DIR for a document file
    record_id: str                # the record id, or the file name
    bundle_id: str
    from_device: str
    path: Path                    # the JSON file, or the imported document file
    saved_at: datetime            # local time
    incoming: dict = field(default_factory=dict)
    local: dict = field(default_factory=dict)
    local_path: Path | None = None  # document file: the one this laptop kept
    problem: str = ""             # set when the file could not be read
    document_number: str = ""     # document file: its 文书编号, when the bundle says it
    # (table, id) → how the linked record reads; filled by list_conflicts given a session.
    links: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def folder(self) -> Path:
        """Where the kept-aside file lies (what 「打开所在文件夹」 opens)."""
        return self.path.parent

    @property
    def table_label(self) -> str:
        if self.kind == KIND_DOCUMENT_FILE:
            return KIND_DOCUMENT_FILE
        return table_label(self.table)

    @property
    def local_missing(self) -> bool:
        """A new record hanging off a finalized local inspection: nothing local to compare."""
        return self.kind == KIND_RECORD and not self.problem and not self.local

    @property
    def description(self) -> str:
        """A short line naming the record the way an inspector would recognise it."""
        if self.problem:
            return f"无法读取：{self.path.name}"
        if self.kind == KIND_DOCUMENT_FILE:
            return " ".join(p for p in (self.document_number, self.record_id) if p)
        row = self.local or self.incoming
        text = _describe(self.table, row)
        return _shorten(text) if text else self.record_id

    def fields(self) -> list[FieldRow]:
        """Every column side by side, the differing ones first (each group in column order)."""
        if self.problem:
            return []
        rows = self._file_rows() if self.kind == KIND_DOCUMENT_FILE else self._record_rows()
        return [r for r in rows if r.differs] + [r for r in rows if not r.differs]

    def _record_rows(self) -> list[FieldRow]:
        columns = list(dict.fromkeys([*self.incoming, *self.local]))
        columns = [c for c in columns if c not in _STAMPS] + [c for c in _STAMPS if c in columns]
        rows = []
        for column in columns:
            mine, theirs = self.local.get(column), self.incoming.get(column)
            linked = column in LINK_TABLES
            rows.append(FieldRow(
                column, COLUMN_LABELS.get(column, column),
                ABSENT if self.local_missing else self._value(column, mine),
                self._value(column, theirs),
                self.local_missing or column not in self.local or mine != theirs,
                local_id=_id_text(mine) if linked and not self.local_missing else "",
                incoming_id=_id_text(theirs) if linked else ""))
        return rows

    def _value(self, column: str, value) -> str:
        table = LINK_TABLES.get(column)
        if table and isinstance(value, str):
            named = self.links.get((table, value))
            if named:
                return named
        return value_text(column, value)

    def _file_rows(self) -> list[FieldRow]:
        mine = _file_facts(self.local_path)
        theirs = _file_facts(self.path)
        # No file times: the imported copy's is when it was unpacked, which tells nothing.
        labels = {"name": "文件名", "size": "大小", "sha256": "SHA-256 校验值"}
        rows = []
        for key, label in labels.items():
            a, b = mine.get(key), theirs.get(key)
            shown = NO_LOCAL_FILE if not mine else a
            rows.append(FieldRow(key, label, shown, b or EMPTY, not mine or a != b))
        return rows


# --------------------------------------------------------------------------- reading

def list_conflicts(data_dir: Path, bundle_id: str | None = None,
                   session: Session | None = None) -> list[Conflict]:
    """Every conflict kept under `data_dir`, newest bundle first; only `bundle_id`'s if given.

    With `session` (on the store of `data_dir`) the linked-record columns read as names."""
    root = Path(data_dir) / CONFLICTS_DIR
    if not root.is_dir():
        return []
    bundles = [d for d in _entries(root) if d.is_dir()
               and (bundle_id is None or d.name == bundle_id)]
    found = [_read_bundle(Path(data_dir), d) for d in bundles]
    found = [(max(c.saved_at for c in conflicts), conflicts) for conflicts in found if conflicts]
    found.sort(key=lambda item: item[0], reverse=True)
    conflicts = [c for _newest, conflicts in found for c in conflicts]
    if session is not None:
        name_links(session, conflicts)
    return conflicts


def name_links(session: Session, conflicts: list[Conflict]) -> None:
    """Give each conflict the names of the records its columns point at (read-only).

    A store that cannot be read here leaves the ids as they are: the conflicts still show."""
    wanted: dict[str, set[str]] = {}
    for c in conflicts:
        for row in (c.local, c.incoming):
            for column, table in LINK_TABLES.items():
                value = row.get(column)
                if isinstance(value, str) and _as_uuid(value) is not None:
                    wanted.setdefault(table, set()).add(value)
    wanted = {table: ids for table, ids in wanted.items() if table in _NAMERS}
    if not wanted:
        return
    try:
        names = {(table, key): text for table, ids in wanted.items()
                 for key, text in _names_of(session, table, ids).items()}
    except SQLAlchemyError:
        log.warning("导入冲突：无法读取关联记录的名称，显示记录编号", exc_info=True)
        return
    links = {}
    for table, ids in wanted.items():
        for key in ids:
            name = names.get((table, key))
            links[(table, key)] = (f"{name}（{short_id(key)}）" if name
                                   else f"{ABSENT}（{short_id(key)}）")
    for c in conflicts:
        c.links = links


def table_label(table: str) -> str:
    try:
        return policy(table).label or table
    except (KeyError, LookupError):
        return table  # written by a newer version: its name is all there is


def _table_rank(table: str) -> int:
    try:
        return policy(table).shown_rank
    except (KeyError, LookupError):
        return _UNKNOWN_RANK


def short_id(value: str) -> str:
    return value[:SHORT_ID_CHARS] + "…" if len(value) > SHORT_ID_CHARS else value


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _id_text(value) -> str:
    return value if isinstance(value, str) else ""


def _names_of(session: Session, table: str, ids: set[str]) -> dict[str, str]:
    """id → the name an inspector knows the record by, for the ids of `table` stored here."""
    by_uuid = {_as_uuid(i): i for i in ids}
    keys = sorted(by_uuid, key=str)
    out: dict[str, str] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start:start + _LOOKUP_CHUNK]
        for key, text in _NAMERS[table](session, chunk):
            if text:
                out[by_uuid[key]] = text
    return out


def _enterprise_names(s: Session, ids: list[uuid.UUID]):
    for key, name in s.execute(select(Enterprise.id, Enterprise.name)
                               .where(Enterprise.id.in_(ids))):
        yield key, _shorten(name or "", LINK_NAME_CHARS * 2)


def _item_names(s: Session, ids: list[uuid.UUID]):
    for key, code, question in s.execute(select(ChecklistItem.id, ChecklistItem.code,
                                                ChecklistItem.question)
                                         .where(ChecklistItem.id.in_(ids))):
        yield key, _joined(code, _shorten(question or "", LINK_NAME_CHARS))


def _inspection_names(s: Session, ids: list[uuid.UUID]):
    for key, place, started, year, serial in s.execute(
            select(Inspection.id, Inspection.place, Inspection.started_at, Inspection.case_year,
                   Inspection.case_serial).where(Inspection.id.in_(ids))):
        day = agency_text(started, "%Y-%m-%d")
        case = case_label(year, serial)
        yield key, _joined(_shorten(place or "", LINK_NAME_CHARS), day, case)


def _inspector_names(s: Session, ids: list[uuid.UUID]):
    for key, name, certificate in s.execute(select(Inspector.id, Inspector.name,
                                                   Inspector.certificate_no)
                                            .where(Inspector.id.in_(ids))):
        yield key, _joined(name, f"执法证号 {certificate}" if certificate else "")


def _checklist_names(s: Session, ids: list[uuid.UUID]):
    for key, code, version, title in s.execute(select(Checklist.id, Checklist.code,
                                                      Checklist.version, Checklist.title)
                                               .where(Checklist.id.in_(ids))):
        yield key, _joined(code, f"第{version}版" if version else "",
                           _shorten(title or "", LINK_NAME_CHARS))


def _hazard_names(s: Session, ids: list[uuid.UUID]):
    for key, major, description in s.execute(select(Hazard.id, Hazard.is_major,
                                                    Hazard.description)
                                             .where(Hazard.id.in_(ids))):
        yield key, _shorten(("【重大】" if major else "") + (description or ""), LINK_NAME_CHARS)


def _assignment_names(s: Session, ids: list[uuid.UUID]):
    for key, assignee, deadline in s.execute(select(HazardAssignment.id, HazardAssignment.assignee,
                                                    HazardAssignment.deadline)
                                             .where(HazardAssignment.id.in_(ids))):
        yield key, _shorten(f"交办 {assignee}（期限 {deadline:%Y-%m-%d}）", LINK_NAME_CHARS)


def _answer_names(s: Session, ids: list[uuid.UUID]):
    for key, code, result in s.execute(select(Answer.id, ChecklistItem.code, Answer.result)
                                       .join(ChecklistItem, Answer.item_id == ChecklistItem.id)
                                       .where(Answer.id.in_(ids))):
        label = result.label if isinstance(result, AnswerResult) else value_text("result", result)
        yield key, _joined(f"检查项 {code}" if code else "", label)


def _document_names(s: Session, ids: list[uuid.UUID]):
    for key, number, file_name in s.execute(select(Document.id, Document.number,
                                                   Document.file_name)
                                            .where(Document.id.in_(ids))):
        yield key, number or (file_name or "").rsplit("/", 1)[-1]


def _task_names(s: Session, ids: list[uuid.UUID]):
    for key, kind, due in s.execute(select(PlanTask.id, PlanTask.kind, PlanTask.due_month)
                                    .where(PlanTask.id.in_(ids))):
        yield key, _joined("双随机抽查" if kind == "draw" else "重点检查", f"{due}月底前")


_NAMERS = {
    Enterprise.__tablename__: _enterprise_names, ChecklistItem.__tablename__: _item_names,
    Inspection.__tablename__: _inspection_names, Inspector.__tablename__: _inspector_names,
    Checklist.__tablename__: _checklist_names, Hazard.__tablename__: _hazard_names,
    Answer.__tablename__: _answer_names, Document.__tablename__: _document_names,
    PlanTask.__tablename__: _task_names, HazardAssignment.__tablename__: _assignment_names,
}


def _joined(*parts) -> str:
    return " ".join(str(p).strip() for p in parts if p and str(p).strip())


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _read_bundle(data_dir: Path, folder: Path) -> list[Conflict]:
    records: list[Conflict] = []
    files: list[Path] = []
    for sub in _entries(folder):
        if not sub.is_dir():
            continue
        if sub.name == DOCUMENTS_DIR:
            files += [p for p in _entries(sub) if p.is_file()]
            continue
        for path in _entries(sub):
            if path.suffix == ".json" and path.is_file():
                conflict = _read_record(folder.name, sub.name, path)
                if conflict is not None:
                    records.append(conflict)
    records.sort(key=_record_order)
    devices = [c.from_device for c in records if c.from_device]
    numbers = _document_numbers(records)
    documents = []
    for path in files:
        saved = _mtime(path)
        if saved is None:
            continue  # removed while we looked
        documents.append(Conflict(
            KIND_DOCUMENT_FILE, DOCUMENTS_DIR, path.name, folder.name,
            devices[0] if devices else "", path, saved,
            local_path=data_dir / DOCUMENTS_DIR / path.name,
            document_number=numbers.get(path.name, "")))
    return records + documents


def _read_record(bundle_id: str, table: str, path: Path) -> Conflict | None:
    saved = _mtime(path)
    if saved is None:
        return None  # removed while we looked
    broken = Conflict(KIND_RECORD, table, path.stem, bundle_id, "", path, saved)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        broken.problem = f"冲突文件无法读取（{exc.strerror or exc}）"
        return broken
    except ValueError:  # not UTF-8, or not JSON: cut short or damaged on disk
        broken.problem = "冲突文件已损坏（不是完整的 JSON），无法显示两个版本"
        return broken
    if not (isinstance(doc, dict) and isinstance(doc.get("incoming"), dict)
            and isinstance(doc.get("local", {}), dict)):
        broken.problem = "冲突文件内容不完整，无法显示两个版本"
        return broken
    return Conflict(KIND_RECORD, str(doc.get("table") or table),
                    str(doc["incoming"].get("id") or path.stem),
                    str(doc.get("bundle_id") or bundle_id), str(doc.get("from_device") or ""),
                    path, saved, incoming=doc["incoming"], local=doc.get("local") or {})


def _record_order(c: Conflict) -> tuple:
    return (bool(c.problem), _table_rank(c.table), c.table, c.description, c.record_id)


def _document_numbers(records: list[Conflict]) -> dict[str, str]:
    """File name → 文书编号, from the document records that conflicted in the same bundle."""
    out = {}
    for c in records:
        if c.table == Document.__tablename__ and not c.problem:
            for row in (c.incoming, c.local):
                name, number = row.get("file_name"), row.get("number")
                if isinstance(name, str) and number:
                    out.setdefault(name.rsplit("/", 1)[-1], str(number))
    return out


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        return None


def _file_facts(path: Path | None) -> dict[str, str]:
    """What tells two versions of a document file apart; {} when there is no file."""
    if path is None:
        return {}
    try:
        size = path.stat().st_size
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
    except OSError:
        return {}
    return {"name": path.name, "size": _size_text(size), "sha256": digest.hexdigest()[:16] + "…"}


def _size_text(size: int) -> str:
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB（{size} 字节）"
    return f"{size / 1024 / 1024:.1f} MB（{size} 字节）"


# --------------------------------------------------------------------------- wording

def value_text(column: str, value) -> str:
    """A JSON value as the user reads it: 是/否, Chinese enum names, local times."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        label = _VALUE_LABELS.get(column, {}).get(value)
        if label:
            return label
        if _ISO_MOMENT.match(value):
            try:
                return agency_text(datetime.fromisoformat(value), "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return value
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _describe(table: str, row: dict) -> str:
    describe = _DESCRIBERS.get(table)
    return describe(row, lambda key: str(row.get(key) or "").strip()) if describe else ""


def _joined_if(*parts: str, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def _nth(row: dict, what: str) -> str:
    return f"第{row['position']}{what}" if row.get("position") else ""


# How a kept-aside row reads in the list, by its model.
_DESCRIBERS = {
    Inspection.__tablename__: lambda row, get: _joined_if(
        get("place"), case_label(row.get("case_year"), row.get("case_serial"))),
    Hazard.__tablename__: lambda row, get: ("【重大】" if row.get("is_major") else "") + get("description"),
    Answer.__tablename__: lambda row, get: _joined_if(
        value_text("result", row.get("result")) if row.get("result") else "", get("note"), sep="，"),
    Photo.__tablename__: lambda row, get: get("caption") or get("original_name"),
    Document.__tablename__: lambda row, get: get("number") or get("file_name"),
    Signature.__tablename__: lambda row, get: _joined_if(
        value_text("role", row.get("role")) if row.get("role") else "", get("signer_name")),
    Enterprise.__tablename__: lambda row, get: get("name"),
    Inspector.__tablename__: lambda row, get: get("name"),
    HazardReview.__tablename__: lambda row, get: get("note"),
    InspectionInspector.__tablename__: lambda row, get: _nth(row, "位检查人员"),
    InspectionChecklist.__tablename__: lambda row, get: _nth(row, "份检查表"),
}


def _shorten(text: str, chars: int = DESCRIPTION_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[:chars - 1] + "…"
