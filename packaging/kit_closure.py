"""Which requirements of FieldCheck a Windows kit lacks, with markers judged for Windows.

`pip download/install --platform win_amd64` on Linux still evaluates environment markers
for the machine it runs on: `tzdata; platform_system == "Windows"` (from tzlocal) is skipped,
and the dry run against the kit passes while the install on Windows would fail. This walks
the requirements from the kit's own wheels as Windows with CPython 3.x sees them.

    python kit_closure.py WHEELS_DIR 3.12 'fieldcheck==0.1.0'   # prints what is missing
"""
from __future__ import annotations

import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename


def windows_env(pyver: str) -> dict[str, str]:
    return {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
            "platform_machine": "AMD64", "platform_release": "10", "platform_version": "10.0",
            "python_version": pyver, "python_full_version": f"{pyver}.0",
            "implementation_name": "cpython", "implementation_version": f"{pyver}.0",
            "platform_python_implementation": "CPython"}


def supported_tags(pyver: str) -> set:
    version = tuple(int(p) for p in pyver.split("."))
    tags = set(cpython_tags(version, platforms=["win_amd64"]))
    return tags | set(compatible_tags(version, f"cp{version[0]}{version[1]}", ["win_amd64"]))


def kit_wheels(folder: Path, pyver: str) -> dict[str, list]:
    tags, found = supported_tags(pyver), {}
    for wheel in folder.glob("*.whl"):
        name, version, _build, wheel_tags = parse_wheel_filename(wheel.name)
        if tags & set(wheel_tags):
            found.setdefault(name, []).append((version, wheel))
    return found


def requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(zf.read(meta).decode("utf-8")).get_all("Requires-Dist") or []


def missing(folder: Path, pyver: str, root: str) -> list[str]:
    wheels, env = kit_wheels(folder, pyver), windows_env(pyver)
    todo, seen, lacking = [Requirement(root)], set(), []
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        key = (name, str(req.specifier), tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        candidates = sorted((v, w) for v, w in wheels.get(name, []) if req.specifier.contains(v, prereleases=True))
        if not candidates:
            lacking.append(str(req))
            continue
        for line in requires(candidates[-1][1]):
            dep = Requirement(line)
            extras = [""] + sorted(req.extras)
            if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e}) for e in extras):
                todo.append(Requirement(f"{dep.name}{'[' + ','.join(dep.extras) + ']' if dep.extras else ''}{dep.specifier}"))
    return lacking


if __name__ == "__main__":
    for line in missing(Path(sys.argv[1]), sys.argv[2], sys.argv[3]):
        print(line)
