"""The shared page template: Chinese line breaking and the PDF date taken from the data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from documents.fonts import document_fonts
from documents.layout import NO_END, NO_START, pdf_date, cjk_lines


def test_chinese_line_breaking_rules():
    """No line starts with closing punctuation or ends with an opening bracket; no empty line."""
    font = document_fonts().body
    text = "依据《工贸企业重大事故隐患判定标准》第十二条（二））。标准GB 15577-2018规定，证号43038120001。"
    for width in range(60, 400, 7):
        lines = [line for _spare, line in cjk_lines(text, [width], font, 12)]
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(line for line in lines)
        assert not any(line[0] in NO_START for line in lines[1:] if len(line) > 1), lines
        assert not any(line[-1] in NO_END for line in lines), lines
    exact = cjk_lines("一二三）", [48], font, 12)  # the mark hangs: no empty last line
    assert [line for _spare, line in exact] == ["一二三）"]



def testpdf_date_keeps_the_zone_of_the_data():
    """The PDF creation date is written with the data's own UTC offset."""
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert pdf_date(moment) == "D:20261102093000+08'00'"
    assert pdf_date(datetime(2026, 1, 5, 7, 0)) == "D:20260105070000+00'00'"
