"""The crash-leftover sweep every start makes (models.leftovers), at office scale.

An office that has consolidated a year of laptops holds ~150,000 issued PDFs in
documents/ and ~150,000 signature images in signatures/, each of which every start
compares with the rows (a file no row names is a crash's leftover), and ~250,000 photos
and as many thumbnails that the sweep for temporary files walks. Fills a temporary folder
with empty files of those names (every one named by a "row"), then times in the same run:

  1. models.leftovers.unnamed_files: both folders listed by scandir, names as text;
  2. baseline: the loop as it was — Path.iterdir, a stat per file (is_file), pathlib names;
  3. for scale: the walk for temporary files over the whole folder (_temporary_files).

A benchmark prints; it never fails.

    .venv/bin/python bench/bench_leftovers.py                       # office scale (~1 min to fill)
    .venv/bin/python bench/bench_leftovers.py --documents 20000 --signatures 20000 --photos 0
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

from models.documents import SIGNATURE_IMAGES_DIR  # noqa: E402
from models.leftovers import ISSUED_DIRS, _temporary_files, unnamed_files  # noqa: E402


def _touch(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def fill(root: Path, documents: int, signatures: int, photos: int) -> tuple[set, set]:
    for sub in ("documents", SIGNATURE_IMAGES_DIR, "photos", "thumbs"):
        (root / sub).mkdir(parents=True)
    named, images = set(), set()
    for n in range(documents):
        name = f"2026-{n:06d}-检查记录.pdf"
        _touch(root / "documents" / name)
        named.add(str(Path("documents") / name))
    for n in range(signatures):
        name = f"{hashlib.sha256(b's%d' % n).hexdigest()}.png"
        _touch(root / SIGNATURE_IMAGES_DIR / name)
        images.add(name)
    for n in range(photos):
        sha = hashlib.sha256(b"p%d" % n).hexdigest()
        (root / "photos" / sha[:2]).mkdir(exist_ok=True)
        _touch(root / "photos" / sha[:2] / f"{sha}.jpg")
        _touch(root / "thumbs" / f"{sha}.jpg")
    return named, images


def baseline(data_dir: Path, named: set[str], images: set[str]) -> list[Path]:
    """The loop as it was before unnamed_files."""
    found = []
    for folder, suffix in ISSUED_DIRS.items():
        directory = data_dir / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if not path.is_file() or path.suffix != suffix:
                continue
            if folder == SIGNATURE_IMAGES_DIR:
                known = path.name in images
            else:
                known = str(Path(folder) / path.name) in named
            if not known:
                found.append(path)
    return found


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=150_000)
    parser.add_argument("--signatures", type=int, default=150_000)
    parser.add_argument("--photos", type=int, default=250_000, help="and as many thumbnails")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-leftovers-"))
    try:
        start = time.perf_counter()
        named, images = fill(root, args.documents, args.signatures, args.photos)
        print(f"{args.documents} documents, {args.signatures} signature images, {args.photos} photos "
              f"and thumbnails (empty files, made in {time.perf_counter() - start:.0f} s; "
              f"{os.cpu_count()} cores), median of {args.rounds} interleaved rounds:")
        new, old, walk = [], [], []
        for _ in range(args.rounds):
            took, found = timed(unnamed_files, root, named, images)
            new.append(took)
            took, old_found = timed(baseline, root, named, images)
            old.append(took)
            assert found == old_found == [], (found[:3], old_found[:3])
            walk.append(timed(_temporary_files, root)[0])
        load = os.getloadavg()[0]
        print(f"  unnamed_files (scandir, names as text): {statistics.median(new):.2f} s")
        print(f"  baseline, iterdir and a stat per file:  {statistics.median(old):.2f} s "
              f"({statistics.median(old) / statistics.median(new):.1f}× the time)")
        print(f"  for scale, the walk for temporary files over everything: "
              f"{statistics.median(walk):.2f} s (load {load:.1f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
