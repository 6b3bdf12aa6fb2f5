"""The Chinese TrueType fonts the documents embed, found once per process.

reportlab embeds TrueType outlines only (as a subset): Noto CJK (CFF outlines) is refused by
reportlab itself, Droid Sans Fallback lacks Latin digits. A font dropped into resources/fonts/
wins over the system fonts. Three roles: the body in a 宋体 face (SimSun on Windows, AR PL
SungtiL GB from Debian's fonts-arphic-gbsn00lp on Linux), the titles in a 黑体 face (SimHei,
WenQuanYi), and a fallback (WenQuanYi) for the characters the body face lacks — SungtiL covers
GB 2312 only, so a name such as 王赟 takes its 赟 from the fallback instead of printing a gap.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from models.errors import FieldCheckError
from models.paths import resources_dir

BODY_NAME, TITLE_NAME, FALLBACK_NAME = "FieldCheckBody", "FieldCheckTitle", "FieldCheckFallback"
# Must all be present: Chinese, Latin digits, the number brackets 〔〕 and full-width signs.
REQUIRED_CHARS = "检查记录责令整改〔〕（）：0123456789ABCxyz"
# File names (lower case) in order of preference for each role.
BODY_FILES = ("simsun.ttc", "gbsn00lp.ttf", "simfang.ttf", "uming.ttc",
              "lxgwwenkai-regular.ttf", "wqy-microhei.ttc", "wqy-zenhei.ttc", "simhei.ttf",
              "msyh.ttc")
TITLE_FILES = ("simhei.ttf", "wqy-zenhei.ttc", "wqy-microhei.ttc", "msyh.ttc",
               "simsun.ttc", "gbsn00lp.ttf", "uming.ttc", "lxgwwenkai-regular.ttf", "simfang.ttf")
# Large coverage (GBK and beyond) for what the body face lacks.
FALLBACK_FILES = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "msyh.ttc", "simsun.ttc",
                  "simhei.ttf", "uming.ttc")


class FontMissingError(FieldCheckError):
    """No usable Chinese TrueType font on this computer."""

    def __init__(self) -> None:
        super().__init__(
            "找不到可嵌入文书的中文字体（需 TrueType 字体，Noto CJK 不可用）",
            "Linux 请运行：sudo apt-get install fonts-wqy-microhei；Windows 请确认 "
            "C:\\Windows\\Fonts 中有宋体（simsun.ttc）或黑体（simhei.ttf）；"
            "也可把 .ttf/.ttc 字体文件放入 FieldCheck 的 resources/fonts 文件夹，然后重新启动",
        )


@dataclass(frozen=True)
class FontSet:
    """Registered reportlab font names, and the files they came from."""

    body: str
    title: str
    body_file: Path
    title_file: Path
    fallback: str = ""               # "" when the body face is the only one
    fallback_file: Path | None = None


def font_dirs() -> list[Path]:
    """Where fonts are looked for, the bundled folder first."""
    dirs = [resources_dir() / "fonts"]
    if sys.platform == "win32":
        dirs.append(Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts")
        dirs.append(Path(os.environ.get("LOCALAPPDATA", "")) / "Microsoft" / "Windows" / "Fonts")
    else:
        dirs += [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
                 Path.home() / ".local" / "share" / "fonts", Path.home() / ".fonts"]
    return dirs


def _font_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = []
    for root, _dirs, files in os.walk(folder):
        found += [Path(root) / f for f in files if f.lower().endswith((".ttf", ".ttc"))]
    return sorted(found)


def _load(path: Path, name: str) -> TTFont | None:
    """The font if reportlab can embed it and it has every glyph the documents need."""
    # CFF outlines (TTFError), a damaged or foreign file: any failure means "not usable".
    try:
        font = TTFont(name, str(path), subfontIndex=0)
    except Exception:  # noqa: BLE001
        return None
    glyphs = font.face.charToGlyph
    return font if all(ord(c) in glyphs for c in REQUIRED_CHARS) else None


def _candidates(dirs: list[Path], preferred: tuple[str, ...]) -> list[Path]:
    bundled = _font_files(dirs[0]) if dirs else []
    by_name: dict[str, Path] = {}
    for folder in dirs[1:]:
        for path in _font_files(folder):
            by_name.setdefault(path.name.lower(), path)
    return bundled + [by_name[name] for name in preferred if name in by_name]


def _first_usable(paths: list[Path], name: str) -> tuple[Path, TTFont] | None:
    for path in paths:
        font = _load(path, name)
        if font is not None:
            return path, font
    return None


@cache
def document_fonts() -> FontSet:
    """Find, check and register the fonts; raises FontMissingError when none is usable."""
    dirs = font_dirs()
    body = _first_usable(_candidates(dirs, BODY_FILES), BODY_NAME)
    if body is None:
        raise FontMissingError()
    pdfmetrics.registerFont(body[1])
    title = _first_usable([p for p in _candidates(dirs, TITLE_FILES)[:1] if p != body[0]],
                          TITLE_NAME)
    if title is not None:
        pdfmetrics.registerFont(title[1])
    fallback = _first_usable([p for p in _candidates(dirs, FALLBACK_FILES) if p != body[0]],
                             FALLBACK_NAME)
    if fallback is not None:
        pdfmetrics.registerFont(fallback[1])
    title_name, title_file = (TITLE_NAME, title[0]) if title else (BODY_NAME, body[0])
    if fallback is None:
        return FontSet(BODY_NAME, title_name, body[0], title_file)
    return FontSet(BODY_NAME, title_name, body[0], title_file, FALLBACK_NAME, fallback[0])


def fallback_for(font: str) -> str:
    """The registered fallback face for `font` ("" when there is none)."""
    registered = pdfmetrics.getRegisteredFontNames()
    return FALLBACK_NAME if font != FALLBACK_NAME and FALLBACK_NAME in registered else ""


def glyph_runs(text: str, font: str, fallback: str) -> list[tuple[str, str]]:
    """`text` cut into (font, run) pieces: the fallback for each run the font has no glyph for."""
    if not fallback:
        return [(font, text)]
    glyphs = pdfmetrics.getFont(font).face.charToGlyph
    runs: list[tuple[str, str]] = []
    for char in text:
        name = font if ord(char) in glyphs or char.isspace() else fallback
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + char)
        else:
            runs.append((name, char))
    return runs or [(font, "")]
