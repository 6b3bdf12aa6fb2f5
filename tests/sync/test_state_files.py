"""The data folder's small state files (known devices, chain heads, destinations) are read,
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
