"""整改复查意见书, rendered from hand-made data as the later re-inspection flow will supply it."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from documents import (Agency, EnterpriseFacts, Officer, ReinspectedItem, ReinspectionContent,
                       Signatures, render_reinspection_opinion)
from tests.documents import flat, page_count, pdf_fonts, pdf_text, signature_png

AGENCY = Agency("湘乡市应急管理局", "湘乡", "湘乡市人民政府", "湘乡市人民法院")
FIRM = EnterpriseFacts("湘乡市恒达木业有限公司", "91430381MA4L0DEM07", "湘乡市经济开发区木业路 8 号",
                       "陈建国", "总经理", "13907321234")
OFFICERS = (Officer("张卫东", "43038120001"), Officer("李晓红", "43038120002"))


def _opinion(items, **kwargs) -> ReinspectionContent:
    return ReinspectionContent(
        agency=AGENCY, enterprise=FIRM, officers=OFFICERS, case_year=2026, case_serial=7,
        order_date=date(2026, 11, 2), order_number="（湘乡）应急责改〔2026〕7号", items=tuple(items),
        reinspected_at=datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), **kwargs)


def test_opinion_states_the_order_and_each_item(tmp_path):
    """The order's date and number, then per item 已整改/未整改 with the note and evidence."""
    items = [ReinspectedItem("除尘器灰斗积尘未及时清理", True, "灰斗已清空", "清理记录3页"),
             ReinspectedItem("有限空间未设置警示标志", False, "仍未设置")]
    pdf = render_reinspection_opinion(_opinion(items))
    text = flat(pdf_text(pdf))
    assert text.startswith("安全生产行政执法文书整改复查意见书（湘乡）应急复查〔2026〕7号湘乡市恒达木业有限公司：")
    assert ("本机关于2026年11月2日作出了责令限期整改的决定（文书编号：（湘乡）应急责改〔2026〕7号），"
            "经对你单位整改情况进行复查，提出如下意见：") in text
    assert "1．除尘器灰斗积尘未及时清理：已整改。复查情况：灰斗已清空佐证材料：清理记录3页" in text
    assert "2．有限空间未设置警示标志：未整改。复查情况：仍未设置" in text
    assert "你单位对上述第2项问题未按要求整改完毕" in text
    assert "湘乡市应急管理局（盖章）2026年11月20日" in text
    # The enterprise's person in charge signs first, then the inspectors; then the footer.
    assert text.index("被复查单位负责人（签名）：") < text.index("（应急管理）行政执法人员（签名）：")
    assert text.count("（应急管理）行政执法人员（签名）：") == 2
    assert "证号：43038120001" in text and "证号：43038120002" in text
    assert "本文书一式两份：一份由应急管理部门备案，一份交被复查单位。" in text
    assert all(emb == "yes" for _name, emb in pdf_fonts(pdf))


def test_all_rectified_says_so(tmp_path):
    """When every item is rectified the opinion says they all are."""
    text = flat(pdf_text(render_reinspection_opinion(
        _opinion([ReinspectedItem("积尘", True), ReinspectedItem("标志", True)]))))
    assert "经复查，上述问题均已整改完毕。" in text and "未整改" not in text


def test_long_opinion_flows_and_refusal_is_printed():
    """Many items continue on 续页 pages; a refusal prints 拒绝签字 for the enterprise."""
    items = [ReinspectedItem(f"第{n}项隐患的整改情况说明文字较长，需要逐项核对现场", n % 3 != 0,
                             "现场核查照片与整改报告一致") for n in range(1, 31)]
    sigs = Signatures({"inspector1": signature_png()}, refused=True, witness_name="王五")
    pdf = render_reinspection_opinion(_opinion(items, signatures=sigs))
    total = page_count(pdf)
    assert total > 1
    for n in range(1, total + 1):
        page = flat(pdf_text(pdf, n))
        assert re.findall(r"共(\d+)页第(\d+)页", page) == [(str(total), str(n))]
        assert ("整改复查意见书（续页）" in page) == (n > 1)
    text = flat(pdf_text(pdf))
    assert "被复查单位负责人（签名）：拒绝签字" in text and "见证人（签名）：" in text
    assert "王五" in text
    assert "第3、6、9、12、15、18、21、24、27、30项问题未按要求整改完毕" in text
