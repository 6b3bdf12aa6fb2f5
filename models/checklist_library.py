"""Read, check and store the checklist files in `checklists/data/` (the domain's part of
the checklist library: the checklists package holds the files and the citations report).

A file is rejected as a whole, naming the file, the item and the reason. Loading is
idempotent: the content (not the bytes, so comments may change freely) is hashed, and only
a changed content becomes a new version; inspections keep the version they started with.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.checklist import AREAS, Checklist, ChecklistItem
from models.errors import ChecklistFileError
from models.paths import checklists_dir

DATA_DIR = checklists_dir()
CODE_PREFIX = {"dust": "DUST", "confined_space": "CS", "ammonia": "NH3", "general": "GEN"}
MAJOR_CLAUSE = re.compile(r"^《工贸企业重大事故隐患判定标准》第[一二三四五六七八九十]+条(（[一二三四五六七八九十]+）)?$")
_TEXT_FIELDS = ("question", "how_to_check", "legal_basis", "rectification")
# Where each citation of legal_basis was checked (docs/citations.md keeps the sentences read).
VERIFIED, UNVERIFIED = "已核", "待核"
TEXT_KINDS = ("官方发布", "转载")
_SOURCE_FIELDS = ("citation", "status", "document", "article", "text_date", "found_at",
                  "text_kind", "reason")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class BasisSource:
    """One citation of an item's legal_basis and where its text was read (or why not)."""
    citation: str
    status: str
    document: str = ""
    article: str = ""
    text_date: str = ""      # date (and version) of the text that was read
    found_at: str = ""       # URL or document reference
    text_kind: str = ""      # 官方发布 (publisher's own text) or 转载 (a reprint)
    reason: str = ""         # why 待核; for 已核 an optional note

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


@dataclass(frozen=True)
class ItemSpec:
    code: str
    question: str
    how_to_check: str
    legal_basis: str
    major: bool
    major_clause: str
    rectification: str
    deadline_days: int
    seed_refs: tuple[str, ...]
    finding: str = ""
    basis_sources: tuple[BasisSource, ...] = ()


