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
import os
import uuid
import zipfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from models.base import utcnow
from models.chain_anchor import record_export
from models.photo_store import photo_path
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
    SIGNATURE_IMAGES_DIR,
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
from sync.selection import changed_since, delta_events, select_delta, select_rows

EXPORTS_STATE_FILE = "sync/exports.json"  # before delta bundles: one position per folder (unread now)
Progress = Callable[[int, int], None]   # bytes done, bytes in all
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


def _file_sources(store: Store, rows: dict[str, list[dict]],
                  fresh: dict[str, set] | None = None) -> dict[str, Path]:
    """Entry name → file on disk, for every photo, document and signature image carried
    (in a delta only those of rows new or changed since: the destination holds the rest)."""
    sources: dict[str, Path] = {}
    if fresh is not None:
        rows = {name: [r for r in rows.get(name, []) if r["id"] in fresh.get(name, ())]
                for name in ("photo", "document", "signature")}
    for photo in rows.get("photo", []):
        path = photo_path(store.photos_dir, photo["sha256"], photo["file_ext"])
        if not path.is_file():
            raise BundleError(f"照片文件缺失：{path.name}（{photo['original_name'] or '无原文件名'}）",
                              "导出已取消；请从相机存储卡重新添加该照片，或联系技术支持")
        sources[f"{PHOTOS_PREFIX}{path.parent.name}/{path.name}"] = path
    for doc in rows.get("document", []):
        entry = document_entry(doc["file_name"])
        path = store.data_dir / DOCUMENTS_DIR / entry[len(DOCUMENTS_PREFIX):] if entry else None
        if path is None or not path.is_file():
            raise BundleError(f"文书文件缺失：{doc['file_name']}（{doc['number']}）",
                              "导出已取消；请重新生成该文书后再导出")
        sources[entry] = path
    for sig in rows.get("signature", []):
        sha = sig.get("image_sha256")
        folder = store.data_dir / SIGNATURE_IMAGES_DIR
        for path in sorted(folder.glob(f"{sha}.*")) if sha and folder.is_dir() else []:
            sources[SIGNATURE_IMAGES_PREFIX + path.name] = path
            break
    return sources


