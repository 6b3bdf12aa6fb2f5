"""Two laptops that used the same case numbers: two different inspections are never merged
into one; the bundle is refused with what to do, and the store is unchanged."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models.demo import build_demo
from models.paths import CASE_RANGE_FILE
from models.tables import Inspection
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.conftest import DEMO_NOW, dump


def test_enrolled_laptops_never_share_a_case_number(laptop_a, laptop_b, office, tmp_path):
    """#11 point 7: the same work on two enrolled laptops gets numbers from their own ranges:
    the office takes both."""
    build_demo(laptop_b, now=DEMO_NOW)  # same enterprises, other inspections, B's range
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    export_bundle(laptop_b, tmp_path / "b.fcb")
    import_bundle(office, tmp_path / "b.fcb")
    with office.session() as s:
        serials = sorted(s.scalars(select(Inspection.case_serial).where(
            Inspection.case_serial.is_not(None))))
    assert len(serials) == len(set(serials)) and serials[-1] >= 2001


def test_same_case_number_on_another_inspection_is_refused(laptop_a, laptop_b, office, tmp_path):
    """Laptop B recorded its own inspections under the numbers laptop A used too (before it
    was enrolled, by the old first-serial setting)."""
    (laptop_b.data_dir / CASE_RANGE_FILE).unlink()
    build_demo(laptop_b, now=DEMO_NOW)  # same enterprises and numbers, other inspections
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    export_bundle(laptop_b, tmp_path / "b.fcb")
    before = dump(office)
    with pytest.raises(BundleError) as caught:
        import_bundle(office, tmp_path / "b.fcb")
    assert re.search(r"检查编号 2026年第\d+号 与本机另一检查重复", caught.value.message)
    assert "本机文书起始编号" in caught.value.hint
    assert dump(office) == before
