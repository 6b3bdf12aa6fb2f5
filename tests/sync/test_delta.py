"""Delta bundles: a destination is remembered by what it holds of each device chain; a
bundle carries only what it lacks, and a bundle back from it says what it holds."""
from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from main import main
from models.audit import AuditEvent
from models.inspection_rules import save_note
from models.tables import Answer, Inspection, InspectionStatus
from sync.bundle_format import BundleError
from sync.destinations import STATE_FILE
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import Clock, make_enterprise, valid_credit_code
from tests.sync.conftest import DEMO_NOW, dump
from tests.sync.test_roundtrip import records


def _record_bytes(path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i.file_size for i in zf.infolist() if i.filename.startswith("records/")}


def _events(path) -> list[list]:
    with zipfile.ZipFile(path) as zf:
        if "records/audit_event.json" not in zf.namelist():
            return []
        return json.loads(zf.read("records/audit_event.json"))["rows"]


def _draft_answer(store):
    with store.session() as s:
        return s.execute(select(Answer.inspection_id, Answer.item_id).join(Inspection)
                         .where(Inspection.status == InspectionStatus.IN_PROGRESS)).first()


def _note(store, text: str, days: int = 1) -> None:
    insp, item = _draft_answer(store)
    store.clock = Clock(DEMO_NOW + timedelta(days=days))
    with store.transaction() as s:
        save_note(s, insp, item, text)


def _chain_length(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def _first_exchange(laptop, office, stick):
    """The laptop's stick at the office and back: each side now knows what the other holds."""
    stick.mkdir()
    full = export_bundle(laptop, stick / "a1.fcb")
    import_bundle(office, stick / "a1.fcb")
    back = export_bundle(office, stick / "o1.fcb", for_device=laptop.device_id)  # --for
    import_bundle(laptop, stick / "o1.fcb")
    return full, back


def test_a_changed_note_travels_alone(laptop_a, office, tmp_path):
    """After one changed note the next export to the stick holds that answer and its new
    events — not every event, checklist item and answer as a full export does."""
    stick = tmp_path / "stick"
    full, _back = _first_exchange(laptop_a, office, stick)
    _note(laptop_a, "只改了这一条")
    before = _chain_length(laptop_a)
    delta = export_bundle(laptop_a, stick / "2.fcb")
    assert delta.delta_for and delta.written and delta.counts.get("answer") == 1
    # of its checklist version only the row and the item answered (matched there by key)
    assert delta.counts.get("checklist_item", 0) <= 1 and delta.counts.get("checklist", 0) <= 1
    assert delta.files == 0  # its photo is there already
    assert 0 < delta.counts["audit_event"] <= before - full.counts["audit_event"]
    assert sum(_record_bytes(stick / "2.fcb").values()) * 20 < sum(_record_bytes(stick / "a1.fcb").values())
    report = import_bundle(office, stick / "2.fcb")
    assert report.total("conflict") == 0 and report.total("updated") == 1
    assert records(office) == records(laptop_a)
    again = import_bundle(office, stick / "2.fcb")
    assert again.changed_nothing


def test_a_delta_into_a_store_without_what_it_builds_on_is_refused(laptop_a, office, laptop_b,
                                                                   tmp_path, capsys):
    """A delta made for the office lands on laptop B, which never had the first bundle: it
    is refused with one line saying how to get everything (--all), B unchanged; the --all
    export then goes in."""
    stick = tmp_path / "stick"
    _first_exchange(laptop_a, office, stick)
    _note(laptop_a, "第二次")
    assert export_bundle(laptop_a, stick / "2.fcb").delta_for
    before = dump(laptop_b)
    with pytest.raises(BundleError) as err:
        import_bundle(laptop_b, stick / "2.fcb")
    assert "--all" in err.value.text()
    assert dump(laptop_b) == before
    code = main(["import", str(stick / "2.fcb"), "--data-dir", str(laptop_b.data_dir)])
    out, errtext = capsys.readouterr()
    assert code == 2 and errtext.startswith("错误：") and len(errtext.strip().splitlines()) == 1
    assert dump(laptop_b) == before
    everything = export_bundle(laptop_a, stick / "all.fcb", everything=True)
    assert everything.counts["inspection"] == 6
    assert import_bundle(laptop_b, stick / "all.fcb").total("conflict") == 0
    assert records(laptop_b) == records(laptop_a)


def test_the_bundle_back_says_what_the_office_holds(laptop_a, office, tmp_path):
    """The office's bundle back carries none of the laptop's own history, and tells the
    laptop what the office holds: a new inspection's next bundle carries no checklist
    version (it travelled once) and nothing the office already has."""
    stick = tmp_path / "stick"
    stick.mkdir()
    export_bundle(laptop_a, stick / "a1.fcb")
    import_bundle(office, stick / "a1.fcb")
    make_enterprise(office, credit_code=valid_credit_code("91430381MA4L66666"), name="办公室登记的企业")
    back = export_bundle(office, stick / "o1.fcb", for_device=laptop_a.device_id)
    assert back.delta_for and back.written and back.counts.get("inspection", 0) == 0
    column = _event_device_column(stick / "o1.fcb")
    assert {row[column] for row in _events(stick / "o1.fcb")} == {office.device_id}
    import_bundle(laptop_a, stick / "o1.fcb")
    nothing = export_bundle(laptop_a, stick / "a2.fcb")
    assert not nothing.written, nothing.counts  # the office holds all this laptop holds
    _note(laptop_a, "回来之后", days=2)
    small = export_bundle(laptop_a, stick / "a3.fcb")
    assert small.counts.get("answer") == 1 and small.counts.get("checklist_item", 0) <= 1
    import_bundle(office, stick / "a3.fcb")
    assert records(office) == records(laptop_a)


def _event_device_column(path) -> int:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("records/audit_event.json"))["columns"].index("device_id")


