"""Where each device's audit chain stood when it last left this laptop (an export).

A chain proves every edit, deletion and reordering inside itself, but not that its newest
events were cut off — the usual way that happens is honest: the database was restored from
a backup after a crash. Exports copy the chain to the office, so the position recorded at
each export is an outside anchor: a chain here that ends below it, or holds other events
at that position, has lost events that exist elsewhere.

On a rolled-back laptop this device must not go on numbering from the backup's position —
its new events would collide with the exported ones and the office would refuse them as a
fork — so the store then continues under a new device id (models.startup).

A laptop that never exported has no such anchor, so the head of this device's own chain
(position and hash) is also written to `chain_head.json` after every commit that moved it.
Deleting the newest events in the database file (or putting back an older copy of it)
leaves the chain shorter than that file: reported by `status`, and the store goes on under
a new device id like a restored backup. Why a file and not a signature: the device key may
sit behind a passphrase that is not at hand at every commit, and a signature made with a key
on the same disk stops no one who can also rewrite that disk. The file stops an edit of the
database alone; what leaves the laptop (exports, signed by the device key) is the anchor
that holds against whoever controls the whole disk.
"""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent, chain_head
from models.paths import read_json_dict, with_state_files_locked, write_json

ANCHOR_FILE = "chain_anchor.json"
HEAD_FILE = "chain_head.json"  # device id → {"seq", "hash"} of this store's own chain
CASE_SERIALS = "case_serials"  # year → highest case serial exported from this laptop


def _read(data_dir: Path) -> dict:
    return read_json_dict(Path(data_dir) / ANCHOR_FILE)  # a lost anchor: one check fewer


@with_state_files_locked
def record_export(data_dir: Path, chain_ends: dict[str, tuple[int, str]],
                  case_serials: dict[int, int]) -> None:
    """Remember, after an export, where each carried chain ended (seq, hash) and the highest
    case serial per year of this laptop's own inspections in it: both exist elsewhere now."""
    anchors = _read(data_dir)
    before = json.dumps(anchors, sort_keys=True)
    for device, (seq, digest) in chain_ends.items():
        known = anchors.get(device)
        if not (isinstance(known, dict) and isinstance(known.get("seq"), int) and known["seq"] >= seq):
            anchors[device] = {"seq": seq, "hash": digest}
    serials = anchors.get(CASE_SERIALS) if isinstance(anchors.get(CASE_SERIALS), dict) else {}
    for year, serial in case_serials.items():
        serials[str(year)] = max(serial, serials.get(str(year), 0))
    if serials:
        anchors[CASE_SERIALS] = serials
    if json.dumps(anchors, sort_keys=True) != before:
        write_json(Path(data_dir) / ANCHOR_FILE, anchors)


def case_serial_floor(data_dir: Path | None, year: int) -> int:
    """The highest case serial of `year` already exported from this laptop (0: none)."""
    if data_dir is None:
        return 0
    known = _read(data_dir).get(CASE_SERIALS)
    value = known.get(str(year)) if isinstance(known, dict) else None
    return value if isinstance(value, int) else 0


@with_state_files_locked
def remember_head(data_dir: Path, device_id: str, seq: int, digest: str) -> None:
    """Note where this device's chain ends now (after a commit). Not fsynced: a copy lost
    in a crash is an older head, which only checks less; it can never be ahead of the
    database, whose commit was on disk first."""
    path = Path(data_dir) / HEAD_FILE
    heads = read_json_dict(path)
    known = heads.get(device_id)
    if isinstance(known, dict) and isinstance(known.get("seq"), int) and known["seq"] >= seq:
        return
    heads[device_id] = {"seq": seq, "hash": digest}
    write_json(path, heads, durable=False)


def _problem(session: Session, device_id: str, anchor, where: str, hint: str) -> str | None:
    if not isinstance(anchor, dict) or not isinstance(anchor.get("seq"), int) or anchor["seq"] < 1:
        return None
    head, _ = chain_head(session, device_id)
    if head < anchor["seq"]:
        return (f"设备 {device_id[:8]} 的执法记录在本机只到第 {head} 条，而{where}已有 {anchor['seq']} 条："
                f"本机数据曾回退（如从备份恢复）或最新记录被删除{hint}")
    at_anchor = session.scalar(select(AuditEvent.hash).where(
        AuditEvent.device_id == device_id, AuditEvent.seq == anchor["seq"]))
    if at_anchor != anchor.get("hash"):
        return (f"设备 {device_id[:8]} 的执法记录第 {anchor['seq']} 条与{where}不同："
                "本机数据曾回退后又被改写，或该记录被改动")
    return None


def anchor_problem(session: Session, data_dir: Path, device_id: str) -> str | None:
    """Why `device_id`'s chain here falls short of its last export or of the head this
    store itself last wrote, or None."""
    return (_problem(session, device_id, _read(data_dir).get(device_id), "导出时",
                     "；从办公室导入最新导出包可补回")
            or _problem(session, device_id, read_json_dict(Path(data_dir) / HEAD_FILE).get(device_id),
                        "本机此前", "；被删的记录无法恢复"))


def anchor_problems(session: Session, data_dir: Path) -> list[str]:
    """The anchor check for every device whose chain has left this laptop or was written here."""
    devices = set(_read(data_dir)) | set(read_json_dict(Path(data_dir) / HEAD_FILE))
    return [p for device in sorted(devices - {CASE_SERIALS})
            if (p := anchor_problem(session, data_dir, device))]
