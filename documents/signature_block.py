"""The signing end of every document: signature rows, the seal box and the template's footer.

A row reads as the 2016 template prints it — 「检查人员（签名）：＿＿＿」 or
「（应急管理）行政执法人员（签名）：＿＿＿ 证号：＿＿」 — with the handwritten image on the line,
the signer's printed name small under it, and at the right the 证号 or else the date (an
inspector's signature on a sealed document is dated by the seal). The labels are wording
(resources/wording/*.toml), so a local variant edits a file, not code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Spacer

from documents.content import Officer, Signatures
from documents.fonts import FontSet
from documents.layout import (BLANK, BODY_SIZE, cn_date, draw_text, fit_size, image_reader, para,
                              styles, wording)

NAME_SIZE = 9


@dataclass(frozen=True)
class SignatureLine:
    """One row: the label, the signature (image or text), then its trailer or else the date.

    `day` None leaves 年 月 日 to be written by hand."""

    label: str
    image: bytes | None = None
    text: str = ""       # printed on the line instead of an image (拒绝签字)
    trailer: str = ""    # after the signature line: 证号：43038120001
    name: str = ""       # printed small under the line: whose signature this is
    day: date | None = None


class SignatureBlock(Flowable):
    """The rows, all labels at one size so the signature lines start at one edge.

    The right-hand column holds a row's trailer (an inspector's 证号) or else its date."""

    ROW = 1.5 * cm
    SIGN_MIN = 3.5 * cm
    GAP = 0.3 * cm

    def __init__(self, lines: list[SignatureLine], fonts: FontSet) -> None:
        super().__init__()
        self.lines, self.fonts = list(lines), fonts

    def wrap(self, avail_w, _avail_h):
        font = self.fonts.body
        self.width, self.height = avail_w, self.ROW * len(self.lines)
        right = [stringWidth(line.trailer or cn_date(date(2026, 12, 31)), font, BODY_SIZE)
                 for line in self.lines]
        self.right_x = avail_w - max(right + [3.2 * cm])
        room = self.right_x - 2 * self.GAP - self.SIGN_MIN
        self.label_size = min((fit_size(line.label, font, BODY_SIZE, room)
                               for line in self.lines), default=BODY_SIZE)
        self.sign_x = max(stringWidth(line.label, font, self.label_size) for line in self.lines)
        return self.width, self.height

    def draw(self) -> None:
        for n, line in enumerate(self.lines):
            self._row(line, self.height - (n + 1) * self.ROW)

    def _row(self, line: SignatureLine, y: float) -> None:
        c, font, base = self.canv, self.fonts.body, y + 0.45 * cm
        c.setFont(font, self.label_size)
        c.drawString(0, base, line.label)
        x0, x1 = self.sign_x + self.GAP / 2, self.right_x - self.GAP
        c.setLineWidth(0.5)
        c.line(x0, base - 3, x1, base - 3)
        if line.image:
            c.drawImage(image_reader(line.image, line.name or line.label), x0 + 2, base - 1,
                        x1 - x0 - 4, self.ROW - 0.5 * cm, mask="auto",
                        preserveAspectRatio=True, anchor="sw")
        elif line.text:
            c.setFont(font, BODY_SIZE)
            c.drawString(x0 + 6, base, line.text)
        if line.name:
            c.setFont(font, NAME_SIZE)
            c.setFillGray(0.35)
            draw_text(c, (x0 + x1) / 2, base - 3 - NAME_SIZE - 1, line.name, font, NAME_SIZE,
                      "centre")
            c.setFillGray(0)
        c.setFont(font, BODY_SIZE)
        if line.trailer:
            c.drawString(self.right_x, base, line.trailer)
        elif line.day:
            c.drawString(self.right_x, base, cn_date(line.day))
        else:  # 年 月 日 spaced out, to be written by hand
            for offset, unit in zip((1.3 * cm, 2.2 * cm, 2.9 * cm), "年月日", strict=True):
                c.drawString(self.right_x + offset - 0.4 * cm, base, unit)


class SealBox(Flowable):
    """Where the agency's seal goes: a dashed box with the agency's name, （盖章） and the date."""

    W, H = 6.2 * cm, 3.4 * cm

    def __init__(self, agency: str, day: date, fonts: FontSet) -> None:
        super().__init__()
        self.agency, self.day, self.fonts, self.hAlign = agency, day, fonts, "RIGHT"

    def wrap(self, _avail_w, _avail_h):
        return self.W, self.H

    def draw(self) -> None:
        c, font, words = self.canv, self.fonts.body, wording("common")
        c.saveState()
        c.setDash(4, 3)
        c.setLineWidth(0.7)
        c.setStrokeGray(0.4)
        c.rect(0, 0, self.W, self.H)
        c.restoreState()
        name = self.agency or BLANK
        draw_text(c, self.W / 2, self.H - 1.0 * cm, name, font,
                  fit_size(name, font, 13, self.W - 0.6 * cm), "centre")
        c.setFont(font, 11)
        c.setFillGray(0.45)
        c.drawCentredString(self.W / 2, self.H / 2 - 0.15 * cm, words["seal"])
        c.setFillGray(0)
        c.setFont(font, BODY_SIZE)
        c.drawCentredString(self.W / 2, 0.55 * cm, cn_date(self.day))


def officer_lines(officers: tuple[Officer, ...], sigs: Signatures, day: date,
                  label: str, trailer: str = "") -> list[SignatureLine]:
    """One row per inspector under `label`, `trailer` filled with the certificate number."""
    lines = []
    for n, officer in enumerate(officers, 1):
        image = sigs.images.get(f"inspector{n}")
        lines.append(SignatureLine(label, image, trailer=trailer.format(cert=officer.certificate_no),
                                   name=officer.name, day=day if image else None))
    return lines


def party_lines(sigs: Signatures, day: date, label: str) -> list[SignatureLine]:
    """The enterprise's person (or 拒绝签字), then the witness and the expert when present."""
    words, images = wording("common"), sigs.images
    if sigs.refused:
        lines = [SignatureLine(label, text=words["refused"], day=day)]
    else:
        image = images.get("representative")
        lines = [SignatureLine(label, image, day=day if image else None)]
    for role, name in (("witness", sigs.witness_name), ("expert", sigs.expert_name)):
        if role in images or name or (role == "witness" and sigs.refused):
            image = images.get(role)
            lines.append(SignatureLine(words[role], image, name=name,
                                       day=day if image else None))
    return lines


def footer(text: str, fonts: FontSet):
    """The template's closing line (本文书一式两份：…), small, under the signatures."""
    style = styles(fonts).caption
    return para(text, style)


def closing(lines: list[SignatureLine], fonts: FontSet, lead: list | None = None,
            seal: tuple[str, date] | None = None, foot: str = "") -> KeepTogether:
    """The signatures (the seal box, the footer), kept on one page with the paragraph before."""
    parts = list(lead or []) + [Spacer(1, 0.5 * cm), SignatureBlock(lines, fonts)]
    if seal is not None:
        parts += [Spacer(1, 0.4 * cm), SealBox(seal[0], seal[1], fonts)]
    if foot:
        parts += [Spacer(1, 0.5 * cm), footer(foot, fonts)]
    return KeepTogether(parts)
