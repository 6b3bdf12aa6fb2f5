"""Writing a bundle: chosen records and their files into one signed zip, atomically.

The zip is written under a hidden temporary name beside the target and renamed only when
complete and flushed to the stick, so a full or pulled stick never leaves a half bundle
under the final name. Photos and PDFs are stored as they are (no recompression); the
records are deflated JSON. Every entry's SHA-256 and size go into the signed manifest.
"""
from __future__ import annotations

import errno
import hashlib
import json
import operator
import os
import stat
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from models.base import utcnow
from models.chain_anchor import record_export
from models.documents import SIGNATURE_IMAGE_SUFFIX, SIGNATURE_IMAGES_DIR, signature_image_name
from models.photo_store import is_sha256, photo_case, photo_relative
from models.registry import Inspector
from models.store import SCHEMA_HEAD, Store
from models.tables import Base
from sync import agency, crypto, trust
from sync.bundle_format import (
    BUNDLE_VERSION,
    DOCUMENTS_DIR,
    DOCUMENTS_PREFIX,
    FORMAT_NAME,
    MANIFEST_NAME,
    PHOTOS_PREFIX,
    RECORDS_PREFIX,
    SIGNATURE_IMAGES_PREFIX,
    SIGNATURE_NAME,
    BundleError,
    canonical_json,
    encode_rows,
    exported_tables,
    document_entry,
    remove_leftovers,
)
from sync.destinations import Base as DestinationBase
from sync.destinations import (base_for, folder_key, held_positions, linked_device,
                               remember_sent, resolve_device)
from sync.export_files import (PROCESS_THRESHOLD, Child, FileProblem, Flusher, deflated,
                               read_checked, write_deflated, zip_info)
from sync.selection import changed_since, delta_events, select_delta, select_rows

EXPORTS_STATE_FILE = "sync/exports.json"  # before delta bundles: one position per folder (unread now)
Progress = Callable[[int, int], None]   # bytes done, bytes in all
FILE_TABLES = ("document", "photo", "signature")  # the rows that bring files
FAST_DEFLATE = 1  # zlib level of the records: twice as fast as the default, a few per cent larger


@dataclass
class ExportResult:
    path: Path
    bundle_id: str
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    encrypted: bool = False
    written: bool = True
    delta_for: str = ""    # a delta: the folder or device whose holdings it builds on
    missing_images: int = 0  # signature images named but not on this disk (not carried)

    def lines(self) -> list[str]:
        if not self.written:
            return ["导出位置（或其另一端的电脑）已有本机的全部记录，未生成导出包；需要全部记录时请用 --all"]
        inspections = self.counts.get("inspection", 0)
        out = [f"已导出到 {self.path}",
               f"检查 {inspections} 次，记录 {sum(self.counts.values())} 条，文件 {self.files} 个，"
               f"共 {self.bytes / 1024 / 1024:.1f} MB"]
        if self.delta_for:
            out.append(f"增量导出：只含 {self.delta_for} 尚未有的记录；对方缺少此前的记录时，请用 --all 导出全部")
        if self.encrypted:
            out.append("导出包已加密，只有办公室能打开")
        if self.missing_images:
            out.append(f"注意：本机缺少 {self.missing_images} 个签名图像文件，未随导出包带出（已签发文书的 PDF "
                       "中仍有签名）；「设置 → 数据检查」（或 fieldcheck status --files）列出是哪些文书，"
                       "或联系技术支持")
        return out


def _chain_ends(events: list[dict]) -> dict[str, tuple[int, str]]:
    ends: dict[str, tuple[int, str]] = {}
    for event in events:
        if event["seq"] > ends.get(event["device_id"], (0, ""))[0]:
            ends[event["device_id"]] = (event["seq"], event["hash"])
    return ends


def destination_key(out: Path) -> str:
    """Where a bundle goes, for “what it holds already”: the target folder (sync.destinations)."""
    return folder_key(out)


