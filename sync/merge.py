"""Importing a bundle: verify everything, then change the store in one transaction.

1. `read_bundle` checks the container, signature, hashes, sizes and records, staging the
   files in a private folder (data folder/tmp) — the store is not touched;
2. in one transaction: `plan_merge` decides every row (refusing missing references and
   unique-key clashes), the files are moved to their content-addressed places and flushed,
   then rows are written through Core with foreign-key checks deferred to the commit;
3. Core writes bypass the flush hook, so this module appends the audit events itself: the
   foreign events verbatim (their own device chains, with every record's create event),
   then this device's events for every updated, deleted, conflicting or superseded record
   and one for the import as a whole, listing the records it created.
Importing the same bundle again finds every record unchanged and writes nothing.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import stat
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import attrgetter, itemgetter
from pathlib import Path

from sqlalchemy import Uuid, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.audit import AuditEvent, canonical_json, chain_head
from models.base import UTCDateTime
from models.documents import SIGNATURE_IMAGES_DIR
from models.errors import StoreError
from models.flush_hooks import audited_by_caller, session_now
from models.paths import atomic_write_bytes
from models.photo_store import PHOTO_EXTENSIONS, is_sha256, photo_path, photo_relative
from models.store import (Store, begin_import, concurrent_write, hold_imports, import_lost_race,
                          lock_for_device)
from models.record_policy import STAMPS, Merge, event_hash, policy
from models.tables import Base
from sync import crypto, destinations, trust
from sync.authority import check_authority
from sync.bundle_format import (
    DOCUMENTS_DIR,
    DOCUMENTS_PREFIX,
    PHOTOS_PREFIX,
    SIGNATURE_IMAGES_PREFIX,
    BundleError,
    encode_value,
    refuse,
    remove_leftovers,
)
from sync.merge_plan import IMPORT_LABEL, MergePlan, RowPlan, plan_merge
from sync.records import Bundle, check_files
from sync.selection import IMPORT_CREATED
from sync.verify import Progress, read_bundle

CONFLICTS_DIR = "conflicts"


@dataclass
class ImportReport:
    bundle_id: str
    device_id: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # action → table → n
    conflicts: list[tuple[str, str]] = field(default_factory=list)   # table, id
    merged: list[tuple[str, str, str, str]] = field(default_factory=list)
    conflicts_dir: Path | None = None
    signer_known: bool = True          # False: the first bundle from that device
    signer_fingerprint: str = ""
    recorded_before: int = 0           # conflicts / older versions known from an earlier import
    key_clashes: list[tuple[str, str, str, str]] = field(default_factory=list)

    def total(self, action: str) -> int:
        return sum(self.counts.get(action, {}).values())

    @property
    def changed_nothing(self) -> bool:
        return not any(self.total(a) for a in ("new", "updated", "deleted")) and (
            self.total("conflict") + self.total("superseded") == self.recorded_before)

    def as_dict(self) -> dict:
        return {"bundle_id": self.bundle_id, "device_id": self.device_id,
                **{a: self.total(a) for a in ("new", "updated", "unchanged", "conflict",
                                              "superseded", "deleted")},
                "by_table": self.counts,
                "conflicts": [{"table": t, "id": i} for t, i in self.conflicts],
                "signer_known": self.signer_known, "signer_fingerprint": self.signer_fingerprint,
                "kept_local_keys": [{"table": t, "id": i, "other": o, "key": k}
                                    for t, i, o, k in self.key_clashes],
                "merged": [{"table": t, "from": a, "to": b, "key": k} for t, a, b, k in self.merged]}

    def lines(self) -> list[str]:
        out = [f"新增 {self.total('new')} 条，更新 {self.total('updated')} 条，"
               f"未变 {self.total('unchanged')} 条，冲突 {self.total('conflict')} 条"
               + (f"，删除 {self.total('deleted')} 条（导出方已删除或不在其定稿版本中，已记入执法记录）"
                  if self.total("deleted") else "")
               + (f"，较旧版本 {self.total('superseded')} 条（已记入执法记录）"
                  if self.total("superseded") else "")]
        if self.changed_nothing:
            out.append("该导出包此前已导入，本次没有任何改动")
        if not self.signer_known:
            out.append(f"首次导入该设备的导出包，签名指纹 {self.signer_fingerprint}：请与导出电脑"
                       "「设置」中显示的本机签名指纹核对，不一致时请停止使用并报告")
        same_checklists = sum(1 for t, *_ in self.merged if _content_keyed(t))
        if same_checklists:
            out.append(f"检查表（版本及条目）{same_checklists} 条与本机内容相同，已按本机编号合并")
        for table, source, target, key in self.merged:
            if not _content_keyed(table):
                out.append(f"合并：{table} 记录 {source} 与本机记录 {target} 是同一对象（{key}）")
        for table, row_id, other, key in self.key_clashes:
            out.append(f"注意：{table} 记录 {row_id} 在导出方改为 {key}，与本机另一记录 {other} 相同；"
                       "本机保留原值，其余内容已更新，请管理员核对两条记录是否为同一对象")
        for table, row_id in self.conflicts:
            out.append(f"冲突：{table} 记录 {row_id} 已定稿，导入的不同版本未覆盖本机版本，"
                       f"已另存于 {self.conflicts_dir}")
        return out


def _content_keyed(table: str) -> bool:
    return policy(table).merge is Merge.CONTENT_KEYED


def _report(bundle: Bundle, plan: MergePlan, store: Store) -> ImportReport:
    report = ImportReport(bundle.bundle_id, bundle.device_id, merged=plan.mapped,
                          key_clashes=plan.key_clashes,
                          conflicts_dir=store.data_dir / CONFLICTS_DIR / bundle.bundle_id,
                          signer_known=bundle.signer_known,
                          signer_fingerprint=crypto.fingerprint(bundle.manifest["signer"]["public_key"]))
    report.recorded_before = sum(1 for p in plan.rows if p.recorded_before)
    for p in plan.rows:
        report.counts.setdefault(p.action, {}).setdefault(p.table, 0)
        report.counts[p.action][p.table] += 1
        if p.action == "conflict":
            report.conflicts.append((p.table, str(p.row["id"])))
    if plan.foreign_events:
        report.counts.setdefault("new", {})["audit_event"] = len(plan.foreign_events)
    if plan.known_events:
        report.counts.setdefault("unchanged", {})["audit_event"] = plan.known_events
    return report


# --------------------------------------------------------------------------- checks

def _local_file_exists(store: Store):
    def exists(name: str) -> bool:
        if name.startswith(PHOTOS_PREFIX):
            return (store.photos_dir / name[len(PHOTOS_PREFIX):]).is_file()
        if name.startswith(DOCUMENTS_PREFIX):
            return (store.data_dir / DOCUMENTS_DIR / name[len(DOCUMENTS_PREFIX):]).is_file()
        return False
    return exists


def check_against_store(store: Store, bundle: Bundle) -> MergePlan:
    """Everything an import would check against the store, changing nothing."""
    check_files(bundle, _local_file_exists(store))
    with store.session() as s:
        try:
            return plan_merge(s, bundle)
        finally:
            s.rollback()


# --------------------------------------------------------------------------- files

def _target_of(store: Store, name: str) -> Path:
    if name.startswith(PHOTOS_PREFIX):
        sha, ext = Path(name).stem, Path(name).suffix[1:]
        return photo_path(store.photos_dir, sha, ext)
    if name.startswith(DOCUMENTS_PREFIX):
        return store.data_dir / DOCUMENTS_DIR / name[len(DOCUMENTS_PREFIX):]
    if name.startswith(SIGNATURE_IMAGES_PREFIX):
        return store.data_dir / SIGNATURE_IMAGES_DIR / name[len(SIGNATURE_IMAGES_PREFIX):]
    raise refuse(f"未知的文件条目 {name!r}")


class _HeldPhotos:
    """The bundle's photos this store holds safely — asked before the files are read, so
    that none of them is staged (sync.verify's held_files); every byte is still hashed
    against the signed manifest.

    Safely held: a committed Photo row of this store names the hash and the extension (the
    file's place: the same bytes may be signed under another extension, and a file at that
    place no row names is a stranger's), and then the file is at its place with the signed
    size. The file of a committed row was placed by the import (or the laptop) that
    committed it, and no failing import ever takes it away: `_take_away` removes only files
    whose place was empty when that import placed them, and none a committed row names (one
    that brought back a missing file may fail after this import held its copy). So the race
    guard below (replacing a file found at its place with our own checked copy) is needed
    only for a file no committed row names yet — one an import side by side placed a moment ago and
    may still take away; such a file is staged and replaced as before. A file missing here
    or of the wrong size is staged and brought back. Documents and signature images are
    staged as before: a document's place is its name, not its content (only its hash tells
    the same bytes, and a different one goes to the conflicts folder), and both are few.
    The staging also hashes each held file here (reading costs far less than the writing it
    saves): one whose bytes changed at the same size is staged after all, and its checked
    copy takes its place (sync.staging.stage_entries)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.names: dict[str, tuple[str, int]] = {}   # entry → (its place, its size)

    def __call__(self, files: dict[str, dict]) -> dict[str, str]:
        wanted: dict[tuple[str, str], tuple[str, str, int]] = {}  # (sha, ext) → entry, place, size
        photos = os.fspath(self.store.photos_dir)  # text, not Path: thousands of photos
        for name, entry in files.items():
            sha, _dot, ext = name[len(PHOTOS_PREFIX):].rpartition("/")[2].rpartition(".")
            if (name.startswith(PHOTOS_PREFIX) and entry["sha256"] == sha and is_sha256(sha)
                    and ext in PHOTO_EXTENSIONS
                    and name == f"{PHOTOS_PREFIX}{sha[:2]}/{sha}.{ext}"):
                wanted[sha, ext] = (name, os.path.join(photos, photo_relative(sha, ext)),
                                    entry["size"])
        if not wanted:
            return {}
        for key in _committed_photos(self.store, wanted):  # the file looked at after its row
            name, target, size = wanted[key]
            if _regular_size(target) == size:
                self.names[name] = (target, size)
        return {name: target for name, (target, _size) in self.names.items()}


def _committed_photos(store: Store, wanted) -> set[tuple[str, str]]:
    """Those of the (sha256, extension) pairs `wanted` that a committed Photo row of the
    store names (one indexed query per 500 hashes: SQLite's parameter limit)."""
    photo, shas, named = Base.metadata.tables["photo"], sorted({k[0] for k in wanted}), set()
    with store.session() as s:
        for start in range(0, len(shas), 500):
            named.update(map(tuple, s.execute(
                select(photo.c.sha256, photo.c.file_ext).distinct()
                .where(photo.c.sha256.in_(shas[start:start + 500])))))
    return named.intersection(wanted)


def _regular_size(path: str) -> int | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size if stat.S_ISREG(found.st_mode) else None


_CONTENT_ADDRESSED = (PHOTOS_PREFIX, SIGNATURE_IMAGES_PREFIX)  # entries named by their bytes' hash


def _place_files(store: Store, bundle: Bundle, moved: list[tuple[Path, int]],
                 held: dict[str, tuple[str, int]] | None = None) -> None:
    """Move the staged files to their places (never over a different local file); on disk
    before the commit that refers to them. `moved` collects what was placed (path and inode),
    so that a failed import can take it away again; `held` (_HeldPhotos) were not staged and
    must still be there. (Paths as text: pathlib cost more than the renames for thousands of
    photos.)"""
    for target, size in (held or {}).values():
        if _regular_size(target) != size:
            # Removed since it was found (by hand, or a damaged store's copy taken away by
            # the import that had brought it back): the next import stages it again.
            raise BundleError(f"导入期间本机照片文件 {os.path.basename(target)} 被移走或改动，"
                              "未导入任何记录", "请再导入一次该导出包")
    photos, made = os.fspath(store.photos_dir), set()
    for name, staged in bundle.staged.items():
        if name.startswith(PHOTOS_PREFIX):
            sha, _dot, ext = name[len(PHOTOS_PREFIX):].rpartition("/")[2].rpartition(".")
            target = os.path.join(photos, sha[:2], f"{sha}.{ext}")  # models.photo_store.photo_path
        else:
            target = os.fspath(_target_of(store, name))
        if os.path.exists(target):
            if name.startswith(DOCUMENTS_PREFIX) and _sha(target) != bundle.files[name]:
                target = os.fspath(store.data_dir / CONFLICTS_DIR / bundle.bundle_id / DOCUMENTS_DIR
                                   / os.path.basename(target))
            else:
                if os.path.exists(staged) and (name.startswith(_CONTENT_ADDRESSED)
                                               or _sha(target) == bundle.files[name]):
                    # The same bytes: this import's checked copy takes the place, so that an
                    # import side by side which placed it a moment ago and then fails (it
                    # takes away only its own copy, by inode) leaves the file our rows name.
                    # A photo or signature image is named by its hash: a file there with
                    # other bytes is damaged here, and the checked copy repairs it.
                    # (No staged copy left: this import placed it itself, in a first attempt.)
                    os.replace(staged, target)
                continue
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        os.replace(staged, target)
        moved.append((Path(target), os.stat(target).st_ino))
    if moved:
        _flush_to_disk([path for path, _ino in moved])


def _place_files_beside(store: Store, bundle: Bundle, moved: list[tuple[Path, int]],
                        work, held: dict[str, tuple[str, int]] | None = None) -> None:
    """_place_files on a second thread while `work()` (the row writes) runs: renames and
    SQLite both release the GIL, and neither needs the other — the commit, after both, is
    what makes the rows name the files, so they are on disk first all the same."""
    failed: list[BaseException] = []

    def place() -> None:
        try:
            _place_files(store, bundle, moved, held)
        except BaseException as exc:  # noqa: BLE001 — raised again on the importing thread
            failed.append(exc)
    thread = threading.Thread(target=place, name="import-place-files", daemon=True)
    thread.start()
    try:
        work()
    finally:
        thread.join()  # never leave it placing files after a failure: they are taken away
    if failed:
        raise failed[0]


def _take_away(store: Store, placed: list[tuple[Path, int]]) -> None:
    """A failed import removes the files it placed — only its own copies: a file another
    import has since put in their place (and refers to) stays. On the server the imports
    under way, which place files under the shared import lock, are waited for first.

    A photo a committed record names stays too: its place was empty only because the file
    was missing here, and an import side by side may have found this copy there and held it
    (_HeldPhotos) instead of placing its own. Its bytes were checked against its name."""
    if not placed:
        return
    try:
        with hold_imports(store):
            _unlink_own(placed, _named_photos(store, placed))
    except Exception:  # noqa: BLE001 — the server gone: still take away what is ours
        _unlink_own(placed)


def _named_photos(store: Store, placed: list[tuple[Path, int]]) -> set[Path]:
    """The placed photo files whose hash and extension a committed Photo row names."""
    photos = {}
    for path, _inode in placed:
        sha, _dot, ext = path.name.rpartition(".")
        if path.parent.parent == store.photos_dir and is_sha256(sha):
            photos[sha, ext] = path
    if not photos:
        return set()
    return {photos[key] for key in _committed_photos(store, photos)}


def _unlink_own(placed: list[tuple[Path, int]], keep: set[Path] = frozenset()) -> None:
    for path, inode in placed:
        if path in keep:
            continue
        try:
            if os.stat(path).st_ino == inode:
                path.unlink()
        except FileNotFoundError:
            pass


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _flush_to_disk(paths: list[Path]) -> None:
    if hasattr(os, "sync"):
        os.sync()  # one call instead of thousands of fsyncs
        return
    for path in paths:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())


