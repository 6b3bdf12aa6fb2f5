"""Helpers shared by the document tests: cases built through the domain functions, PDF readers."""
from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw
from pypdf import PdfReader

from documents import CaseContent, collect_case
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from models.settings_rules import save_agency_settings

AGENCY = dict(agency_name="湘乡市应急管理局", region_short="湘乡",
              reconsideration_government="湘乡市人民政府", court="湘乡市人民法院")


def set_agency(store, **overrides) -> None:
    with store.transaction() as s:
        save_agency_settings(s, **(AGENCY | overrides))


def walk_and_finalize(store, clock, inspection_id, fail=(), notes=None, photos=None) -> None:
    """Answer every item (codes in `fail` 不符合, the rest 符合), attach photos, finalize.

    `photos` maps an item code to a list of (bytes, caption) attached to that item's answer.
    """
    from models.photo_store import attach_photo
    notes, photos = notes or {}, photos or {}
    with store.transaction() as s:
        items = [(i.id, i.code) for i in inspection_items(s, inspection_id)]
    for item_id, code in items:
        clock.advance(minutes=2)
        result = AnswerResult.NONCOMPLIANT if code in fail else AnswerResult.COMPLIANT
        with store.transaction() as s:
            answer = answer_item(s, inspection_id, item_id, result, notes.get(code, ""))
            for data, caption in photos.get(code, []):
                attach_photo(s, store.photos_dir, inspection_id, data, answer_id=answer.id,
                             caption=caption)
    clock.advance(minutes=10)
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)


def collect(store, inspection_id, **kwargs) -> CaseContent:
    with store.session() as s:
        return collect_case(s, inspection_id, store.photos_dir, **kwargs)


def item_codes(store, inspection_id) -> list[str]:
    with store.session() as s:
        return [i.code for i in inspection_items(s, inspection_id)]


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(pdf)
        return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                              check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: bytes, page: int | None = None) -> str:
    """pdftotext of the whole document, or of one page (1-based)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return _poppler("pdftotext", pdf, *pages)


def flat(text: str) -> str:
    """Text without any whitespace, so wrapped lines still match."""
    return "".join(text.split())


def page_texts(pdf: bytes) -> list[str]:
    """The text of every page, as pypdf extracts it."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def pdf_fonts(pdf: bytes) -> list[tuple[str, str]]:
    """(font name, emb column) for every font pdffonts lists."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    # Columns: name type encoding emb sub uni object ID — the type may hold a space.
    return [(line.split()[0], line.split()[-5]) for line in lines if line.strip()]


def page_images(pdf: bytes, page: int) -> list[Image.Image]:
    """The images drawn on one page (0-based), decoded."""
    return [img.image for img in PdfReader(io.BytesIO(pdf)).pages[page].images]


def signature_png(colour=(20, 40, 160)) -> bytes:
    img = Image.new("RGBA", (400, 120), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(20, 90), (120, 30), (220, 95), (380, 25)], fill=colour, width=8)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def marked_photo(size: tuple[int, int], orientation: int = 1, turn_for_user: int = 0,
                 taken: datetime | None = None, shade: int = 230) -> bytes:
    """A JPEG that shows upright as `size` with a red band at the top once turned correctly.

    The pixels are stored turned the way a phone stores them for EXIF `orientation` (6 or 8),
    or turned back by `turn_for_user` degrees for the inspector to rotate clockwise.
    """
    upright = Image.new("RGB", size, (shade, shade, shade))
    ImageDraw.Draw(upright).rectangle((0, 0, size[0], size[1] // 5), fill=(220, 0, 0))
    raw = upright
    if orientation == 6 or turn_for_user == 90:
        raw = upright.transpose(Image.Transpose.ROTATE_90)   # stored 90° anticlockwise
    elif orientation == 8:
        raw = upright.transpose(Image.Transpose.ROTATE_270)  # stored 90° clockwise
    exif = Image.Exif()
    exif[0x0112] = orientation
    moment = taken or datetime(2026, 11, 2, 10, 0)
    exif.get_ifd(0x8769)[0x9003] = moment.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    raw.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def top_is_red(img: Image.Image) -> bool:
    """True when the image's top band is red and its bottom is not (it stands upright)."""
    rgb = img.convert("RGB")
    w, h = rgb.size
    top = rgb.getpixel((w // 2, h // 20))
    bottom = rgb.getpixel((w // 2, h - h // 20))
    return top[0] > 150 and top[1] < 80 and bottom[1] > 150


def later(moment: datetime, **kwargs) -> datetime:
    return moment + timedelta(**kwargs)
