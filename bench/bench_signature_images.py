"""Finding the handwritten-signature images an export carries, at office scale.

An office that has consolidated a year of laptops holds tens of thousands of signature
images in one folder (data folder/signatures, by hash). The export looks up the image of
every signature it carries (sync.export._signature_images_here: the folder listed once),
and the same run times the baseline it replaced: a `Path.glob("<hash>.*")` per signature,
which lists the whole folder each time. A benchmark prints; it never fails.

    .venv/bin/python bench/bench_signature_images.py --images 5000
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync.export import _signature_images_here  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=500, help="signatures looked up by glob")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-sig-"))
    try:
        folder = root / "signatures"
        folder.mkdir()
        shas = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(args.images)]
        for sha in shas:
            (folder / f"{sha}.png").write_bytes(b"\x89PNG")
        store = SimpleNamespace(data_dir=root)
        sample = shas[:args.sample]
        start = time.perf_counter()
        for sha in sample:
            sorted(folder.glob(f"{sha}.*"))
        per_glob = (time.perf_counter() - start) / len(sample)
        start = time.perf_counter()
        here = _signature_images_here(store)
        found = sum(1 for sha in shas if sha in here)
        listed = time.perf_counter() - start
        load = os.getloadavg()[0]
        print(f"{args.images} signature images in one folder (load {load:.1f} on {os.cpu_count()} cores):")
        print(f"  baseline, a glob per signature: {per_glob * 1e3:.2f} ms each → "
              f"{per_glob * args.images:.1f} s for all {args.images}")
        print(f"  the folder listed once, then looked up: {listed * 1e3:.0f} ms for all "
              f"({found} found) — {per_glob * args.images / listed:.0f}× less")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