# --------------------------------------------------------------------------- writing rows

@dataclass
class _Insert:
    """An INSERT with its parameters already converted for the database driver."""
    table: str
    sql: str
    params: list[tuple]


def _prepare_insert(s: Session, table_name: str, rows: list[dict]) -> _Insert | None:
    """Do the per-value type conversion now, while the files are still being checked, so
    the write itself is one executemany in C (Core converts every value at execute time:
    0.8 s for 19k rows and their events on the reference laptop). None when a row lacks a
    column (Core then fills the defaults)."""
    table = Base.metadata.tables[table_name]
    dialect = s.get_bind().dialect
    every = set(table.c.keys())
    if any(row.keys() != every for row in rows):
        return None
    columns = list(table.columns)
    names = [c.name for c in columns]
    by_column = []
    for column, name in zip(columns, names):  # column by column: most need no conversion
        by_column.append(_convert_column(column, dialect, list(map(itemgetter(name), rows))))
    params = list(zip(*by_column))
    sql = str(insert(table).compile(dialect=dialect, column_keys=names))
    if dialect.paramstyle in ("named", "pyformat"):  # psycopg: %(name)s, so one dict per row
        params = [dict(zip(names, p)) for p in params]
    return _Insert(table_name, sql, params)


_PROBES = (datetime(2026, 11, 22, 8, 30, 5, 123456, tzinfo=timezone.utc),
           datetime(1999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))))


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


