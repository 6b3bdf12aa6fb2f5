"""What a destination holds: for each device chain, the last position (seq, hash) it has.

A destination is the folder a bundle is written to — or, once a bundle was imported from
that folder, the device that wrote it: the other side of the stick (the office, a laptop).
What it holds is learned two ways:

* *sent*: after an export there, the positions the bundle carried up to (optimistic: the
  stick may still be lost — then the other side refuses the next bundle, which builds on
  events it lacks, and says to ask for everything);
* *acknowledged*: every bundle's signed manifest lists what its sender holds (`holds`); after
  that bundle was verified and imported — so only from a device enrolled or trusted here —
  this replaces what was known of its sender, lower or not (a destination that lost its data
  acknowledges less, and is sent more).

A remembered position counts only where this store's own event at that position has the
same hash; anything else (a forged or stale acknowledgement, a chain this store holds less
of) counts as nothing: that chain goes whole. So an acknowledgement can make us send more,
never drop what the destination lacks from what it is given; and it changes only what is
sent to its sender.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.base import utcnow
from models.paths import read_json_dict, write_json

STATE_FILE = "sync/destinations.json"
Positions = dict[str, tuple[int, str]]   # device id → (seq, hash) of the last event held


@dataclass
class Base:
    """What the next bundle to a destination may leave out: per chain, the events up to `seq`."""

    label: str                                   # for the user: the folder or the device
    device: str | None                           # the device on the other side, when known
    chains: dict[str, int] = field(default_factory=dict)
    positions: Positions = field(default_factory=dict)


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


def _entry(state: dict, folder: str) -> tuple[dict | None, str | None]:
    """The remembered entry for `folder`: its device's when linked, else the folder's own."""
    link = state["folders"].get(folder)
    device = link.get("device") if isinstance(link, dict) else None
    if isinstance(device, str) and isinstance(state["devices"].get(device), dict):
        return state["devices"][device], device
    return (link if isinstance(link, dict) else None), None


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


def base_for(data_dir: Path, session: Session, folder: str) -> Base | None:
    """What the destination behind `folder` holds, as far as this store can check it;
    None when nothing is known (the bundle then carries everything)."""
    entry, device = _entry(_read(data_dir), folder)
    if entry is None:
        return None
    positions = _verified(session, _positions(entry.get("chains")))
    return Base(label=device or folder, device=device,
                chains={d: seq for d, (seq, _h) in positions.items()}, positions=positions)


def remember_sent(data_dir: Path, folder: str, positions: Positions, bundle_id: str) -> None:
    """After a bundle was written to `folder`: its destination will hold `positions`."""
    state = _read(data_dir)
    entry, device = _entry(state, folder)
    if entry is None:
        entry = state["folders"][folder] = {}
    chains = _positions(entry.get("chains"))
    for chain, (seq, digest) in positions.items():
        if seq > chains.get(chain, (0, ""))[0]:
            chains[chain] = (seq, digest)
    entry.update({"chains": {d: list(p) for d, p in sorted(chains.items())},
                  "sent_at": utcnow().isoformat(), "bundle_id": bundle_id})
    write_json(Path(data_dir) / STATE_FILE, state)


def acknowledge(data_dir: Path, source: Path, manifest: dict) -> None:
    """After a bundle from `source` (a file) was verified and imported: its sender holds
    what its manifest says, and the folder it came from leads to it. An older bundle than
    the last one acknowledged from that sender (imported again, late) changes nothing."""
    device = manifest.get("device_id")
    if not isinstance(device, str) or "holds" not in manifest:
        return
    state = _read(data_dir)
    known = state["devices"].get(device)
    at = str(manifest.get("created_at") or "")
    if isinstance(known, dict) and str(known.get("acknowledged_at") or "") >= at:
        state["folders"][folder_key(source)] = {"device": device}
    else:
        state["devices"][device] = {
            "chains": {d: list(p) for d, p in sorted(_positions(manifest["holds"]).items())},
            "acknowledged_at": at, "acknowledged_in": manifest.get("bundle_id")}
        state["folders"][folder_key(source)] = {"device": device}
    write_json(Path(data_dir) / STATE_FILE, state)


__all__ = ["Base", "STATE_FILE", "acknowledge", "base_for", "folder_key", "held_positions",
           "remember_sent"]