def test_a_destination_that_lost_its_data_gets_everything_again(laptop_a, office, tmp_path):
    """The office's data is lost; its next bundle back (signed by it) acknowledges nothing of
    laptop A's chain, so A's next export there is whole again — and goes in."""
    from sync.crypto import device_signing_key
    from tests.sync.test_hostile import read_entries, resigned, write_zip
    stick = tmp_path / "stick"
    full, _back = _first_exchange(laptop_a, office, stick)
    assert not export_bundle(laptop_a, stick / "a2.fcb").written
    make_enterprise(office, credit_code=valid_credit_code("91430381MA4L55555"), name="办公室后来登记的企业")
    export_bundle(office, stick / "o2.fcb")
    entries = read_entries(stick / "o2.fcb")

    def holds_nothing_of_a(manifest):
        manifest["holds"] = {d: p for d, p in manifest["holds"].items() if d != laptop_a.device_id}
        manifest["created_at"] = (DEMO_NOW + timedelta(days=30)).isoformat()
    write_zip(stick / "o3.fcb", resigned(entries, device_signing_key(office.data_dir),
                                         holds_nothing_of_a, heads_for=[]).items())
    import_bundle(laptop_a, stick / "o3.fcb")
    again = export_bundle(laptop_a, stick / "a3.fcb")
    assert again.counts["inspection"] == full.counts["inspection"] == 6
    assert import_bundle(office, stick / "a3.fcb").total("conflict") == 0
    assert records(office) == records(laptop_a)


def test_an_acknowledgement_that_does_not_match_this_chain_sends_more(laptop_a, office, tmp_path):
    """A remembered position whose hash is not this store's event there (a forged or stale
    acknowledgement) counts for nothing: the chain goes whole."""
    stick = tmp_path / "stick"
    _first_exchange(laptop_a, office, stick)
    assert not export_bundle(laptop_a, stick / "a2.fcb").written
    state_file = laptop_a.data_dir / STATE_FILE
    state = json.loads(state_file.read_text("utf-8"))
    for chain in state["devices"][office.device_id]["chains"].values():
        chain[1] = "0" * 64
    state_file.write_text(json.dumps(state), "utf-8")
    again = export_bundle(laptop_a, stick / "a2.fcb")
    assert again.written and again.counts["inspection"] == 6
    assert again.counts["audit_event"] == _chain_length(laptop_a)
    assert import_bundle(office, stick / "a2.fcb").total("conflict") == 0


def test_only_an_imported_bundle_acknowledges(laptop_a, office, stranger, tmp_path):
    """A bundle that is refused (a device not enrolled here) teaches this store nothing
    about what its sender holds."""
    stick = tmp_path / "stick"
    _first_exchange(laptop_a, office, stick)
    make_enterprise(stranger, credit_code=valid_credit_code("91430381MA4L44444"), name="陌生电脑的企业")
    export_bundle(stranger, stick / "x.fcb")
    state_file = laptop_a.data_dir / STATE_FILE
    before = state_file.read_bytes()
    with pytest.raises(BundleError):
        import_bundle(laptop_a, stick / "x.fcb")
    assert state_file.read_bytes() == before
    assert not export_bundle(laptop_a, stick / "a2.fcb").written