_UUID_PROBE = uuid.UUID("0b5e6f2c-8d1a-4c3e-9f70-1a2b3c4d5e6f")
# _utc_text's text of a UTC time, from its fields by C-level map()s (a third faster than
# isoformat, which formats the offset only to have it cut off again).
_UTC_FIELDS = attrgetter("year", "month", "day", "hour", "minute", "second", "microsecond")
_UTC_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d".__mod__


def _convert_column(column, dialect, values: list) -> list:
    """A whole column through its converter. The usual values — UTC times and UUIDs of the
    exact types the decoder makes — go through C-level map() (a Python call per value was
    more than half of the preparation); anything else value by value, as before."""
    conv = _converter(column, dialect)
    if conv is None:
        return values
    present = [v for v in values if v is not None]
    if not present:
        return values
    if len(present) == len(values):
        present = values
    kinds = set(map(type, present))
    fast = None
    if conv is _utc_text and kinds == {datetime} and set(map(_TZINFO, present)) == {timezone.utc}:
        fast = lambda vs: list(map(_UTC_TEXT, map(_UTC_FIELDS, vs)))  # noqa: E731
    elif (isinstance(column.type, Uuid) and kinds == {uuid.UUID}
          and conv(_UUID_PROBE) == _UUID_PROBE.hex):
        fast = lambda vs: list(map(_HEX, vs))  # noqa: E731
    if fast is None:
        return [None if v is None else conv(v) for v in values]
    if present is values:
        return fast(values)
    converted = iter(fast(present))
    return [None if v is None else next(converted) for v in values]