def _info(name: str, when: datetime, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o100644 << 16  # a regular file, never a link
    return info


class _BundleWriter:
    def __init__(self, zf: zipfile.ZipFile, when: datetime, total: int, progress: Progress | None):
        self.zf, self.when, self.total, self.progress = zf, when, total, progress
        self.entries: list[dict] = []
        self.done = 0

    def add(self, name: str, data: bytes, compress: int = zipfile.ZIP_STORED,
            sha: str | None = None) -> None:
        self.zf.writestr(_info(name, self.when, compress), data,
                         compresslevel=FAST_DEFLATE if compress == zipfile.ZIP_DEFLATED else None)
        self.entries.append({"name": name, "size": len(data),
                             "sha256": sha or hashlib.sha256(data).hexdigest()})
        self.done += len(data)
        if self.progress:
            self.progress(self.done, self.total)


def _read_and_hash(path: Path, named: bool) -> tuple[bytes, str]:
    """The file and its SHA-256. A photo's or signature image's file is named by its hash
    (the content-addressed store): that name is taken, not computed again — the importer
    hashes every entry and refuses one whose content is not its name, so a file damaged on
    this disk is stopped there all the same (sha256 was a third of a large export's CPU)."""
    data = path.read_bytes()
    return data, path.stem if named else hashlib.sha256(data).hexdigest()


def _named_by_hash(name: str) -> bool:
    return name.startswith((PHOTOS_PREFIX, SIGNATURE_IMAGES_PREFIX))


def _prefetched(sources: list[tuple[str, Path]], window: int = 8):
    """(name, bytes, sha256) in order; a second thread reads (and hashes) a few files ahead
    while this one writes (I/O and hashing release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: deque = deque()
        for name, path in sources:
            pending.append((name, pool.submit(_read_and_hash, path, _named_by_hash(name))))
            if len(pending) >= window:
                done_name, future = pending.popleft()
                yield done_name, *future.result()
        while pending:
            done_name, future = pending.popleft()
            yield done_name, *future.result()


def _records_entries(rows: dict[str, list[dict]]) -> dict[str, bytes]:
    out = {}
    for table in exported_tables(Base.metadata):
        if table.name in rows:
            out[f"{RECORDS_PREFIX}{table.name}.json"] = canonical_json({
                "table": table.name, "columns": [c.name for c in table.columns],
                "rows": encode_rows(table, rows[table.name])})
    return out


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


def _write_zip(target_fh, store, bundle_id, when, rows, inspector, destination, progress,
               scope) -> int:
    sources = _file_sources(store, rows, scope["fresh"])
    total = sum(p.stat().st_size for p in sources.values())
    key = crypto.device_signing_key(store.data_dir)
    with zipfile.ZipFile(target_fh, "w", allowZip64=True) as zf, \
            ThreadPoolExecutor(max_workers=1) as pool:
        writer = _BundleWriter(zf, when, total, progress)
        # The records are encoded (CPU) while the files are copied (I/O, hashing: no GIL);
        # they follow the files in the zip, deflated fast (FAST_DEFLATE).
        encoded = pool.submit(_records_entries, rows)
        for name, data, sha in _prefetched(sorted(sources.items())):
            writer.add(name, data, sha=sha)
        records = encoded.result()
        writer.total += sum(len(v) for v in records.values())
        for name, data in records.items():
            writer.add(name, data, zipfile.ZIP_DEFLATED)
        manifest = _manifest(store, bundle_id, when, rows, writer.entries, key, inspector,
                             destination, scope)
        zf.writestr(_info(MANIFEST_NAME, when, zipfile.ZIP_DEFLATED), manifest)
        zf.writestr(_info(SIGNATURE_NAME, when, zipfile.ZIP_STORED),
                    crypto.sign_manifest(key, manifest))
    return len(sources)


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
    with store.session() as s:
        holds = held_positions(s, upto)
        base = None if everything or inspection_ids is not None else base_for(
            store.data_dir, s, destination, store.device_id, for_device)
        fresh = None
        if base is None:
            rows = select_rows(s, Base.metadata, inspection_ids)
        elif base.device is None:  # a folder: what changed here since, chains whole
            rows = select_rows(s, Base.metadata, None, changed_since(s, store.device_id, base.since))
        else:
            rows, fresh = select_delta(s, Base.metadata, delta_events(s, base.chains, upto),
                                       notes_too=for_device is not None)
    if not rows and for_device is None:  # asked for by name, it still says what is held here
        return ExportResult(path=out, bundle_id="", written=False)
    _only_signed_chains(store, rows)
    device = for_device or (base.device if base else linked_device(store.data_dir, destination))
    scope = {"holds": holds, "fresh": fresh, "for_device": device,
             "builds_on": base.positions if base and base.device else {}}
    office = crypto.office_public_key(store.data_dir) if encrypt in (None, True) else None
    if encrypt and office is None:
        raise BundleError("本机尚未安装办公室公钥，无法加密导出", "请先运行 office-key install 公钥文件")
    bundle_id = str(uuid.uuid4())
    inspector = _inspector_facts(store, inspector_id)
    files = _write_atomically(store, out, bundle_id, started, rows, inspector, destination,
                              office, progress, scope)
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
                        delta_for=_label(base))


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


def _write_atomically(store, out, bundle_id, when, rows, inspector, destination, office,
                      progress, scope) -> int:
    for folder in (out.parent, store.data_dir / "tmp"):  # an earlier export that never ended
        remove_leftovers(folder)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    plain = store.data_dir / "tmp" / f"{bundle_id}.zip" if office else None
    try:
        if plain:
            plain.parent.mkdir(parents=True, exist_ok=True)
        with open(plain or tmp, "wb") as fh:
            files = _write_zip(fh, store, bundle_id, when, rows, inspector, destination, progress,
                               scope)
            if plain is None:
                fh.flush()
                os.fsync(fh.fileno())
        if plain:
            with open(tmp, "wb") as fh:
                crypto.encrypt_file(plain, fh, office)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, out)
        _fsync_dir(out.parent)
        return files
    except OSError as exc:
        raise _write_error(exc, out) from exc
    finally:
        tmp.unlink(missing_ok=True)
        if plain:
            plain.unlink(missing_ok=True)


__all__ = ["ExportResult", "destination_key", "export_bundle"]