@dataclass(slots=True)
class _Source:
    """A file a bundle carries: its entry, where it is, what its content must hash to
    (a photo's or signature image's name is its SHA-256; None: hashed as it is)."""
    entry: str
    path: Path | str
    size: int                    # a photo's as its row says (its file is not looked at first)
    sha256: str | None = None
    label: str | None = None     # a photo's original name, for the refusal when damaged
    missing: tuple[str, str] = ("", "")  # the refusal when its file is not there


# A missing or damaged photo: where a good copy still is (an import puts its checked copy in
# place: sync.merge), and the check that lists every such file (status --files).
_PHOTO_AGAIN = ("导出已取消；请从相机存储卡重新添加该照片，或重新导入含该照片的导出包（导入会换上校验过的"
                "副本）；「设置 → 数据检查」（或 fieldcheck status --files）列出全部有问题的照片")


# A laptop refuses its own bundles: the copy it can take in comes from the office.
_SIGNATURE_AGAIN = ("导出已取消；导入一份其他电脑导出的、含该文书的导出包即可换上校验过的副本（检查电脑请向办公室"
                    "要一份「全部记录」导出包，本机自己导出的包不能导入本机）；「设置 → 数据检查」"
                    "（或 fieldcheck status --files）列出全部有问题的签名图像，或联系技术支持")


def _missing_photo(name: str, label: str) -> tuple[str, str]:
    return f"照片文件缺失：{name}（{label}）", _PHOTO_AGAIN


def _refused(problem: FileProblem, sources: list[_Source], store: Store) -> BundleError:
    source = next(s for s in sources if s.entry == problem.entry)
    if problem.kind == "read":
        return _unreadable(source, problem, store)
    return _damaged(source) if problem.kind == "damaged" else BundleError(*source.missing)


def _unreadable(source: _Source, problem: FileProblem, store: Store) -> BundleError:
    """A file of this computer's data folder that cannot be read (a failing disk): told as
    such — told as the stick failing, a user swaps sticks forever."""
    facts = [source.label] if source.label else []
    if source.entry.startswith(PHOTOS_PREFIX):
        with store.session() as s:
            facts.insert(0, photo_case(s, source.sha256))
        what = f"照片：{Path(source.path).name}"
    else:
        what = f"文件：{source.path}"
    facts.append(problem.detail)
    return BundleError(f"无法读取本电脑数据文件夹中的{what}（{'，'.join(filter(None, facts))}）",
                       "导出已取消，U盘上没有留下文件；问题不在U盘：请在「设置 → 数据检查」"
                       "（或用 fieldcheck status --files）检查本机的照片文件，或联系技术支持")


def _damaged(source: _Source) -> BundleError:
    if source.entry.startswith(PHOTOS_PREFIX):
        return BundleError(f"照片文件已损坏（内容与存入时不符）：{source.sha256[:12]}…（{source.label}）",
                           _PHOTO_AGAIN)
    return BundleError(f"签名图像文件已损坏（内容与存入时不符）：{source.sha256[:12]}…",
                       _SIGNATURE_AGAIN)


def _row_size(photo: dict) -> int:
    size = photo.get("byte_size")
    return size if isinstance(size, int) else 0


