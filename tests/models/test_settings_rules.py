"""Agency settings, inspectors and the first-start check."""
import pytest

from models.demo import build_demo
from models.errors import ValidationError
from models.registry import AgencySettings
from models.settings_rules import (add_inspector, checklist_choices, enterprise_choices,
                                   get_agency_settings, list_inspectors, save_agency_settings,
                                   setup_needed, update_inspector)
from tests.conftest import make_enterprise

AGENCY = dict(agency_name="湘乡市应急管理局", region_short="湘乡",
              reconsideration_government="湘乡市人民政府", court="湘乡市人民法院")


def test_settings_row_is_created_with_defaults(store):
    """A fresh store has empty settings with 10 days and serial 1."""
    with store.transaction() as s:
        settings = get_agency_settings(s)
        assert (settings.agency_name, settings.reinspection_due_days, settings.serial_start) == ("", 10, 1)
    with store.session() as s:
        assert get_agency_settings(s).id == settings.id


def test_settings_are_saved_and_reloaded(store):
    """What the user saves is what the next session reads, trimmed."""
    with store.transaction() as s:
        save_agency_settings(s, **{**AGENCY, "agency_name": " 湘乡市应急管理局 "},
                             reinspection_due_days=15, serial_start=501)
    with store.session() as s:
        settings = get_agency_settings(s)
        assert settings.agency_name == "湘乡市应急管理局"
        assert (settings.region_short, settings.court) == ("湘乡", "湘乡市人民法院")
        assert (settings.reinspection_due_days, settings.serial_start) == (15, 501)


@pytest.mark.parametrize("change,words", [
    (dict(agency_name=" "), "执法机关名称"),
    (dict(region_short=""), "简称"),
    (dict(region_short="湘潭市湘乡市应急管理局局"), "不能超过 10 个字"),
    (dict(reinspection_due_days=0), "1～90"),
    (dict(reinspection_due_days=91), "1～90"),
    (dict(serial_start=0), "起始编号"),
])
def test_bad_settings_are_refused_in_chinese(store, change, words):
    """Each broken rule is named, and nothing is stored."""
    with pytest.raises(ValidationError) as caught, store.transaction() as s:
        save_agency_settings(s, **{**AGENCY, **change})
    assert any(words in p for p in caught.value.problems)
    with store.session() as s:
        assert s.query(AgencySettings).count() == 0


def test_inspectors_are_added_edited_and_deactivated(store):
    """A deactivated inspector drops out of the active list but stays in the full one."""
    with store.transaction() as s:
        a = add_inspector(s, " 张卫东 ", "43038120001")
        b = add_inspector(s, "李晓红", "43038120002")
    with store.transaction() as s:
        update_inspector(s, b.id, "李晓红", "43038120009", active=False)
    with store.session() as s:
        assert [p.name for p in list_inspectors(s)] == ["张卫东"]
        everyone = {p.id: p for p in list_inspectors(s, active_only=False)}
        assert everyone[a.id].name == "张卫东"
        assert (everyone[b.id].certificate_no, everyone[b.id].active) == ("43038120009", False)


def test_duplicate_certificate_names_the_holder(store):
    """A certificate number already held is refused, saying by whom."""
    with store.transaction() as s:
        add_inspector(s, "张卫东", "43038120001")
        other = add_inspector(s, "李晓红", "43038120002")
    with pytest.raises(ValidationError) as caught, store.transaction() as s:
        add_inspector(s, "王建军", "43038120001")
    assert caught.value.problems == ["执法证号 43038120001 已登记给 张卫东"]
    with pytest.raises(ValidationError), store.transaction() as s:
        update_inspector(s, other.id, "李晓红", "43038120001", True)


def test_inspector_needs_name_and_certificate(store):
    """Both the name and the certificate number are required."""
    with pytest.raises(ValidationError) as caught, store.transaction() as s:
        add_inspector(s, "", " ")
    assert caught.value.problems == ["请填写执法人员姓名", "请填写执法证号"]


def test_setup_needed_until_agency_and_two_inspectors(store):
    """Setup is asked for until the agency is named and two certified inspectors are active."""
    with store.session() as s:
        assert setup_needed(s)
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
        add_inspector(s, "张卫东", "43038120001")
    with store.session() as s:
        assert setup_needed(s)
    with store.transaction() as s:
        add_inspector(s, "李晓红", "43038120002")
    with store.session() as s:
        assert not setup_needed(s)


def test_demo_store_needs_no_setup(store):
    """The demo data is enough to look around without a setup step."""
    build_demo(store)
    with store.session() as s:
        assert not setup_needed(s)


def test_choices_for_a_new_inspection(store):
    """Enterprises carry their default checklists; checklists carry their item counts."""
    make_enterprise(store, has_dust=True, has_ammonia=True)
    with store.session() as s:
        [firm] = enterprise_choices(s)
        checklists = checklist_choices(s)
    assert firm.checklist_codes == ("dust", "ammonia", "general")
    assert [c.code for c in checklists] == ["dust", "confined_space", "ammonia", "general"]
    assert all(c.item_count > 0 for c in checklists)


@pytest.mark.parametrize("agency,bodies", [
    ("湘乡市应急管理局", ("湘乡市人民政府", "湘乡市人民法院")),
    (" 韶山市应急管理局 ", ("韶山市人民政府", "韶山市人民法院")),
    ("湘潭县应急局", ("湘潭县人民政府", "湘潭县人民法院")),
    ("岳塘区应急管理局", ("岳塘区人民政府", "岳塘区人民法院")),
    ("应急管理局", ("", "")),
    ("某某单位", ("", "")),
])
def test_remedy_bodies_are_suggested_from_the_agency_area(agency, bodies):
    """The government at the same level and the court of the agency's area, as a suggestion."""
    from models.settings_rules import default_remedy_bodies
    assert default_remedy_bodies(agency) == bodies


@pytest.mark.parametrize("blank,named", [("reconsideration_government", "行政复议机关"),
                                         ("court", "人民法院")])
def test_issuing_with_a_blank_remedy_body_is_refused_saying_where(store, blank, named):
    """A document may not go out with a blank where the law requires the review body."""
    from models.errors import FieldCheckError
    from models.settings_rules import check_ready_to_issue
    with store.transaction() as s:
        save_agency_settings(s, **{**AGENCY, blank: "  "})
    with store.session() as s, pytest.raises(FieldCheckError) as caught:
        check_ready_to_issue(s)
    assert named in caught.value.text() and "设置 → 执法机关" in caught.value.text()
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
    with store.session() as s:
        check_ready_to_issue(s)  # complete: no error
