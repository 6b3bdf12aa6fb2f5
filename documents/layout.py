"""The page every enforcement document shares.

A4; 「安全生产行政执法文书」 above the title, the title centred and bold, the number
right-aligned under it on the first page (the 2016 template); on
every further page a shorter header (title + （续页） + number); "共 N 页 第 n 页" at the foot of
every page, drawn by a canvas that holds the pages back until it knows how many there are.
The output is deterministic: reportlab's invariant mode, and the PDF dates come from the data.
"""
from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

from documents.fonts import FontSet, fallback_for, glyph_runs
from models.errors import FieldCheckError
from models.paths import resources_dir

# Binary streams: ASCII85 makes large photos 25 % bigger and many times slower (TECH_NOTES).
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
LEFT, RIGHT, BOTTOM = 2.5 * cm, 2.0 * cm, 2.2 * cm
TEXT_W = PAGE_W - LEFT - RIGHT
FIRST_TOP, LATER_TOP = 4.8 * cm, 3.4 * cm   # from the top edge to the text frame
BODY_SIZE, BODY_LEADING = 12, 18             # 小四, 1.5 line spacing
BLANK = "＿＿＿＿＿＿＿＿"                    # printed where a setting is missing, to fill by hand


@cache
def wording(name: str) -> dict:
    """The fixed paragraphs of one document, from resources/wording/<name>.toml."""
    path = resources_dir() / "wording" / f"{name}.toml"
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FieldCheckError(f"文书措辞文件 {path} 缺失或有误（{exc}）",
                              "请重新安装 FieldCheck") from exc


def fill(template: str, **values) -> str:
    """The template with its fields; an empty value prints as a blank line to fill by hand."""
    return template.format_map({k: str(v) if str(v).strip() else BLANK for k, v in values.items()})


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def cn_clock(moment: datetime) -> str:
    return f"{moment.hour}时{moment.minute:02d}分"


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle      # indented paragraph
    plain: ParagraphStyle     # no indent (salutation, labels)
    item: ParagraphStyle      # numbered entry with a hanging number
    sub: ParagraphStyle       # continuation lines of a numbered entry
    cell: ParagraphStyle      # table text
    cell_centre: ParagraphStyle
    caption: ParagraphStyle
    heading: ParagraphStyle   # centred heading inside the body (照片附页)


def _style(name: str, font: str, **kw) -> ParagraphStyle:
    # Left-aligned: reportlab justifies by stretching ASCII spaces only, which would open a
    # gap inside "GB 15577-2018"; CJK glyphs are all one width, so the edge stays near-even.
    base = dict(fontName=font, fontSize=BODY_SIZE, leading=BODY_LEADING, wordWrap="CJK",
                alignment=TA_LEFT, allowWidows=0, allowOrphans=0)
    return ParagraphStyle(name, **(base | kw))


@cache
def styles(fonts: FontSet) -> Styles:
    f = fonts.body
    return Styles(
        body=_style("body", f, firstLineIndent=2 * BODY_SIZE),
        plain=_style("plain", f, alignment=TA_LEFT),
        item=_style("item", f, leftIndent=2 * BODY_SIZE, firstLineIndent=-2 * BODY_SIZE,
                    spaceBefore=4),
        sub=_style("sub", f, leftIndent=2 * BODY_SIZE),
        cell=_style("cell", f, fontSize=10.5, leading=14, alignment=TA_LEFT),
        cell_centre=_style("cell_centre", f, fontSize=10.5, leading=14, alignment=TA_CENTER),
        caption=_style("caption", f, fontSize=10.5, leading=15, alignment=TA_LEFT),
        heading=_style("heading", fonts.title, fontSize=16, leading=24, alignment=TA_CENTER,
                       spaceAfter=6),
    )


# Chinese line breaking (禁则): closing punctuation never starts a line, an opening bracket
# never ends one, and a number or Latin word is not cut. reportlab's own CJK wrapping knows
# only part of the punctuation and hangs at most one mark, so "（二））" could leave a lone "）".
NO_START = set("，。、；：！？）》〉」』】〕”’…·％!),.:;?]}")
NO_END = set("（《〈「『【〔“‘([{")
_NEWLINE = "\ue000"  # a forced line break that survives reportlab's whitespace folding


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "-./_%")


def _break_at(text: str, start: int, i: int) -> int:
    """Where to end the line when text[i] no longer fits (start < i)."""
    brk = i
    if text[i] in NO_START and (i + 1 == len(text) or text[i + 1] not in NO_START):
        return i + 1  # one mark may hang into the margin
    while brk > start + 1 and (text[brk] in NO_START or text[brk - 1] in NO_END
                               or (_is_word(text[brk - 1]) and _is_word(text[brk]))):
        brk -= 1
    return brk if brk > start + 1 else i


def _line(text: str, limit: float, font: str, size: float) -> tuple[float, str]:
    text = text.rstrip(" ")
    return limit - stringWidth(text, font, size), text


