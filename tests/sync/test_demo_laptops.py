"""`demo --laptop N`: several laptops of one demo agency, whose bundles meet at the office."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import main
from models.demo import build_demo
from models.tables import Enterprise, Inspection, Inspector
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.conftest import DEMO_NOW


@pytest.fixture
def laptop_2(laptop_b):
    assert build_demo(laptop_b, now=DEMO_NOW, laptop=2)
    return laptop_b


def _register(store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(Enterprise.credit_code)))


def _certificates(store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(Inspector.certificate_no)))


def _cases(store) -> list[tuple[int, int]]:
    with store.session() as s:
        return [tuple(r) for r in s.execute(select(Inspection.case_year, Inspection.case_serial)
                                            .where(Inspection.case_serial.is_not(None)))]


def test_second_laptop_has_the_register_its_own_team_and_case_range(laptop_a, laptop_2):
    assert _register(laptop_2) == _register(laptop_a)
    assert not _certificates(laptop_2) & _certificates(laptop_a)
    assert _cases(laptop_2) and all(serial > 1000 for _y, serial in _cases(laptop_2))
    assert all(serial < 1000 for _y, serial in _cases(laptop_a))
    assert not build_demo(laptop_2, now=DEMO_NOW, laptop=2)  # twice: no change


def test_two_demo_laptops_import_into_one_office_without_a_clash(laptop_a, laptop_2, office, tmp_path):
    for n, laptop in enumerate((laptop_a, laptop_2), 1):
        export_bundle(laptop, tmp_path / f"{n}.fcb", everything=True, encrypt=False)
        report = import_bundle(office, tmp_path / f"{n}.fcb")
        assert report.total("conflict") == 0
    with office.session() as s:
        inspections = s.scalar(select(func.count(Inspection.id)))
    with laptop_a.session() as a, laptop_2.session() as b:
        expected = a.scalar(select(func.count(Inspection.id))) + b.scalar(select(func.count(Inspection.id)))
    assert inspections == expected
    assert _register(office) == _register(laptop_a)  # one register, not two
    cases = _cases(office)
    assert len(cases) == len(set(cases)) == len(_cases(laptop_a)) + len(_cases(laptop_2))


def test_cli_demo_laptop_option(tmp_path, capsys):
    assert main.main(["demo", "--laptop", "3", "--data-dir", str(tmp_path / "l3")]) == 0
    assert main.main(["demo", "--laptop", "0", "--data-dir", str(tmp_path / "l0")]) == 2
    assert "笔记本编号不对" in capsys.readouterr().err


def _office_register(store) -> tuple[int, list[str]]:
    from models.planning import InspectorAvoidance
    with store.session() as s:
        return (s.scalar(select(func.count(InspectorAvoidance.id))),
                list(s.scalars(select(Inspector.name).where(Inspector.available.is_(False)))))


def test_a_demo_laptop_leaves_回避_and_在岗_to_the_office(laptop_a, laptop_b, office, tmp_path):
    """回避 and 不在岗 are the office's to set: the demo laptop holds none (so its bundles are
    taken at the office); the demo made at the office holds them at once, and a laptop
    (B, enrolled) takes them with the office's bundle."""
    assert _office_register(laptop_a) == (0, [])
    assert build_demo(office, now=DEMO_NOW)
    assert _office_register(office) == (3, ["吴海燕"])
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    import_bundle(laptop_b, tmp_path / "o.fcb")
    assert _office_register(laptop_b) == (3, ["吴海燕"])


def test_agency_create_on_a_demo_folder_adds_the_offices_register(tmp_path, capsys, monkeypatch):
    """`demo` then `agency create` on the same folder (the README's way to try 执法计划):
    the new office registers the demo's 回避 and 不在岗 and says so; the folder's laptop
    demo alone had none."""
    from models.startup import start_store
    folder = tmp_path / "demo"
    assert main.main(["demo", "--data-dir", str(folder)]) == 0
    store = start_store(folder)
    try:
        assert _office_register(store) == (0, [])
    finally:
        store.close()
    monkeypatch.setenv("FIELDCHECK_AGENCY_PASSPHRASE", "agency-passphrase-1")
    assert main.main(["agency", "create", "--name", "湘乡市应急管理局", "--data-dir", str(folder)]) == 0
    assert "在岗与回避" in capsys.readouterr().out
    store = start_store(folder)
    try:
        assert _office_register(store) == (3, ["吴海燕"])
    finally:
        store.close()
