"""现场检查记录: every field, the inspectors' statement, item by item, signatures."""
from __future__ import annotations

import re

from documents import render_inspection_record
from models.local_time import agency_time
from tests.conftest import T0
from tests.documents import (collect, flat, item_codes, page_count, page_images, page_texts,
                             pdf_fonts, pdf_text, set_agency, signature_png, walk_and_finalize)


def _cn(moment) -> str:
    t = agency_time(moment)
    return f"{t.year}年{t.month}月{t.day}日{t.hour}时{t.minute:02d}分"


def test_record_prints_every_field_of_the_form(store, clock, inspection_id):
    """Enterprise, address, representative, post, phone, place and the time span are printed."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"})
    content = collect(store, inspection_id)
    text = flat(pdf_text(render_inspection_record(content)))
    for label, value in [("被检查单位：", "湘乡市测试木业有限公司"), ("地址：", "湘乡市工业园1号"),
                         ("法定代表人（负责人）：", "陈建国"), ("职务：", "总经理"),
                         ("联系电话：", "13907321234"), ("检查场所：", "木工车间")]:
        assert label + value in text
    end = content.ended_at
    assert _cn(T0) == "2026年11月2日9时30分"  # T0 is 01:30 UTC: Beijing time, whatever TZ says
    assert f"检查时间：{_cn(T0)}至{end.month}月{end.day}日{end.hour}时{end.minute:02d}分" in text
    assert text.startswith("安全生产行政执法文书现场检查记录（湘乡）应急检记〔2026〕1号")


def test_record_states_the_inspectors_and_their_certificates(store, clock, inspection_id):
    """The template's opening in the inspectors' words, and its two signature labels."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    text = flat(pdf_text(render_inspection_record(collect(store, inspection_id))))
    assert ("我们是湘乡市应急管理局行政执法人员张卫东、李晓红，证件号码为43038120001、43038120002，"
            "这是我们的证件（出示证件）。现依法对你单位进行现场检查，请予以配合。") in text
    assert text.count("检查人员（签名）：") == 2 + text.count("被检查单位现场负责人（签名）：检查人员")
    assert "被检查单位现场负责人（签名）：" in text
    assert "本文书一式两份" not in text  # the record has no such footer in the template


def test_record_lists_every_item_with_its_result_and_note(store, clock, inspection_id):
    """检查情况 has every item code and question with 符合/不符合 and the note."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01", "DUST-03"},
                      notes={"DUST-03": "除尘器灰斗积尘约5厘米"})
    content = collect(store, inspection_id)
    text = flat(pdf_text(render_inspection_record(content)))
    for code in item_codes(store, inspection_id):
        assert text.count(code) == 1, code
    assert "不符合" in text and "除尘器灰斗积尘约5厘米" in text and "【重大事故隐患】" in text
    first = content.items[0]
    assert flat(first.question) in text
    assert "本次共检查19项，其中符合17项，不符合2项（其中重大事故隐患1项），不适用0项。" in text
    assert "另行下达编号为（湘乡）应急责改〔2026〕1号的《责令限期整改指令书》" in text
    assert "另行下达编号为（湘乡）应急现决〔2026〕1号的《现场处理措施决定书》" in text


def test_record_table_flows_onto_continuation_pages(store, clock, inspection_id):
    """A long item table continues with the header and the table's column titles repeated."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    pdf = render_inspection_record(collect(store, inspection_id))
    total = page_count(pdf)
    assert total > 1
    for n in range(1, total + 1):
        page = flat(pdf_text(pdf, n))
        assert re.findall(r"共(\d+)页第(\d+)页", page) == [(str(total), str(n))]
        assert "（湘乡）应急检记〔2026〕1号" in page
        assert ("现场检查记录（续页）" in page) == (n > 1)
    second = flat(pdf_text(pdf, 2))
    assert all(title in second for title in ("编号", "检查内容", "检查结果", "情况说明"))


def test_chinese_text_extracts_with_pypdf(store, clock, inspection_id):
    """Copy/paste works: pypdf reads the Chinese text back (ToUnicode maps are embedded)."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    texts = page_texts(render_inspection_record(collect(store, inspection_id)))
    assert "现场检查记录" in texts[0] and "湘乡市测试木业有限公司" in texts[0]
    assert re.search(r"共\s*\d+\s*页\s*第\s*1\s*页", texts[0])


def test_every_font_is_embedded(store, clock, inspection_id):
    """pdffonts shows every font embedded (no Helvetica or other base-14 reference)."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    fonts = pdf_fonts(render_inspection_record(collect(store, inspection_id)))
    assert fonts and all(emb == "yes" for _name, emb in fonts), fonts


def test_signature_images_are_drawn_in_the_block(store, clock, inspection_id):
    """Supplied signature PNGs (inspectors, representative) appear on the signature page."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    sigs = {role: signature_png((40 * n, 40, 160)) for n, role
            in enumerate(("inspector1", "inspector2", "representative"))}
    pdf = render_inspection_record(collect(store, inspection_id, signatures=sigs))
    last = page_count(pdf) - 1
    assert len(page_images(pdf, last)) == 3
    text = flat(pdf_text(pdf, last + 1))
    assert "拒绝签字" not in text and "见证人" not in text


def test_refusal_prints_refused_and_the_witness_signs(store, clock, inspection_id):
    """When the enterprise refuses, 拒绝签字 is printed and the witness line carries the signature."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    sigs = {"inspector1": signature_png((0, 0, 200)), "inspector2": signature_png((0, 90, 200)),
            "representative": signature_png((90, 0, 0)), "witness": signature_png((0, 0, 0))}
    pdf = render_inspection_record(collect(store, inspection_id, signatures=sigs, refused=True))
    last = page_count(pdf)
    text = flat(pdf_text(pdf, last))
    assert "被检查单位现场负责人（签名）：拒绝签字" in text
    assert "见证人（签名）：" in text and "由见证人签字证明" in text
    assert len(page_images(pdf, last - 1)) == 3  # both inspectors and the witness


def test_record_has_no_seal_box(store, clock, inspection_id):
    """The inspection record carries no agency seal."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id)
    assert "（盖章）" not in pdf_text(render_inspection_record(collect(store, inspection_id)))
