"""How fast and how big the enforcement documents of a heavy inspection are.

Builds a temporary store with one finalized inspection: 30 hazards (all three areas, so some
are major) and 30 camera-size photos (4000×3000, noisy content, EXIF orientation 1/6/8 and
capture time). Then times, in the same run:

  1. ours: collect_case + documents_for_case — 现场检查记录 with its 照片附页, 责令限期整改指令书,
     现场处理措施决定书 (layout, tables, 续页 headers, "共 N 页", signature blocks, seal box);
  2. the plain baseline: the same text and the same downscaled photos (the same Pillow
     draft + resize + JPEG steps, one after the other) drawn straight onto a reportlab canvas
     with naive line wrapping — no layout engine, no threads.

Targets (printed, never enforced): under 3 s, at most 1.5× the baseline, under 5 MB.

    .venv/bin/python bench/bench_pdf.py
    .venv/bin/python bench/bench_pdf.py --photos 10 --hazards 10 --repeat 1
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageChops, ImageDraw  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.units import cm  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from documents import CaseContent, collect_case, document_fonts, documents_for_case  # noqa: E402
from documents import photo_annex  # noqa: E402
from models.enterprise_rules import (EnterpriseInput, create_enterprise,  # noqa: E402
                                     credit_check_char)
from models.inspection import AnswerResult  # noqa: E402
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,  # noqa: E402
                                     inspection_items, start_inspection)
from models.photo_store import attach_photo  # noqa: E402
from models.registry import Inspector  # noqa: E402
from models.settings_rules import save_agency_settings  # noqa: E402
from models.startup import start_store  # noqa: E402

TARGET_S, TARGET_RATIO, TARGET_MB = 3.0, 1.5, 5.0
PHOTO_SIZE = (4000, 3000)
START = datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc)


def camera_photos(count: int) -> list[bytes]:
    """Noisy 4000×3000 JPEGs (each different), with EXIF time, GPS and orientation."""
    rng = random.Random(7)
    noise = Image.merge("RGB", [Image.effect_noise(PHOTO_SIZE, s) for s in (40, 50, 60)])
    photos = []
    for n in range(count):
        tint = Image.new("RGB", PHOTO_SIZE, tuple(rng.randrange(60, 200) for _ in range(3)))
        shifted = ImageChops.offset(noise, rng.randrange(4000), rng.randrange(3000))
        img = Image.blend(shifted, tint, 0.45)
        ImageDraw.Draw(img).rectangle((600, 500, 3400, 2500), outline=(250, 210, 40), width=40)
        exif = Image.Exif()
        exif[0x0112] = (1, 6, 8)[n % 3]
        exif.get_ifd(0x8769)[0x9003] = (START + timedelta(minutes=n)).strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8825).update({1: "N", 2: (27.0, 44.0, 12.5), 3: "E", 4: (112.0, 31.0, 40.0)})
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90, exif=exif)
        photos.append(out.getvalue())
    return photos


def build_case(data_dir: Path, hazards: int, photos: list[bytes]):
    """A store with one finalized inspection: `hazards` 不符合 items, the photos on them."""
    store = start_store(data_dir)
    store.clock = lambda: START
    with store.transaction() as s:
        save_agency_settings(s, agency_name="湘乡市应急管理局", region_short="湘乡",
                             reconsideration_government="湘乡市人民政府", court="湘乡市人民法院")
        people = [Inspector(name="张卫东", certificate_no="43038120001"),
                  Inspector(name="李晓红", certificate_no="43038120002")]
        s.add_all(people)
        body = "91430381MA4L0BEN0"
        firm = create_enterprise(s, EnterpriseInput(
            name="湘乡市综合冷链食品有限公司", credit_code=body + credit_check_char(body),
            address="湘乡市经济开发区冷链大道 16 号", legal_representative="刘美华",
            representative_post="总经理", phone="13874112345", has_dust=True,
            has_confined_space=True, has_ammonia=True))
        s.flush()
        inspection = start_inspection(s, NewInspection(firm.id, [p.id for p in people],
                                                       "速冻间、机房、除尘器区域", START))
        items = inspection_items(s, inspection.id)
    failed = [item.id for item in items[:max(1, hazards)]]
    shots = {item_id: photos[k::len(failed)] for k, item_id in enumerate(failed)}
    for item in items:
        with store.transaction() as s:
            bad = item.id in shots
            answer = answer_item(s, inspection.id, item.id,
                                 AnswerResult.NONCOMPLIANT if bad else AnswerResult.COMPLIANT,
                                 "现场查看发现问题，已拍照取证" if bad else "")
            for data in shots.get(item.id, []):
                attach_photo(s, store.photos_dir, inspection.id, data, answer_id=answer.id,
                             caption=f"{item.code} 现场情况")
    with store.transaction() as s:
        finalize_inspection(s, inspection.id)
    return store, inspection.id


def ours(store, inspection_id, workers: int | None = None) -> list[tuple]:
    original = photo_annex.print_images
    if workers:
        photo_annex.print_images = lambda photos, _w=None: original(photos, workers)
    try:
        with store.session() as s:
            content = collect_case(s, inspection_id, store.photos_dir)
        return documents_for_case(content)
    finally:
        photo_annex.print_images = original


def _wrap(text: str, per_line: int = 38) -> list[str]:
    return [text[i:i + per_line] for i in range(0, len(text), per_line)] or [""]


def _document_lines(content: CaseContent) -> list[str]:
    """The same text the three documents print, as plain lines."""
    e = content.enterprise
    lines = [e.name, e.address, e.representative, e.post, e.phone, content.place]
    lines += [f"{o.name} {o.certificate_no}" for o in content.officers]
    lines += [f"{i.code} {i.question} {i.result_label} {i.note}" for i in content.items]
    for h in content.hazards + content.major_hazards:
        lines += [h.description, h.legal_basis, h.rectification, str(h.deadline)]
    return lines


def baseline(content: CaseContent, font: str) -> bytes:
    """Plain reportlab: the text, naively wrapped, and the downscaled photos on a bare canvas."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=1)
    y = A4[1] - 2 * cm
    for line in (part for text in _document_lines(content) for part in _wrap(text)):
        if y < 2 * cm:
            c.showPage()
            y = A4[1] - 2 * cm
        c.setFont(font, 12)
        c.drawString(2.5 * cm, y, line)
        y -= 18
    for n, facts in enumerate(content.photos):
        if n % 2 == 0:
            c.showPage()
        image = photo_annex.print_image(facts)
        top = A4[1] - 2 * cm - (n % 2) * 12 * cm
        c.drawImage(ImageReader(io.BytesIO(image.jpeg)), 2.5 * cm, top - image.height,
                    image.width, image.height)
        c.setFont(font, 10)
        c.drawString(2.5 * cm, top - image.height - 14, f"照片{n + 1}：{facts.caption}")
    c.save()
    return out.getvalue()


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=30)
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median printed)")
    args = parser.parse_args()
    print(f"Making {args.photos} photos of {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]} and the store …",
          flush=True)
    photos = camera_photos(args.photos)
    with tempfile.TemporaryDirectory() as folder:
        store, inspection_id = build_case(Path(folder), args.hazards, photos)
        font = document_fonts().body  # both sides use the same registered, warmed-up font
        with store.session() as s:
            content = collect_case(s, inspection_id, store.photos_dir)
        ours(store, inspection_id)  # warm-up (imports, wording files)
        t_ours, docs = timed(lambda: ours(store, inspection_id), args.repeat)
        t_one, _ = timed(lambda: ours(store, inspection_id, workers=1), args.repeat)
        t_base, plain = timed(lambda: baseline(content, font), args.repeat)
        store.close()
    report(args, photos, content, docs, plain, t_ours, t_one, t_base)


