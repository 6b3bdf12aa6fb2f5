"""What a destination holds: for each device chain, the last position (seq, hash) it has.

Two kinds of destination:

* a *device* — the office, another laptop — known by what it *acknowledged*: every bundle's
  signed manifest lists what its sender holds (`holds`); once that bundle was verified and
  imported — so only from a device enrolled or trusted here — it replaces what was known of
  that device (lower or not: a destination that lost its data acknowledges less, and is sent
  more). A bundle for a device is a *delta*: only the events after those positions and the
  rows they touched. Until its next bundle back, each delta for it builds on the same
  acknowledgement, so any one of them can be imported there alone;
* a plain *folder*, whose reader is unknown: what changed here since the last export there,
  with every chain whole, as before — any store can import it.

A folder leads to a device once that device wrote a bundle *for this store* into it
(`for_device`; or the folder already led to that laptop under an earlier id), so a stick
shared by many is never taken for one of them by guesswork. The first bundle for a device is
asked for by name (`export --for DEVICE`: at the office, for the laptop whose stick it is);
from then on both sides write deltas for each other into that folder. `--all` writes
everything.

A remembered position counts only where this store's own event at that position has the
same hash; anything else (a forged or stale acknowledgement, a chain this store holds less
of) counts as nothing: that chain goes whole. So an acknowledgement can make us send more,
never keep back what the destination lacks; and it changes only what is sent to its sender.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.base import utcnow
from models.errors import FieldCheckError
from models.paths import read_json_dict, with_state_files_locked, write_json

STATE_FILE = "sync/destinations.json"
Positions = dict[str, tuple[int, str]]   # device id → (seq, hash) of the last event held


@dataclass
class Base:
    """What the next bundle to a destination may leave out."""

    label: str                                   # for the user: the folder or the device
    device: str | None                           # a delta for this device (its acknowledgement)
    chains: dict[str, int] = field(default_factory=dict)   # device chain → last seq held
    positions: Positions = field(default_factory=dict)     # the same with hashes
    since: int | None = None                     # a folder: this store's chain position there


def folder_key(path: Path) -> str:
    """A bundle file's destination folder, as remembered."""
    return str(Path(path).resolve().parent)


def _read(data_dir: Path) -> dict:
    state = read_json_dict(Path(data_dir) / STATE_FILE)   # lost: a larger next export
    for part in ("folders", "devices"):
        if not isinstance(state.get(part), dict):
            state[part] = {}
    return state


def _positions(raw) -> Positions:
    """Well-formed (device, [seq, hash]) pairs only; anything else is dropped."""
    out: Positions = {}
    if not isinstance(raw, dict):
        return out
    for device, value in raw.items():
        if (isinstance(device, str) and isinstance(value, (list, tuple)) and len(value) == 2
                and isinstance(value[0], int) and not isinstance(value[0], bool) and value[0] > 0
                and isinstance(value[1], str)):
            out[device] = (value[0], value[1])
    return out


def _link(state: dict, folder: str) -> str | None:
    entry = state["folders"].get(folder)
    device = entry.get("device") if isinstance(entry, dict) else None
    return device if isinstance(device, str) else None


def resolve_device(data_dir: Path, text: str, known: Iterable[str]) -> str:
    """The device `text` names: a whole id, or the start (8+ characters) of exactly one id
    this store knows (acknowledged, or trusted as a sender). FieldCheckError otherwise."""
    text = (text or "").strip().lower()
    if len(text) == 36:
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
    ids = set(_read(data_dir)["devices"]) | set(known)
    hits = sorted(d for d in ids if len(text) >= 8 and d.lower().startswith(text))
    if len(hits) != 1:
        raise FieldCheckError(f"找不到设备 {text or '（空）'}" if not hits else f"设备编号 {text} 不唯一",
                              "请给出完整的设备编号（对方 status 中的 device_id），或其前 8 位以上")
    return hits[0]


def linked_device(data_dir: Path, folder: str) -> str | None:
    """The device the folder leads to, if any."""
    return _link(_read(data_dir), folder)