def test_tasks_and_results_go_back_and_forth_on_one_stick(laptop_a, office, tmp_path):
    """Office → laptop → office on one stick, each way a delta, every record equal after."""
    from tests.sync.test_plan_tasks import TODAY, _carry_out
    from models.plan_rules import create_plan, draw_round, open_tasks, plan_progress
    stick = tmp_path / "stick"
    stick.mkdir()
    export_bundle(laptop_a, stick / "a1.fcb")
    import_bundle(office, stick / "a1.fcb")
    with office.transaction(actor="办公室") as s:
        plan = create_plan(s, 2026, [])
        draw_round(s, plan.id, "20261120")
        plan_id = plan.id
    back = export_bundle(office, stick / "o1.fcb", for_device=laptop_a.device_id)
    assert back.counts.get("plan_task")
    assert import_bundle(laptop_a, stick / "o1.fcb").total("conflict") == 0
    with laptop_a.session() as s:
        tasks = open_tasks(s, TODAY)
    _carry_out(laptop_a, tasks[0])
    result = export_bundle(laptop_a, stick / "a2.fcb")
    assert result.counts["inspection"] == 1 and "plan_task" not in result.counts
    assert import_bundle(office, stick / "a2.fcb").total("conflict") == 0
    with office.session() as s:
        assert plan_progress(s, plan_id, TODAY)["total"]["done"] == 1
    assert records(office) == records(laptop_a)


def test_export_for_a_device_by_the_start_of_its_id(laptop_a, office, tmp_path, capsys):
    """At the office: `export --for` the laptop whose stick it is (its id's first 8
    characters); the laptop's bundles on that stick are deltas for the office from then on.
    A device this store does not know by that start is refused with one line, nothing written."""
    stick = tmp_path / "stick"
    stick.mkdir()
    export_bundle(laptop_a, stick / "a1.fcb")
    import_bundle(office, stick / "a1.fcb")
    o = str(office.data_dir)
    code = main(["export", "--out", str(stick / "x.fcb"), "--for", "ffffffff", "--data-dir", o])
    _out, err = capsys.readouterr()
    assert code == 2 and "找不到设备" in err and len(err.strip().splitlines()) == 1
    assert not (stick / "x.fcb").exists()
    code = main(["export", "--out", str(stick / "o1.fcb"), "--for", laptop_a.device_id[:8], "--data-dir", o])
    out, _err = capsys.readouterr()
    assert code == 0 and "增量导出" in out
    import_bundle(laptop_a, stick / "o1.fcb")
    _note(laptop_a, "为办公室")
    result = export_bundle(laptop_a, stick / "a2.fcb")
    assert result.delta_for == f"设备 {office.device_id[:8]}" and result.counts["answer"] == 1
    assert import_bundle(office, stick / "a2.fcb").total("updated") == 1


def test_a_deletion_alone_travels_as_a_delta(laptop_a, office, tmp_path):
    """A draft photo deleted after the exchange: the next delta carries the delete event and
    no photo; the office deletes it too, and keeps its chain intact."""
    from models.audit import verify_chain
    from tests.sync.test_deletions import _delete, _draft_photo, _has_photo
    stick = tmp_path / "stick"
    photo = _draft_photo(laptop_a)
    _first_exchange(laptop_a, office, stick)
    assert _has_photo(office, photo)
    _delete(laptop_a, photo)
    delta = export_bundle(laptop_a, stick / "a2.fcb")
    assert delta.delta_for and "photo" not in delta.counts and delta.files == 0
    report = import_bundle(office, stick / "a2.fcb")
    assert report.counts["deleted"] == {"photo": 1} and not _has_photo(office, photo)
    with office.session() as s:
        assert verify_chain(s).intact
    assert records(office) == records(laptop_a)


def test_a_bundle_asked_for_by_name_is_written_even_with_nothing_new(laptop_a, office, tmp_path):
    """`--for` a laptop that holds everything the office has: the bundle is still written —
    it carries what the office holds — and the laptop's next bundle there is a delta."""
    stick = tmp_path / "stick"
    _first_exchange(laptop_a, office, stick)
    assert not export_bundle(laptop_a, stick / "a2.fcb").written
    again = export_bundle(office, stick / "o2.fcb", for_device=laptop_a.device_id)
    assert again.written and "inspection" not in again.counts
    import_bundle(laptop_a, stick / "o2.fcb")
    _note(laptop_a, "再一次")
    assert export_bundle(laptop_a, stick / "a3.fcb").delta_for


