"""Each citation of a checklist item says where its text was read, or is marked 待核 and why."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.checklist_library import (DATA_DIR, UNVERIFIED, VERIFIED, citations_of, load_checklists,
                               parse_file, parse_folder)
from models.errors import ChecklistFileError

REPO = Path(__file__).resolve().parents[2]
L13 = "《工贸企业有限空间作业安全规定》（应急管理部令第13号）"

ITEM = '''
[checklist]
code = "confined_space"
area = "有限空间作业"
title = "测试清单"

[[items]]
code = "CS-01"
question = "是否设置警示标志？"
how_to_check = "查看出入口。"
legal_basis = "{l13}第十一条；GB 99999-2099"
major = false
rectification = "设置警示标志。"
deadline_days = 7

[[items.basis_sources]]
citation = "{l13}第十一条"
status = "已核"
document = "{l13}"
article = "第十一条"
text_date = "2023-11-29 公布"
text_kind = "官方发布"
found_at = "https://www.mem.gov.cn/gk/zfxxgkpt/fdzdgknr/202312/t20231208_471355.shtml"

[[items.basis_sources]]
citation = "GB 99999-2099"
status = "待核"
reason = "未找到标准文本"
'''.replace("{l13}", L13)


def _write(tmp_path, text):
    path = tmp_path / "confined_space.toml"
    path.write_text(text, "utf-8")
    return path


def test_well_formed_sources_are_read(tmp_path):
    """A checked citation keeps its document, article, date and place; the other stays 待核."""
    item = parse_file(_write(tmp_path, ITEM)).items[0]
    checked, pending = item.basis_sources
    assert checked.verified and checked.article == "第十一条" and "2023-11-29" in checked.text_date
    assert checked.found_at.startswith("https://www.mem.gov.cn/")
    assert not pending.verified and pending.status == UNVERIFIED and pending.reason == "未找到标准文本"


@pytest.mark.parametrize("edit,reason", [
    (lambda t: t.replace('found_at = "https://www.mem.gov.cn/gk/zfxxgkpt/fdzdgknr/202312/t20231208_471355.shtml"\n', ""),
     "found_at"),
    (lambda t: t.replace('text_date = "2023-11-29 公布"', 'text_date = "去年"'), "text_date"),
    (lambda t: t.replace('article = "第十一条"\n', ""), "article"),
    (lambda t: t.replace('text_kind = "官方发布"', 'text_kind = "网上看到"'), "text_kind"),
    (lambda t: t.replace('reason = "未找到标准文本"\n', ""), "reason"),
    (lambda t: t.replace('status = "待核"', 'status = "未知"'), "status"),
    (lambda t: t.replace('status = "待核"', "verified = false"), "未知字段 verified"),
    (lambda t: t.replace('citation = "GB 99999-2099"', 'citation = "GB 88888-2088"'), "GB 88888-2088"),
    (lambda t: t.split("\n[[items.basis_sources]]\ncitation = \"GB")[0], "GB 99999-2099"),
    (lambda t: t + t[t.index("\n[[items.basis_sources]]\ncitation = \"GB"):], "重复"),
    (lambda t: t[:t.index("\n[[items.basis_sources]]")], "basis_sources"),
    (lambda t: t.replace("[[items.basis_sources]]", "[items.basis_sources]", 1)
               .split("\n[[items.basis_sources]]")[0], "应为 [[items.basis_sources]] 表的列表"),
])
def test_malformed_source_is_refused_naming_file_item_and_reason(tmp_path, edit, reason):
    """A source entry that does not say where (or why not) is refused with file, item and reason."""
    with pytest.raises(ChecklistFileError) as err:
        parse_file(_write(tmp_path, edit(ITEM)))
    assert err.value.file == "confined_space.toml" and err.value.item == "CS-01"
    assert reason in err.value.text() and "confined_space.toml" in err.value.text()


def test_every_shipped_citation_is_checked_or_marked():
    """Each citation of every shipped item has exactly one source entry: 已核 with a place, or 待核."""
    specs = parse_folder()
    for item in (i for s in specs for i in s.items):
        assert [b.citation for b in item.basis_sources] == citations_of(item.legal_basis), item.code
        for b in item.basis_sources:
            assert b.status in (VERIFIED, UNVERIFIED)
            assert (b.found_at and b.text_date) if b.verified else b.reason, (item.code, b.citation)


def _item(code):
    return next(i for s in parse_folder() for i in s.items if i.code == code)


def test_dust15_cites_registration_and_periodic_inspection():
    """特种设备安全法 第三十三条 (use registration) and 第四十条 (periodic inspection), not 第三十五条."""
    item = _item("DUST-15")
    assert item.legal_basis == "《中华人民共和国特种设备安全法》第三十三条、第四十条"
    assert "安全技术档案" not in item.how_to_check + item.rectification
    assert item.basis_sources[0].verified


def test_cs10_isolation_cites_article_14():
    """Isolating equipment and energy before work is 13号令 第十四条; 第十二条 is the barrier against entry."""
    item = _item("CS-10")
    assert item.legal_basis == f"{L13}第十四条" and "隔断、清除、置换" in item.question


def test_major_items_cite_their_10_order_clause():
    """Each major item's clause of 10号令 is among its legal basis, with a source entry of its own."""
    for item in (i for s in parse_folder() for i in s.items if i.major):
        clause = item.major_clause.replace("》", "》（应急管理部令第10号）", 1)
        assert clause in citations_of(item.legal_basis), item.code
        assert any(b.citation == clause for b in item.basis_sources), item.code


