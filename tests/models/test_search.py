"""Chinese search of enterprise names, addresses and hazard text, on both backends: FTS5
trigrams (SQLite) or pg_trgm (PostgreSQL) for three characters and more, LIKE below."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from models.inspection import AnswerResult
from models.inspection_rules import answer_item, finalize_inspection, inspection_items, update_hazard
from models.ledger import LedgerFilter, ledger_page
from models.register_queries import list_enterprises
from tests.conftest import make_enterprise, valid_credit_code


@pytest.fixture
def hazards(store, inspection_id, clock):
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    with store.transaction() as s:
        first = answer_item(s, inspection_id, items[0].id, AnswerResult.NONCOMPLIANT).hazard
        second = answer_item(s, inspection_id, items[1].id, AnswerResult.NONCOMPLIANT).hazard
        for item in items[2:]:
            answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)
        update_hazard(s, first.id, description="除尘器灰斗积尘未清理，泄爆片锈蚀")
        update_hazard(s, second.id, description="有限空间作业未审批")
        finalize_inspection(s, inspection_id)
    return first.id, second.id


def _found(store, clock, term) -> set:
    with store.session() as s:
        rows = ledger_page(s, LedgerFilter(search=term), clock().date(), limit=50)
    return {r.id for r in rows.rows}


def test_hazard_text_is_found_by_long_and_short_terms(store, clock, hazards):
    dust, space = hazards
    assert _found(store, clock, "泄爆片锈蚀") == {dust}
    assert _found(store, clock, "积尘") == {dust}          # two characters: LIKE fallback
    assert _found(store, clock, "审批") == {space}
    assert _found(store, clock, "有限空间作业") == {space}
    assert _found(store, clock, "不存在的隐患") == set()


def test_enterprise_name_and_address_are_found(store, clock, hazards):
    assert len(_found(store, clock, "测试木业")) == 2       # every hazard of the enterprise
    assert len(_found(store, clock, "工业园")) == 2         # its address
    other = make_enterprise(store, name="湘潭市华丰化工有限公司", address="雨湖区响塘乡 8 号",
                            credit_code=valid_credit_code("91430300MA4L77777"))
    with store.session() as s:
        assert [r.id for r in list_enterprises(s, "响塘乡")] == [other]
        assert [r.id for r in list_enterprises(s, "华丰")] == [other]


def test_search_follows_edits_and_renames(store, clock, hazards, enterprise_id):
    from models.enterprise_rules import EnterpriseInput, update_enterprise
    from models.register_queries import enterprise_input
    with store.transaction() as s:
        data = enterprise_input(s, enterprise_id)
        update_enterprise(s, enterprise_id, EnterpriseInput(**{**data.__dict__, "name": "湘乡市新名称有限公司"}))
    assert _found(store, clock, "测试木业") == set()
    assert len(_found(store, clock, "新名称有限")) == 2


def test_the_search_uses_an_index(store, backend, hazards):
    """The long term goes through the FTS5 table (SQLite) or a trigram index (PostgreSQL)."""
    with store.engine.connect() as conn:
        if backend == "sqlite":
            hits = conn.execute(text("SELECT count(*) FROM hazard_fts WHERE hazard_fts MATCH :q"),
                                {"q": '"泄爆片"'}).scalar()
            assert hits == 1
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(text(
                "EXPLAIN SELECT id FROM hazard WHERE description ILIKE '%泄爆片%'")).scalars())
            assert "ix_hazard_description_trgm" in plan


def test_long_terms_go_to_the_index_and_short_ones_to_like(store, backend):
    from sqlalchemy import select

    from models.inspection import Hazard
    from models.search import text_matches

    def sql(term):
        query = select(Hazard.id).where(text_matches("hazard", (Hazard.description,), term))
        return str(query.compile(dialect=store.engine.dialect))
    if backend == "sqlite":
        assert "hazard_fts MATCH" in sql("泄爆片") and "LIKE" not in sql("泄爆片")
        assert "hazard_fts" not in sql("积尘") and "LIKE" in sql("积尘")
    else:
        assert "ILIKE" in sql("泄爆片") and "ILIKE" in sql("积尘")