@dataclass(frozen=True)
class ChecklistSpec:
    code: str
    area: str
    title: str
    source: str
    file_name: str
    items: tuple[ItemSpec, ...]

    @property
    def content_hash(self) -> str:
        content = {k: v for k, v in asdict(self).items() if k != "file_name"}
        blob = json.dumps(content, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _text(raw: dict, key: str, file: str, item: str | None, required: bool = True) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise ChecklistFileError(file, item, f"字段 {key} 应为文字")
    if required and not value.strip():
        raise ChecklistFileError(file, item, f"缺少字段 {key} 或内容为空")
    return value.strip()


def _parse_item(raw: object, index: int, checklist_code: str, file: str) -> ItemSpec:
    if not isinstance(raw, dict):
        raise ChecklistFileError(file, f"第 {index} 项", "检查项格式不对，应为 [[items]] 表")
    code = raw.get("code")
    label = code if isinstance(code, str) and code else f"第 {index} 项"
    if not isinstance(code, str) or not re.fullmatch(rf"{CODE_PREFIX[checklist_code]}-\d{{2,3}}", code):
        raise ChecklistFileError(file, label, f"编码应形如 {CODE_PREFIX[checklist_code]}-01")
    texts = {key: _text(raw, key, file, label) for key in _TEXT_FIELDS}
    major = raw.get("major")
    if not isinstance(major, bool):
        raise ChecklistFileError(file, label, "字段 major 应为 true 或 false")
    clause = _text(raw, "major_clause", file, label, required=False)
    if major and not MAJOR_CLAUSE.match(clause):
        raise ChecklistFileError(
            file, label, "重大隐患项须写明判定条款，如《工贸企业重大事故隐患判定标准》第十一条（一）"
        )
    if not major and clause:
        raise ChecklistFileError(file, label, "一般隐患项不应填写 major_clause")
    days = raw.get("deadline_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ChecklistFileError(file, label, "字段 deadline_days 应为 1 到 365 之间的整数")
    refs = raw.get("seed_refs", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise ChecklistFileError(file, label, "字段 seed_refs 应为文字列表")
    finding = _text(raw, "finding", file, label, required=False)
    unknown = set(raw) - {"code", "major", "major_clause", "deadline_days", "seed_refs", "finding",
                          "basis_sources", *_TEXT_FIELDS}
    if unknown:
        raise ChecklistFileError(file, label, f"未知字段 {', '.join(sorted(unknown))}")
    sources = _parse_sources(raw.get("basis_sources"), texts["legal_basis"], file, label)
    return ItemSpec(code=code, major=major, major_clause=clause, deadline_days=days,
                    seed_refs=tuple(refs), finding=finding, basis_sources=sources, **texts)


def citations_of(legal_basis: str) -> list[str]:
    """The citations of a legal_basis text, which separates them with “；”."""
    return [c.strip() for c in legal_basis.split("；") if c.strip()]


def _parse_source(raw: object, n: int, file: str, item: str) -> BasisSource:
    where = f"依据出处第 {n} 条"
    if not isinstance(raw, dict):
        raise ChecklistFileError(file, item, f"{where}格式不对，应为 [[items.basis_sources]] 表")
    unknown = set(raw) - set(_SOURCE_FIELDS)
    if unknown:
        raise ChecklistFileError(file, item, f"{where}有未知字段 {', '.join(sorted(unknown))}")
    values = {}
    for key in _SOURCE_FIELDS:
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise ChecklistFileError(file, item, f"{where}的字段 {key} 应为文字")
        values[key] = value.strip()
    if not values["citation"]:
        raise ChecklistFileError(file, item, f"{where}缺少 citation（对应 legal_basis 中的一条引用）")
    where = f"{where}（{values['citation']}）"
    if values["status"] not in (VERIFIED, UNVERIFIED):
        raise ChecklistFileError(file, item, f"{where}的 status 应为“{VERIFIED}”或“{UNVERIFIED}”")
    if values["status"] == UNVERIFIED:
        if not values["reason"]:
            raise ChecklistFileError(file, item, f"{where}标为待核，须在 reason 中写明未能核对的原因")
    else:
        for key, what in (("document", "文件名称和文号"), ("article", "条款"),
                          ("found_at", "在何处找到条文（网址或文件）")):
            if not values[key]:
                raise ChecklistFileError(file, item, f"{where}标为已核，须写明 {key}（{what}）")
        if not _DATE.search(values["text_date"]):
            raise ChecklistFileError(file, item, f"{where}标为已核，text_date 须含所读文本的日期（如 2023-11-29）")
        if values["text_kind"] not in TEXT_KINDS:
            raise ChecklistFileError(file, item, f"{where}的 text_kind 应为 {'或'.join(TEXT_KINDS)}")
    return BasisSource(**values)


def _parse_sources(raw: object, legal_basis: str, file: str, item: str) -> tuple[BasisSource, ...]:
    """Every citation of legal_basis has exactly one source entry, and no entry cites anything else."""
    if raw is None:
        raise ChecklistFileError(file, item, "缺少依据出处 basis_sources（每条引用须写明核对出处或标为待核）")
    if not isinstance(raw, list):
        raise ChecklistFileError(file, item, "basis_sources 应为 [[items.basis_sources]] 表的列表")
    sources = tuple(_parse_source(r, n, file, item) for n, r in enumerate(raw, 1))
    cited = citations_of(legal_basis)
    recorded = [s.citation for s in sources]
    for citation in recorded:
        if recorded.count(citation) > 1:
            raise ChecklistFileError(file, item, f"依据出处“{citation}”重复")
        if citation not in cited:
            raise ChecklistFileError(file, item, f"依据出处“{citation}”不是 legal_basis 中的引用")
    for citation in cited:
        if citation not in recorded:
            raise ChecklistFileError(
                file, item, f"legal_basis 中的引用“{citation}”没有依据出处，请写明核对出处或标为待核")
    return tuple(sorted(sources, key=lambda s: cited.index(s.citation)))


def parse_file(path: Path) -> ChecklistSpec:
    file = path.name
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        raise ChecklistFileError(file, None, "文件不是 UTF-8 编码") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ChecklistFileError(file, None, f"TOML 语法错误（{exc}）") from exc
    head = data.get("checklist")
    if not isinstance(head, dict):
        raise ChecklistFileError(file, None, "缺少 [checklist] 表头")
    code = head.get("code")
    if code not in AREAS:
        raise ChecklistFileError(file, None, f"checklist.code 应为 {', '.join(AREAS)} 之一")
    if head.get("area") != AREAS[code]:
        raise ChecklistFileError(file, None, f"checklist.area 应为“{AREAS[code]}”")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ChecklistFileError(file, None, "没有任何检查项（[[items]]）")
    items = tuple(_parse_item(raw, i, code, file) for i, raw in enumerate(raw_items, 1))
    seen: set[str] = set()
    for item in items:
        if item.code in seen:
            raise ChecklistFileError(file, item.code, "编码重复")
        seen.add(item.code)
    return ChecklistSpec(
        code=code, area=AREAS[code], title=_text(head, "title", file, None),
        source=_text(head, "source", file, None, required=False), file_name=file, items=items,
    )


def parse_folder(folder: Path = DATA_DIR) -> list[ChecklistSpec]:
    specs = [parse_file(p) for p in sorted(folder.glob("*.toml"))]
    codes = [s.code for s in specs]
    for code in set(codes):
        if codes.count(code) > 1:
            files = [s.file_name for s in specs if s.code == code]
            raise ChecklistFileError(" 和 ".join(files), None, f"清单编码 {code} 重复")
    return specs


@dataclass
class LoadReport:
    new_versions: list[str]
    unchanged: list[str]


def store_checklists(session: Session, specs: list[ChecklistSpec]) -> LoadReport:
    """Store each spec whose content is new as the next version of its checklist."""
    report = LoadReport([], [])
    for spec in specs:
        digest = spec.content_hash
        exists = session.scalar(
            select(Checklist.id).where(Checklist.code == spec.code, Checklist.content_hash == digest)
        )
        if exists:
            report.unchanged.append(spec.code)
            continue
        last = session.scalar(select(func.max(Checklist.version)).where(Checklist.code == spec.code))
        checklist = Checklist(
            code=spec.code, area=spec.area, title=spec.title, source=spec.source,
            version=(last or 0) + 1, content_hash=digest, source_file=spec.file_name,
        )
        checklist.items = [
            ChecklistItem(position=pos, area=spec.area,
                          seed_refs=json.dumps(list(it.seed_refs), ensure_ascii=False),
                          basis_sources=json.dumps([asdict(b) for b in it.basis_sources],
                                                   ensure_ascii=False),
                          **{k: v for k, v in asdict(it).items()
                             if k not in ("seed_refs", "basis_sources")})
            for pos, it in enumerate(spec.items, 1)
        ]
        session.add(checklist)
        report.new_versions.append(f"{spec.code} v{checklist.version}")
    return report


def load_checklists(session: Session, folder: Path = DATA_DIR) -> LoadReport:
    return store_checklists(session, parse_folder(folder))


def latest_checklists(session: Session) -> dict[str, Checklist]:
    """The newest version of each checklist, by code."""
    newest = (select(Checklist.code, func.max(Checklist.version).label("v"))
              .group_by(Checklist.code).subquery())
    rows = session.scalars(select(Checklist).join(
        newest, (Checklist.code == newest.c.code) & (Checklist.version == newest.c.v)))
    return {c.code: c for c in rows}
