"""Second review of multi-laptop days (each failed before its fix): a freed credit code
reused by a new firm, a photo kept after a deletion, a closing on a hazard the office holds
under another id, old export state after a device-id change, a team member removed and
re-added, two finalized versions of one draft."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from models.audit import verify_chain
from models.enterprise_rules import EnterpriseInput, update_enterprise
from models.inspection import AnswerResult, HazardStatus
from models.inspection_rules import answer_item, finalize_inspection, inspection_items, save_note
from models.photo_rules import delete_photo, rotate_photo
from models.reinspection_rules import (finalize_reinspection, record_review, reviews,
                                       set_major_tracking, start_reinspection)
from models.startup import start_store
from models.tables import (Answer, Enterprise, Hazard, Inspection, InspectionInspector,
                           InspectionStatus, Photo)
from sync import verify as verify_module
from sync.bundle_format import BundleError
from sync.export import EXPORTS_STATE_FILE, export_bundle
from sync.merge import import_bundle
from tests.conftest import Clock, make_enterprise, valid_credit_code
from tests.sync.conftest import DEMO_NOW, dump


# A firm's mistyped credit code corrected on the laptop, then the freed code given to a
# newly registered firm (whose real code it is): at the office the new firm is 'mapped' onto
# the corrected firm's record and overwrites it.
def _firms(store):
    with store.session() as s:
        return {e.id: (e.name, e.credit_code) for e in s.scalars(select(Enterprise))}


def test_freed_credit_code_reused_by_new_firm(laptop_a, office, tmp_path):
    (tmp_path / "stick").mkdir()
    export_bundle(laptop_a, tmp_path / "stick" / "1.fcb")
    import_bundle(office, tmp_path / "stick" / "1.fcb")
    with laptop_a.session() as s:
        firm = s.scalars(select(Enterprise).order_by(Enterprise.name)).first()
        old_code, firm_id = firm.credit_code, firm.id
        data = EnterpriseInput(name=firm.name, credit_code=valid_credit_code("91430381MA4L77777"),
                               address=firm.address, legal_representative=firm.legal_representative,
                               representative_post=firm.representative_post, phone=firm.phone,
                               has_dust=firm.has_dust, has_ammonia=firm.has_ammonia,
                               has_confined_space=firm.has_confined_space)
    with laptop_a.transaction() as s:
        update_enterprise(s, firm_id, data)
    new_firm = make_enterprise(laptop_a, credit_code=old_code, name="湘乡市新登记有限公司")
    on_a = _firms(laptop_a)
    export_bundle(laptop_a, tmp_path / "stick" / "2.fcb")
    report = import_bundle(office, tmp_path / "stick" / "2.fcb")
    print(report.lines())
    at_office = _firms(office)
    # Both firms, as on laptop A, should exist at the office.
    assert at_office.get(firm_id) == on_a[firm_id]
    assert new_firm in at_office or on_a[new_firm] in at_office.values()


# B turned a photo after A deleted it, so B keeps it (the later change wins). B's bundle —
# carrying the photo, newer than the deletion — then reaches a store that does not have the
# photo yet: the photo is dropped there as 'deleted since', although it is not older.
def _draft_photo(store):
    with store.session() as s:
        return s.scalar(select(Photo.id).join(Inspection, Photo.inspection_id == Inspection.id)
                        .where(Inspection.status == InspectionStatus.IN_PROGRESS))


def _has(store, photo):
    with store.session() as s:
        return s.get(Photo, photo) is not None


def test_photo_kept_after_deletion_is_relayed(laptop_a, laptop_b, office, tmp_path):
    photo = _draft_photo(laptop_a)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(laptop_b, tmp_path / "1.fcb")
    laptop_a.clock = lambda: datetime(2026, 11, 21, 1, 0, tzinfo=timezone.utc)
    with laptop_a.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    laptop_b.clock = lambda: datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
    with laptop_b.transaction(label="rotate_photo") as s:
        rotate_photo(s, photo)
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    import_bundle(laptop_b, tmp_path / "2.fcb")
    assert _has(laptop_b, photo)                 # B keeps it: changed after the deletion
    export_bundle(laptop_b, tmp_path / "b.fcb", everything=True)
    report = import_bundle(office, tmp_path / "b.fcb")   # the office never saw the photo
    print(report.lines()[0], report.counts.get("superseded"))
    assert _has(office, photo)   # fails: dropped as 'superseded'


# A major hazard found on a relayed draft on both laptops (same answer → A's hazard is mapped
# onto B's id at the office). A re-inspection on A closes it; the office then records its
# 一单四制 facts. On importing A's closing, the field-by-field merge reads the history under the
# office's id only (A's closing events are under A's id), cannot decide 'status' (the create
# event holds status=null: a column default) and falls back to the row rule: the office's
# newer row wins whole and A's closing is dropped.
def test_closing_of_mapped_hazard_reaches_office(laptop_a, laptop_b, office, tmp_path):
    with laptop_a.session() as s:
        draft = s.scalar(select(Inspection.id).join(Answer, Answer.inspection_id == Inspection.id)
                         .where(Inspection.status == InspectionStatus.IN_PROGRESS))
        done = {a.item_id for a in s.scalars(select(Answer).where(Answer.inspection_id == draft))}
        code_x = next(i.code for i in inspection_items(s, draft) if i.id not in done and i.major)
        item_x = next(i.id for i in inspection_items(s, draft) if i.code == code_x)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(laptop_b, tmp_path / "1.fcb")
    laptop_b.clock = lambda: DEMO_NOW + timedelta(hours=1)
    with laptop_b.transaction() as s:
        item_b = next(i.id for i in inspection_items(s, draft) if i.code == code_x)
        answer_item(s, draft, item_b, AnswerResult.NONCOMPLIANT, "B 发现")
    export_bundle(laptop_b, tmp_path / "b.fcb")
    # #11 point 3: a laptop adds nothing to another laptop's draft — B's bundle is refused
    # whole (it used to be merged, B's hazard then mapped onto A's)
    with pytest.raises(BundleError, match="无权修改其他设备的检查"):
        import_bundle(office, tmp_path / "b.fcb")
    laptop_a.clock = lambda: DEMO_NOW + timedelta(hours=2)
    with laptop_a.transaction() as s:
        answer_item(s, draft, item_x, AnswerResult.NONCOMPLIANT, "A 发现")
        for item in inspection_items(s, draft):
            if item.id not in done | {item_x}:
                answer_item(s, draft, item.id, AnswerResult.COMPLIANT)
        finalize_inspection(s, draft)
    (tmp_path / "a").mkdir()
    export_bundle(laptop_a, tmp_path / "a" / "2.fcb")
    import_bundle(office, tmp_path / "a" / "2.fcb")
    # A re-inspects: everything rectified, closed
    laptop_a.clock = lambda: DEMO_NOW + timedelta(days=3)
    with laptop_a.session() as s:
        team = [m.inspector_id for m in s.scalars(select(InspectionInspector).where(
            InspectionInspector.inspection_id == draft))]
    with laptop_a.transaction() as s:
        re = start_reinspection(s, draft, team, DEMO_NOW + timedelta(days=3))
        for r in reviews(s, re.id):
            record_review(s, re.id, r.hazard_id, rectified=True, note="已整改")
        finalize_reinspection(s, re.id)
    # the office, not yet knowing, records 一单四制 on the major hazard
    with office.session() as s:
        major = s.scalar(select(Hazard.id).join(Answer, Hazard.answer_id == Answer.id).where(
            Hazard.inspection_id == draft, Answer.note == "A 发现"))
    office.clock = lambda: DEMO_NOW + timedelta(days=4)
    with office.transaction() as s:
        set_major_tracking(s, major, assigned_to="王科长", ledger_no="ZD-1", reported_on=date(2026, 11, 24))
    export_bundle(laptop_a, tmp_path / "a" / "3.fcb")
    import_bundle(office, tmp_path / "a" / "3.fcb")
    with office.session() as s:
        h = s.get(Hazard, major)
        # both survive when the hazard was not mapped (tests/sync/test_sync_scenarios.py)
        assert (h.status, h.assigned_to) == (HazardStatus.CLOSED, "王科长")


# exports.json written by the previous version has no device_id per destination. After a
# restore from backup the laptop continues under a new id, but last_export() still takes the
# old chain's position for the new chain: the 'changed since' export to that folder skips the
# new work ('没有新的或改动的记录'). (That file is no longer read — sync/destinations.json keeps
# each chain's position with its hash — but its leftover must not matter either.)
def test_changed_since_after_rotation_with_legacy_state(laptop_a, tmp_path):
    folder = laptop_a.data_dir
    (tmp_path / "office-stick").mkdir()
    (tmp_path / "other").mkdir()
    # the previous version exported to the office stick: state without device_id
    export_bundle(laptop_a, tmp_path / "office-stick" / "0.fcb")
    state_file = folder / EXPORTS_STATE_FILE
    state_file.write_text(json.dumps({str((tmp_path / "office-stick").resolve()): {
        "seq": 10 ** 6, "at": DEMO_NOW.isoformat(), "bundle_id": "x"}}), "utf-8")
    backup = tmp_path / "backup.db"
    src, dst = sqlite3.connect(laptop_a.db_path), sqlite3.connect(backup)
    src.backup(dst); src.close(); dst.close()
    with laptop_a.session() as s:
        insp, item = s.execute(select(Answer.inspection_id, Answer.item_id).join(Inspection)
                               .where(Inspection.status == InspectionStatus.IN_PROGRESS)).first()
    laptop_a.clock = Clock(DEMO_NOW + timedelta(days=1))
    with laptop_a.transaction() as s:
        save_note(s, insp, item, "备份后")
    export_bundle(laptop_a, tmp_path / "other" / "1.fcb")   # the new version: anchor recorded
    laptop_a.close()
    for suffix in ("-wal", "-shm"):
        (folder / f"{laptop_a.db_path.name}{suffix}").unlink(missing_ok=True)
    laptop_a.db_path.write_bytes(backup.read_bytes())
    restored = start_store(folder)
    try:
        assert restored.recovered_note
        restored.clock = Clock(DEMO_NOW + timedelta(days=2))
        with restored.transaction() as s:
            save_note(s, insp, item, "恢复后的新记录")
        result = export_bundle(restored, tmp_path / "office-stick" / "2.fcb")
        assert result.written and result.counts.get("answer", 0) >= 1, result.lines()
    finally:
        restored.close()


# A team row taken off a draft and re-added (same inspector → same natural key, new id):
# the office maps the new row onto its old id; relayed to B, the old id is 'known deleted'
# and B never gets the team member.
def _draft(store):
    with store.session() as s:
        return s.scalar(select(Inspection.id).where(Inspection.status == InspectionStatus.IN_PROGRESS))


def _team(store, insp):
    with store.session() as s:
        return {m.inspector_id for m in s.scalars(select(InspectionInspector).where(
            InspectionInspector.inspection_id == insp))}


def test_readded_team_member_relayed_through_office(laptop_a, office, laptop_b, tmp_path):
    draft = _draft(laptop_a)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    with laptop_a.transaction(label="edit_team") as s:
        member = s.scalars(select(InspectionInspector).where(
            InspectionInspector.inspection_id == draft).order_by(InspectionInspector.position)).all()[-1]
        person, pos = member.inspector_id, member.position
        s.delete(member)
    with laptop_a.transaction(label="edit_team") as s:
        s.add(InspectionInspector(inspection_id=draft, inspector_id=person, position=pos))
    team_a = _team(laptop_a, draft)
    assert person in team_a
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    import_bundle(office, tmp_path / "2.fcb")
    assert _team(office, draft) == team_a
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    import_bundle(laptop_b, tmp_path / "o.fcb")
    assert _team(laptop_b, draft) == team_a   # fails: B lacks the re-added member


# A draft relayed from A to B is finalized on both laptops. It used to reach the office as
# two rival finalized versions of one visit; since #11 point 3 a laptop may not change another
# laptop's draft: B's finalized version is refused whole, A's is the record.
def _finish(store, draft, note):
    with store.transaction() as s:
        done = {a.item_id for a in s.scalars(select(Answer).where(Answer.inspection_id == draft))}
        for item in inspection_items(s, draft):
            if item.id not in done:
                answer_item(s, draft, item.id, AnswerResult.COMPLIANT, note=note)
        finalize_inspection(s, draft)


def test_a_laptop_cannot_finalize_another_laptops_draft(laptop_a, laptop_b, office, tmp_path):
    with laptop_a.session() as s:
        draft = s.scalar(select(Inspection.id).join(Answer, Answer.inspection_id == Inspection.id)
                         .where(Inspection.status == InspectionStatus.IN_PROGRESS))
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(laptop_b, tmp_path / "1.fcb")
    laptop_a.clock = lambda: DEMO_NOW + timedelta(days=1)
    _finish(laptop_a, draft, "A 的结论")
    laptop_b.clock = lambda: DEMO_NOW + timedelta(days=1, hours=2)
    _finish(laptop_b, draft, "B 的结论")
    export_bundle(laptop_a, tmp_path / "a.fcb")
    export_bundle(laptop_b, tmp_path / "b.fcb")
    before = dump(office)
    with pytest.raises(BundleError, match="无权"):
        import_bundle(office, tmp_path / "b.fcb")
    assert dump(office) == before
    import_bundle(office, tmp_path / "a.fcb")
    with office.session() as s:
        assert s.get(Inspection, draft).status == InspectionStatus.FINALIZED
        notes = {a.note for a in s.scalars(select(Answer).where(Answer.inspection_id == draft))}
    assert "A 的结论" in notes and "B 的结论" not in notes


def test_saving_during_an_import_wins_and_the_import_asks_to_be_run_again(laptop_a, office,
                                                                          tmp_path, monkeypatch,
                                                                          backend):
    """The team saves on the office laptop while a slow import checks its files: their save
    stands, the import changes nothing and says to run it again — which then works. (On
    PostgreSQL the import's plan still holds — the save touched none of its rows — and it
    appends to this device's chain after the save: both stand at once.)"""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    real = verify_module.run_staging

    def slow_stick(*args, **kwargs):
        time.sleep(2)
        return real(*args, **kwargs)
    monkeypatch.setattr(verify_module, "run_staging", slow_stick)
    gui = start_store(office.data_dir)  # the window's own store on the same folder
    saved = []

    def save_meanwhile():
        time.sleep(0.5)
        saved.append(make_enterprise(gui, credit_code=valid_credit_code("91430381MA4L55555"),
                                     name="办公室新登记企业"))
    worker = threading.Thread(target=save_meanwhile)
    worker.start()
    try:
        if backend == "postgresql":
            assert import_bundle(office, tmp_path / "1.fcb").total("new") > 0
        else:
            with pytest.raises(BundleError, match="请再导入一次"):
                import_bundle(office, tmp_path / "1.fcb")
    finally:
        worker.join()
        gui.close()
    monkeypatch.undo()
    with office.session() as s:
        assert s.get(Enterprise, saved[0]) is not None and verify_chain(s).intact
    again = import_bundle(office, tmp_path / "1.fcb")
    assert again.total("new") > 0 if backend == "sqlite" else again.changed_nothing
