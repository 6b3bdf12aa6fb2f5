"""How the UI feels: importing a camera card's photos, and a cold start on a big store.

  1. Photo import: 50 camera-like JPEGs of 4000×3000 (2–4 MB, EXIF time/GPS) are dropped
     on a PhotoStrip in a running QApplication (offscreen). Timed from add_files() to the
     ingest's `finished` signal: validate + EXIF + stored copy (fsync) + thumbnail in the
     photo pool, and each row recorded on the UI thread. Baseline, same files, same run:
     Pillow's own open + draft + resize to the thumbnail size, one file after another.
     Target ≤ 1.3×. Meanwhile a 5 ms timer on the UI thread records the longest gap between
     its ticks: the longest the UI was unresponsive (target < 100 ms).
  2. Cold start: `python main.py --data-dir DIR` with 10,000 inspections (100,000 answers)
     until the main window is shown (FIELDCHECK_EXIT_AFTER_SHOW=1), median of 5 runs after a
     warm-up, next to a bare PySide6 QMainWindow measured the same way. Target ≤ 1.5×.

A benchmark prints; it never fails on timing.

    .venv/bin/python bench/bench_ui.py
    .venv/bin/python bench/bench_ui.py --photos 10 --inspections 1000 --runs 3   # quick look
"""
from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtCore import QEventLoop, Qt, QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import bench_store  # noqa: E402  (its bulk fill: Core INSERTs, no audit events)
from models.inspection import AnswerResult  # noqa: E402
from models.inspection_rules import (NewInspection, answer_item, inspection_items,  # noqa: E402
                                     start_inspection)
from models.photo_store import THUMB_SIDE, prepare_photo, read_photo_file  # noqa: E402
from models.registry import Enterprise, Inspector  # noqa: E402
from models.startup import start_store  # noqa: E402

