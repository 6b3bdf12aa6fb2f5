"""The Windows kit check judges dependency markers as Windows would, not as this Linux
machine: pip alone missed tzdata (tzlocal needs it on Windows only)."""
from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "kit_closure.py"
spec = importlib.util.spec_from_file_location("kit_closure", SCRIPT)
kit_closure = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kit_closure)


def wheel(folder: Path, name: str, version: str, requires: list[str], tag="py3-none-any") -> None:
    path = folder / f"{name}-{version}-{tag}.whl"
    meta = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n".format(name, version)
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-{version}.dist-info/METADATA", meta)


def test_windows_only_and_version_markers_are_followed(tmp_path):
    wheel(tmp_path, "fieldcheck", "0.2.0", ["tzlocal>=5", "pyhanko[opentype]"])
    wheel(tmp_path, "tzlocal", "5.4", ['tzdata; platform_system == "Windows"'])
    wheel(tmp_path, "pyhanko", "0.38", ['uharfbuzz; extra == "opentype"',
                                        'typing-extensions; python_version < "3.12"',
                                        'uvloop; sys_platform == "linux"'])
    wheel(tmp_path, "uharfbuzz", "0.55", [], tag="cp310-abi3-win_amd64")
    assert kit_closure.missing(tmp_path, "3.11", "fieldcheck==0.2.0") in (
        ["tzdata", "typing-extensions"], ["typing-extensions", "tzdata"])
    assert kit_closure.missing(tmp_path, "3.13", "fieldcheck==0.2.0") == ["tzdata"]


def test_a_linux_wheel_does_not_count(tmp_path):
    wheel(tmp_path, "fieldcheck", "0.2.0", ["uharfbuzz"])
    wheel(tmp_path, "uharfbuzz", "0.55", [], tag="cp310-abi3-manylinux_2_17_x86_64")
    assert kit_closure.missing(tmp_path, "3.12", "fieldcheck==0.2.0") == ["uharfbuzz"]