def cjk_lines(text: str, widths: list[float], font: str, size: float) -> list[tuple[float, str]]:
    """(spare width, line) for each line of `text`, the n-th line at most widths[n] wide."""
    lines: list[tuple[float, str]] = []
    start, used, i = 0, 0.0, 0
    while i < len(text):
        limit = widths[min(len(lines), len(widths) - 1)]
        if text[i] == _NEWLINE:
            lines.append(_line(text[start:i], limit, font, size))
            start = i = i + 1
            used = 0.0
            continue
        width = stringWidth(text[i], font, size)
        if used + width <= limit + 1e-6 or i == start:
            used, i = used + width, i + 1
            continue
        brk = _break_at(text, start, i)
        lines.append(_line(text[start:brk], limit, font, size))
        start = i = len(text) - len(text[brk:].lstrip(" "))  # no line starts with a space
        used = 0.0
    if lines and start == len(text):  # the last mark hung on the previous line
        return lines
    limit = widths[min(len(lines), len(widths) - 1)]
    return lines + [_line(text[start:], limit, font, size)]


class CJKParagraph(Paragraph):
    """A plain-text paragraph wrapped by cjk_lines (other cases as reportlab does them)."""

    def breakLinesCJK(self, max_widths):  # noqa: N802 (reportlab's name)
        frags = self.frags
        if (len(frags) != 1 or not hasattr(frags[0], "text") or self.style.endDots
                or getattr(self, "_splitpara", 0)):
            return super().breakLinesCJK(max_widths)
        self.height = 0
        widths = list(max_widths) if isinstance(max_widths, (list, tuple)) else [max_widths]
        f = frags[0]
        lines = cjk_lines(f.text, widths, f.fontName, f.fontSize)
        return f.clone(kind=0, lines=[(spare, [line]) for spare, line in lines],
                       ascent=f.fontSize, descent=-0.2 * f.fontSize)


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (user data is escaped, never read as markup); characters the
    body face lacks are set in the fallback face."""
    runs = glyph_runs(text, style.fontName, fallback_for(style.fontName))
    if len(runs) == 1 and runs[0][0] == style.fontName:
        return CJKParagraph(escape(text).replace("\n", _NEWLINE), style)
    markup = "".join(escape(run) if font == style.fontName
                     else f'<font name="{font}">{escape(run)}</font>' for font, run in runs)
    return CJKParagraph(markup.replace("\n", "<br/>"), style)


def draw_text(canv: Canvas, x: float, y: float, text: str, font: str, size: float,
              anchor: str = "left") -> None:
    """drawString with the fallback face for the characters `font` lacks."""
    runs = glyph_runs(text, font, fallback_for(font))
    widths = [stringWidth(run, name, size) for name, run in runs]
    x = x - sum(widths) / 2 if anchor == "centre" else x - sum(widths) if anchor == "right" else x
    for (name, run), width in zip(runs, widths, strict=True):
        canv.setFont(name, size)
        canv.drawString(x, y, run)
        x += width
    canv.setFont(font, size)


@dataclass(frozen=True)
class DocMeta:
    title: str
    number: str
    author: str        # the agency
    created: datetime  # the data's date (finalized_at): the PDF's creation date
    fonts: FontSet


def draw_bold(canv: Canvas, text: str, x: float, y: float, font: str, size: float,
              anchor: str = "centre") -> None:
    """Text filled and lightly stroked: bold from a single-weight font, still extractable."""
    width = stringWidth(text, font, size)
    x = x - width / 2 if anchor == "centre" else x - width if anchor == "right" else x
    canv.saveState()
    canv.setLineWidth(size * 0.035)
    t = canv.beginText(x, y)
    t.setTextRenderMode(2)
    t.setFont(font, size)
    t.textOut(text)
    canv.drawText(t)
    canv.restoreState()


def _first_header(meta: DocMeta, series: str, canv: Canvas, _doc) -> None:
    # 「安全生产行政执法文书」 above the title, as the 2016 template prints it.
    canv.setFont(meta.fonts.title, 14)
    canv.drawCentredString(PAGE_W / 2, PAGE_H - 1.8 * cm, series)
    draw_bold(canv, meta.title, PAGE_W / 2, PAGE_H - 3.0 * cm, meta.fonts.title, 22)
    canv.setFont(meta.fonts.body, BODY_SIZE)
    canv.drawRightString(PAGE_W - RIGHT, PAGE_H - 4.15 * cm, meta.number)


def _later_header(meta: DocMeta, continued: str, canv: Canvas, _doc) -> None:
    draw_bold(canv, meta.title + continued, PAGE_W / 2, PAGE_H - 1.9 * cm, meta.fonts.title, 15)
    canv.setFont(meta.fonts.body, 10.5)
    canv.drawRightString(PAGE_W - RIGHT, PAGE_H - 2.65 * cm, meta.number)
    canv.setLineWidth(0.6)
    canv.line(LEFT, PAGE_H - 2.9 * cm, PAGE_W - RIGHT, PAGE_H - 2.9 * cm)


def pdf_date(moment: datetime) -> str:
    delta = moment.utcoffset()
    offset = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "+" if offset >= 0 else "-"
    return f"D:{moment:%Y%m%d%H%M%S}{sign}{abs(offset) // 60:02d}'{abs(offset) % 60:02d}'"


# A word across every page of every document rendered inside `watermarked()`: 演示 for the
# documents of a demo store (documents.service decides, from the store's mode).
_WATERMARK: ContextVar[str] = ContextVar("watermark", default="")
WATERMARK_NOTE = "演示数据 · 不是执法文书"


@contextmanager
def watermarked(text: str) -> Iterator[None]:
    token = _WATERMARK.set(text)
    try:
        yield
    finally:
        _WATERMARK.reset(token)


class NumberedCanvas(Canvas):
    """Keeps every page until save(), then stamps "共 N 页 第 n 页" knowing N."""

    def __init__(self, *args, footer: str, font: str, created: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._held_pages: list[dict] = []
        self._marks: list[tuple[str, str]] = []  # outline entries of the page being drawn
        self._footer, self._footer_font = footer, font
        self._watermark = _WATERMARK.get()
        stamp = pdf_date(created)
        self.setDateFormatter(lambda *_ymdhms: stamp)

    def mark_page(self, title: str, key: str) -> None:
        """An outline entry for this page, made when the page is really written (a
        destination names the page being written, and pages are held back until save)."""
        self._marks = self._marks + [(title, key)]

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._held_pages.append(dict(self.__dict__))
        self._marks = []
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, 1):
            self.__dict__.update(state)
            self.setFont(self._footer_font, 10.5)
            self.drawCentredString(PAGE_W / 2, 1.2 * cm,
                                   self._footer.format(total=total, page=number))
            if self._watermark:
                self._draw_watermark()
            for title, key in self._marks:
                self.bookmarkPage(key, fit="XYZ", left=0, top=PAGE_H, zoom=0)
                self.addOutlineEntry(title, key, level=0)
            super().showPage()
        super().save()

    def _draw_watermark(self) -> None:
        """Large, slanted and translucent over the content: seen at once, text still legible."""
        self.saveState()
        self.setFillColorRGB(0.8, 0.1, 0.1, alpha=0.2)
        self.translate(PAGE_W / 2, PAGE_H / 2)
        self.rotate(40)
        self.setFont(self._footer_font, 160)
        self.drawCentredString(0, -40, self._watermark)
        self.setFont(self._footer_font, 20)
        self.drawCentredString(0, -100, WATERMARK_NOTE)
        self.restoreState()


class Bookmark(Flowable):
    """An outline entry (书签) for the page it lands on: readers list the parts of a document,
    and 「打印全部」 finds where the photo annex begins."""

    def __init__(self, title: str, key: str) -> None:
        super().__init__()
        self.title, self.key = title, key

    def wrap(self, _avail_w, _avail_h):
        return 0, 0

    def draw(self) -> None:
        self.canv.mark_page(self.title, self.key)


def build_case_pdf(kind, words_key: str, story: list, content, fonts: FontSet) -> bytes:
    """A case's document (documents.content.CaseContent): its title from the wording, its
    number of `kind`, the agency as author, dated when the inspection was finalized."""
    meta = DocMeta(wording(words_key)["title"], content.number(kind), content.agency.name,
                   content.finalized_at, fonts)
    return build_pdf(meta, story)


def build_pdf(meta: DocMeta, story: list) -> bytes:
    """Lay the story out on the shared page template; the PDF's bytes."""
    common = wording("common")
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, bottomMargin=BOTTOM,
        topMargin=LATER_TOP, invariant=1, initialFontName=meta.fonts.body,
        title=meta.title, author=meta.author,
        subject=f"{meta.title} {meta.number}", creator=common["creator"],
        producer=common["creator"],
    )
    first = Frame(LEFT, BOTTOM, TEXT_W, PAGE_H - FIRST_TOP - BOTTOM, 0, 0, 0, 0, id="first")
    later = Frame(LEFT, BOTTOM, TEXT_W, PAGE_H - LATER_TOP - BOTTOM, 0, 0, 0, 0, id="later")
    doc.addPageTemplates([
        PageTemplate("first", [first], onPage=partial(_first_header, meta, common["series"]),
                     autoNextPageTemplate="later"),
        PageTemplate("later", [later], onPage=partial(_later_header, meta, common["continued"])),
    ])
    doc.build([Bookmark(meta.title, "document")] + story, canvasmaker=partial(NumberedCanvas, footer=common["page_footer"],
                                         font=meta.fonts.body, created=meta.created))
    return out.getvalue()


def fit_size(text: str, font: str, size: float, width: float, smallest: float = 7) -> float:
    """The largest size up to `size` at which `text` fits in `width`."""
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def image_reader(png: bytes, what: str) -> ImageReader:
    """A handwritten signature image, or a message saying it cannot be used."""
    try:
        reader = ImageReader(io.BytesIO(png))
        reader.getSize()
    except Exception as exc:  # PIL raises many kinds for bad bytes
        raise FieldCheckError(f"{what}的签名图片无法读取", "请重新签名后再生成文书") from exc
    return reader
