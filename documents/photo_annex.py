"""照片附页: each evidence photo upright, at print resolution, stamped with time, place, enterprise.

Photos are decoded at reduced scale (Pillow draft), turned by their EXIF orientation and by
the inspector's rotation, resized to ~200 dpi for their printed size and embedded as JPEG.
The decoding runs on a few threads (Pillow releases the GIL while decoding).
"""
from __future__ import annotations

import io
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, ImageOps
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer

from documents.content import PhotoFacts
from documents.fonts import FontSet
from documents.layout import Bookmark, draw_text, fit_size, para, styles, wording

ANNEX_KEY = "photo_annex"   # the outline entry where the annex begins
PRINT_DPI = 200
# The draft decode lands at 1/2, 1/4 or 1/8 scale; within this factor of the print size
# (≤ 240 dpi) it is embedded as decoded, saving a resample per photo.
RESAMPLE_ABOVE = 1.2
JPEG_QUALITY = 80
BOX_W, BOX_H = 15.5 * cm, 8.9 * cm   # two photos with captions per A4 page
STRIP_ALPHA = 0.55
_ORIENTATION = 0x0112
_TURN = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
         270: Image.Transpose.ROTATE_90}  # the inspector's rotation is clockwise


@dataclass(frozen=True)
class PrintImage:
    """A photo ready to embed: JPEG bytes and its printed size in points."""

    jpeg: bytes
    width: float
    height: float


def _fit(size: tuple[int, int], box: tuple[float, float]) -> tuple[float, float]:
    scale = min(box[0] / size[0], box[1] / size[1])
    return size[0] * scale, size[1] * scale


def _flat_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def print_image(facts: PhotoFacts, box: tuple[float, float] = (BOX_W, BOX_H)) -> PrintImage | None:
    """The photo upright and downscaled for its printed size; None if it cannot be read."""
    try:
        with Image.open(facts.path) as img:
            orientation = img.getexif().get(_ORIENTATION, 1)
            sideways = (orientation in (5, 6, 7, 8)) != (facts.rotation in (90, 270))
            shown = img.size[::-1] if sideways else img.size
            width, height = _fit(shown, box)
            target = tuple(min(side, math.ceil(points / 72 * PRINT_DPI))
                           for side, points in zip(shown, (width, height), strict=True))
            img.draft("RGB", target[::-1] if sideways else target)
            upright = ImageOps.exif_transpose(img)
            if facts.rotation in _TURN:
                upright = upright.transpose(_TURN[facts.rotation])
            upright = _flat_rgb(upright)
            if any(u > t * RESAMPLE_ABOVE for u, t in zip(upright.size, target, strict=True)):
                upright = upright.resize(target, Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=JPEG_QUALITY)
    return PrintImage(out.getvalue(), width, height)


def print_images(photos: tuple[PhotoFacts, ...], workers: int | None = None) -> list:
    """Every photo prepared for print, in order, on a few threads."""
    workers = workers or min(4, os.cpu_count() or 1)
    if workers <= 1 or len(photos) <= 1:
        return [print_image(p) for p in photos]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(print_image, photos))


def wrap_chars(text: str, font: str, size: float, width: float) -> list[str]:
    """Chinese text cut into lines that fit `width` (any character may end a line)."""
    lines, current = [], ""
    for char in text:
        if current and stringWidth(current + char, font, size) > width:
            lines.append(current)
            current = ""
        current += char
    return lines + [current]


class PhotoFlowable(Flowable):
    """The photo centred in its box with the watermark strip over its bottom edge."""

    def __init__(self, image: PrintImage | None, facts: PhotoFacts, fonts: FontSet) -> None:
        super().__init__()
        self.image, self.facts, self.fonts = image, facts, fonts

    def wrap(self, avail_w, _avail_h):
        self.width = avail_w
        return avail_w, BOX_H

    def draw(self) -> None:
        if self.image is None:
            return self._missing()
        w, h = self.image.width, self.image.height
        x, y = (self.width - w) / 2, BOX_H - h
        self.canv.drawImage(ImageReader(io.BytesIO(self.image.jpeg)), x, y, w, h)
        self._strip(x, y, w)

    def _lines(self) -> list[str]:
        f, words = self.facts, wording("common")
        time = f"{f.taken_at:%Y-%m-%d %H:%M}" if f.taken_at else ""
        return [words["photo_time"].format(time=time), words["photo_place"].format(place=f.place),
                words["photo_enterprise"].format(enterprise=f.enterprise)]

    def _strip(self, x: float, y: float, w: float) -> None:
        c, font = self.canv, self.fonts.body
        size = min(fit_size(line, font, 9, w - 12, smallest=7) for line in self._lines())
        lines = [part for line in self._lines() for part in wrap_chars(line, font, size, w - 12)]
        lead = size * 1.3
        c.saveState()
        c.setFillColorRGB(0, 0, 0, alpha=STRIP_ALPHA)
        c.rect(x, y, w, lead * len(lines) + 6, stroke=0, fill=1)
        c.setFillColorRGB(1, 1, 1)
        c.setFont(font, size)
        for n, line in enumerate(reversed(lines)):
            draw_text(c, x + 6, y + 4 + n * lead + size * 0.2, line, font, size)
        c.restoreState()

    def _missing(self) -> None:
        c = self.canv
        c.saveState()
        c.setDash(4, 3)
        c.rect(0, 0, self.width, BOX_H)
        c.setFont(self.fonts.body, 12)
        text = wording("common")["photo_missing"].format(name=self.facts.path.name)
        c.drawCentredString(self.width / 2, BOX_H / 2, text[:60])
        c.restoreState()


def _short(question: str, limit: int = 40) -> str:
    text = question.removeprefix("是否").rstrip("？?")
    return text if len(text) <= limit else text[:limit] + "…"


def _block(n: int, image: PrintImage | None, facts: PhotoFacts, fonts: FontSet) -> KeepTogether:
    st, words = styles(fonts), wording("common")
    parts = [PhotoFlowable(image, facts, fonts), Spacer(1, 0.15 * cm),
             para(words["photo_caption"].format(n=n, caption=facts.caption or ""), st.caption)]
    if facts.item_code:
        parts.append(para(words["photo_proves"].format(
            code=facts.item_code, question=_short(facts.item_question)), st.caption))
    return KeepTogether(parts + [Spacer(1, 0.5 * cm)])


def annex_story(photos: tuple[PhotoFacts, ...], fonts: FontSet) -> list:
    """照片附页 on new pages, two photos a page; nothing when there are no photos."""
    if not photos:
        return []
    title = para(wording("common")["annex_title"], styles(fonts).heading)
    images = print_images(photos)
    pairs = zip(images, photos, strict=True)
    blocks = [_block(n, image, facts, fonts) for n, (image, facts) in enumerate(pairs, 1)]
    return [PageBreak(), Bookmark(wording("common")["annex_title"], ANNEX_KEY), title, *blocks]