_HEX, _TZINFO = attrgetter("hex"), attrgetter("tzinfo")


def _converter(column, dialect):
    """The column's bind processor — for UTC times a C-speed equivalent (more than half of
    the conversion time otherwise), used only where it gives the very same text."""
    generic = column.type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column.type, UTCDateTime) and generic is not None and all(
            generic(p) == _utc_text(p) for p in _PROBES):
        return _utc_text
    return generic


def _prepare_rows(s: Session, plan: MergePlan, events: list[dict]) -> list:
    """Every write of the import, in foreign-key order, ready to run."""
    writes: list = []
    if plan.foreign_events:
        writes.append(("audit_event", plan.foreign_events))
    new_by_table: dict[str, list[dict]] = {}
    for p in plan.rows:
        if p.action == "new":
            new_by_table.setdefault(p.table, []).append(p.row)
        elif p.action in ("updated", "deleted"):
            writes.append(p)
    writes += list(new_by_table.items())
    if events:
        writes.append(("audit_event", events))
    return [(_prepare_insert(s, *w) or w) if isinstance(w, tuple) else w for w in writes]


@dataclass
class _Staged:
    """New rows already in a private temporary table of this connection (SQLite)."""
    table: str
    temp: str
    columns: str


_TEMP_PREFIX = "fc_import_"


