"""Whether this store is as it was recorded: the audit chain, what it cannot show by itself,
and the evidence files — one check for `status` (main.py) and the settings' 数据检查 tab."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from models.assignment_rules import assignment_problems
from models.audit import verify_chain
from models.chain_anchor import anchor_problems
from models.photo_store import (PHOTO_REPAIR_HINT, SIGNATURE_IMAGE_HINT, PhotoFileCheck,
                                check_photo_files, check_signature_images)
from models.seal import seal_problems


@dataclass
class IntegrityReport:
    events: int = 0
    devices: int = 0
    chain_problems: list[str] = field(default_factory=list)
    photo_files: PhotoFileCheck | None = None       # with files=True
    signature_images: PhotoFileCheck | None = None

    @property
    def chain_intact(self) -> bool:
        return not self.chain_problems

    @property
    def files_intact(self) -> bool:
        return not any(check.problems for check in (self.photo_files, self.signature_images)
                       if check is not None)

    @property
    def intact(self) -> bool:
        return self.chain_intact and self.files_intact

    def chain_line(self) -> str:
        if self.chain_intact:
            return "执法记录链完整"
        return "执法记录链被改动：" + "；".join(self.chain_problems)

    def file_lines(self) -> list[str]:
        """The files' verdict, as `status --files` prints it: a count, or each problem and
        what to do about it."""
        out = []
        for label, found, hint in (("照片文件", self.photo_files, PHOTO_REPAIR_HINT),
                                   ("签名图像", self.signature_images, SIGNATURE_IMAGE_HINT)):
            if found is None:
                continue
            if not found.problems:
                out.append(f"{label} {found.checked} 个均完好")
                continue
            out.append(f"{label} {found.checked} 个中 {len(found.problems)} 个有问题：")
            out += [f"  {line}" for line in found.problems]
            out.append(hint)
        return out


def chain_cut_problems(session: Session, data_dir: Path,
                       each_file: Callable[[], None] | None = None,
                       verified: set[str] | None = None) -> list[str]:
    """What the chain cannot show by itself: the cut (events removed from its end, against
    the positions recorded at exports), records edited beside the chain (content seals,
    issued documents' files) and 交办 records likewise. `verified` gets the photo files
    the seals' check read and found intact."""
    return (anchor_problems(session, data_dir)
            + seal_problems(session, data_dir, each_file, verified)
            + assignment_problems(session))


def check_integrity(session: Session, data_dir: Path, photos_dir: Path | None = None,
                    each_file: Callable[[], None] | None = None) -> IntegrityReport:
    """The whole check; given the photos folder, every photo and signature image is read and
    hashed too (seconds for thousands of photos). Nothing is changed. `each_file()` is called
    before each file is read: what it raises ends the check (the settings' tab, on quitting)."""
    chain = verify_chain(session)
    # Photo files read once: by the seals' check, then not again by the files' check.
    verified: set[str] | None = set() if photos_dir is not None else None
    report = IntegrityReport(chain.events, chain.devices,
                             chain.problems + chain_cut_problems(session, data_dir, each_file,
                                                                 verified))
    if photos_dir is not None:
        report.photo_files = check_photo_files(session, photos_dir, each_file, verified)
        report.signature_images = check_signature_images(session, data_dir, each_file)
    return report
