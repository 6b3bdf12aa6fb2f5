"""Chinese search of enterprise names, addresses and hazard text, on both backends: FTS5
trigrams (SQLite) or pg_trgm (PostgreSQL) for three characters and more, LIKE below."""
from __future__ import annotations

from datetime import timedelta

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
            for op in ("ILIKE", "LIKE"):
                plan = "\n".join(conn.execute(text(
                    f"EXPLAIN SELECT id FROM hazard WHERE description {op} '%泄爆片%'")).scalars())
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
    else:  # LIKE for a caseless term (the same rows, no lower() of every text), else ILIKE
        assert "LIKE" in sql("泄爆片") and "ILIKE" not in sql("泄爆片")
        assert "LIKE" in sql("积尘") and "ILIKE" not in sql("积尘")
        assert "ILIKE" in sql("PE管道")


@pytest.fixture
def many_hazards(store, inspection_id, clock):
    """Every item of the inspection failed, each hazard with the same words and its own
    deadline (item k: k days later)."""
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    ids = []
    with store.transaction() as s:
        for k, item in enumerate(items):
            hazard = answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT).hazard
            update_hazard(s, hazard.id, description=f"{'PE' if k == 0 else ''}第{k}处除尘管道积尘",
                          deadline=clock().date() + timedelta(days=10 + k))
            ids.append(hazard.id)
        finalize_inspection(s, inspection_id)
    return ids


def test_a_search_pages_through_every_hit_in_deadline_order(store, clock, many_hazards,
                                                            monkeypatch):
    """Past the search's counting limit the page walks the deadline order, below it the hits
    are sorted: either way the pages together are the whole ordered ledger of the term, and
    "more than" is said only where counting stopped."""
    import models.ledger as ledger
    from models.ledger import iter_ledger
    monkeypatch.setattr(ledger, "SEARCH_COUNT_CAP", 1)
    today = clock().date()
    with store.session() as s:
        expected = [r.id for r in iter_ledger(s, LedgerFilter(search="除尘管道积尘"), today)]
        assert len(expected) == len(many_hazards) >= 6
        seen, offset = [], 0
        while True:
            page = ledger_page(s, LedgerFilter(search="除尘管道积尘"), today, limit=2, offset=offset)
            seen += [r.id for r in page.rows]
            assert page.total_capped == (len(expected) > offset + 2 + 1)
            if not page.rows or offset + 2 >= page.total and not page.total_capped:
                break
            offset += 2
        assert seen == expected
        one = ledger_page(s, LedgerFilter(search="第3处除尘"), today, limit=2)
        assert [r.id for r in one.rows] == [many_hazards[3]] and one.total == 1
        assert not one.total_capped


def test_latin_letters_in_a_term_are_matched_in_either_case(store, clock, many_hazards):
    """A term with letters keeps ILIKE (a caseless term, Chinese or digits, takes LIKE)."""
    assert _found(store, clock, "pe第0处") == {many_hazards[0]}
    assert _found(store, clock, "PE第0处") == {many_hazards[0]}
    assert _found(store, clock, "第0处除尘") == {many_hazards[0]}


@pytest.fixture
def item_code_hazards(store, inspection_id, clock):
    """As many_hazards; the fifth hazard's item code also written in the text of the second
    and the seventh: a term that two arms of the search match (item code, hazard text).
    Returns the term and its hits in deadline order."""
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    code, ids = items[4].code, []
    with store.transaction() as s:
        for k, item in enumerate(items):
            hazard = answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT).hazard
            words = f"现场记录：同{code}项" if k in (1, 6) else f"第{k}处除尘管道积尘"
            update_hazard(s, hazard.id, description=words,
                          deadline=clock().date() + timedelta(days=10 + k))
            ids.append(hazard.id)
        finalize_inspection(s, inspection_id)
    assert sum(item.code.find(code) >= 0 for item in items) == 1
    return code, [ids[k] for k in (1, 4, 6)]


def test_a_search_past_its_count_pages_each_arm_and_merges_them(store, clock, item_code_hazards,
                                                                 monkeypatch):
    """Past the counting limit the page is the first hits of each arm (text, firm, item code),
    merged in deadline order: page by page, both ways, the whole ordered ledger of the term."""
    import models.ledger as ledger
    from models.ledger import iter_ledger
    term, expected = item_code_hazards
    monkeypatch.setattr(ledger, "SEARCH_COUNT_CAP", 0)
    today = clock().date()
    with store.session() as s:
        assert [r.id for r in iter_ledger(s, LedgerFilter(search=term), today)] == expected
        for descending, order in ((False, expected), (True, expected[::-1])):
            seen = []
            for offset in range(3):
                page = ledger_page(s, LedgerFilter(search=term), today, limit=1, offset=offset,
                                   descending=descending)
                assert page.total_capped == (offset < 2)  # counting stopped one past the page
                seen += [r.id for r in page.rows]
            assert seen == order


def test_an_item_arm_walks_its_own_index_in_deadline_order(store, backend, clock,
                                                           item_code_hazards, monkeypatch):
    """The arm of an item's code reads that item's hazards down ix_hazard_item_due, already in
    deadline order: not the whole deadline order of the ledger filtered by the search."""
    import models.ledger as ledger
    from sqlalchemy import event
    term, _ = item_code_hazards
    monkeypatch.setattr(ledger, "SEARCH_COUNT_CAP", 0)
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "UNION ALL" in statement:
            statements.append((statement, parameters))
    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.session() as s:
            ledger_page(s, LedgerFilter(search=term), clock().date(), limit=1)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(statements) == 1
    statement, parameters = statements[0]
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        if backend == "sqlite":
            plan = " ".join(str(r) for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
        else:
            with raw.cursor() as cur:
                cur.execute("SET enable_seqscan = off")
                cur.execute("EXPLAIN " + statement, parameters)
                plan = " ".join(r[0] for r in cur.fetchall())
    assert "ix_hazard_item_due" in plan
