"""Demo apart: demo keys, drawn signatures and the 演示 watermark only in a store that
`demo` marked at creation; a real store hands out only what people signed, byte for byte."""
import json
import sqlite3

import pytest

import main
from documents.demo_signing import demo_signing_input
from documents.service import document_file, issue_case_documents, issued_documents
from models.demo import demo_credit_code
from models.errors import FieldCheckError
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from tests.conftest import make_enterprise, people_signing
from tests.documents import set_agency


def _finalize(store, inspection_id):
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    for n, item in enumerate(items):
        with store.transaction() as s:
            answer_item(s, inspection_id, item.id,
                        AnswerResult.NONCOMPLIANT if n == 0 else AnswerResult.COMPLIANT)
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)
    set_agency(store)  # issuing needs the remedy bodies (settings_rules.check_ready_to_issue)
    return inspection_id


@pytest.fixture
def lookalike(store, team, clock):
    """A real store's finalized, unsigned inspection of a firm whose credit code happens to
    start like the demo's (the old heuristic took it for demo data)."""
    from models.inspection_rules import NewInspection, start_inspection
    firm = make_enterprise(store, name="湘乡市真实企业有限公司", credit_code=demo_credit_code(7))
    with store.transaction() as s:
        inspection = start_inspection(s, NewInspection(firm, team, "车间", clock())).id
    return _finalize(store, inspection)


def _run(capsys, *argv):
    code = main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(folder):
    """Every row of the database and every file name: the store as it stands."""
    con = sqlite3.connect(folder / "fieldcheck.db")
    rows = list(con.iterdump())
    con.close()
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if not p.name.endswith(("-wal", "-shm")))
    return rows, names


def test_pdf_of_an_unsigned_real_case_refuses_and_creates_no_keys(capsys, store, lookalike):
    """No demo signing for a real store, whatever its data looks like: exit 2, no key, no
    document (before: signed with new keys under passphrase `demo` and drawn squiggles)."""
    store.close()
    code, _, err = _run(capsys, "pdf", str(lookalike), "--out", str(store.data_dir / "out"),
                        "--data-dir", str(store.data_dir))
    assert code == 2 and "尚未签署" in err and len(err.strip().splitlines()) == 1
    assert not list(store.data_dir.glob("keys/*")) and not (store.data_dir / "demo_keys").exists()
    assert not (store.data_dir / "out").exists()
    assert "文书 0 份" in _run(capsys, "status", "--data-dir", str(store.data_dir))[1]


def test_demo_signing_is_refused_outside_a_demo_store(store, lookalike):
    """The demo's signers cannot be used on a real store's inspection, even from code."""
    with pytest.raises(FieldCheckError, match="不是演示数据"):
        demo_signing_input(store, lookalike)


def test_demo_on_a_store_with_records_refuses_and_changes_nothing(capsys, store, lookalike):
    """`demo` does not mark a real store: one Chinese line, exit 2, the store as it was."""
    store.close()
    before = _snapshot(store.data_dir)
    code, out, err = _run(capsys, "demo", "--data-dir", str(store.data_dir))
    assert code == 2 and not out and "已有正式数据" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(store.data_dir) == before


def test_real_store_hands_out_the_issued_files_byte_for_byte(capsys, store, lookalike, tmp_path):
    """What people signed leaves exactly as stored; a replaced stored file is refused."""
    docs = issue_case_documents(store, lookalike, people_signing(store, lookalike))
    store.close()
    code, out, _ = _run(capsys, "pdf", str(lookalike), "--out", str(tmp_path / "out"),
                        "--data-dir", str(store.data_dir))
    assert code == 0
    written = sorted((tmp_path / "out").glob("*.pdf"))
    stored = {document_file(store.data_dir, d).read_bytes() for d in docs}
    assert len(written) == len(docs) and {p.read_bytes() for p in written} == stored
    victim = document_file(store.data_dir, docs[0])
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    victim.write_bytes(bytes(raw))
    code, _, err = _run(capsys, "pdf", str(lookalike), "--out", str(tmp_path / "again"),
                        "--data-dir", str(store.data_dir))
    assert code == 2 and "与签发时不同" in err and not (tmp_path / "again").exists()


@pytest.fixture(scope="module")
def demo_pdfs(tmp_path_factory):
    """A demo store and the documents `pdf` wrote for its case with a major hazard."""
    folder = tmp_path_factory.mktemp("demo")
    assert main.main(["demo", "--data-dir", str(folder)]) == 0
    out = tmp_path_factory.mktemp("out")
    from models.reports import inspection_row, list_inspections
    from models.startup import start_store
    store = start_store(folder)
    with store.session() as s:
        case = next(inspection_row(*r) for r in list_inspections(s, limit=None)
                    if r[3] and r[0].is_finalized)
    store.close()
    assert main.main(["pdf", case["id"], "--out", str(out), "--data-dir", str(folder)]) == 0
    return folder, sorted(out.glob("*.pdf"))


def test_demo_documents_carry_the_watermark_and_verify_says_demo(capsys, demo_pdfs):
    """Every page of a demo document says 演示; verify names it 演示数据 and no known inspector."""
    from pypdf import PdfReader
    folder, files = demo_pdfs
    assert len(files) == 3
    for path in files:
        pages = PdfReader(path).pages
        assert len(pages) and all("演示数据 · 不是执法文书" in p.extract_text() for p in pages)
    capsys.readouterr()
    code, out, _ = _run(capsys, "verify", str(files[0]), "--data-dir", str(folder))
    assert code == 0 and "演示数据" in out.splitlines()[0]
    assert "本机已知执法人员" not in out
    assert not list(folder.glob("keys/*.p12"))  # demo keys never become anyone's key


def test_demo_runs_twice_without_change(capsys, demo_pdfs):
    """A demo store stays a demo store: `demo` again adds nothing and exits 0."""
    folder, _ = demo_pdfs
    before = _run(capsys, "status", "--json", "--data-dir", str(folder))[1]
    code, out, _ = _run(capsys, "demo", "--data-dir", str(folder))
    assert code == 0 and "已存在" in out
    assert json.loads(_run(capsys, "status", "--json", "--data-dir", str(folder))[1]) == json.loads(before)


def test_real_documents_have_no_watermark(store, lookalike):
    """A real store's documents carry no 演示 mark."""
    from pypdf import PdfReader
    docs = issue_case_documents(store, lookalike, people_signing(store, lookalike))
    with store.session() as s:
        assert len(issued_documents(s, lookalike)) == len(docs)
    for doc in docs:
        text = "".join(p.extract_text() for p in PdfReader(document_file(store.data_dir, doc)).pages)
        assert "演示" not in text
