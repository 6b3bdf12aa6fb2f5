"""The agency's clock: dates and times follow 设置's time zone, never the laptop's TZ."""
import time
from datetime import datetime, timezone

import pytest

from models.errors import ValidationError
from models.local_time import agency_date, agency_text, agency_time, from_agency_wall
from models.settings_rules import get_agency_settings, save_agency_settings
from models.startup import start_store

LATE_UTC = datetime(2026, 11, 2, 20, 0, tzinfo=timezone.utc)  # 04:00 on 3 Nov in Beijing
AGENCY = dict(agency_name="湘乡市应急管理局", region_short="湘乡",
              reconsideration_government="湘乡市人民政府", court="湘乡市人民法院")


@pytest.fixture(params=["UTC", "America/New_York", "Asia/Kolkata"])
def machine_tz(request, monkeypatch):
    """The laptop's own zone set to something other than the agency's."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_default_is_beijing_whatever_the_machine_zone(machine_tz):
    """20:00 UTC is 3 November 04:00 for the agency, on a laptop set to any other zone."""
    assert agency_date(LATE_UTC).isoformat() == "2026-11-03"
    assert agency_text(LATE_UTC) == "2026-11-03 04:00"
    assert agency_time(LATE_UTC).utcoffset().total_seconds() == 8 * 3600
    # A naive camera time is read on the agency's wall clock.
    assert from_agency_wall(datetime(2026, 11, 3, 4, 0)) == LATE_UTC


def test_zone_is_a_setting_kept_across_restarts(tmp_path, machine_tz):
    """设置's time zone is stored, applied at once, and again when the store is reopened."""
    store = start_store(tmp_path / "data")
    with store.transaction() as s:
        assert get_agency_settings(s).time_zone == "Asia/Shanghai"
        save_agency_settings(s, **AGENCY, time_zone="Asia/Urumqi")
    assert agency_text(LATE_UTC) == "2026-11-03 02:00"
    store.close()
    from models.local_time import use_agency_zone
    use_agency_zone(None)
    store = start_store(tmp_path / "data")
    try:
        assert agency_text(LATE_UTC) == "2026-11-03 02:00"
        with store.transaction() as s:  # saving other fields keeps the zone
            save_agency_settings(s, **AGENCY)
            assert get_agency_settings(s).time_zone == "Asia/Urumqi"
    finally:
        store.close()


def test_unknown_zone_is_refused_with_the_reason(store):
    """A misspelt zone is refused in Chinese and nothing changes."""
    with pytest.raises(ValidationError) as err:
        with store.transaction() as s:
            save_agency_settings(s, **AGENCY, time_zone="Asia/Shanghi")
    assert "无法识别的时区" in str(err.value.problems)
    with store.session() as s:
        assert get_agency_settings(s).time_zone == "Asia/Shanghai"
    assert agency_text(LATE_UTC) == "2026-11-03 04:00"


def test_zone_of_a_rolled_back_save_is_not_used(store):
    """A save that is rolled back (another field refused later) leaves the clock as it was."""
    with pytest.raises(RuntimeError):
        with store.transaction() as s:
            save_agency_settings(s, **AGENCY, time_zone="Asia/Urumqi")
            raise RuntimeError("later step failed")
    assert agency_text(LATE_UTC) == "2026-11-03 04:00"