def _stage_rows(s: Session, writes: list) -> list:
    """SQLite: the new rows go into temporary tables now, while the files are still being
    checked — a temporary table is private to this connection and takes no lock on the
    store, so the team still saves meanwhile — and into the store after the check with one
    INSERT … SELECT each, run inside SQLite (binding 38k rows from Python was most of the
    time between the last file checked and the commit). The same values: the temporary
    table has the column affinities of the real one. Other databases: unchanged."""
    conn = s.connection()
    if conn.dialect.name != "sqlite":
        return writes
    quote = conn.dialect.identifier_preparer.quote
    out = []
    for w in writes:
        if not isinstance(w, _Insert):
            out.append(w)
            continue
        table = Base.metadata.tables[w.table]
        names = [c.name for c in table.columns]
        columns = ", ".join(quote(n) for n in names)
        temp = quote(f"{_TEMP_PREFIX}{w.table}_{len(out)}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{temp}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {temp} AS SELECT {columns} "
                             f"FROM main.{quote(w.table)} WHERE 0")
        conn.exec_driver_sql(f"INSERT INTO temp.{temp} ({columns}) VALUES "
                             f"({', '.join('?' * len(names))})", w.params)
        out.append(_Staged(w.table, temp, columns))
    return out


def _write_rows(s: Session, writes: list) -> None:
    tables = Base.metadata.tables
    # Core, past the flush: the plan, check_authority and _event_rows are this import's
    # guard and audit (models.flush_hooks refuses such writes anywhere else).
    with audited_by_caller(s):
        for w in writes:
            if isinstance(w, _Staged):
                conn = s.connection()
                quote = conn.dialect.identifier_preparer.quote
                conn.exec_driver_sql(f"INSERT INTO main.{quote(w.table)} ({w.columns}) "
                                     f"SELECT {w.columns} FROM temp.{w.temp}")
                conn.exec_driver_sql(f"DROP TABLE temp.{w.temp}")
            elif isinstance(w, _Insert):
                s.connection().exec_driver_sql(w.sql, w.params)
            elif isinstance(w, tuple):
                s.execute(insert(tables[w[0]]), w[1])
            elif w.action == "deleted":
                table = tables[w.table]
                _one_row(s.execute(delete(table).where(*_as_planned(s, table, w))))
            else:  # an updated row
                table = tables[w.table]
                values = {k: v for k, v in w.row.items()
                          if k != "id" and not (w.mapped and k in STAMPS - {"updated_at"})}
                _one_row(s.execute(update(table).where(*_as_planned(s, table, w)).values(**values)))