def _stat_file(path: Path):
    try:
        found = path.stat()
    except OSError:
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def _file_sources(store: Store, rows: dict[str, list[dict]],
                  fresh: dict[str, set] | None = None) -> list[_Source]:
    """Every photo, document and signature image carried, by entry name (in a delta only
    those of rows new or changed since: the destination holds the rest). A photo's file is
    not looked at here — thousands of stat calls before the first byte is copied: a
    missing one stops the copy (FileProblem 'missing') with the same refusal."""
    sources: dict[str, _Source] = {}
    rows = _carried_file_rows(rows, fresh)
    photos_dir = f"{store.photos_dir}{os.sep}"
    for photo in rows.get("photo", []):
        relative = photo_relative(photo["sha256"], photo["file_ext"])
        label = photo["original_name"] or "无原文件名"
        sources[PHOTOS_PREFIX + relative] = _Source(
            PHOTOS_PREFIX + relative, photos_dir + relative, _row_size(photo), photo["sha256"],
            label, _missing_photo(relative[3:], label))
    for doc in rows.get("document", []):
        entry = document_entry(doc["file_name"])
        path = store.data_dir / DOCUMENTS_DIR / entry[len(DOCUMENTS_PREFIX):] if entry else None
        found = _stat_file(path) if path is not None else None
        missing = (f"文书文件缺失：{doc['file_name']}（{doc['number']}）",
                   "导出已取消；请重新生成该文书后再导出")
        if found is None:
            raise BundleError(*missing)
        sources[entry] = _Source(entry, path, found.st_size, missing=missing)
    images = _signature_images_here(store) if rows.get("signature") else {}
    for sig in rows.get("signature", []):
        found = images.get(sig.get("image_sha256"))
        if found is not None:
            path, size = found
            sources[SIGNATURE_IMAGES_PREFIX + path.name] = _Source(
                SIGNATURE_IMAGES_PREFIX + path.name, path, size, path.stem,
                missing=(f"签名图像文件缺失：{path.name[:12]}…", _SIGNATURE_AGAIN))
    return [sources[name] for name in sorted(sources)]


def _carried_file_rows(rows: dict[str, list[dict]], fresh: dict[str, set] | None) -> dict:
    """The rows whose files a bundle carries: in a delta only those new or changed since."""
    if fresh is None:
        return rows
    return {name: [r for r in rows.get(name, []) if r["id"] in fresh.get(name, ())]
            for name in ("photo", "document", "signature")}


def _signature_images_here(store: Store) -> dict[str, tuple[Path, int]]:
    """The signature image files of this data folder by their hash (path, size): the folder
    listed once, not searched once per signature (an office holds tens of thousands)."""
    folder = store.data_dir / SIGNATURE_IMAGES_DIR
    found: dict[str, tuple[Path, int]] = {}
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return found
    for entry in entries:
        sha = entry.name[:-len(SIGNATURE_IMAGE_SUFFIX)]
        # Only `<hash>.png` is the image: a stray `<hash>.aaa` or `<hash>.png.bak` beside it
        # went in its place (a name no import takes, or the image missing at the other end).
        if entry.name == signature_image_name(sha) and is_sha256(sha):
            try:
                if entry.is_file(follow_symlinks=False):
                    found[sha] = (Path(entry.path), entry.stat(follow_symlinks=False).st_size)
            except OSError:
                continue
    return found


def _missing_signature_images(store: Store, rows: dict[str, list[dict]],
                              fresh: dict[str, set] | None) -> int:
    """The signature images the carried signatures name that are not on this disk: the
    export goes on without them (the issued PDF still holds each signature, and a frozen
    document cannot be signed again) but says so (ExportResult.lines)."""
    shas = {sig["image_sha256"] for sig in _carried_file_rows(rows, fresh).get("signature", [])
            if sig.get("image_sha256")}
    here = _signature_images_here(store) if shas else {}
    return sum(1 for sha in shas if sha not in here)


class _BundleWriter:
    def __init__(self, zf: zipfile.ZipFile | None, when: datetime, total: int,
                 progress: Progress | None):
        self.zf, self.when, self.total, self.progress = zf, when, total, progress
        self.entries: list[dict] = []
        self.done = 0

    def add(self, name: str, data: bytes, compress: int = zipfile.ZIP_STORED,
            sha: str | None = None) -> None:
        self.zf.writestr(zip_info(name, self.when, compress), data,
                         compresslevel=FAST_DEFLATE if compress == zipfile.ZIP_DEFLATED else None)
        self.entries.append({"name": name, "size": len(data),
                             "sha256": sha or hashlib.sha256(data).hexdigest()})
        self._done(len(data))

    def add_deflated(self, name: str, data: bytes, made) -> None:
        """A records entry deflated beforehand (`made`: a future of export_files.deflated)."""
        made = made.result()
        write_deflated(self.zf, zip_info(name, self.when, zipfile.ZIP_DEFLATED), data, made,
                       FAST_DEFLATE)
        self.entries.append({"name": name, "size": len(data), "sha256": made[2]})
        self._done(len(data))

    def _done(self, size: int) -> None:
        self.done += size
        if self.progress:
            self.progress(self.done, self.total)


