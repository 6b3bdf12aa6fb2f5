"""The data folder's small state files (known devices, chain heads and anchors, destinations,
key protection notes, the agency's registry) are read,
changed and written back by each import. At the office several clerks import into one data
folder at once: the second writer must not write back a state read before the first wrote."""
from __future__ import annotations

import json
import threading
import time

import pytest

from sync import crypto, destinations, trust


def _head(device: str, seq: int) -> dict:
    return {"payload": json.dumps({"device_id": device, "seq": seq}), "signature": "x"}


def _interleaved(monkeypatch, module, reader: str, first, second) -> None:
    """`first` reads its state, then waits while `second` runs; then `first` writes."""
    read_state, entered, go_on = getattr(module, reader), threading.Event(), threading.Event()

    def slow_read(*args, **kwargs):
        state = read_state(*args, **kwargs)
        if threading.current_thread().name == "first":
            entered.set()
            go_on.wait(10)
        return state
    monkeypatch.setattr(module, reader, slow_read)
    one = threading.Thread(target=first, name="first")
    two = threading.Thread(target=second, name="second")
    one.start()
    assert entered.wait(10)
    two.start()
    time.sleep(0.3)  # the second runs to its end here, unless it waits for the first
    go_on.set()
    one.join(10)
    two.join(10)


def test_two_imports_at_once_both_keep_their_chain_heads(tmp_path, monkeypatch):
    _interleaved(monkeypatch, trust, "stored_heads",
                 lambda: trust.remember_heads(tmp_path, [_head("laptop-a", 5)]),
                 lambda: trust.remember_heads(tmp_path, [_head("laptop-b", 7)]))
    assert set(trust.stored_heads(tmp_path)) == {"laptop-a", "laptop-b"}


def test_two_imports_at_once_both_keep_their_device_keys(tmp_path, monkeypatch):
    _interleaved(monkeypatch, crypto, "_known_devices",
                 lambda: crypto.remember_device_key(tmp_path, "laptop-a", "key-a"),
                 lambda: crypto.remember_device_key(tmp_path, "laptop-b", "key-b"))
    assert crypto._known_devices(tmp_path) == {"laptop-a": "key-a", "laptop-b": "key-b"}


@pytest.mark.parametrize("second", ["import", "export"])
def test_an_import_and_another_exchange_at_once_keep_both_destinations(tmp_path, monkeypatch,
                                                                     second):
    stick = tmp_path / "stick"
    stick.mkdir()
    manifest = {"device_id": "laptop-a", "holds": {}, "created_at": "2026-12-01T10:00:00+00:00",
                "bundle_id": "b1"}

    def acknowledge_a():
        destinations.acknowledge(tmp_path, stick / "a.fcb", manifest, [], [])

    def other():
        if second == "import":
            destinations.acknowledge(tmp_path, tmp_path / "b.fcb",
                                     {**manifest, "device_id": "laptop-b", "bundle_id": "b2"}, [], [])
        else:
            destinations.remember_sent(tmp_path, "folder-x", {}, "b3", None)
    _interleaved(monkeypatch, destinations, "_read", acknowledge_a, other)
    state = destinations._read(tmp_path)
    assert "laptop-a" in state["devices"]
    assert ("laptop-b" in state["devices"]) if second == "import" else ("folder-x" in state["folders"])


# --------------------------------------------------------------------------- two processes

ROUNDS = 40


def _change_in_turn(what: str, data_dir: str, worker: int, start) -> None:
    """One process's many read-modify-writes of a state file, each adding its own entry."""
    from pathlib import Path

    from models import chain_anchor
    from sync import keystore
    start.wait(60)
    if what == "device id":  # made once, at the first start: both must stamp the one kept
        from models.paths import device_id
        (Path(data_dir) / f"used-{worker}").write_text(device_id(Path(data_dir)))
        return
    if what == "device key":  # made once, on first use: both must sign with the one kept
        from sync import crypto
        key = crypto.device_signing_key(Path(data_dir))
        (Path(data_dir) / f"used-{worker}").write_text(crypto.public_key_text(key))
        return
    for i in range(ROUNDS):
        name = f"w{worker}-{i}"
        if what == "anchor":
            chain_anchor.record_export(Path(data_dir), {name: (1, "h" * 64)}, {2000 + i * 2 + worker: 1})
        elif what == "head":
            chain_anchor.remember_head(Path(data_dir), name, 1, "h" * 64)
        elif what == "protection":
            keystore._set_protection(Path(data_dir), name, "passphrase")
        elif what == "registry" and i < 4:  # each enrollment takes the agency key (slow)
            import uuid

            from cryptography.hazmat.primitives.asymmetric import ed25519

            from sync import agency
            agency.enroll(Path(data_dir), agency.make_request(
                Path(data_dir), str(uuid.uuid4()), [], ed25519.Ed25519PrivateKey.generate(), []),
                "agency-pass-2026")


def _race(what: str, data_dir) -> None:
    import multiprocessing
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as two FieldChecks
    start = context.Barrier(2)  # both started (their imports done) before either writes
    workers = [context.Process(target=_change_in_turn, args=(what, str(data_dir), n, start))
               for n in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0


@pytest.mark.parametrize("what", ["anchor", "head", "protection", "registry", "device key",
                                  "device id"])
def test_two_processes_changing_a_state_file_at_once_lose_nothing(what, tmp_path):
    """Two FieldChecks on one data folder (the window's import beside a CLI one, two clerks)
    each read, change and write back the export anchors, the chain heads, the key protection
    notes or the agency's registry many times at once: every change of both is kept — and
    no two laptops are given the same case numbers; both first exports sign with one key;
    both first starts stamp one device id."""
    from models import chain_anchor
    from models.paths import read_json_dict
    from sync import agency, keystore
    if what == "registry":
        device_key = crypto.device_signing_key(tmp_path)
        agency.create_agency(tmp_path, "测试应急管理局", "agency-pass-2026", "office-1",
                             crypto.public_key_text(device_key), range_size=100)
    _race(what, tmp_path)
    if what == "device id":  # rows stamped with an id the folder forgot: a chain nobody holds
        from models.paths import device_id
        assert {(tmp_path / f"used-{n}").read_text() for n in (0, 1)} == {device_id(tmp_path)}
        return
    if what == "device key":
        kept = crypto.public_key_text(crypto.device_signing_key(tmp_path))
        assert {(tmp_path / f"used-{n}").read_text() for n in (0, 1)} == {kept}
        return
    if what == "registry":
        devices = agency.registry_summary(tmp_path)["devices"]
        ranges = [tuple(info["range"]) for device, info in devices.items() if device != "office-1"]
        assert len(ranges) == 8 and len(set(ranges)) == 8, devices
        return
    file = {"anchor": chain_anchor.ANCHOR_FILE, "head": chain_anchor.HEAD_FILE,
            "protection": keystore.PROTECTION_FILE}[what]
    held = read_json_dict(tmp_path / file)
    expected = {f"w{n}-{i}" for n in (0, 1) for i in range(ROUNDS)}
    assert expected <= set(held), f"lost: {sorted(expected - set(held))}"
    if what == "anchor":
        assert len(held[chain_anchor.CASE_SERIALS]) == 2 * ROUNDS