class _ChangedMeanwhile(Exception):
    """A row the plan updates or deletes was changed by someone else since it was read."""


def _as_planned(s: Session, table, w: RowPlan) -> tuple:
    """The row as the plan saw it. On the server another import (or a clerk) that changed it
    since makes this one stop rather than overwrite theirs with a decision taken on the old
    version; SQLite refuses such a write by itself (the plan's snapshot is out of date)."""
    if s.get_bind().dialect.name != "postgresql":
        return (table.c.id == w.local["id"],)
    return table.c.id == w.local["id"], table.c.updated_at == w.local["updated_at"]


def _one_row(result) -> None:
    if result.rowcount == 0:
        raise _ChangedMeanwhile()


def _mark_recorded_before(s: Session, plan: MergePlan) -> None:
    """A conflict or older version already in this store's audit trail (the same bundle,
    imported again) still stands and is reported, but is nothing new: not recorded twice.
    (The trail asked for all of them at once, in batches of ids: not once per row.)"""
    asked = [p for p in plan.rows if p.action in ("conflict", "superseded")]
    ids = sorted({str(p.row["id"]) for p in asked})
    recorded: set[tuple[str, str, str]] = set()
    for start in range(0, len(ids), 500):  # SQLite's parameter limit
        recorded.update(s.execute(select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.after)
                                  .where(AuditEvent.entity_id.in_(ids[start:start + 500]),
                                         AuditEvent.action.in_(("conflict", "superseded")))))
    for p in asked:
        p.recorded_before = (str(p.row["id"]), p.action, canonical_json(p.row)) in recorded


def _event_specs(s: Session, plan: MergePlan, bundle: Bundle, report: ImportReport):
    """(action, entity_type, entity_id, before, after) for this device's chain."""
    specs, recorded = [], []
    created: dict[str, list[str]] = {}
    for p in plan.rows:
        if p.action == "new":  # its own create event came with its device's chain
            created.setdefault(p.table, []).append(str(p.row["id"]))
        elif p.action == "updated":
            changed = {k: v for k, v in p.row.items() if p.local.get(k) != v}
            specs.append(("update", p.table, p.row["id"], p.local, changed))
        elif p.action == "deleted":
            specs.append(("delete", p.table, p.row["id"], p.local, {}))
        elif p.action in ("conflict", "superseded") and not p.recorded_before:
            specs.append((p.action, p.table, p.row["id"], p.local or {}, p.row))
            recorded.append(p)
    if specs or plan.foreign_events or created:
        summary = {"bundle_id": bundle.bundle_id, "from_device": bundle.device_id,
                   "created_at": bundle.manifest["created_at"],
                   "inspector": bundle.manifest.get("inspector"),
                   "counts": report.as_dict(), "id_map": {a: b for _t, a, b, _k in plan.mapped},
                   IMPORT_CREATED: created}
        specs.append(("import", "bundle", bundle.bundle_id, {}, summary))
    return specs, recorded


