"""Checks on the ZIP container and the signed manifest, before any record is read.

Everything here works from the central directory and the manifest: names, links,
duplicates, sizes, compression ratios (zip bombs), the manifest's fields, version and
signature, and that the manifest and the ZIP list the same entries.
"""
from __future__ import annotations

import json
import stat
import uuid
import zipfile
import zlib
from collections import Counter
from pathlib import PurePosixPath

from models.store import SCHEMA_HEAD
from sync import crypto
from sync.bundle_format import (BUNDLE_VERSION, ENTRY_PATTERNS, FORMAT_NAME, MANIFEST_NAME,
                                OLDEST_READ_VERSION, MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_JSON_BYTES, MAX_RATIO,
                                MAX_TOTAL_BYTES, RATIO_FLOOR, SIGNATURE_NAME,
                                BundleError, refuse)
from sync.staging import EntryTooLarge, copy_limited

DAMAGED_HINT = "请重新从导出方复制该文件（拷贝可能中断或U盘已损坏）"
NEWER_HINT = "请先把本机的 FieldCheck 升级到最新版本，再导入该导出包"


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name).parts
    if "\\" in name or "\0" in name or (len(name) > 1 and name[1] == ":"):
        return f"文件名 {name!r} 含盘符或反斜杠"
    if name.startswith("/") or ".." in parts or "" in name.split("/"):
        return f"文件名 {name!r} 指向导出包以外的位置"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"条目 {name!r} 是链接"
    if info.is_dir():
        return f"条目 {name!r} 是文件夹"
    if info.flag_bits & 0x1:
        return f"条目 {name!r} 使用了 zip 加密"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"条目 {name!r} 的压缩方式不受支持"
    if name not in (MANIFEST_NAME, SIGNATURE_NAME) and not any(
            p.fullmatch(name) for p in ENTRY_PATTERNS):
        return f"条目 {name!r} 不属于导出包格式"
    return None


def check_container(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse from the central directory alone: before one byte is decompressed."""
    if len(infos) > MAX_ENTRIES:
        raise refuse(f"条目过多（{len(infos)} 个）")
    counts = Counter(i.filename.lower() for i in infos)
    duplicates = sorted(n for n, c in counts.items() if c > 1)
    if duplicates:
        raise refuse(f"有重名条目 {duplicates[0]!r}")
    total = 0
    for info in infos:
        problem = _entry_problem(info)
        if problem:
            raise refuse(problem)
        if info.file_size > MAX_ENTRY_BYTES:
            raise refuse(f"条目 {info.filename!r} 过大（{info.file_size} 字节）")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise refuse(f"条目 {info.filename!r} 压缩比异常（疑似压缩炸弹）")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise refuse(f"解压后总大小过大（{total} 字节，疑似压缩炸弹）")


def read_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> tuple[int, str, bytes]:
    """Read an entry, never past `limit`: (real size, sha256, bytes)."""
    try:
        with zf.open(info) as fh:
            return copy_limited(fh, limit)
    except EntryTooLarge:
        raise refuse(f"条目 {info.filename!r} 的实际大小超过声明的大小") from None
    except (zlib.error, zipfile.BadZipFile, EOFError) as exc:  # damaged deflate data, bad CRC
        raise refuse(f"条目 {info.filename!r} 已损坏，无法解压", DAMAGED_HINT) from exc


# --------------------------------------------------------------------------- the manifest

def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _check_manifest_fields(manifest) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise refuse("不是 FieldCheck 导出包（清单格式不对）")
    version = manifest.get("bundle_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise refuse("清单缺少格式版本")
    if version > BUNDLE_VERSION or manifest.get("db_schema", "") > SCHEMA_HEAD:
        raise BundleError(f"导出包由更新版本的 FieldCheck 生成（格式版本 {version}），本版本无法读取",
                          NEWER_HINT)
    if version < OLDEST_READ_VERSION:
        raise refuse(f"导出包由旧版本 FieldCheck 生成（格式版本 {version}），不含来源签名",
                     "请在导出电脑上升级 FieldCheck 后重新导出")
    for key in ("bundle_id", "device_id", "created_at"):
        if not isinstance(manifest.get(key), str):
            raise refuse(f"清单缺少 {key}")
    for key in ("bundle_id", "device_id"):  # they name folders and files here: UUIDs only
        if not _is_uuid(manifest[key]):
            raise refuse(f"清单的 {key} 无效")
    entries = manifest.get("entries")
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("sha256"), str)
            and isinstance(e.get("size"), int) and e["size"] >= 0 for e in entries):
        raise refuse("清单的文件列表格式错误")
    if not isinstance(manifest.get("signer"), dict):
        raise refuse("清单缺少签名人公钥")


def read_manifest(zf: zipfile.ZipFile, names: dict) -> dict:
    if MANIFEST_NAME not in names:
        raise refuse("缺少清单 manifest.json")
    if SIGNATURE_NAME not in names:
        raise refuse("清单没有签名（缺少 manifest.sig）")
    _, _, raw = read_limited(zf, names[MANIFEST_NAME], MAX_JSON_BYTES)
    _, _, sig = read_limited(zf, names[SIGNATURE_NAME], 4096)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nested past the parser's limit
        raise refuse("清单 manifest.json 格式错误") from exc
    _check_manifest_fields(manifest)
    public = manifest["signer"].get("public_key")
    crypto.check_signature(raw, sig, public if isinstance(public, str) else "")
    return manifest  # whether its signer may send here: sync.trust


def check_entries_match(manifest: dict, names: dict) -> dict[str, dict]:
    listed = {e["name"]: e for e in manifest["entries"]}
    if len(listed) != len(manifest["entries"]):
        raise refuse("清单中有重复条目")
    present = set(names) - {MANIFEST_NAME, SIGNATURE_NAME}
    if missing := sorted(set(listed) - present):
        raise refuse(f"缺少清单中列出的文件 {missing[0]!r}（文件不完整）")
    if extra := sorted(present - set(listed)):
        raise refuse(f"文件 {extra[0]!r} 不在清单中")
    for name, entry in listed.items():
        if names[name].file_size != entry["size"]:
            raise refuse(f"条目 {name!r} 的大小与清单不符")
    return listed


