"""The same values come back from SQLite (laptop) and PostgreSQL (office): UUID keys, times
in UTC with their zone, enums, JSON text. Run with and without `--backend postgresql`."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from models.audit import AuditEvent, verify_chain
from models.inspection import Hazard, Inspection
from models.registry import Enterprise, RiskColour
from tests.conftest import make_enterprise

BEIJING = timezone(timedelta(hours=8))


def test_times_come_back_as_the_same_instant_in_utc(store, inspection_id):
    """A time given in Beijing time is stored and read back as the same instant, in UTC, with
    microseconds; SQL comparisons see UTC on both backends."""
    moment = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=BEIJING)
    with store.transaction() as s:
        s.get(Inspection, inspection_id).started_at = moment
    with store.session() as s:
        back = s.get(Inspection, inspection_id).started_at
        assert back == moment and back.utcoffset() == timedelta(0)
        assert (back.hour, back.microsecond) == (1, 123456)
        before = datetime(2026, 11, 2, 1, 30, 16, tzinfo=timezone.utc)
        assert s.scalar(select(Inspection.id).where(Inspection.started_at < before)) == inspection_id
    with store.engine.connect() as conn:  # what another tool sees: UTC wall time, no zone
        raw = conn.execute(text("SELECT started_at FROM inspection")).scalar()
    assert str(raw).startswith("2026-11-02 01:30:15.123456")


def test_a_time_without_zone_is_refused(store, inspection_id):
    with pytest.raises(StatementError, match="naive datetime"):
        with store.transaction() as s:
            s.get(Inspection, inspection_id).started_at = datetime(2026, 11, 2, 9, 30)


def test_keys_are_uuids_and_enums_come_back_as_members(store):
    enterprise_id = make_enterprise(store, risk_colour=RiskColour.ORANGE, risk_reason="测试：手动定为橙")
    assert isinstance(enterprise_id, uuid.UUID)
    with store.session() as s:
        row = s.get(Enterprise, enterprise_id)
        assert row.risk_colour is RiskColour.ORANGE
        assert s.scalar(select(Enterprise.id).where(Enterprise.risk_colour == RiskColour.ORANGE)) \
            == enterprise_id
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT risk_colour FROM enterprise")).scalar()
    assert stored == "orange"


def test_an_enum_value_outside_the_list_is_refused_by_the_database(store, enterprise_id):
    """The CHECK constraint holds on both backends, even behind the app's back."""
    with pytest.raises(IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE enterprise SET risk_colour = 'purple'"))
    with store.session() as s:
        assert s.get(Enterprise, enterprise_id).risk_colour is RiskColour.YELLOW  # 涉粉: by the rules


def test_json_text_and_chinese_round_trip_and_the_chain_verifies(store, inspection_id):
    """Audit events hold canonical JSON with Chinese unescaped; read back, they hash the same
    (the chain verifies), so a bundle from either backend verifies on the other."""
    with store.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "enterprise")).all()
        assert events
        after = json.loads(events[0].after)
        assert after["name"] == "湘乡市测试木业有限公司"
        assert "湘乡市" in events[0].after  # not \\u escapes
        assert verify_chain(s).intact


def test_dates_stay_dates(store, inspection_id):
    from models.inspection import AnswerResult
    from models.inspection_rules import answer_item, inspection_items
    with store.session() as s:
        item = inspection_items(s, inspection_id)[0]
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
    with store.session() as s:
        hazard = s.scalars(select(Hazard)).one()
        assert type(hazard.deadline) is date
