"""The records of a bundle: decoded and checked, the audit chains, references and files."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table

from models.documents import signature_image_name
from models.record_policy import GENESIS_HASH, event_hashes
from models.tables import Base
from models.photo_store import PHOTO_EXTENSIONS, is_sha256
from sync.bundle_format import (PHOTOS_PREFIX, RECORDS_PREFIX, SIGNATURE_IMAGES_PREFIX,
                                BundleError, decode_column, document_entry, exported_tables,
                                refuse)
from sync.container import NEWER_HINT


@dataclass
class Bundle:
    """A bundle that passed every check that needs no store."""

    manifest: dict
    records: dict[str, list[dict]]               # table name → decoded rows (FK order)
    files: dict[str, str] = field(default_factory=dict)     # entry name → sha256
    staged: dict[str, Path] = field(default_factory=dict)   # entry name → staged copy
    signer_known: bool = False
    trust: object = None                                     # sync.trust.Trust, with a store
    builds_on: dict = field(default_factory=dict)  # device → (seq, hash) its chain continues

    @property
    def is_delta(self) -> bool:
        """Built on records the destination holds already (sync.destinations)."""
        return bool(self.builds_on or self.manifest.get("builds_on"))

    @property
    def bundle_id(self) -> str:
        return self.manifest["bundle_id"]

    @property
    def device_id(self) -> str:
        return self.manifest["device_id"]



def _fill_value(column):
    if column.nullable:
        return None
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg
    raise ValueError(f"缺少字段 {column.name}")


def decode_records(table: Table, raw: bytes) -> list[dict]:
    """The rows of one records file, checked and decoded."""
    try:
        doc = json.loads(raw.decode("utf-8"))
        columns, rows = doc["columns"], doc["rows"]
        if doc["table"] != table.name or not isinstance(rows, list):
            raise ValueError("表名不符")
        unknown = [c for c in columns if c not in table.c]
        if unknown or len(set(columns)) != len(columns):
            raise BundleError(f"数据表 {table.name} 含未知字段 {unknown[:1]}（可能由更新版本导出）",
                              NEWER_HINT)
        fill = {c.name: _fill_value(c) for c in table.columns if c.name not in columns}
        width = len(columns)
        if any(type(values) is not list or len(values) != width for values in rows):
            raise ValueError("行的字段数不对")
        # Column by column: the checks and conversions run over whole lists (see decode_column).
        decoded = [decode_column(table.c[name], list(raw))
                   for name, raw in zip(columns, zip(*rows))] if rows else []
        out = [dict(zip(columns, values), **fill) for values in zip(*decoded)]
    except BundleError:
        raise
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise refuse(f"记录文件 {table.name}.json 格式错误（{type(exc).__name__ if isinstance(exc, RecursionError) else exc}）") from exc
    if len({r["id"] for r in out}) != len(out):
        raise refuse(f"记录文件 {table.name}.json 中有重复的记录编号")
    return out


class ChainCheck:
    """Every device's chain in the bundle has no gap and hashes right, from seq 1 — or, in a
    delta bundle, from a later seq: it then builds on the event before (`builds_on`: device →
    (seq, hash)), which the store it goes into must hold (merge_plan checks).

    The links are checked at once; the hashes — one SHA-256 over the canonical JSON of each
    event, 19k for 1,000 inspections — when wait() is called: an import plans first and
    hashes while its files are still being staged (from a USB stick, the planning is done
    long before them), and wait() comes before anything is changed."""

    def __init__(self, rows: list[dict]) -> None:
        self.builds_on, self._chains = _chain_links(rows)
        self._found: list = []  # [the first changed event's words, or None], once checked

    def wait(self) -> None:
        if not self._found:
            self._found.append(_chain_hashes_problem(self._chains))
        if self._found[0] is not None:
            raise refuse(self._found[0])


def _chain_links(rows: list[dict]) -> tuple[dict[str, tuple[int, str]], list]:
    """Each device's events in order, seq and prev_hash linked; the (seq, hash) a delta's
    chain builds on. (The hashes themselves: _chain_hashes_problem.)"""
    by_device: dict[str, list[dict]] = {}
    for row in rows:
        by_device.setdefault(row["device_id"], []).append(row)
    builds_on: dict[str, tuple[int, str]] = {}
    chains = []
    for device, events in by_device.items():
        events = sorted(events, key=lambda e: e["seq"])
        start = events[0]["seq"]
        if start < 1:
            raise refuse(f"设备 {device} 的执法记录链不完整（第 {start} 条）")
        prev = GENESIS_HASH if start == 1 else events[0]["prev_hash"]
        if start > 1:
            builds_on[device] = (start - 1, prev)
        for n, ev in enumerate(events, start):
            if ev["seq"] != n or ev["prev_hash"] != prev:
                raise refuse(f"设备 {device} 的执法记录链不完整（第 {n} 条）")
            prev = ev["hash"]
        chains.append((device, start, events))
    return builds_on, chains


def _chain_hashes_problem(chains: list) -> str | None:
    """The first event whose hash is not that of its content (links already checked)."""
    for device, start, events in chains:
        for n, (made, ev) in enumerate(zip(event_hashes(events), events), start):
            if made != ev["hash"]:
                return f"设备 {device} 的执法记录第 {n} 条内容被改动"
    return None


def missing_references(records: dict[str, list[dict]]) -> dict[str, set]:
    """Per referenced table, the ids referred to but not carried in the bundle."""
    ids = {name: {r["id"] for r in rows} for name, rows in records.items()}
    missing: dict[str, set] = {}
    for table in exported_tables(Base.metadata):
        for row in records.get(table.name, []):
            for fk in table.foreign_keys:
                value, target = row[fk.parent.name], fk.column.table.name
                if value is not None and value not in ids.get(target, ()):
                    missing.setdefault(target, set()).add(value)
    return missing


def photo_entry(row: dict) -> str:
    return f"{PHOTOS_PREFIX}{row['sha256'][:2]}/{row['sha256']}.{row['file_ext']}"


def check_files(bundle: Bundle, local_file_exists: Callable[[str], bool]) -> None:
    """Every photo, document and signature image the records name is in the bundle with the
    content they name (or already here); and every file the bundle carries is named so. A
    record's hash becomes a path: anything but a hash is refused (`../keys/…` read the
    office's keys into its next export). A file no record names is refused: planted under
    another laptop's document or signature name, it stood there when the genuine one came."""
    named: set[str] = set()

    def carried(name: str, sha256: str, what: str) -> bool:
        if name not in bundle.files:
            return False
        if bundle.files[name] != sha256:
            raise refuse(f"{what}与记录中的校验值不符")
        named.add(name)
        return True
    for row in bundle.records.get("photo", []):
        if not is_sha256(row["sha256"]) or row["file_ext"] not in PHOTO_EXTENSIONS:
            raise refuse(f"照片记录 {row['id']} 的校验值或文件类型无效")
        name = photo_entry(row)
        if not carried(name, row["sha256"], f"照片文件 {row['sha256'][:12]}…") \
                and not local_file_exists(name):
            raise refuse(f"缺少照片文件 {row['sha256'][:12]}…（{row['original_name']}）")
    for row in bundle.records.get("document", []):
        name = document_entry(row["file_name"])
        if name is None:
            raise refuse(f"文书文件名 {row['file_name']!r} 无效")
        if not carried(name, row["sha256"], f"文书文件 {row['file_name']} ") \
                and not local_file_exists(name):
            raise refuse(f"缺少文书文件 {row['file_name']}")
    for row in bundle.records.get("signature", []):
        sha = row.get("image_sha256")
        if sha is None:
            continue
        if not is_sha256(sha):
            raise refuse(f"签名记录 {row['id']} 的签名图像校验值无效")
        carried(SIGNATURE_IMAGES_PREFIX + signature_image_name(sha), sha, f"签名图像 {sha[:12]}… ")
    if stray := sorted(set(bundle.files) - named):
        raise refuse(f"导出包中的文件 {stray[0]} 不属于包内任何记录（可能被人放入）")


def decode_all(raw_records: dict[str, bytes]) -> dict[str, list[dict]]:
    tables = {t.name: t for t in exported_tables(Base.metadata)}
    for name in raw_records:
        table = name[len(RECORDS_PREFIX):-len(".json")]
        if table not in tables:
            raise BundleError(f"导出包含未知的数据表 {table}（可能由更新版本导出）", NEWER_HINT)
    out = {}
    for t in tables:
        raw = raw_records.get(f"{RECORDS_PREFIX}{t}.json")
        if raw is not None:
            out[t] = decode_records(tables[t], raw)
    return out
