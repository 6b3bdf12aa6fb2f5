"""What a crash leaves half-done in the data folder, removed at the next start.

Every write is complete-or-absent: a file goes to a temporary name and is renamed
(`atomic_write_bytes`), an issued document's PDF and signature images are written before
the row that makes them issued, an import stages its files in `tmp/` and commits once. A
crash between the steps leaves pieces nothing refers to: `.<name>.<hex>.tmp` files, PDFs
in `documents/` and images in `signatures/` that no row names, and whatever is in `tmp/`
(import staging, decrypted bundles). Complete things — every file a row names, every
stored photo (one without a row is still evidence) — are never touched.

Another FieldCheck process on the same folder (a second window, an import from the
command line) may be between its steps right now, so nothing is removed while one runs:
each process holds a lock on its own file in `run/`; a lock that can be taken belongs to
a process that is gone.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.documents import SIGNATURE_IMAGE_SUFFIX, SIGNATURE_IMAGES_DIR, Document, Signature

log = logging.getLogger("fieldcheck")

RUN_DIR = "run"
SCRATCH_DIR = "tmp"                      # import staging, decrypted bundles: scratch only
ISSUED_DIRS = {"documents": ".pdf", SIGNATURE_IMAGES_DIR: SIGNATURE_IMAGE_SUFFIX}  # written before their rows
SKIPPED_DIRS = {"backups", RUN_DIR, SCRATCH_DIR}
_TMP_FILE = re.compile(r"\..+\.[0-9a-f]{32}\.tmp")  # atomic_write_bytes' temporary names


class InstanceLock:
    """This process's claim on a data folder, held until release() (or the process ends)."""

    def __init__(self, data_dir: Path) -> None:
        folder = Path(data_dir) / RUN_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.lock"
        self._fh = open(self.path, "a+b")  # noqa: SIM115 — held open for the process's life
        if not _try_lock(self._fh):
            raise RuntimeError(f"cannot lock a new file {self.path}")

    def release(self) -> None:
        if self._fh is None:
            return
        self._fh.close()  # closing drops the lock
        self._fh = None
        self.path.unlink(missing_ok=True)


def _try_lock(fh) -> bool:
    try:
        if os.name == "nt":
            import msvcrt
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def others_running(data_dir: Path, mine: InstanceLock) -> bool:
    """True while another live process holds a lock in `run/`; dead ones' files go."""
    alive = False
    for path in sorted((Path(data_dir) / RUN_DIR).glob("*.lock")):
        if path == mine.path:
            continue
        try:
            with open(path, "a+b") as fh:
                if not _try_lock(fh):
                    alive = True
                    continue
        except OSError:
            alive = True  # cannot tell: assume it lives
            continue
        path.unlink(missing_ok=True)
    return alive


def _temporary_files(data_dir: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(data_dir):
        if Path(root) == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        found += [Path(root) / f for f in files if _TMP_FILE.fullmatch(f)]
    return found


def _unreferenced(session: Session, data_dir: Path) -> list[Path]:
    named = {str(Path(f)) for f in session.scalars(select(Document.file_name))}
    images = {f"{sha}.png" for sha in session.scalars(
        select(Signature.image_sha256).where(Signature.image_sha256.is_not(None)))}
    return unnamed_files(data_dir, named, images)


def unnamed_files(data_dir: Path, named: set[str], images: set[str]) -> list[Path]:
    """The PDFs in documents/ no document names (as "documents/<name>") and the images in
    signatures/ no signature names ("<hash>.png"). Listed by scandir, each entry's type
    from the listing and its name as text: an office holds hundreds of thousands, and a
    stat and a Path per file (iterdir, is_file) cost seconds at every start."""
    found = []
    for folder, suffix in ISSUED_DIRS.items():
        try:
            listing = os.scandir(Path(data_dir) / folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with listing:
            for entry in listing:
                name = entry.name
                if os.path.splitext(name)[1] != suffix or not entry.is_file():
                    continue
                if folder == SIGNATURE_IMAGES_DIR:
                    known = name in images
                else:
                    known = os.path.join(folder, name) in named
                if not known:
                    found.append(Path(entry.path))
    return found


def _scratch(data_dir: Path) -> list[Path]:
    folder = data_dir / SCRATCH_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


def remove_crash_leftovers(session: Session, data_dir: Path, mine: InstanceLock) -> list[Path]:
    """Remove every half-done piece a crash left (see the module's text); what went."""
    data_dir = Path(data_dir)
    if others_running(data_dir, mine):
        log.info("另一个 FieldCheck 正在使用数据文件夹，本次启动不清理中断遗留的文件")
        return []
    removed = []
    for path in _temporary_files(data_dir) + _unreferenced(session, data_dir) + _scratch(data_dir):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:  # it can go next time
            log.warning("无法删除中断遗留的文件 %s：%s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info("已删除上次中断遗留的文件 %d 个：%s", len(removed),
                 "，".join(str(p.relative_to(data_dir)) for p in removed[:20]))
    return removed