def _event_rows(s: Session, store: Store, specs) -> list[dict]:
    """This device's events, hashed by the one rule (models.record_policy.event_hash, as the
    flush hook's events are; verify_chain checks it), as rows for one Core insert: ORM objects and generic encoding cost seconds
    on a large import."""
    seq, prev = chain_head(s, store.device_id)
    now = session_now(s)
    actor = s.info.get("actor") or "导入"
    fixed = {"device_id": store.device_id, "at": now.isoformat(), "actor": actor,
             "label": IMPORT_LABEL}
    rows = []
    for action, entity_type, entity_id, before, after in specs:
        seq += 1
        hashed = {**fixed, "id": str(uuid.uuid4()), "seq": seq, "action": action,
                  "entity_type": entity_type, "entity_id": str(entity_id),
                  "before": before if isinstance(before, str) else canonical_json(before),
                  "after": after if isinstance(after, str) else canonical_json(after)}
        digest = event_hash(prev, hashed)
        rows.append({**hashed, "id": uuid.UUID(hashed["id"]), "at": now, "prev_hash": prev,
                     "hash": digest, "created_at": now, "updated_at": now})
        prev = digest
    return rows


def _save_conflicts(store: Store, bundle: Bundle, recorded: list[RowPlan]) -> None:
    for p in recorded:
        if p.action != "conflict":
            continue
        doc = {"table": p.table, "bundle_id": bundle.bundle_id, "from_device": bundle.device_id,
               "incoming": {k: encode_value(None, v) for k, v in p.row.items()},
               "local": {k: encode_value(None, v) for k, v in (p.local or {}).items()}}
        atomic_write_bytes(store.data_dir / CONFLICTS_DIR / bundle.bundle_id / p.table
                           / f"{p.row['id']}.json",
                           json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))


# --------------------------------------------------------------------------- the import

_gc_lock = threading.Lock()
_gc_holders = [0, False]  # imports under way in this process, whether gc was on before them


