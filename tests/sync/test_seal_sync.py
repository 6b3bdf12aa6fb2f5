"""Content seals travel with the chains: an office that imported a laptop's finalized
cases checks them like the laptop does, through the id mapping of register records."""
from __future__ import annotations

import json
import sqlite3

from sqlalchemy import select

import main
from documents.service import issue_case_documents
from models.demo import ENTERPRISES, demo_credit_code
from models.registry import Inspector
from models.tables import Inspection
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import make_enterprise, people_signing


def _status(capsys, store):
    code = main.main(["status", "--json", "--data-dir", str(store.data_dir)])
    return code, json.loads(capsys.readouterr().out)["audit_chain"]["problems"]


def test_seals_hold_at_the_office_and_after_a_relay(capsys, laptop_a, office, laptop_b, tmp_path):
    """The office already knows the enterprise and an inspector under its own ids: the
    sealed cases still check intact there and on a laptop fed by the office; an edit of
    the office's copy is reported."""
    name, *_ = ENTERPRISES[0]
    make_enterprise(office, name=name, credit_code=demo_credit_code(0))
    with office.transaction() as s:
        s.add(Inspector(name="张卫东", certificate_no="43038120001"))
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(
            Inspection.status == "finalized").order_by(Inspection.started_at)).first()
    issue_case_documents(laptop_a, finalized, people_signing(laptop_a, finalized))
    export_bundle(laptop_a, tmp_path / "a.fcb")
    report = import_bundle(office, tmp_path / "a.fcb")
    assert report.merged  # enterprise, inspector and checklists matched under office ids
    code, problems = _status(capsys, office)
    assert (code, problems) == (0, []), "\n".join(problems)
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    import_bundle(laptop_b, tmp_path / "o.fcb")
    code, problems = _status(capsys, laptop_b)
    assert (code, problems) == (0, []), "\n".join(problems)
    from sqlalchemy import update
    from models.inspection import Answer
    with office.engine.begin() as conn:  # a clerk's SQL, past the store's hooks (either backend)
        conn.execute(update(Answer.__table__).where(Answer.__table__.c.inspection_id == finalized)
                     .values(note="办公室改过"))
    code, problems = _status(capsys, office)
    assert code == 1 and problems and all("检查项结果" in p and "被改动" in p for p in problems)


def test_office_does_not_hand_out_demo_signed_documents(capsys, laptop_a, office, tmp_path):
    """Documents a demo laptop signed with demo keys reach a real office through a bundle:
    the office's `pdf` refuses them (exit 2) rather than pass them off as issued."""
    from documents.demo_signing import demo_signing_input
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(
            Inspection.status == "finalized").order_by(Inspection.started_at)).first()
    issue_case_documents(laptop_a, finalized, demo_signing_input(laptop_a, finalized))
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    code = main.main(["pdf", str(finalized), "--out", str(tmp_path / "out"),
                      "--data-dir", str(office.data_dir)])
    assert code == 2 and "演示签名" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_record_edited_on_the_laptop_is_refused_by_its_seal_at_the_office(laptop_a, office,
                                                                           tmp_path):
    """A finalized hazard rewritten in the laptop's file travels in a valid bundle; the seal
    that came in the same chains names it, and the office refuses the bundle whole (it used
    to take the record and report it only in its `status`)."""
    from sync.bundle_format import BundleError
    from tests.sync.conftest import dump
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(
            Inspection.status == "finalized").order_by(Inspection.started_at)).first()
    con = sqlite3.connect(laptop_a.db_path)
    con.execute("UPDATE hazard SET description = '轻微问题，已口头提醒' WHERE inspection_id = ?",
                (finalized.hex,))
    con.commit()
    con.close()
    export_bundle(laptop_a, tmp_path / "a.fcb")
    before = dump(office)
    try:
        import_bundle(office, tmp_path / "a.fcb")
    except BundleError as refused:
        assert "隐患" in refused.text() and "在定稿后被改动" in refused.text()
    else:
        raise AssertionError("the edited record was taken")
    assert dump(office) == before


def test_seals_hold_at_an_office_that_merged_many_laptops_checklists(capsys, laptop_a, office,
                                                                    tmp_path):
    """Every laptop keeps the checklists under its own ids, so at an office of 200 laptops
    each checklist item here stood for 200 others: a sealed answer still checks intact (its
    sealed id was the 71st the check tried, past the 64 it tries — a false alarm before)."""
    from models.audit import chain_head, make_event
    from models.base import utcnow
    from models.checklist import ChecklistItem
    from models.flush_hooks import audited_by_caller
    with office.session() as s:
        items = list(s.scalars(select(ChecklistItem.id)))
    with office.transaction() as s, audited_by_caller(s):
        seq, prev = chain_head(s, office.device_id)
        for laptop in range(70):  # earlier laptops' imports, their ids sorting first
            fake = {f"00000000-0000-4000-8000-{laptop:04d}{n:08d}": str(item)
                    for n, item in enumerate(items)}
            event = make_event(device_id=office.device_id, seq=seq + 1, prev_hash=prev, at=utcnow(),
                               actor="导入", action="import", label="import", entity_type="bundle",
                               entity_id=f"bundle-{laptop}", before={}, after={"id_map": fake})
            s.add(event)
            seq, prev = event.seq, event.hash
    export_bundle(laptop_a, tmp_path / "a.fcb")
    assert import_bundle(office, tmp_path / "a.fcb").merged
    code, problems = _status(capsys, office)
    assert (code, problems) == (0, []), "\n".join(problems[:5])
