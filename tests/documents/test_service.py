"""Issuing a case's documents: signed by both inspectors, stored, never overwritten."""
import json
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import select

import main
from tests.conftest import people_signing
from documents.service import document_file, issue_case_documents, issued_documents
from documents.signing import sha256_hex, verify_pdf
from models.documents import Document, DocumentKind, Signature
from models.errors import FieldCheckError, ValidationError
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from tests.documents import set_agency


@pytest.fixture
def finalized(store, inspection_id, clock):
    """A finalized inspection with one major and one general hazard."""
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    major = next(i for i in items if i.major)
    general = next(i for i in items if not i.major)
    for item in items:
        bad = item.id in (major.id, general.id)
        with store.transaction() as s:
            answer_item(s, inspection_id, item.id,
                        AnswerResult.NONCOMPLIANT if bad else AnswerResult.COMPLIANT)
    clock.advance(hours=2)
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)
    set_agency(store)
    return inspection_id


def _text(path):
    return "".join(page.extract_text() for page in PdfReader(path).pages).replace("\n", "")


def test_issue_signs_stores_and_records(store, finalized):
    """Record, order and measures are stored with their hash and both inspectors' signatures."""
    docs = issue_case_documents(store, finalized, people_signing(store, finalized))
    assert [d.kind for d in docs] == [DocumentKind.INSPECTION_RECORD,
                                      DocumentKind.RECTIFICATION_ORDER, DocumentKind.ONSITE_MEASURES]
    for doc in docs:
        data = document_file(store.data_dir, doc).read_bytes()
        assert sha256_hex(data) == doc.sha256
        report = verify_pdf(data)
        assert report.intact and [s.signer_name for s in report.signatures] == ["张卫东", "李晓红"]
    with store.session() as s:
        roles = s.scalars(select(Signature.role).where(Signature.document_id == docs[0].id)).all()
    assert sorted(roles) == ["inspector1", "inspector2", "representative"]


def test_issued_documents_are_never_regenerated_over(store, finalized):
    """Issuing twice is refused; a correction is a new document pointing at the old one."""
    first = issue_case_documents(store, finalized, people_signing(store, finalized))
    with pytest.raises(FieldCheckError, match="不能重新生成"):
        issue_case_documents(store, finalized, people_signing(store, finalized))
    second = issue_case_documents(store, finalized, people_signing(store, finalized),
                                  correction=True)
    assert {d.supersedes_id for d in second} == {d.id for d in first}
    with store.session() as s:
        assert {d.id for d in issued_documents(s, finalized)} == {d.id for d in second}
        assert len(s.scalars(select(Document)).all()) == 6
    with pytest.raises(FieldCheckError):  # the stored originals are immutable
        with store.transaction() as s:
            s.get(Document, first[0].id).number = "改号"


def test_refusal_needs_a_witness_and_prints(store, finalized):
    """拒绝签字 without a witness is refused; with one, the record says so."""
    sign = people_signing(store, finalized)
    sign.images.pop("representative")
    sign.refused = True
    with pytest.raises(ValidationError, match="见证人"):
        issue_case_documents(store, finalized, sign)
    sign.images["witness"] = sign.images["inspector1"]
    sign.witness_name = "王见证"
    sign.images["expert"] = sign.images["inspector2"]
    sign.expert_name = "赵专家"
    docs = issue_case_documents(store, finalized, sign)
    text = _text(document_file(store.data_dir, docs[0]))
    assert "拒绝签字" in text and "王见证" in text and "检查专家（签名）：" in text
    assert "赵专家" in text
    with store.session() as s:
        roles = s.scalars(select(Signature.role).where(Signature.document_id == docs[0].id)).all()
    assert sorted(roles) == ["expert", "inspector1", "inspector2", "representative", "witness"]


def test_cli_pdf_and_verify_on_demo(tmp_path, capsys):
    """pdf writes the demo's signed documents; verify exits 0, and 1 after one changed byte."""
    data = tmp_path / "demo"
    assert main.main(["demo", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    main.main(["inspections", "--json", "--data-dir", str(data)])
    rows = json.loads(capsys.readouterr().out)
    case = next(r for r in rows if r["major_hazards"])
    assert main.main(["pdf", case["id"], "--out", str(tmp_path / "out"), "--data-dir", str(data)]) == 0
    files = sorted((tmp_path / "out").glob("*.pdf"))
    assert len(files) == 3 and any("责令限期整改指令书" in f.name for f in files)
    capsys.readouterr()
    assert main.main(["verify", str(files[0]), "--data-dir", str(data)]) == 0
    assert "文件完整" in capsys.readouterr().out
    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 3] ^= 0x01
    files[0].write_bytes(bytes(raw))
    assert main.main(["verify", str(files[0]), "--data-dir", str(data)]) == 1


def test_cli_pdf_refuses_unsigned_real_case(store, finalized, capsys):
    """Outside the demo, documents come only from the signing step: a clear refusal."""
    store.close()
    code = main.main(["pdf", str(finalized), "--out", str(store.data_dir / "out"),
                      "--data-dir", str(store.data_dir)])
    assert code == 2 and "尚未签署" in capsys.readouterr().err
    assert main.main(["pdf", str(uuid.uuid4()), "--out", "x", "--data-dir", str(store.data_dir)]) == 2


def test_issuing_without_court_is_refused_before_anything_is_written(store, finalized):
    """A blank court (or reconsideration authority) refuses the issue, saying where to fill
    it in; no PDF, no signature image, no row is made."""
    set_agency(store, court="")
    with pytest.raises(FieldCheckError, match="设置 → 执法机关"):
        issue_case_documents(store, finalized, people_signing(store, finalized))
    assert not (store.data_dir / "documents").exists() and not (store.data_dir / "signatures").exists()
    with store.session() as s:
        assert s.scalars(select(Document)).all() == []


def test_a_wrong_passphrase_names_the_inspector(store, finalized):
    """Unlocking a key with the wrong passphrase says whose it was."""
    from documents.keys import create_inspector_identity
    from documents.service import unlock_signer
    from models.inspection_rules import get_inspection
    with store.session() as s:
        first = get_inspection(s, finalized).team[0].inspector
        pid, name = first.id, first.name
    create_inspector_identity(store.data_dir, pid, name, "1", "right-pass", "湘乡市应急管理局")
    with pytest.raises(FieldCheckError) as caught:
        unlock_signer(store.data_dir, pid, name, "wrong-pass")
    assert caught.value.message == f"{name} 的签名口令不正确"
    assert unlock_signer(store.data_dir, pid, name, "right-pass").signing_cert is not None