@contextmanager
def _gc_paused():
    """The cyclic garbage collector off while an import runs: it holds every decoded row at
    once (38k rows and their events for 1,000 inspections), and each collection walks them
    all again — a third of the import's CPU. Reference counting still frees what an import
    lets go; the cycles it leaves are collected once it is done."""
    with _gc_lock:
        if _gc_holders[0] == 0:
            _gc_holders[1] = gc.isenabled()
            gc.disable()
        _gc_holders[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders[0] -= 1
            if _gc_holders[0] == 0 and _gc_holders[1]:
                gc.enable()


def import_bundle(store: Store, path: Path, *, actor: str | None = None,
                  progress: Progress | None = None,
                  trust_new_device: str | list[str] | None = None) -> ImportReport:
    """Verify `path` completely, then merge it in one transaction (all or nothing).
    `trust_new_device`: the fingerprint(s) the user compared, to trust devices not yet known
    to a store without an agency — the sender, or a laptop whose history it relays (sync.trust)."""
    # The collector stays off until the decoded bundle is gone: switched on while it is still
    # held, its first pass walks every row of it (a quarter of a second for 38k rows).
    with _gc_paused():
        return _import(store, path, actor, progress, trust_new_device)


def _import(store: Store, path: Path, actor, progress, trust_new_device) -> ImportReport:
    remove_leftovers(store.data_dir / "tmp")  # an earlier import the laptop died in
    stage = store.data_dir / "tmp" / f"import-{uuid.uuid4().hex}"
    stage.mkdir(parents=True)
    # Filled on the files' thread before they are read; read (by _place_files) only after
    # wait_for_files, so always whole by then — the same dict, handed on before it is filled.
    held = _HeldPhotos(store)
    try:
        bundle, report, recorded = read_bundle(
            Path(path), data_dir=store.data_dir, stage_dir=stage, progress=progress,
            then=lambda bundle, wait_for_files: _merge(store, bundle, wait_for_files, actor,
                                                       held.names),
            trust_new_device=trust_new_device, held_files=held)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    trust.apply(store.data_dir, bundle.trust)
    destinations.acknowledge(store.data_dir, Path(path), bundle.manifest,  # what its sender holds
                             trust.own_device_ids(store.data_dir),
                             bundle.trust.aliases(bundle.device_id))
    _save_conflicts(store, bundle, recorded)
    return report


def _merge(store: Store, bundle: Bundle, wait_for_files, actor: str | None, held=None):
    """Plan and prepare while the files are still being checked; write only after."""
    placed: list[tuple[Path, int]] = []
    try:
        return _merge_or_raise(store, bundle, wait_for_files, actor, placed, held)
    except BaseException:
        _take_away(store, placed)  # nothing committed refers to them: the folder is as it was
        raise


def _merge_or_raise(store: Store, bundle: Bundle, wait_for_files, actor: str | None,
                    placed: list[Path], held=None):
    try:
        try:
            return _merge_once(store, bundle, wait_for_files, actor, placed, held, alone=False)
        except (_MakeAlone, _ChangedMeanwhile, IntegrityError, StoreError) as exc:
            if not (isinstance(exc, (_MakeAlone, _ChangedMeanwhile)) or import_lost_race(exc)):
                raise
        # Side by side with another import on the server, this one met its rows: made again
        # alone, on what that one committed, as if one after the other (models.store).
        return _merge_once(store, bundle, wait_for_files, actor, placed, held, alone=True)
    except IntegrityError as exc:
        raise BundleError("导出包中的记录与本机记录冲突，未导入任何内容（"
                          f"{str(exc.orig).splitlines()[0]}）",
                          "请把该导出包和本机数据交给技术支持处理") from exc
    except OSError as exc:
        raise BundleError(f"无法把导入的文件写入数据文件夹（{exc.strerror or exc}），未导入任何记录",
                          "请检查磁盘空间后重试") from exc
    except (StoreError, _ChangedMeanwhile) as exc:
        if isinstance(exc, StoreError) and not concurrent_write(exc):
            raise
        # Someone saved on this laptop while the files were checked: this import's plan is
        # out of date, so it changes nothing; their work stands.
        raise BundleError("导入期间本机有新的保存，本次导入未作任何修改",
                          "请再导入一次该导出包") from exc


class _MakeAlone(Exception):
    """The plan reads what another import may be writing at this moment: made alone."""


def _needs_alone(store: Store, plan: MergePlan) -> bool:
    """Deletions new here and conflicts or older versions to record are decided by what the
    audit trail holds — not caught by any key when two imports decide them side by side (a
    row deleted by one brought back by the other; one conflict recorded twice)."""
    return store.backend == "postgresql" and (
        any(e["action"] == "delete" for e in plan.foreign_events)
        or any(p.action in ("conflict", "superseded") and not p.recorded_before for p in plan.rows))


def _merge_once(store: Store, bundle: Bundle, wait_for_files, actor: str | None,
                placed: list[Path], held=None, *, alone: bool):
    with store.transaction(actor=actor or "导入", label="import_bundle") as s:
        # One snapshot for the plan, references checked at the commit (a re-inspection may
        # sort before its original). On SQLite the write lock is taken only after the files
        # are checked, so the team can go on saving meanwhile (a write of theirs in between
        # makes this import stop with "busy", never lose theirs).
        begin_import(s, bundle.device_id, alone=alone)
        plan = plan_merge(s, bundle)
        check_authority(s, bundle, plan)  # who may change or delete what
        _mark_recorded_before(s, plan)
        if not alone and _needs_alone(store, plan):
            raise _MakeAlone()
        report = _report(bundle, plan, store)
        specs, recorded = _event_specs(s, plan, bundle, report)
        writes = _stage_rows(s, _prepare_rows(s, plan, []))
        wait_for_files()          # every hash and size checked: now the store may change
        check_files(bundle, _local_file_exists(store))
        # (also brings back media missing here)
        _place_files_beside(store, bundle, placed, lambda: _write_rows(s, writes), held)
        # This device's chain last, and one writer at a time on it (short: a few events).
        lock_for_device(s, store.device_id)
        _write_rows(s, _prepare_rows(s, MergePlan(), _event_rows(s, store, specs)))
        return bundle, report, recorded
