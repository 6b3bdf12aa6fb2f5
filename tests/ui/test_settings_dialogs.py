"""Settings, first-start setup and the new-inspection dialog, used as a user would."""
import re
import uuid
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton
from sqlalchemy import select

from models.audit import AuditEvent
from models.demo import build_demo
from models.inspection import Inspection
from models.registry import AgencySettings, Inspector
from models.settings_rules import (EnterpriseChoice, add_inspector, get_agency_settings,
                                   list_inspectors, save_agency_settings, setup_needed)
from models.startup import start_store
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import T0, make_enterprise, valid_credit_code
from ui.first_run import FirstRunDialog, maybe_run_first_setup
from ui.new_inspection_dialog import EnterpriseListModel, InspectorPickModel, NewInspectionDialog
from ui.settings_dialog import InspectorRow, InspectorTableModel, SettingsDialog

# Qt's offscreen platform warns whenever a shown window's layout sets its minimum size.

AGENCY = dict(agency_name="湘乡市应急管理局", region_short="湘乡",
              reconsideration_government="湘乡市人民政府", court="湘乡市人民法院")


def type_text(qtbot, widget, text):
    """Type like a user: ASCII as key presses, Chinese as a committed input-method phrase.

    (QTest.keyClicks aborts on non-ASCII characters.)
    """
    for run in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        if run.isascii():
            qtbot.keyClicks(widget, run)
        else:
            event = QInputMethodEvent("", [])
            event.setCommitString(run)
            QApplication.sendEvent(widget, event)


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# Pollers still waiting for a modal dialog; tests/ui/conftest.py stops them when a test ends,
# so one that saw no dialog (as some tests expect) never answers the next test's dialog.
PENDING_POLLS: list[list] = []


def when_modal_opens(act):
    """Run `act(dialog)` on the next modal dialog, from inside its exec() loop, during this
    test only."""
    seen = []
    PENDING_POLLS.append(seen)

    def poll():
        if not any(p is seen for p in PENDING_POLLS):
            return  # the test that asked has ended
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, poll)
            return
        PENDING_POLLS[:] = [p for p in PENDING_POLLS if p is not seen]
        seen.append(dialog)
        act(dialog)
    QTimer.singleShot(0, poll)
    return seen


def fill_inspector_dialog(qtbot, name, cert):
    def act(dialog):
        fields = dialog.findChildren(QLineEdit)
        fields[0].clear()
        type_text(qtbot, fields[0], name)
        fields[1].clear()
        type_text(qtbot, fields[1], cert)
        qtbot.keyClick(fields[1], Qt.Key.Key_Return)  # Enter accepts
        if dialog.isVisible():  # refused: record what it says, then cancel
            act.errors = [label.text() for label in dialog.findChildren(type(dialog.name_error))
                          if label.isVisible() and label.property("role") == "fieldError"]
            dialog.reject()
    act.errors = []
    when_modal_opens(act)
    return act


# Qt models

def test_inspector_table_model(qtmodeltester):
    """The inspector table shows name, certificate and whether the person is in service."""
    model = InspectorTableModel()
    model.set_rows([InspectorRow(uuid.uuid4(), "张卫东", "43038120001"),
                    InspectorRow(uuid.uuid4(), "李晓红", "43038120002", active=False)])
    qtmodeltester.check(model)
    cells = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(2)]
    assert cells == [["张卫东", "43038120001", "在用"], ["李晓红", "43038120002", "已停用"]]
    assert model.headerData(model.COL_CERTIFICATE, Qt.Orientation.Horizontal) == "执法证号"


def test_enterprise_list_model(qtmodeltester):
    """Each enterprise shows its name over its credit code and address."""
    model = EnterpriseListModel()
    model.set_rows([EnterpriseChoice(uuid.uuid4(), "湘乡市恒达木业有限公司", "91430381MA4L0DEM07",
                                     "木业路 8 号", ("dust", "general"))])
    qtmodeltester.check(model)
    assert model.index(0, 0).data() == "湘乡市恒达木业有限公司\n91430381MA4L0DEM07　木业路 8 号"


