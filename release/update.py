"""「检查更新」: take an update from the USB stick, verify it, and say how it installs.

The update is first copied into the data folder's updates/ and the copy is verified: what is
installed is exactly what was checked, even if the stick is changed meanwhile. Nothing is
installed here; install_command says what the caller may start once the user agrees.
"""
from __future__ import annotations

import configparser
import re
import shutil
import sys
import uuid
from pathlib import Path

from models.errors import FieldCheckError
from models.paths import REPO_ROOT, resources_dir
from release.signature import SIG_SUFFIX, Release, UpdateRefused, signature_path, verify_release

UPDATES_DIR = "updates"


def current_version() -> str:
    """The running FieldCheck's version: stamped into a package, else the checkout's."""
    stamped = resources_dir() / "version.txt"
    if stamped.is_file():
        return stamped.read_text("utf-8").strip()
    cfg = configparser.ConfigParser()
    cfg.read(REPO_ROOT / "setup.cfg", encoding="utf-8")
    return cfg.get("metadata", "version", fallback="未知")


def _release_number(version: str) -> tuple[int, ...]:
    """The leading dotted numbers ("0.2.0~rc1" → (0, 2, 0)): enough to see a downgrade."""
    match = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


def is_downgrade(candidate: str, current: str) -> bool:
    old, new = _release_number(current), _release_number(candidate)
    return bool(old and new) and new < old


def locate(chosen: Path) -> Path:
    """The package or kit folder the user pointed at: the file itself, its .sig, or the
    kit's install.ps1."""
    chosen = Path(chosen)
    if chosen.name.endswith(SIG_SUFFIX):
        return chosen.with_name(chosen.name[: -len(SIG_SUFFIX)])
    if chosen.name.lower() == "install.ps1":
        return chosen.parent
    return chosen


def receive_update(chosen: Path, data_dir: Path, keys=None,
                   current: str | None = None) -> tuple[Release, Path]:
    """Copy the update and its signature into data_dir/updates/, verify the copy; on any
    refusal the copy is removed and UpdateRefused raised. An older version than the running
    one is refused too: a store already migrated forward cannot be opened by it."""
    source = locate(chosen)
    if not source.exists():
        raise UpdateRefused(f"找不到 {source}")
    sig = signature_path(source)
    if not sig.is_file():
        raise UpdateRefused(f"没有签名文件 {sig.name}，该更新未签名")
    folder = Path(data_dir) / UPDATES_DIR / uuid.uuid4().hex
    folder.mkdir(parents=True)
    copy = folder / source.name
    try:
        try:
            if source.is_dir():
                shutil.copytree(source, copy, symlinks=True)
            else:
                shutil.copyfile(source, copy)
            shutil.copyfile(sig, signature_path(copy))
        except OSError as exc:
            raise FieldCheckError(f"无法从 {source.parent} 复制更新（{exc.strerror or exc}）",
                                  "请检查U盘和本机磁盘空间后重试") from exc
        release = verify_release(copy, keys=keys)
        running = current or current_version()
        if is_downgrade(release.version, running):
            raise UpdateRefused(f"这是旧版本 {release.version}（本机已是 {running}），"
                                "装回旧版本可能打不开已升级的数据")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return release, copy


def install_command(release: Release, copy: Path) -> list[str]:
    """The program that installs the verified copy (it asks for the administrator itself)."""
    if release.kind == "windows-kit":
        return ["powershell", "-ExecutionPolicy", "Bypass", "-File", str(copy / "install.ps1")]
    return ["pkexec", "apt-get", "install", "-y", str(copy.resolve())]


def forget_updates(data_dir: Path) -> None:
    """Remove copies of earlier updates (called once one is installed or refused)."""
    shutil.rmtree(Path(data_dir) / UPDATES_DIR, ignore_errors=True)


def platform_kind() -> str:
    return "windows-kit" if sys.platform == "win32" else "deb"