def test_a_delta_whose_chain_does_not_continue_the_one_held_is_refused(laptop_a, office, tmp_path):
    """The laptop's own key re-signs a delta whose events, hashes recomputed, hang off an
    event the office never had (a rewritten history): refused as not continuing the chain
    held there, the office unchanged."""
    from models.audit import event_hash
    from sync.crypto import device_signing_key
    from tests.sync.test_hostile import read_entries, resigned, write_zip
    stick = tmp_path / "stick"
    _first_exchange(laptop_a, office, stick)
    _note(laptop_a, "改写之前")
    export_bundle(laptop_a, stick / "a2.fcb")
    entries = read_entries(stick / "a2.fcb")
    name = "records/audit_event.json"
    doc = json.loads(entries[name])
    col = {c: n for n, c in enumerate(doc["columns"])}
    keys = ("id", "device_id", "seq", "at", "actor", "action", "label", "entity_type",
            "entity_id", "before", "after")
    prev = "ab" * 32
    for row in sorted((r for r in doc["rows"] if r[col["device_id"]] == laptop_a.device_id),
                      key=lambda r: r[col["seq"]]):
        row[col["prev_hash"]] = prev
        row[col["hash"]] = prev = event_hash(prev, {k: row[col[k]] for k in keys})
    entries[name] = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    write_zip(stick / "forged.fcb", resigned(entries, device_signing_key(laptop_a.data_dir),
                                             heads_for=[laptop_a.device_id]).items())
    before = dump(office)
    with pytest.raises(BundleError) as err:
        import_bundle(office, stick / "forged.fcb")
    assert "不衔接" in err.value.text()
    assert dump(office) == before


def _firm_phone(store, enterprise_id, phone: str, days: int) -> None:
    from models.base import utcnow
    from models.enterprise_rules import EnterpriseInput, update_enterprise
    from models.register_queries import enterprise_input
    store.clock = Clock(utcnow() + timedelta(days=days))  # the demo register is stamped now
    with store.transaction() as s:
        data = enterprise_input(s, enterprise_id)
        update_enterprise(s, enterprise_id, EnterpriseInput(**{**data.__dict__, "phone": phone}))


@pytest.mark.parametrize("a_later", [True, False], ids=["A-edits-later", "B-edits-later"])
def test_two_laptops_editing_one_firm_converge_through_the_office_by_deltas(
        laptop_a, laptop_b, office, tmp_path, a_later):
    """Both laptops change the same firm's phone; A's delta reaches the office, which relays
    it to B by a delta before B's own change comes in. Whichever change is newer ends on all
    three; the older is kept in the audit trail, nothing refused or in conflict."""
    from models.registry import Enterprise
    stick = tmp_path / "stick"
    stick.mkdir()

    def carry(source, target, name):
        export_bundle(source, stick / name, for_device=target.device_id)
        return import_bundle(target, stick / name)
    carry(laptop_a, office, "a1.fcb")
    carry(office, laptop_b, "o-b1.fcb")
    carry(laptop_b, office, "b1.fcb")
    carry(office, laptop_a, "o-a1.fcb")
    with laptop_a.session() as s:
        firm = s.scalars(select(Enterprise.id).order_by(Enterprise.credit_code)).first()
    _firm_phone(laptop_a, firm, "13911110001", 4 if a_later else 2)
    _firm_phone(laptop_b, firm, "13922220002", 3)
    newer = "13911110001" if a_later else "13922220002"
    reports = [carry(laptop_a, office, "a2.fcb"), carry(office, laptop_b, "o-b2.fcb"),
               carry(laptop_b, office, "b2.fcb"), carry(office, laptop_a, "o-a2.fcb")]
    assert all(r.total("conflict") == 0 for r in reports)
    assert reports[1].total("updated") == (1 if a_later else 0)  # B takes A's only if newer
    for store in (office, laptop_a, laptop_b):
        with store.session() as s:
            assert s.get(Enterprise, firm).phone == newer
            trail = " ".join(s.scalars(select(AuditEvent.after).where(
                AuditEvent.entity_id == str(firm))).all())
        assert "13911110001" in trail and "13922220002" in trail
