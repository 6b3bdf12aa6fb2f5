"""Screens show and take times on the agency's clock, on a laptop set to another zone."""
import time
from datetime import timedelta

import pytest
from PySide6.QtWidgets import QDialog

from models.inspection import Inspection
from models.settings_rules import get_agency_settings
from tests.conftest import T0
from tests.ui.test_settings_dialogs import (check_person, click, open_new_inspection,
                                            type_text)
from ui.settings_dialog import SettingsDialog


@pytest.fixture(params=["UTC", "America/New_York"])
def machine_tz(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_new_inspection_shows_and_stores_beijing_time(qtbot, store, team, machine_tz):
    """T0 (01:30 UTC) shows as 09:30; typing 10:15 stores 02:15 UTC, whatever the laptop's TZ."""
    from tests.conftest import make_enterprise
    firm = make_enterprise(store)
    dialog = open_new_inspection(qtbot, store, enterprise_id=firm)
    assert dialog.when.text() == "2026-11-02 09:30"
    check_person(qtbot, dialog, 0)
    check_person(qtbot, dialog, 1)
    type_text(qtbot, dialog.place, "木工车间")
    dialog.when.setFocus()
    dialog.when.setSelectedSection(dialog.when.Section.HourSection)
    qtbot.keyClicks(dialog.when, "10")
    dialog.when.setSelectedSection(dialog.when.Section.MinuteSection)
    qtbot.keyClicks(dialog.when, "15")
    assert dialog.when.text() == "2026-11-02 10:15"
    click(qtbot, dialog.start_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        started = s.get(Inspection, dialog.inspection_id).started_at
    assert started == T0 + timedelta(minutes=45)


def test_settings_take_the_zone_and_the_copies(qtbot, store, machine_tz):
    """设置 stores a time zone and the copies per document; a wrong zone is said beside it."""
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    for field, text in ((dialog.agency_name, "湘乡市应急管理局"), (dialog.region_short, "湘乡")):
        type_text(qtbot, field, text)
    assert dialog.time_zone.text() == "Asia/Shanghai" and dialog.copies.value() == 2
    dialog.time_zone.clear()
    type_text(qtbot, dialog.time_zone, "Asia/Shanghi")
    click(qtbot, dialog.save_button)
    assert dialog.isVisible() and "无法识别的时区" in dialog.errors["time_zone"].text()
    dialog.time_zone.clear()
    type_text(qtbot, dialog.time_zone, "Asia/Urumqi")
    dialog.copies.clear()
    qtbot.keyClicks(dialog.copies, "3")
    click(qtbot, dialog.save_button)
    assert dialog.result() == QDialog.DialogCode.Accepted
    with store.session() as s:
        settings = get_agency_settings(s)
        assert (settings.time_zone, settings.document_copies) == ("Asia/Urumqi", 3)


def test_reinspection_start_time_is_on_the_agency_clock(qtbot, store, enterprise_id, team,
                                                         clock, machine_tz):
    """The re-inspection's start editor shows Beijing time and stores the moment shown."""
    from models.reinspection_rules import reviews
    from tests.models.test_ledger import ordered_case
    from ui.reinspection_page import ReinspectionPage
    original, _hazards = ordered_case(store, enterprise_id, team, clock)
    clock.now = T0 + timedelta(days=20)  # 01:30 UTC
    page = ReinspectionPage(store, None, original_id=original)
    qtbot.addWidget(page)
    page.show()
    assert page.started_at.text() == "2026-11-22 09:30"
    click(qtbot, page.start_button)
    with store.session() as s:
        started = s.get(Inspection, page.reinspection_id).started_at
        assert reviews(s, page.reinspection_id)
    assert started == clock.now