def _records(rows: dict[str, list[dict]], encoded: bool = False):
    """(entry name, JSON) of each table carried, in foreign-key order, one at a time.
    `encoded`: the values are as written already (selection.encoded_dicts)."""
    for table in exported_tables(Base.metadata):
        if table.name in rows:
            names = [c.name for c in table.columns]
            yield f"{RECORDS_PREFIX}{table.name}.json", canonical_json({
                "table": table.name, "columns": names,
                "rows": list(map(operator.itemgetter(*names), rows[table.name])) if encoded
                else encode_rows(table, rows[table.name])})


def _records_entries(rows: dict[str, list[dict]]) -> dict[str, bytes]:
    return dict(_records(rows))


def _manifest(store: Store, bundle_id: str, when: datetime, rows, entries, signer_key,
              inspector: dict | None, destination: str, scope: dict) -> bytes:
    # Who signs what (docs/bundle-format.md, Trust): the device certificate the agency
    # issued for this key, this laptop's earlier ids, a signed head per carried chain, and
    # the agency's signed revocation list as held here.
    own = trust.own_device_ids(store.data_dir)
    certificate = agency.device_certificate(store.data_dir)
    heads = trust.heads_for_export(store.data_dir, signer_key, own,
                                   _chain_ends(rows.get("audit_event", [])), certificate)
    return canonical_json({
        "device_certificate": certificate,
        "previous_device_ids": [d for d in own if d != store.device_id],
        "chain_heads": heads,
        "revocations": agency.current_revocations(store.data_dir),
        "format": FORMAT_NAME, "bundle_version": BUNDLE_VERSION, "db_schema": SCHEMA_HEAD,
        "bundle_id": bundle_id, "created_at": when.isoformat(), "device_id": store.device_id,
        "inspector": inspector, "destination": destination,
        "counts": {name: len(r) for name, r in rows.items()},
        # What this store holds of each chain (the receiver's acknowledgement of it), and
        # what the bundle takes the destination to hold already (empty: nothing).
        "holds": {d: list(p) for d, p in sorted(scope["holds"].items())},
        "builds_on": {d: list(p) for d, p in sorted(scope["builds_on"].items())},
        "for_device": scope["for_device"],
        "entries": sorted(entries, key=lambda e: e["name"]),
        "signer": {"algorithm": crypto.SIGNATURE_ALGORITHM,
                   "public_key": crypto.public_key_text(signer_key)},
    })


def _only_signed_chains(store: Store, rows: dict[str, list[dict]]) -> None:
    """Carry another device's events only as far as a head it signed (what any importer
    checks): a chain held from before heads existed stays here."""
    own = set(trust.own_device_ids(store.data_dir)) | {store.device_id}
    signed = {d: json.loads(h["payload"])["seq"] for d, h in trust.stored_heads(store.data_dir).items()}
    if "audit_event" in rows:
        rows["audit_event"] = [e for e in rows["audit_event"] if e["device_id"] in own
                               or e["seq"] <= signed.get(e["device_id"], 0)]