def test_a_changed_source_is_a_new_version(store, tmp_path):
    """Recording a source changes the item's content, so it loads as a new checklist version."""
    folder = tmp_path / "lists"
    folder.mkdir()
    path = folder / "dust.toml"
    text = DATA_DIR.joinpath("dust.toml").read_text("utf-8")
    pending = 'reason = "未找到可公开核对的标准文本；引用未指明条款，无法核对哪一条支持本项"'
    assert pending in text
    path.write_text(text.replace(pending, pending[:-1] + '（复核中）"', 1), "utf-8")
    with store.transaction() as s:
        assert load_checklists(s, folder).new_versions == ["dust v2"]


def _cli(tmp_path, *args):
    return subprocess.run([sys.executable, "main.py", "checklists", *args, "--data-dir", str(tmp_path / "d")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_unverified_lists_every_pending_citation_once(tmp_path):
    """`checklists --unverified`: exit 0, one line per 待核 citation: item code, citation, why."""
    proc = _cli(tmp_path, "--unverified")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    expected = [(i.code, b.citation, b.reason) for s in parse_folder() for i in s.items
                for b in i.basis_sources if not b.verified]
    assert sorted(tuple(line.split("\t")) for line in lines) == sorted(expected)
    assert len(lines) == len(expected) > 0
    assert not any(line.startswith("CS-10\t") for line in lines)  # 第十四条 was read in the official text
    assert "DUST-03\t《粉尘爆炸危险场所用除尘系统安全技术规范》（AQ 4273-2016）\t" in proc.stdout
    assert "（应急管理部令第6号）第十五条" not in proc.stdout  # read in a transcription of the 公报 text


def test_unverified_json_and_checklists_json_carry_the_sources(tmp_path):
    """--json output carries each item's basis_sources; --unverified --json the pending ones."""
    proc = _cli(tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    items = {i["code"]: i for c in json.loads(proc.stdout) for i in c["items"]}
    source = items["CS-10"]["basis_sources"][0]
    assert source["status"] == VERIFIED and source["article"] == "第十四条"
    assert source["found_at"].startswith("https://www.mem.gov.cn/")
    proc = _cli(tmp_path, "--unverified", "--json")
    rows = json.loads(proc.stdout)
    assert proc.returncode == 0 and rows and all(r["status"] == UNVERIFIED for r in rows)
    assert {"item", "citation", "reason"} <= rows[0].keys()
