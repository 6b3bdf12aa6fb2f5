"""现场处理措施决定书: the major hazards with their clause, the measures, notices, seal."""
from __future__ import annotations

import dataclasses

from documents import render_onsite_measures
from tests.documents import collect, flat, pdf_fonts, pdf_text, set_agency, walk_and_finalize


def test_measures_list_major_hazards_with_clause_and_default_measures(store, clock, inspection_id):
    """Only the major hazards are listed, each with its clause; workers withdrawn, work stopped."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01", "DUST-03", "DUST-04"})
    content = collect(store, inspection_id)
    pdf = render_onsite_measures(content)
    text = flat(pdf_text(pdf))
    assert text.startswith("安全生产行政执法文书现场处理措施决定书（湘乡）应急现决〔2026〕1号"
                           "湘乡市测试木业有限公司：本机关于2026年11月2日现场检查时，"
                           "发现你单位有下列违法违规行为和事故隐患：")
    assert ("以上存在的问题无法保证安全生产，依据《中华人民共和国安全生产法》第六十五条第一款第（三）项"
            "的规定，现作出如下现场处理决定：") in text
    assert "本文书一式两份：一份由应急管理部门备案，一份交被检查单位。" in text
    assert text.count("（应急管理）行政执法人员（签名）：") == 2
    assert "证号：43038120001" in text and "证号：43038120002" in text
    majors = content.major_hazards
    assert [h.code for h in majors] == ["DUST-01", "DUST-04"]
    for n, hazard in enumerate(majors, 1):
        assert flat(f"{n}．{hazard.description.rstrip('。')}（判定依据：{hazard.major_clause}）") in text
    minor = next(h for h in content.hazards if not h.is_major)
    assert flat(minor.description) not in text
    assert "撤出作业人员" in text and "暂时停产停业" in text and "停止使用" in text
    assert "编号为（湘乡）应急责改〔2026〕1号的《责令限期整改指令书》" in text
    assert "60日内向湘乡市人民政府申请行政复议" in text and "本决定不停止执行" in text
    assert "湘乡市应急管理局（盖章）" in text
    assert all(emb == "yes" for _name, emb in pdf_fonts(pdf))


def test_measures_chosen_on_site_replace_the_default(store, clock, inspection_id):
    """Measures supplied in the content are printed instead of the standard wording."""
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-01"})
    content = dataclasses.replace(collect(store, inspection_id),
                                  measures=("停止使用1号除尘系统及其连接的砂光机。",))
    text = flat(pdf_text(render_onsite_measures(content)))
    assert "（一）停止使用1号除尘系统及其连接的砂光机。" in text and "暂时停产停业" not in text
