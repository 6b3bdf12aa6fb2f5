"""The 2016 template's fixed text comes from resources/wording: a local variant edits a file."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from documents import layout, render_rectification_order, render_reinspection_opinion
from documents.content import (Agency, EnterpriseFacts, Officer, ReinspectedItem,
                               ReinspectionContent)
from tests.documents import collect, flat, pdf_fonts, pdf_text, set_agency, walk_and_finalize


@pytest.fixture
def local_wording(tmp_path, monkeypatch):
    """A copy of resources/ whose wording files the test may edit, used instead of the real one."""
    copy = tmp_path / "resources"
    shutil.copytree(layout.resources_dir() / "wording", copy / "wording")
    monkeypatch.setattr(layout, "resources_dir", lambda: copy)
    layout.wording.cache_clear()
    yield copy / "wording"
    layout.wording.cache_clear()


def test_local_variant_of_the_signature_label_is_a_wording_edit(store, clock, inspection_id,
                                                                local_wording):
    """An agency that prints 「安全生产监管行政执法人员（签名）：」 changes common.toml only."""
    common = local_wording / "common.toml"
    common.write_text(common.read_text("utf-8").replace(
        'officer_sign = "（应急管理）行政执法人员（签名）："',
        'officer_sign = "安全生产监管行政执法人员（签名）："'), "utf-8")
    set_agency(store)
    walk_and_finalize(store, clock, inspection_id, fail={"DUST-03"})
    text = flat(pdf_text(render_rectification_order(collect(store, inspection_id))))
    assert text.count("安全生产监管行政执法人员（签名）：") == 2
    assert "（应急管理）行政执法人员" not in text


def _ink(pdf: bytes) -> int:
    """Dark pixels on the first page rendered by pdftoppm."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path),
                        str(Path(folder) / "page")], check=True)
        image = Image.open(next(Path(folder).glob("page*.png"))).convert("L")
        return sum(image.point(lambda v: 1 if v < 128 else 0).histogram()[1:])


def test_name_outside_gb2312_is_printed_from_the_fallback_face(monkeypatch):
    """王赟's 赟 is not in the 宋体 face (GB 2312 only): it is drawn from WenQuanYi, not a gap."""
    rare = "赟" * 20
    content = ReinspectionContent(
        agency=Agency("湘乡市应急管理局", "湘乡", "", ""),
        enterprise=EnterpriseFacts("湘乡市王赟木业有限公司", "", "", "", "", ""),
        officers=(Officer("王赟", "43038120009"), Officer("李晓红", "43038120002")),
        case_year=2026, case_serial=1, order_date=date(2026, 11, 2), order_number="（湘乡）应急责改〔2026〕1号",
        items=(ReinspectedItem(rare, True),), reinspected_at=datetime(2026, 11, 20, 1, tzinfo=timezone.utc))
    pdf = render_reinspection_opinion(content)
    assert "王赟" in flat(pdf_text(pdf)) and all(emb == "yes" for _n, emb in pdf_fonts(pdf))
    monkeypatch.setattr(layout, "fallback_for", lambda _font: "")
    without = render_reinspection_opinion(content)
    # Twenty-odd 赟 drawn make visibly more ink than the body face's empty glyph.
    assert _ink(pdf) > _ink(without) + 20 * 15
