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