class _BundleFile:
    """One bundle being written: the zip on a hidden temporary name beside the target (or,
    to be encrypted, in the data folder's tmp), renamed only when complete and flushed.

    The files go first (`copy_files`): in an export of everything as soon as their rows
    are read, while the rest is read and the records are encoded — copied by a child
    process when they are large (sync.export_files: a thread beside the encoding waits
    for the interpreter most of the time), else by a second thread. That thread then
    writes the records into the zip, deflated (FAST_DEFLATE) by a third while the files
    were copied, and that third flushes the files to the stick meanwhile; the signed
    manifest comes last."""

    def __init__(self, store: Store, out: Path, bundle_id: str, when: datetime, office,
                 progress: Progress | None):
        self.store, self.out, self.bundle_id, self.when = store, out, bundle_id, when
        self.office, self.progress = office, progress
        self.tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
        self.plain = store.data_dir / "tmp" / f"{bundle_id}.zip" if office else None
        self.fh = self.zf = self.writer = self.copying = self.child = None
        self.sources: list[_Source] = []
        self.stop = False
        self.pool = ThreadPoolExecutor(max_workers=1)     # the zip's writer
        self.helper = ThreadPoolExecutor(max_workers=1)   # deflates the records, then flushes

    def _open(self) -> Path:
        for folder in (self.out.parent, self.store.data_dir / "tmp"):  # an export that never ended
            remove_leftovers(folder)
        if self.plain:
            self.plain.parent.mkdir(parents=True, exist_ok=True)
        target = self.plain or self.tmp
        self.fh = open(target, "w+b")  # readable too: after a child, the zip is appended to
        return target

    def start_child(self, size: int) -> None:
        """Files of `size` bytes will follow: a child to copy them, when that is worth it,
        started now (its interpreter starts while their sources are listed)."""
        if self.child is None and size >= PROCESS_THRESHOLD:
            self.child = Child()

    def copy_files(self, sources: list[_Source]) -> None:
        """Start copying `sources` into the zip (by a child process or the second thread)."""
        try:
            target = self._open()
        except OSError as exc:
            raise _write_error(exc, self.out) from exc
        self.sources = sources
        total = sum(source.size for source in sources)
        self.writer = _BundleWriter(None, self.when, total, self.progress)
        self.start_child(total)
        if self.child is not None and self.child.process is not None:
            self.copying = self.pool.submit(self._copy_in_child, target, sources)
        else:  # small, or no interpreter to start (an embedded build): on the thread
            self.zf = self.writer.zf = zipfile.ZipFile(self.fh, "w", allowZip64=True)
            self.copying = self.pool.submit(self._copy, sources)

    def _copy(self, sources: list[_Source]) -> None:
        for source in sources:
            if self.stop:
                return
            try:
                data, sha = read_checked(source.entry, source.path, source.sha256)
            except FileProblem as problem:
                raise _refused(problem, [source], self.store) from None
            except OSError as exc:  # this laptop's file, not the stick (as the child tells it)
                problem = FileProblem("read", source.entry, exc.strerror or str(exc), exc.errno)
                raise _refused(problem, [source], self.store) from None
            self.writer.add(source.entry, data, sha=sha)

    def _copy_in_child(self, target: Path, sources: list[_Source]) -> None:
        def progress(done: int) -> None:
            if self.progress:
                self.progress(done, self.writer.total)
        try:
            # Flushed to the stick as it goes; a zip to be sealed is scratch in the data folder.
            entries = self.child.run(target, [(s.entry, str(s.path), s.sha256) for s in sources],
                                     self.when, progress, flush=self.plain is None)
        except FileProblem as exc:
            if exc.kind in ("damaged", "missing", "read"):
                raise _refused(exc, sources, self.store) from None
            if exc.kind == "write":
                raise OSError(exc.errno, exc.detail) from None  # as on the thread
            raise BundleError(f"导出未完成：{exc.detail}",
                              "没有留下不完整的文件；请重新导出") from None
        if self.stop:
            return
        # The child's complete zip of the files: the records and the manifest go after
        # them, and one central directory lists all (zipfile rewrites it on close).
        self.zf = self.writer.zf = zipfile.ZipFile(self.fh, "a", allowZip64=True)
        self.writer.entries.extend(entries)
        self.writer.done = sum(entry["size"] for entry in entries)
        if self.progress:
            self.progress(self.writer.done, self.writer.total)

    def finish(self, rows: dict[str, list[dict]], encoded: bool, sources: list[_Source] | None,
               manifest) -> int:
        """Everything after the files (`sources`; None: those being copied already);
        `encoded`: the rows' values are as written (selection.encoded_dicts);
        `manifest(entries, key)` gives the manifest's bytes. The number of files carried."""
        try:
            if self.copying is None:
                self.copy_files(sources or [])
            # Encoded and deflated while the files are copied (zlib, in the third thread,
            # lets go of the interpreter); that thread then flushes the files while the
            # second writes the records.
            records = [(name, data, self.helper.submit(deflated, data, FAST_DEFLATE))
                       for name, data in _records(rows, encoded)]
            self.copying.result()
            self.fh.flush()
            steps = [self.helper.submit(os.fsync, self.fh.fileno())] if self.plain is None else []
            for name, data, made in records:
                self.writer.total += len(data)
                steps.append(self.pool.submit(self.writer.add_deflated, name, data, made))
            for step in steps:
                step.result()
            key = crypto.device_signing_key(self.store.data_dir)
            signed = manifest(self.writer.entries, key)
            self.zf.writestr(zip_info(MANIFEST_NAME, self.when, zipfile.ZIP_DEFLATED), signed)
            self.zf.writestr(zip_info(SIGNATURE_NAME, self.when, zipfile.ZIP_STORED),
                             crypto.sign_manifest(key, signed))
            self.zf.close()
            self.fh.flush()
            if self.plain is None:
                os.fsync(self.fh.fileno())
            self.fh.close()
            if self.plain:
                with open(self.tmp, "wb") as fh:
                    flusher = Flusher(fh)  # to the stick as it is sealed: the fsync waits less
                    try:
                        crypto.encrypt_file(self.plain, fh, self.office, flusher.wrote)
                        fh.flush()
                    finally:
                        flusher.stop()
                    if flusher.error is not None:
                        raise flusher.error
                    os.fsync(fh.fileno())
            os.replace(self.tmp, self.out)
            _fsync_dir(self.out.parent)
            return len(self.sources)
        except OSError as exc:
            raise _write_error(exc, self.out) from exc

    def discard(self) -> None:
        """Whatever happened, nothing is left but a complete bundle under its final name."""
        self.stop = True
        if self.child is not None:  # it writes no more (and the thread waiting on it ends)
            self.child.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.helper.shutdown(wait=True, cancel_futures=True)
        if self.fh is not None:
            self.fh.close()
        if self.zf is not None:  # given up: its directory is not written (the file goes)
            self.zf.fp = None
        self.tmp.unlink(missing_ok=True)
        if self.plain:
            self.plain.unlink(missing_ok=True)