def report(args, photos, content, docs, plain, t_ours, t_one, t_base) -> None:
    size = sum(len(pdf) for *_k, pdf in docs) / 1e6
    ratio = t_ours / t_base
    avg_photo = statistics.mean(len(p) for p in photos) / 1e6
    print(f"Inspection: {len(content.items)} items, {len(content.hazards)} hazards "
          f"({len(content.major_hazards)} major), {len(content.photos)} photos "
          f"(avg {avg_photo:.1f} MB JPEG)")
    for kind, number, pdf in docs:
        print(f"  {kind.value:<22} {number:<28} {len(pdf) / 1e6:6.2f} MB")
    rows = [("ours", "documents_for_case (collect + render)", t_ours, size),
            ("", "the same, photos decoded on one thread", t_one, None),
            ("plain", "bare canvas, same text + photos, 1 thread", t_base, len(plain) / 1e6)]
    for who, what, seconds, mb in rows:
        print(f"{who:<6}{what:<42}{seconds:6.2f} s" + (f"  {mb:6.2f} MB" if mb else ""))
    print(f"{'ratio':<6}{'ours / plain':<42}{ratio:6.2f}×")
    print(f"targets: < {TARGET_S:g} s: {'met' if t_ours < TARGET_S else 'MISSED'}; "
          f"≤ {TARGET_RATIO:g}× plain: {'met' if ratio <= TARGET_RATIO else 'MISSED'}; "
          f"< {TARGET_MB:g} MB: {'met' if size < TARGET_MB else 'MISSED'}")


if __name__ == "__main__":
    main()