def held_positions(session: Session, devices: Iterable[str]) -> Positions:
    """The last event this store holds of each of `devices`' chains (an index lookup each)."""
    audit = AuditEvent.__table__
    out: Positions = {}
    for device in sorted(set(devices)):
        row = session.execute(select(audit.c.seq, audit.c.hash).where(audit.c.device_id == device)
                              .order_by(audit.c.seq.desc()).limit(1)).first()
        if row is not None:
            out[device] = (row.seq, row.hash)
    return out


def _verified(session: Session, positions: Positions) -> Positions:
    """The positions at which this store holds an event with the same hash."""
    audit = AuditEvent.__table__
    out: Positions = {}
    for device, (seq, digest) in sorted(positions.items()):
        mine = session.execute(select(audit.c.hash).where(
            audit.c.device_id == device, audit.c.seq == seq)).scalar()
        if mine == digest:
            out[device] = (seq, digest)
    return out


def base_for(data_dir: Path, session: Session, folder: str, own_device: str,
             for_device: str | None = None) -> Base | None:
    """What the destination behind `folder` (or `for_device`) holds, as far as this store
    can check it; None when nothing is known (the bundle then carries everything)."""
    state = _read(data_dir)
    device = for_device or _link(state, folder)
    if device is not None:
        ack = state["devices"].get(device)
        if not isinstance(ack, dict):
            return None
        positions = _verified(session, _positions(ack.get("chains")))
        return Base(label=f"设备 {device[:8]}", device=device, positions=positions,
                    chains={d: seq for d, (seq, _h) in positions.items()})
    entry = state["folders"].get(folder)
    mine = _verified(session, _positions(entry.get("chains") if isinstance(entry, dict) else None))
    if own_device not in mine:
        return None  # never exported there, or only under an earlier id of this laptop
    return Base(label=folder, device=None, since=mine[own_device][0])


@with_state_files_locked
def remember_sent(data_dir: Path, folder: str, positions: Positions, bundle_id: str,
                  device: str | None) -> None:
    """After a bundle was written to `folder`: a folder holds `positions` now; a device
    only once it says so (its acknowledgement), but the folder leads to it from now on."""
    state = _read(data_dir)
    entry = state["folders"].setdefault(folder, {})
    if not isinstance(entry, dict):
        entry = state["folders"][folder] = {}
    if device is not None:
        entry["device"] = device
    else:
        entry.pop("device", None)
        entry["chains"] = {d: list(p) for d, p in sorted(positions.items())}
    entry.update({"sent_at": utcnow().isoformat(), "bundle_id": bundle_id})
    write_json(Path(data_dir) / STATE_FILE, state)


@with_state_files_locked
def acknowledge(data_dir: Path, source: Path, manifest: dict, own_ids: Iterable[str],
                aliases: Iterable[str]) -> None:
    """After a bundle from `source` (a file) was verified and imported: its sender holds
    what its manifest says (an older bundle than the last one acknowledged from it, imported
    again or late, changes nothing), and the folder may now lead to it (module text)."""
    device = manifest.get("device_id")
    if not isinstance(device, str) or "holds" not in manifest:
        return
    state = _read(data_dir)
    known = state["devices"].get(device)
    at = str(manifest.get("created_at") or "")
    if not (isinstance(known, dict) and str(known.get("acknowledged_at") or "") >= at):
        state["devices"][device] = {
            "chains": {d: list(p) for d, p in sorted(_positions(manifest["holds"]).items())},
            "acknowledged_at": at, "acknowledged_in": manifest.get("bundle_id")}
    folder = folder_key(source)
    linked = _link(state, folder)
    if manifest.get("for_device") in set(own_ids) or (linked is not None and linked in set(aliases)):
        entry = state["folders"].setdefault(folder, {})
        if isinstance(entry, dict):
            entry["device"] = device
        else:
            state["folders"][folder] = {"device": device}
    write_json(Path(data_dir) / STATE_FILE, state)


__all__ = ["Base", "STATE_FILE", "acknowledge", "base_for", "folder_key", "held_positions",
           "linked_device", "remember_sent", "resolve_device"]