def _inspector_facts(store: Store, inspector_id: uuid.UUID | None) -> dict | None:
    if inspector_id is None:
        return None
    with store.session() as s:
        person = s.get(Inspector, inspector_id)
    if person is None:
        raise BundleError("指定的执法人员不存在", "请检查执法人员编号")
    return {"id": str(person.id), "name": person.name, "certificate_no": person.certificate_no}


def _write_error(exc: OSError, out: Path) -> BundleError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return BundleError(f"U盘（或目标磁盘）空间已满，导出未完成：{out}",
                           "没有留下不完整的文件；请换用空间更大的U盘或删除不需要的文件后重试")
    return BundleError(f"无法写入导出文件 {out}（{exc.strerror or exc}）",
                       "没有留下不完整的文件；请检查U盘是否已插好、是否写保护，然后重试")


def _fsync_dir(folder: Path) -> None:
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def export_bundle(store: Store, out: Path, *, inspection_ids: list[uuid.UUID] | None = None,
                  everything: bool = False, encrypt: bool | None = None,
                  inspector_id: uuid.UUID | None = None, for_device: str | None = None,
                  progress: Progress | None = None) -> ExportResult:
    """Write the bundle to `out`: the given inspections, else what the destination behind
    that folder lacks (sync.destinations; everything when nothing is known of it, or with
    `everything=True`). `for_device`: the bundle is for that device (what it acknowledged). `encrypt=None`
    encrypts when the office's public key is installed."""
    out = Path(out)
    destination = destination_key(out)
    if for_device is not None:
        for_device = resolve_device(store.data_dir, for_device, crypto.known_devices(store.data_dir))
    started = store.clock() if store.clock else utcnow()
    upto = _chains_to_carry(store)
    office = crypto.office_public_key(store.data_dir) if encrypt in (None, True) else None
    bundle = _BundleFile(store, out, str(uuid.uuid4()), started, office, progress)
    # Everything: the files' rows are read first and their copying starts at once.
    def copy_early(file_rows: dict[str, list[dict]]) -> None:
        if file_rows:
            bundle.start_child(sum(map(_row_size, file_rows.get("photo", []))))
            bundle.copy_files(_file_sources(store, file_rows))
    early = None if encrypt and office is None else (FILE_TABLES, copy_early)
    try:
        with store.session() as s:
            holds = held_positions(s, upto)
            base = None if everything or inspection_ids is not None else base_for(
                store.data_dir, s, destination, store.device_id, for_device)
            fresh = None
            encoded = base is None and inspection_ids is None  # everything: rows as written
            if encoded:
                rows = select_rows(s, Base.metadata, encoded=True, early=early)
            elif base is None:
                rows = select_rows(s, Base.metadata, inspection_ids)
            elif base.device is None:  # a folder: what changed here since, chains whole
                rows = select_rows(s, Base.metadata, None,
                                   changed_since(s, store.device_id, base.since))
            else:
                rows, fresh = select_delta(s, Base.metadata, delta_events(s, base.chains, upto),
                                           notes_too=for_device is not None)
        if not rows and for_device is None:  # asked for by name, it still says what is held here
            return ExportResult(path=out, bundle_id="", written=False)
        _only_signed_chains(store, rows)
        device = for_device or (base.device if base else linked_device(store.data_dir, destination))
        scope = {"holds": holds, "fresh": fresh, "for_device": device,
                 "builds_on": base.positions if base and base.device else {}}
        if encrypt and office is None:
            raise BundleError("本机尚未安装办公室公钥，无法加密导出", "请先运行 office-key install 公钥文件")
        inspector = _inspector_facts(store, inspector_id)
        sources = None if bundle.copying else _file_sources(store, rows, fresh)
        files = bundle.finish(rows, encoded, sources, lambda entries, key: _manifest(
            store, bundle.bundle_id, started, rows, entries, key, inspector, destination, scope))
    finally:
        bundle.discard()
    bundle_id = bundle.bundle_id
    if inspection_ids is None:  # a few chosen inspections leave the rest still to go there
        remember_sent(store.data_dir, destination, _sent(base, rows), bundle_id,
                      scope["for_device"])
    mine: dict[int, int] = {}
    for inspection in rows.get("inspection", []):  # this laptop's own numbers, now given out
        if inspection["device_id"] == store.device_id and inspection["case_serial"]:
            year = inspection["case_year"]
            mine[year] = max(mine.get(year, 0), inspection["case_serial"])
    record_export(store.data_dir, _chain_ends(rows.get("audit_event", [])), mine)
    return ExportResult(path=out, bundle_id=bundle_id,
                        counts={k: len(v) for k, v in rows.items()}, files=files,
                        bytes=out.stat().st_size, encrypted=office is not None,
                        delta_for=_label(base),
                        missing_images=_missing_signature_images(store, rows, fresh))


def _chains_to_carry(store: Store) -> dict[str, int | None]:
    """Device → the last seq a bundle may carry of its chain: this laptop's own ids all,
    another device's up to the head it signed that this store holds (sync.trust)."""
    own = set(trust.own_device_ids(store.data_dir)) | {store.device_id}
    upto: dict[str, int | None] = {d: None for d in own}
    for device, head in trust.stored_heads(store.data_dir).items():
        if device not in own:
            upto[device] = json.loads(head["payload"])["seq"]
    return upto


def _sent(base: DestinationBase | None, rows: dict[str, list[dict]]) -> dict[str, tuple[int, str]]:
    """What the destination holds once it imported this bundle."""
    held = dict(base.positions) if base and base.device else {}
    held.update(_chain_ends(rows.get("audit_event", [])))
    return held


def _label(base: DestinationBase | None) -> str:
    return base.label if base is not None and base.device else ""


__all__ = ["ExportResult", "destination_key", "export_bundle"]
