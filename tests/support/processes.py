"""Processes seen through /proc (Linux): for tests that SIGKILL a parent and watch its child."""
from __future__ import annotations

from pathlib import Path

HAS_PROC = Path("/proc/self/stat").exists()


def children(pid: int) -> list[int]:
    """The live (not zombie) children of `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def pretend_frozen(folder: Path, monkeypatch) -> Path:
    """This interpreter posing as a frozen (PyInstaller) build: its "executable" a launcher,
    like /usr/bin/fieldcheck-cli, that runs main.py with the arguments it was given and
    writes them to the file returned first (which child a job started, and how)."""
    import sys
    marker = folder / "started-as"
    launcher = folder / "fieldcheck-cli"
    repo = Path(__file__).resolve().parents[2]
    launcher.write_text(f'#!/bin/sh\necho "$@" > "{marker}"\n'
                        f'cd "{repo}" && exec "{sys.executable}" main.py "$@"\n')
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(launcher))
    return marker


def kill_and_time_child(parent, child: int, limit: float = 5.0) -> float:
    """SIGKILL `parent` (a Popen) and return how long its `child` pid stays alive after it
    (up to `limit` seconds)."""
    import os
    import signal
    import time
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    killed = time.monotonic()
    while alive(child) and time.monotonic() - killed < limit:
        time.sleep(0.02)
    return time.monotonic() - killed