PHOTO_SIZE = (4000, 3000)
TICK_MS = 5
BARE_WINDOW = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.setWindowTitle("bare")
window.resize(1280, 700)
window.show()
QTimer.singleShot(0, app.quit)
sys.exit(app.exec())
"""


# --------------------------------------------------------------------------- photos

def camera_jpegs(folder: Path, count: int, seed: int) -> list[Path]:
    """Camera-like JPEGs: noisy (so they are camera-sized), each different, EXIF time + GPS."""
    rng = random.Random(seed)
    w, h = PHOTO_SIZE
    noise = Image.effect_noise((w + 400, h + 300), 24).convert("RGB")
    base = Image.blend(Image.linear_gradient("L").resize(noise.size).convert("RGB"), noise, 0.35)
    taken = datetime.now().astimezone() - timedelta(minutes=count)
    paths = []
    for n in range(count):
        x, y = rng.randrange(400), rng.randrange(300)
        img = base.crop((x, y, x + w, y + h))
        ImageDraw.Draw(img).rectangle((500 + n, 500, 3500, 2500), outline=(240, 200, 40), width=30)
        exif = Image.Exif()
        exif[0x0112] = 6 if n % 5 == 0 else 1
        exif.get_ifd(0x8769)[0x9003] = (taken + timedelta(minutes=n)).strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8825).update({1: "N", 2: (27.0, 44.0, 12.5), 3: "E", 4: (112.0, 31.0, 40.0)})
        path = folder / f"IMG_{n:04d}.JPG"
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, exif=exif)
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def pillow_baseline(paths: list[Path]) -> float:
    """Pillow's own fast thumbnail: open, draft to an aspect-correct box, resize."""
    t0 = time.perf_counter()
    for path in paths:
        with Image.open(path) as img:
            w, h = img.size
            box = (THUMB_SIDE, h * THUMB_SIDE // w) if w >= h else (w * THUMB_SIDE // h, THUMB_SIDE)
            img.draft("RGB", box)
            img.resize(box)
    return time.perf_counter() - t0


def heavy_step_one_thread(paths: list[Path], photos_dir: Path) -> float:
    """FieldCheck's slow step, one file after another, no Qt: the like-for-like comparison."""
    t0 = time.perf_counter()
    for path in paths:
        prepare_photo(photos_dir, read_photo_file(path), path.name)
    return time.perf_counter() - t0


def open_inspection(store) -> tuple:
    with store.transaction(label="bench") as s:
        firm = Enterprise(name="压测企业", credit_code="91439999BENCH00001", address="压测路 1 号",
                          legal_representative="张三", representative_post="总经理",
                          phone="13900000000", has_dust=True)
        people = [Inspector(name="甲", certificate_no="B1"), Inspector(name="乙", certificate_no="B2")]
        s.add_all([firm, *people])
        s.flush()
        inspection = start_inspection(s, NewInspection(
            firm.id, [p.id for p in people], "车间", datetime.now(timezone.utc)))
        item = inspection_items(s, inspection.id)[0]
        answer = answer_item(s, inspection.id, item.id, AnswerResult.NONCOMPLIANT)
        return inspection.id, answer.id, answer.hazard.id


class StallMeter:
    """A timer on the UI thread: the longest gap between its ticks is the longest stall."""

    def __init__(self) -> None:
        self.timer = QTimer(interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.longest = 0.0
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def stop(self) -> None:
        self.timer.stop()
        self._tick()


def ingest_through_strip(paths: list[Path], folder: Path) -> tuple[float, float, int]:
    """(seconds to `finished`, longest UI stall in seconds, photos recorded)."""
    from ui.photo_strip import PhotoStrip
    from ui.style import apply_style
    apply_style(QApplication.instance())
    store = start_store(folder)
    try:
        inspection_id, answer_id, hazard_id = open_inspection(store)
        strip = PhotoStrip(store, inspection_id)
        strip.set_target(answer_id, hazard_id)
        strip.resize(1100, 300)
        strip.show()
        QApplication.processEvents()
        loop, meter = QEventLoop(), StallMeter()
        strip.ingest.finished.connect(loop.quit)
        meter.start()
        t0 = time.perf_counter()
        strip.add_files(paths)
        loop.exec()
        elapsed = time.perf_counter() - t0
        QTimer.singleShot(300, loop.quit)  # the refresh and repaint after `finished` count too
        loop.exec()
        meter.stop()
        shown = strip.model.rowCount()
        strip.close()
        strip.deleteLater()
        return elapsed, meter.longest, shown
    finally:
        store.close()


def bench_photos(count: int, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="fieldcheck-bench-ui-") as tmp:
        root = Path(tmp)
        (root / "card").mkdir()
        t0 = time.perf_counter()
        paths = camera_jpegs(root / "card", count, seed)
        sizes = [p.stat().st_size / 2**20 for p in paths]
        print(f"photos: {count} JPEGs of {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]}, {min(sizes):.1f}–"
              f"{max(sizes):.1f} MB (made in {time.perf_counter() - t0:.1f} s); warm OS cache")
        for p in paths:
            p.read_bytes()
        pillow_baseline(paths[:3])  # warm-up
        base = pillow_baseline(paths)
        elapsed, stall, shown = ingest_through_strip(paths, root / "data")
        one = heavy_step_one_thread(paths, root / "one-thread" / "photos")
        print(f"  Pillow open+draft+resize to {THUMB_SIDE} px, 1 thread: {base:.2f} s "
              f"({base / count * 1000:.0f} ms/photo)")
        print(f"  FieldCheck ingest via PhotoStrip (pool of 2 + rows on UI thread): {elapsed:.2f} s "
              f"({elapsed / count * 1000:.0f} ms/photo), {shown} thumbnails shown; ratio "
              f"{elapsed / base:.2f}x; target <= 1.3x: {'OK' if elapsed / base <= 1.3 else 'MISSED'}")
        print(f"  (same slow step one file after another, no Qt: {one:.2f} s; ratio "
              f"{one / base:.2f}x -- what the pool of 2 buys back)")
        print(f"  longest UI-thread stall during the ingest: {stall * 1000:.0f} ms "
              f"(gap between {TICK_MS} ms ticks); target < 100 ms: "
              f"{'OK' if stall < 0.1 else 'MISSED'}")


# --------------------------------------------------------------------------- cold start

def fill_store(folder: Path, inspections: int, seed: int) -> None:
    store = start_store(folder)
    try:
        now = datetime.now(timezone.utc)
        ctx = bench_store.FillContext(rng=random.Random(seed), device=store.device_id, now=now,
                                      today=now.date(), per_inspection=10)
        ctx.checklists = bench_store.load_items(store)
        bench_store.fill_registry(store, ctx)
        with _quiet():
            bench_store.fill_inspections(store, ctx, inspections)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"start: store with {ctx.rows['inspection']:,} inspections, "
              f"{ctx.rows['answer']:,} answers, {ctx.rows['hazard']:,} hazards")
    finally:
        store.close()


class _quiet:
    """bench_store prints progress lines; not wanted here."""

    def __enter__(self):
        self._stdout, sys.stdout = sys.stdout, io.StringIO()

    def __exit__(self, *_exc):
        sys.stdout = self._stdout


def time_process(argv: list[str], runs: int, exit_env: str = "FIELDCHECK_EXIT_AFTER_SHOW"
                 ) -> tuple[list[float], int]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env[exit_env] = "1"
    times, code = [], 0
    for n in range(runs + 1):  # the first run warms the OS cache and is not counted
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, timeout=120)
        if n:
            times.append(time.perf_counter() - t0)
        code = code or done.returncode
        if done.returncode:
            print(f"  note: {' '.join(argv[-3:])} exited {done.returncode}: "
                  f"{done.stderr.decode(errors='replace')[-300:]}")
    return times, code


