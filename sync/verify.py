"""Checking a bundle completely before anything is changed.

Order: the container (names, links, duplicates, sizes, compression ratios — from the
central directory, before anything is decompressed), the manifest and its signature, every
entry's real size and SHA-256 against the manifest, the records (known tables and columns,
well-typed values, unique ids), the audit chains, and every reference and file the
records need. Any failure raises a BundleError with a Chinese reason; nothing is written
except, when asked, staged copies of the files in a private folder.
"""
from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from sync import crypto, trust
from sync.bundle_format import (FILES_PREFIX, MAX_JSON_BYTES, PHOTOS_PREFIX, RECORDS_PREFIX,
                                BundleError, refuse)
from sync.container import check_container, check_entries_match, read_limited, read_manifest
from sync.records import Bundle, ChainCheck, decode_all
from sync.staging import Cancel, EarlyChild, StagingError, run_staging

Progress = Callable[[int, int], None]
__all__ = ["Progress", "read_bundle"]


# --------------------------------------------------------------------------- putting it together

@contextmanager
def plain_zip(path: Path, data_dir: Path | None) -> Iterator[Path]:
    """The bundle as a plain zip: decrypted into a private temporary file when sealed."""
    path = Path(path)
    try:
        sealed = crypto.is_encrypted(path)
    except OSError as exc:
        raise BundleError(f"无法读取导出包 {path}（{exc.strerror or exc}）",
                          "请检查文件是否存在、U盘是否已插好") from exc
    if not sealed:
        yield path
        return
    key = crypto.office_private_key(data_dir) if data_dir else None
    folder = Path(tempfile.mkdtemp(prefix="fc-bundle-", dir=_tmp_parent(data_dir)))
    try:
        target = folder / "bundle.zip"
        crypto.decrypt_file(path, target, key)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _tmp_parent(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    folder = Path(data_dir) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def read_bundle(path: Path, *, data_dir: Path | None = None, stage_dir: Path | None = None,
                progress: Progress | None = None, then=None,
                trust_new_device: str | list[str] | None = None, held_files=None):
    """Open and check everything that needs no store; stage the files when asked.

    Without `then`, returns the Bundle once every check passed. With `then`, calls
    then(bundle, wait_for_files) as soon as the records are checked, while the files are
    still being read and hashed on a second thread; `then` must call wait_for_files()
    (which raises if any file fails) before it changes anything. Returns what `then` returns.

    `held_files(files)`, given the signed manifest's file entries (name → entry), says which
    of them the store already holds safely: those are read and hashed like every other,
    but no staged copy is written (bundle.staged lacks them).
    """
    with plain_zip(path, data_dir) as plain:
        try:
            with zipfile.ZipFile(plain) as zf:
                return _read_zip(zf, plain, data_dir, stage_dir, progress, then,
                                 trust_new_device, held_files)
        except zipfile.BadZipFile as exc:
            raise refuse(f"文件不完整或已损坏（{exc}）",
                         "请重新从导出方复制该文件（拷贝可能中断或U盘已损坏）") from exc
        except (EOFError, zlib.error, zipfile.LargeZipFile, NotImplementedError, ValueError) as exc:
            raise refuse(f"文件不完整或已损坏（{type(exc).__name__}）") from exc
        except OSError as exc:
            raise BundleError(f"无法读取导出包 {path}（{exc.strerror or exc}）",
                              "请检查文件是否存在、U盘是否已插好") from exc


def _read_zip(zf, plain: Path, data_dir, stage_dir, progress, then, trust_new_device=None,
              held_files=None):
    infos = zf.infolist()
    # Large files: the staging process starts now, while the container and manifest are
    # checked (it is given nothing to do before they pass; stopped if they do not).
    early = EarlyChild([i.file_size for i in infos if i.filename.startswith(FILES_PREFIX)],
                       stage_dir)
    try:
        return _checked_zip(zf, infos, plain, data_dir, stage_dir, progress, then,
                            trust_new_device, early, held_files)
    finally:
        early.close()


def _checked_zip(zf, infos, plain: Path, data_dir, stage_dir, progress, then, trust_new_device,
                 early, held_files=None):
    check_container(infos)
    names = {i.filename: i for i in infos}
    manifest = read_manifest(zf, names)
    # Who signed it may send here at all? (before one record is read; sync.trust)
    decision = trust.check_sender(data_dir, manifest, trust_new_device) if data_dir else None
    listed = check_entries_match(manifest, names)
    bundle = Bundle(manifest=manifest, records={}, trust=decision,
                    signer_known=bool(decision and decision.sender_known))
    for name, entry in listed.items():
        if name.startswith(RECORDS_PREFIX) and entry["size"] > MAX_JSON_BYTES:
            raise refuse(f"记录文件 {name!r} 过大")
    files = [(name, entry) for name, entry in sorted(listed.items()) if name.startswith(FILES_PREFIX)]
    # The files are read, hashed and staged (sync.staging: in a second process when large)
    # while this thread reads and decodes the records; both must pass before anything is used.
    cancel = Cancel()
    chains = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        staged = pool.submit(_read_files, plain, files, stage_dir, bundle, progress, cancel, early,
                             held_files)
        try:
            raw_records = {}
            for name, entry in sorted(listed.items()):
                if name.startswith(RECORDS_PREFIX):
                    size, sha, raw_records[name] = read_limited(zf, names[name], entry["size"])
                    _check_entry(name, entry, size, sha)
            bundle.records = decode_all(raw_records)
            # The links now, the hashes once the import is planned (sync.records.ChainCheck).
            chains = ChainCheck(bundle.records.get("audit_event", []))
            bundle.builds_on = chains.builds_on
            if decision is not None:
                trust.check_chains(data_dir, manifest, bundle.records.get("audit_event", []),
                                   decision)
                trust.check_signatures(data_dir, bundle.records, decision)

            def wait_for_checks() -> None:
                chains.wait()
                staged.result()
            if then is None:
                chains.wait()
            result = then(bundle, wait_for_checks) if then else bundle
        except BaseException as exc:
            cancel.set()
            wait([staged])  # never leave the files being written into a folder about to go
            if chains is not None and isinstance(exc, BundleError):
                chains.wait()  # a changed event is said first, as when the chains came first
            raise
        staged.result()
    return result


def _check_entry(name: str, entry: dict, size: int, sha: str) -> None:
    if size != entry["size"] or sha != entry["sha256"]:
        raise refuse(f"条目 {name!r} 的校验值不符（内容被改动或不完整）")
    if name.startswith(PHOTOS_PREFIX) and PurePosixPath(name).stem != sha:
        raise refuse(f"照片 {name!r} 的内容与文件名不符")


def _read_files(plain: Path, files, stage_dir, bundle: Bundle, progress, cancel,
                early=None, held_files=None) -> None:
    # Which files the store holds is asked here, on the files' thread: the records are
    # decoded meanwhile. Asked before the first byte is read, so that none is staged.
    held = dict(held_files(dict(files))) if held_files and stage_dir is not None else {}
    try:
        result = run_staging(plain, [(name, entry["size"]) for name, entry in files], stage_dir,
                             progress, cancel, early=early, hash_only=held)
    except StagingError as exc:
        raise _staging_problem(exc) from exc
    for name, entry in files:
        staged = result[name]
        _check_entry(name, entry, staged.size, staged.sha256)
        bundle.files[name] = staged.sha256
        if staged.path is not None:
            bundle.staged[name] = staged.path


def _staging_problem(exc: StagingError) -> BundleError:
    if exc.kind == "oversize":
        return refuse(f"条目 {exc.entry!r} 的实际大小超过声明的大小")
    if exc.kind == "corrupt":
        return refuse(f"文件不完整或已损坏（{exc.detail}）",
                      "请重新从导出方复制该文件（拷贝可能中断或U盘已损坏）")
    if exc.kind == "write":
        return BundleError(f"无法在数据文件夹中暂存导入的文件（{exc.detail}），未导入任何记录",
                           "请检查磁盘空间后重试")
    if exc.kind == "cancelled":
        return BundleError("导入已取消，未导入任何记录")
    return BundleError(f"无法读取导出包（{exc.detail}）", "请检查文件是否存在、U盘是否已插好")
