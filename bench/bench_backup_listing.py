"""The listing of the data folder's files that `backup` copies (models.backup._data_files).

An office's data folder holds ~250,000 photos (in 256 subfolders) and as many thumbnails,
~150,000 issued PDFs and ~150,000 signature images. Fills a temporary folder with that many
empty files (`--scale` multiplies them), then times in the same run, interleaved:

  1. _data_files: one scandir per folder, each entry's type from the listing, paths as text;
  2. baseline: the listing as it was — sorted(rglob("*")), relative_to and two stats a file.

Both give the same list (checked). A benchmark prints; it never fails.

    .venv/bin/python bench/bench_backup_listing.py               # office scale, ~1 min to fill
    .venv/bin/python bench/bench_backup_listing.py --scale 0.1
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.backup import _SKIPPED, _data_files  # noqa: E402


def _touch(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def fill(root: Path, scale: float) -> None:
    for sub in ("photos", "thumbs", "documents", "signatures"):
        (root / sub).mkdir(parents=True)
    for n in range(int(250_000 * scale)):
        sha = hashlib.sha256(b"p%d" % n).hexdigest()
        (root / "photos" / sha[:2]).mkdir(exist_ok=True)
        _touch(root / "photos" / sha[:2] / f"{sha}.jpg")
        _touch(root / "thumbs" / f"{sha}.jpg")
    for n in range(int(150_000 * scale)):
        _touch(root / "documents" / f"2026-{n:06d}-检查记录.pdf")
        _touch(root / "signatures" / f"{hashlib.sha256(b's%d' % n).hexdigest()}.png")


def baseline(data_dir: Path) -> list[Path]:
    out = []
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if rel.parts[0] in _SKIPPED or not path.is_file() or path.is_symlink():
            continue
        out.append(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-backup-"))
    try:
        fill(root, args.scale)
        new, old, same = [], [], True
        for _ in range(args.rounds):
            start = time.perf_counter()
            listed = _data_files(root)
            new.append(time.perf_counter() - start)
            start = time.perf_counter()
            before = baseline(root)
            old.append(time.perf_counter() - start)
            same = same and listed == before
        n, o = statistics.median(new), statistics.median(old)
        print(f"{len(listed)} files ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}), median "
              f"of {args.rounds} interleaved rounds:")
        print(f"  _data_files: {n:.1f} s")
        print(f"  baseline, rglob, a sort of Paths and two stats a file: {o:.1f} s "
              f"({o / n:.1f}× the time; same list: {same})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