def bench_cold_start(inspections: int, runs: int, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="fieldcheck-bench-start-") as tmp:
        folder = Path(tmp)
        fill_store(folder, inspections, seed)
        try:
            app, _ = time_process([sys.executable, "main.py", "--data-dir", str(folder)], runs)
        except subprocess.TimeoutExpired:
            print("  main.py did not quit after showing its window: FIELDCHECK_EXIT_AFTER_SHOW "
                  "is not honoured by ui/app.py")
            return
        ready, _ = time_process([sys.executable, "main.py", "--data-dir", str(folder)], runs,
                                "FIELDCHECK_EXIT_AFTER_READY")
        bare, _ = time_process([sys.executable, "-c", BARE_WINDOW], runs)
        app_med, bare_med = statistics.median(app), statistics.median(bare)
        ready_med = statistics.median(ready)
        ratio = app_med / bare_med
        print(f"  bare PySide6 QMainWindow shown: median {bare_med * 1000:.0f} ms "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in bare)})")
        print(f"  FieldCheck main window shown:   median {app_med * 1000:.0f} ms "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in app)})")
        print(f"  ratio {ratio:.2f}x; target <= 1.5x: {'OK' if ratio <= 1.5 else 'MISSED'}")
        # The window shows before the store opens; this is when the inspection list is there.
        print(f"  FieldCheck data shown (store opened, list filled): median {ready_med * 1000:.0f} ms "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in ready)}); "
              f"{ready_med / bare_med:.2f}x the bare window")


def _qt_messages(_mode, _context, message: str) -> None:
    # The offscreen platform's note when a shown window's size limits change: not ours.
    if "propagateSizeHints" not in message:
        print(f"  Qt: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=50)
    ap.add_argument("--inspections", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5, help="timed starts of each, after a warm-up")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    qInstallMessageHandler(_qt_messages)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    print(f"FieldCheck UI benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"Qt platform {app.platformName()}")
    bench_photos(args.photos, args.seed)
    bench_cold_start(args.inspections, args.runs, args.seed)


if __name__ == "__main__":
    main()
