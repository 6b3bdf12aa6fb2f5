"""The checklist files: complete against the seed and 10号令, checked, versioned."""
import shutil

import pytest
from sqlalchemy import select

from models.checklist_library import (DATA_DIR, latest_checklists, load_checklists, parse_file,
                               parse_folder)
from models.checklist import Checklist
from models.errors import ChecklistFileError
from models.inspection import Inspection

SEED_ITEMS = ([f"粉尘-{n}" for n in range(1, 11)] + [f"有限空间-{n}" for n in range(1, 10)]
              + [f"涉氨-{n}" for n in range(1, 11)])
STANDARD = "《工贸企业重大事故隐患判定标准》"
NUMERALS = "一二三四五六七八九十"
MAJOR_CLAUSES = ([f"{STANDARD}第十一条（{n}）" for n in NUMERALS]
                 + [f"{STANDARD}第十二条（{n}）" for n in "一二"]
                 + [f"{STANDARD}第十三条（{n}）" for n in "一二"]
                 + [f"{STANDARD}第三条（{n}）" for n in "一二"])

GOOD = '''
[checklist]
code = "dust"
area = "粉尘防爆"
title = "测试清单"

[[items]]
code = "DUST-01"
question = "是否清理积尘？"
how_to_check = "查看设备表面积尘厚度。"
legal_basis = "GB 15577-2018"
major = false
rectification = "清理积尘。"
deadline_days = 3

[[items.basis_sources]]
citation = "GB 15577-2018"
status = "待核"
reason = "测试：未找到标准文本"
'''


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "lists"
    path.mkdir()
    (path / "dust.toml").write_text(GOOD, "utf-8")
    return path


def test_every_seed_item_is_covered():
    """All 29 items of seed 002 annex 14 appear in the shipped checklists."""
    refs = {ref for spec in parse_folder() for item in spec.items for ref in item.seed_refs}
    assert set(SEED_ITEMS) <= refs


def test_every_major_clause_is_represented():
    """Each major-hazard clause of 10号令 第三、十一、十二、十三条 has a major item."""
    clauses = {item.major_clause for spec in parse_folder() for item in spec.items if item.major}
    assert set(MAJOR_CLAUSES) <= clauses


def test_shipped_files_are_the_four_areas():
    """One file per area plus the general items."""
    assert {s.code for s in parse_folder()} == {"dust", "confined_space", "ammonia", "general"}
    assert len(list(DATA_DIR.glob("*.toml"))) == 4


@pytest.mark.parametrize("edit,item,reason", [
    (lambda t: t.replace('code = "DUST-01"', 'code = "X1"'), "X1", "编码"),
    (lambda t: t.replace('legal_basis = "GB 15577-2018"\n', ""), "DUST-01", "legal_basis"),
    (lambda t: t.replace("major = false", 'major = true'), "DUST-01", "判定条款"),
    (lambda t: t.replace("deadline_days = 3", "deadline_days = 0"), "DUST-01", "deadline_days"),
    (lambda t: t.replace("deadline_days = 3", 'deadline_days = "三天"'), "DUST-01", "deadline_days"),
    (lambda t: t + '\n[[items]]\ncode = "DUST-01"' + GOOD.split('code = "DUST-01"')[1], "DUST-01", "重复"),
    (lambda t: t.replace('area = "粉尘防爆"', 'area = "粉尘"'), None, "checklist.area"),
    (lambda t: t.replace("[[items]]", "[[itemz]]"), None, "没有任何检查项"),
    (lambda t: t.replace('title = "测试清单"', 'title = "测试清单'), None, "TOML"),
    (lambda t: t.replace("major = false", "major = false\ncolour = 1"), "DUST-01", "未知字段"),
])
def test_malformed_file_names_file_item_and_reason(folder, edit, item, reason):
    """A broken file is rejected, naming the file, the item and the reason."""
    path = folder / "dust.toml"
    path.write_text(edit(GOOD), "utf-8")
    with pytest.raises(ChecklistFileError) as err:
        parse_file(path)
    assert err.value.file == "dust.toml" and err.value.item == item
    assert reason in err.value.text() and "dust.toml" in err.value.text()


def test_broken_file_changes_nothing_in_store(store, folder):
    """Loading a folder with one bad file stores none of it."""
    (folder / "general.toml").write_text("[checklist]\ncode = 'general'\n", "utf-8")
    with store.session() as s:
        before = s.scalars(select(Checklist.id)).all()
    with pytest.raises(ChecklistFileError):
        with store.transaction() as s:
            load_checklists(s, folder)
    with store.session() as s:
        assert s.scalars(select(Checklist.id)).all() == before


def test_loading_is_idempotent_and_edits_make_versions(store, folder):
    """Same content loads once; an edited file is a new version; comments alone are not."""
    dust = folder / "dust.toml"
    shutil.copy(DATA_DIR / "dust.toml", dust)  # the store already holds it as v1
    with store.transaction() as s:
        assert load_checklists(s, folder).unchanged == ["dust"]
    dust.write_text("# 注释改动\n" + dust.read_text("utf-8"), "utf-8")
    with store.transaction() as s:
        assert load_checklists(s, folder).unchanged == ["dust"]
    dust.write_text(dust.read_text("utf-8").replace("deadline_days = ", "deadline_days = 1", 1), "utf-8")
    with store.transaction() as s:
        assert load_checklists(s, folder).new_versions == ["dust v2"]
    with store.session() as s:
        assert latest_checklists(s)["dust"].version == 2


def test_inspection_keeps_the_version_it_started_with(store, folder, inspection_id):
    """A new checklist version does not move an inspection already under way."""
    dust = folder / "dust.toml"
    dust.write_text(DATA_DIR.joinpath("dust.toml").read_text("utf-8")
                    .replace("deadline_days = ", "deadline_days = 1", 1), "utf-8")
    with store.transaction() as s:
        load_checklists(s, folder)
    with store.session() as s:
        insp = s.get(Inspection, inspection_id)
        dust_link = next(c for c in insp.checklists if c.checklist.code == "dust")
        assert dust_link.checklist.version == 1
        assert latest_checklists(s)["dust"].version == 2
