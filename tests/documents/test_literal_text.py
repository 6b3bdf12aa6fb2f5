"""The PDFs show record text literally: a name or note written like markup is printed as typed."""
from pypdf import PdfReader

from documents.service import document_file, issue_case_documents
from models.inspection import AnswerResult
from models.inspection_rules import NewInspection, answer_item, finalize_inspection, inspection_items, start_inspection
from tests.conftest import make_enterprise, people_signing
from tests.documents import set_agency

HOSTILE = "<font size=30 color=red>A&B</font>有限公司"
NOTE = "<b>粗体</b>&amp;=1+2"


def test_documents_print_markup_like_text_as_typed(store, team, clock):
    """Enterprise name and the hazard's note appear character for character in the record
    and the order."""
    firm = make_enterprise(store, name=HOSTILE)
    with store.transaction() as s:
        inspection = start_inspection(s, NewInspection(firm, team, "车间", clock())).id
    with store.session() as s:
        items = inspection_items(s, inspection)
    for n, item in enumerate(items):
        with store.transaction() as s:
            answer_item(s, inspection, item.id,
                        AnswerResult.NONCOMPLIANT if n == 0 else AnswerResult.COMPLIANT,
                        NOTE if n == 0 else None)
    with store.transaction() as s:
        finalize_inspection(s, inspection)
    set_agency(store)
    docs = issue_case_documents(store, inspection, people_signing(store, inspection))
    for doc in docs[:2]:
        text = "".join(p.extract_text() for p in PdfReader(document_file(store.data_dir, doc)).pages)
        flat = "".join(text.split())
        assert "".join(HOSTILE.split()) in flat
    record = "".join("".join(p.extract_text() for p in PdfReader(
        document_file(store.data_dir, docs[0])).pages).split())
    assert NOTE in record