def test_inspector_pick_model(qtmodeltester):
    """Checking people records them in the order they were checked."""
    people = [SimpleNamespace(id=uuid.uuid4(), name=n, certificate_no=c)
              for n, c in (("张卫东", "1"), ("李晓红", "2"), ("王建军", "3"))]
    model = InspectorPickModel()
    model.set_rows(people)
    qtmodeltester.check(model)
    model.setData(model.index(2, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    model.setData(model.index(0, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert model.checked == [people[2].id, people[0].id]
    assert model.index(0, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    model.setData(model.index(2, 0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert model.checked == [people[0].id]
    assert model.index(1, 0).data() == "李晓红　执法证号 2"


# 设置

def test_settings_are_saved_and_shown_again(qtbot, store):
    """What is typed in 设置 is stored and shown the next time the dialog opens."""
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    for field, text in ((dialog.agency_name, "湘乡市应急管理局"), (dialog.region_short, "湘乡")):
        type_text(qtbot, field, text)
    # the review bodies follow the agency's name as a suggestion
    assert (dialog.government.text(), dialog.court.text()) == ("湘乡市人民政府", "湘乡市人民法院")
    dialog.serial_start.setValue(501)
    click(qtbot, dialog.save_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        settings = get_agency_settings(s)
        assert (settings.agency_name, settings.region_short, settings.serial_start) == (
            "湘乡市应急管理局", "湘乡", 501)
    again = SettingsDialog(store)
    qtbot.addWidget(again)
    assert again.court.text() == "湘乡市人民法院"
    assert again.serial_start.value() == 501


def test_settings_show_the_fingerprint_the_office_checks(qtbot, store, tmp_path):
    """The fingerprint in 设置 is the one an office import of this laptop's bundle shows —
    and the one the office (no agency yet) confirms to trust this laptop (#11)."""
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    make_enterprise(store)
    export_bundle(store, tmp_path / "b.fcb")
    office = start_store(tmp_path / "office")
    try:
        report = import_bundle(office, tmp_path / "b.fcb",
                               trust_new_device=dialog.fingerprint.text())
    finally:
        office.close()
    assert not report.signer_known
    assert dialog.fingerprint.text() == report.signer_fingerprint
    assert dialog.fingerprint.text() in "\n".join(report.lines())


def test_settings_without_agency_name_say_so_and_store_nothing(qtbot, store):
    """An empty agency name is named next to the field; nothing is saved."""
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.region_short, "湘乡")
    click(qtbot, dialog.save_button)
    assert dialog.isVisible()
    assert dialog.errors["agency_name"].isVisible()
    assert dialog.errors["agency_name"].text() == "请填写执法机关名称"
    with store.session() as s:
        assert s.scalar(select(AgencySettings)) is None


def test_inspectors_are_added_edited_and_deactivated(qtbot, store, team):
    """Adding, renaming and deactivating people in 设置 is stored on 保存."""
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    fill_inspector_dialog(qtbot, "王建军", "43038120003")
    click(qtbot, dialog.add_button)
    assert [r.name for r in dialog.people.rows] == ["张卫东", "李晓红", "王建军"]
    dialog.table.selectRow(1)
    click(qtbot, dialog.toggle_button)
    assert dialog.people.index(1, dialog.people.COL_ACTIVE).data() == "已停用"
    assert dialog.toggle_button.text() == "重新启用"
    dialog.table.selectRow(0)
    fill_inspector_dialog(qtbot, "张卫国", "43038120001")
    click(qtbot, dialog.edit_button)
    click(qtbot, dialog.save_button)
    with store.session() as s:
        active = [(p.name, p.certificate_no) for p in list_inspectors(s)]
    assert active == [("张卫国", "43038120001"), ("王建军", "43038120003")]


def test_duplicate_certificate_is_refused_with_holder(qtbot, store, team):
    """A certificate number already held is refused, naming the holder; nothing is added."""
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    refused = fill_inspector_dialog(qtbot, "王建军", "43038120002")
    click(qtbot, dialog.add_button)
    assert refused.errors == ["执法证号 43038120002 已登记给 李晓红"]
    assert len(dialog.people.rows) == 2


# 首次使用

def test_no_setup_dialog_for_a_demo_store(qtbot, store):
    """With the demo data in place, the app starts without asking for a setup."""
    build_demo(store)
    seen = when_modal_opens(lambda d: d.reject())
    maybe_run_first_setup(store)
    qtbot.wait(50)
    assert seen == []


def test_setup_dialog_at_first_start_can_be_postponed(qtbot, store):
    """A fresh store asks for the setup; 稍后设置 closes it and stores nothing."""
    def later(dialog):
        click(qtbot, next(b for b in dialog.findChildren(QPushButton) if b.text() == "稍后设置"))
    seen = when_modal_opens(later)
    maybe_run_first_setup(store)
    assert [type(d) for d in seen] == [FirstRunDialog]
    with store.session() as s:
        assert setup_needed(s)


def test_first_run_finish_stores_agency_and_inspectors(qtbot, store):
    """完成 with the agency and three people stores them; setup is then done."""
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.agency_name, "湘乡市应急管理局")
    type_text(qtbot, dialog.region_short, "湘乡")
    click(qtbot, dialog.add_button)
    assert len(dialog.rows) == 3
    for row, (name, cert) in zip(dialog.rows, [("张卫东", "43038120001"), ("李晓红", "43038120002"),
                                               ("王建军", "43038120003")]):
        type_text(qtbot, row.name, name)
        type_text(qtbot, row.certificate_no, cert)
    click(qtbot, dialog.finish_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        assert get_agency_settings(s).region_short == "湘乡"
        assert [p.name for p in list_inspectors(s)] == ["张卫东", "李晓红", "王建军"]
        assert not setup_needed(s)


def test_first_run_with_one_inspector_explains_and_stores_nothing(qtbot, store):
    """One person is not a team: the dialog says so and nothing is stored."""
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.agency_name, "湘乡市应急管理局")
    type_text(qtbot, dialog.region_short, "湘乡")
    type_text(qtbot, dialog.rows[0].name, "张卫东")
    type_text(qtbot, dialog.rows[0].certificate_no, "43038120001")
    type_text(qtbot, dialog.rows[1].name, "李晓红")
    click(qtbot, dialog.finish_button)
    assert dialog.isVisible()
    assert dialog.rows[1].error.text() == "请填写执法证号"
    assert "请至少填写 2 名执法人员" in dialog.problems.text()
    with store.session() as s:
        assert s.scalar(select(Inspector)) is None


# 新建检查

@pytest.fixture
def two_firms(store):
    wood = make_enterprise(store)  # has_dust
    cold = make_enterprise(store, name="湘乡市湘味冷链物流有限公司", has_dust=False,
                           has_ammonia=True, credit_code=valid_credit_code("91430381MA4L99999"))
    return wood, cold


def open_new_inspection(qtbot, store, **kwargs):
    dialog = NewInspectionDialog(store, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def check_person(qtbot, dialog, row):
    view = dialog.team_view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(dialog.team.index(row, 0)).center())


def test_typing_part_of_a_name_filters_and_selects(qtbot, store, team, two_firms):
    """Typing 木业 leaves one enterprise, picks it and preselects its checklists."""
    dialog = open_new_inspection(qtbot, store)
    assert dialog.enterprises.rowCount() == 2
    type_text(qtbot, dialog.search, "木业")
    assert [r.name for r in dialog.enterprises.rows] == ["湘乡市测试木业有限公司"]
    assert dialog.enterprise.id == two_firms[0]
    assert "湘乡市测试木业有限公司" in dialog.chosen.text()
    assert dialog.chosen_checklists() == ["dust", "general"]


def test_checklists_follow_the_enterprise_and_can_be_changed(qtbot, store, team, two_firms):
    """Picking the cold store switches to 涉氨制冷 + 通用; the user can still add others."""
    dialog = open_new_inspection(qtbot, store, enterprise_id=two_firms[0])
    assert dialog.search.text() == "湘乡市测试木业有限公司"
    assert dialog.chosen_checklists() == ["dust", "general"]
    dialog.search.clear()
    type_text(qtbot, dialog.search, "冷链")
    assert dialog.chosen_checklists() == ["ammonia", "general"]
    click(qtbot, dialog.checklist_boxes["confined_space"])
    assert dialog.chosen_checklists() == ["confined_space", "ammonia", "general"]


def test_one_inspector_is_refused_and_nothing_stored(qtbot, store, team, two_firms):
    """With one person checked, the Chinese rule is shown and no inspection is stored."""
    dialog = open_new_inspection(qtbot, store, enterprise_id=two_firms[0])
    check_person(qtbot, dialog, 0)
    type_text(qtbot, dialog.place, "木工车间")
    click(qtbot, dialog.start_button)
    assert dialog.isVisible() and dialog.inspection_id is None
    assert "现场检查须有至少两名执法人员" in dialog.problems.text()
    with store.session() as s:
        assert s.scalar(select(Inspection)) is None


def test_start_with_everything_missing_lists_every_problem(qtbot, store, team, two_firms):
    """Pressing 开始检查 at once lists every missing thing."""
    dialog = open_new_inspection(qtbot, store)
    click(qtbot, dialog.start_button)
    text = dialog.problems.text()
    for words in ("请选择被检查单位", "至少两名执法人员", "请填写检查场所", "至少选择一张检查表"):
        assert words in text


def test_two_inspectors_start_the_inspection(qtbot, store, team, two_firms):
    """Two people, a place and the chosen checklists make a stored inspection."""
    dialog = open_new_inspection(qtbot, store, enterprise_id=two_firms[0])
    check_person(qtbot, dialog, 1)
    check_person(qtbot, dialog, 0)
    type_text(qtbot, dialog.place, "木工车间、除尘器区域")
    click(qtbot, dialog.checklist_boxes["confined_space"])
    click(qtbot, dialog.start_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        inspection = s.get(Inspection, dialog.inspection_id)
        assert inspection.enterprise_id == two_firms[0]
        assert inspection.place == "木工车间、除尘器区域"
        assert inspection.started_at == T0
        assert [m.inspector.name for m in inspection.team] == ["李晓红", "张卫东"]
        assert [c.checklist.code for c in inspection.checklists] == ["dust", "confined_space",
                                                                     "general"]
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.label == "start_inspection")))
    assert actors == {"李晓红、张卫东"}


def test_only_active_inspectors_are_offered(qtbot, store, team):
    """A deactivated person is not offered for a new inspection."""
    with store.transaction() as s:
        gone = add_inspector(s, "王建军", "43038120003")
        gone.active = False
    dialog = open_new_inspection(qtbot, store)
    assert [p.name for p in dialog.team.rows] == ["张卫东", "李晓红"]


def test_enter_in_search_picks_the_first_match_without_starting(qtbot, store, team, two_firms):
    """Enter in the search field picks the first match and moves on; nothing is started."""
    dialog = open_new_inspection(qtbot, store)
    type_text(qtbot, dialog.search, "湘乡")
    assert dialog.enterprise is None
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.isVisible() and not dialog.problems.isVisible()
    assert dialog.enterprise == dialog.enterprises.rows[0]
    with store.session() as s:
        assert s.scalar(select(Inspection)) is None


def test_tab_walks_the_first_run_page_top_to_bottom(qtbot, store):
    """Tab goes from the agency fields through each person's name and certificate."""
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitActive(dialog):
        dialog.activateWindow()
    dialog.region_short.setFocus()
    order = []
    for _ in range(3):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        order.append(dialog.focusWidget())
    assert order == [dialog.government, dialog.court, dialog.rows[0].name]
    for _ in range(4):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        order.append(dialog.focusWidget())
    assert order[3:] == [dialog.rows[0].certificate_no, dialog.rows[0].passphrase,
                         dialog.rows[0].repeat, dialog.rows[1].name]



def test_first_run_suggests_the_review_bodies_from_the_agency_and_keeps_edits(qtbot, store):
    """Typing the agency fills 行政复议机关 / 人民法院 from its area; what the user types
    there instead is kept (also when the agency name changes again) and stored."""
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.agency_name, "湘乡市应急管理局")
    assert (dialog.government.text(), dialog.court.text()) == ("湘乡市人民政府", "湘乡市人民法院")
    dialog.court.selectAll()
    type_text(qtbot, dialog.court, "湘乡市人民法院（行政审判庭）")
    dialog.agency_name.selectAll()
    type_text(qtbot, dialog.agency_name, "韶山市应急管理局")
    assert dialog.government.text() == "韶山市人民政府"  # still the suggestion: follows
    assert dialog.court.text() == "湘乡市人民法院（行政审判庭）"  # the user's own: kept
    type_text(qtbot, dialog.region_short, "韶山")
    for row, (name, cert) in zip(dialog.rows, [("张卫东", "43038120001"), ("李晓红", "43038120002")]):
        type_text(qtbot, row.name, name)
        type_text(qtbot, row.certificate_no, cert)
    click(qtbot, dialog.finish_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        settings = get_agency_settings(s)
        assert (settings.reconsideration_government, settings.court) == (
            "韶山市人民政府", "湘乡市人民法院（行政审判庭）")


def test_first_run_refuses_a_blank_court(qtbot, store):
    """An agency whose area is not recognised suggests nothing: a blank court is named next
    to its field and nothing is stored."""
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.agency_name, "某某开发区管委会")
    type_text(qtbot, dialog.region_short, "某某")
    type_text(qtbot, dialog.government, "某某市人民政府")
    for row, (name, cert) in zip(dialog.rows, [("张卫东", "43038120001"), ("李晓红", "43038120002")]):
        type_text(qtbot, row.name, name)
        type_text(qtbot, row.certificate_no, cert)
    click(qtbot, dialog.finish_button)
    assert dialog.isVisible() and dialog.errors["court"].isVisible()
    assert "人民法院" in dialog.errors["court"].text()
    with store.session() as s:
        assert list_inspectors(s) == []


def test_first_run_sets_each_inspectors_passphrase_before_going_on_site(qtbot, store):
    """A passphrase typed twice in the first-run page becomes the inspector's signing key,
    opened by exactly that passphrase; a mismatch is named on the row and nothing is stored;
    someone who leaves it blank gets no key yet."""
    from documents.keys import identity_exists, load_identity
    from documents.service import unlock_signer
    from models.errors import FieldCheckError
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    type_text(qtbot, dialog.agency_name, "湘乡市应急管理局")
    type_text(qtbot, dialog.region_short, "湘乡")
    first, second = dialog.rows
    for row, (name, cert) in zip(dialog.rows, [("张卫东", "43038120001"), ("李晓红", "43038120002")]):
        type_text(qtbot, row.name, name)
        type_text(qtbot, row.certificate_no, cert)
    qtbot.keyClicks(first.passphrase, "zwd-2026-secret")
    qtbot.keyClicks(first.repeat, "zwd-2026-secrex")
    click(qtbot, dialog.finish_button)
    assert dialog.isVisible() and first.error.text() == "两次输入的签名口令不一致"
    with store.session() as s:
        assert list_inspectors(s) == []
    first.repeat.clear()
    qtbot.keyClicks(first.repeat, "zwd-2026-secret")
    click(qtbot, dialog.finish_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        people = {p.name: p.id for p in list_inspectors(s)}
    assert load_identity(store.data_dir, people["张卫东"], "zwd-2026-secret").signing_cert
    with pytest.raises(FieldCheckError, match="张卫东 的签名口令不正确"):
        unlock_signer(store.data_dir, people["张卫东"], "张卫东", "zwd-2026-secrex")
    assert not identity_exists(store.data_dir, people["李晓红"])
    dialog.grab().save(str(store.data_dir.parent / "first-run.png"))


def test_settings_make_an_inspectors_key_before_going_on_site(qtbot, store, team, monkeypatch):
    """设置 → 执法人员 → 生成签名证书…: the passphrase typed twice makes the key; the dialog
    says whether each inspector can sign; the key opens with that passphrase only."""
    import ui.certificate_import as cert_module
    from documents.keys import load_identity
    typed = iter(["li-2026-secret", "li-2026-secret"])
    monkeypatch.setattr(cert_module, "ask_secret", lambda parent, title, label: next(typed))
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    dialog.table.selectRow(1)
    assert "尚未设置签名证书" in dialog.key_status.text() and dialog.create_key_button.isEnabled()
    dialog.grab().save(str(store.data_dir.parent / "settings-people.png"))
    click(qtbot, dialog.create_key_button)
    assert "已有签名证书" in dialog.key_status.text()
    assert load_identity(store.data_dir, team[1], "li-2026-secret").signing_cert is not None
    dialog.table.selectRow(0)
    assert "尚未设置签名证书" in dialog.key_status.text()


def test_settings_suggest_blank_review_bodies_from_the_agency(qtbot, store):
    """A store whose court was never filled in shows the suggestion from the agency's area;
    保存 stores it — and a court typed by the user is never replaced."""
    with store.transaction() as s:
        save_agency_settings(s, **{**AGENCY, "court": "", "reconsideration_government": "湘乡市政府"})
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.court.text() == "湘乡市人民法院" and dialog.government.text() == "湘乡市政府"
    click(qtbot, dialog.save_button)
    with store.session() as s:
        assert get_agency_settings(s).court == "湘乡市人民法院"


def test_a_laptop_edits_inspectors_the_office_marked_away(qtbot, store, team):
    """On a laptop (no agency CA) the roster holds what the office's bundle brought: one
    inspector 不在岗 with the reason. Renaming, deactivating and adding people in 设置 saves
    as before — the flush refuses only a change of 在岗 itself — and the office's 不在岗
    stays as it came. (Read back through a separate sqlite3 connection.)"""
    import sqlite3
    from tests.conftest import office_check_taken_out
    with office_check_taken_out(), store.transaction() as s:   # as the office's import left it
        away = s.get(Inspector, team[1])
        away.available, away.unavailable_reason = False, "脱产培训"
        save_agency_settings(s, **AGENCY)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    assert dialog.tabs.count() and "在岗与回避" not in [dialog.tabs.tabText(i)
                                                    for i in range(dialog.tabs.count())]
    dialog.table.selectRow(1)
    fill_inspector_dialog(qtbot, "李晓洪", "43038120002")
    click(qtbot, dialog.edit_button)
    dialog.table.selectRow(1)
    click(qtbot, dialog.toggle_button)
    fill_inspector_dialog(qtbot, "王建军", "43038120003")
    click(qtbot, dialog.add_button)
    click(qtbot, dialog.save_button)
    assert dialog.result() == QDialog.DialogCode.Accepted, dialog.problems.text()
    con = sqlite3.connect(store.db_path)
    try:
        rows = con.execute("SELECT name, active, available, unavailable_reason FROM inspector "
                           "ORDER BY certificate_no").fetchall()
    finally:
        con.close()
    assert rows == [("张卫东", 1, 1, ""), ("李晓洪", 0, 0, "脱产培训"), ("王建军", 1, 1, "")]


def test_data_check_tab_hashes_the_evidence_files_and_names_a_damaged_photo(qtbot, store):
    """设置 → 数据检查: one click checks the audit chain and reads every photo and signature
    image (off the window's thread); intact, it says so; a photo damaged on this disk is
    named with its case and what to do — what the export's refusals send the user to."""
    build_demo(store)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    tab = next(i for i in range(dialog.tabs.count()) if dialog.tabs.tabText(i) == "数据检查")
    dialog.tabs.setCurrentIndex(tab)
    panel = dialog.data_check
    click(qtbot, panel.start)
    qtbot.waitUntil(lambda: panel.start.isEnabled() and "照片文件" in panel.report.toPlainText(),
                    timeout=30000)
    fine = panel.report.toPlainText()
    assert "执法记录链完整" in fine and "均完好" in fine, fine
    photos = sorted(p for p in store.photos_dir.rglob("*") if p.is_file() and len(p.stem) == 64)
    data = bytearray(photos[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    photos[0].write_bytes(bytes(data))
    click(qtbot, panel.start)
    qtbot.waitUntil(lambda: panel.start.isEnabled() and photos[0].stem[:12] in panel.report.toPlainText(),
                    timeout=30000)
    bad = panel.report.toPlainText()
    line = next(x for x in bad.splitlines() if photos[0].stem[:12] in x)
    assert "已损坏" in line and "检查" in line, bad
    assert "重新导入" in bad, bad   # what to do


def test_closing_settings_during_the_data_check_leaves_it_to_end(qtbot, store):
    """设置 closed while the files are still being read: no crash, the check ends by itself."""
    import gc

    from ui import data_check_panel
    build_demo(store)
    dialog = SettingsDialog(store)
    dialog.show()
    click(qtbot, dialog.data_check.start)
    worker = dialog.data_check.worker
    dialog.close()
    dialog.deleteLater()
    del dialog
    gc.collect()
    qtbot.waitUntil(lambda: not data_check_panel._RUNNING, timeout=30000)
    assert worker.isFinished()


_QUIT_DURING_CHECK = r"""
import sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import models.photo_store as photo_store
from models.demo import build_demo
from models.startup import start_store
from ui.data_check_panel import DataCheckPanel

app = QApplication([])
store = start_store(Path(sys.argv[1]))
build_demo(store)
app.aboutToQuit.connect(store.close)
real = photo_store._file_problem
def slow(*args):  # a laptop's thousands of photos: minutes of reading
    time.sleep(0.5)
    return real(*args)
photo_store._file_problem = slow
panel = DataCheckPanel(store)
panel.show()
QTimer.singleShot(0, panel.run)
QTimer.singleShot(1500, app.quit)   # the user closes FieldCheck while it reads
code = app.exec()
print("quit", flush=True)
sys.exit(code)
"""


def test_quitting_during_the_data_check_ends_the_program_cleanly(tmp_path):
    """FieldCheck closed while 数据检查 still reads the photos (it can take minutes): the
    program ends normally and soon — a QThread still running when Python let go of it
    aborted the process (a crash report on every such close)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen")
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _QUIT_DURING_CHECK, str(tmp_path / "data")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "quit" in done.stdout, (done.returncode, done.stderr[-2000:])
    assert "QThread" not in done.stderr, done.stderr[-2000:]
    assert time.monotonic() - began < 60


def test_the_data_check_counts_the_files_it_reads_and_can_be_stopped(qtbot, store, monkeypatch):
    """At the office the files take minutes: the tab says how many it has read so far, and
    停止 ends the check before its next file — said as stopped, never as 完好."""
    import models.integrity
    from models.photo_store import check_photo_files as real_check
    build_demo(store)
    gate = __import__("threading").Event()

    def slow_check(session, photos_dir, each_file=None, *args, **kwargs):
        def each() -> None:
            each_file()
            gate.wait(5)   # one file at a time until the test lets the next one go
        return real_check(session, photos_dir, each, *args, **kwargs)
    monkeypatch.setattr(models.integrity, "check_photo_files", slow_check)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    panel = dialog.data_check
    assert not panel.stop.isEnabled()
    click(qtbot, panel.start)
    qtbot.waitUntil(lambda: "已读取" in panel.verdict.text(), timeout=10000)
    assert panel.stop.isEnabled() and not panel.start.isEnabled()
    click(qtbot, panel.stop)
    gate.set()
    qtbot.waitUntil(lambda: panel.start.isEnabled(), timeout=10000)
    assert "已停止" in panel.verdict.text() and "完好" not in panel.verdict.text()
    assert not panel.stop.isEnabled()
