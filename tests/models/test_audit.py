"""执法全过程记录: every change is logged with who, what, when, before and after."""
import json

from sqlalchemy import select

from models.audit import AuditEvent, verify_chain
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, inspection_items


def test_answer_change_is_logged_with_before_and_after(store, inspection_id, clock):
    """Changing an answer leaves an event naming the actor and both values."""
    with store.session() as s:
        item = inspection_items(s, inspection_id)[0]
    with store.transaction(actor="张卫东、李晓红", label="answer_item") as s:
        answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)
    clock.advance(minutes=5)
    with store.transaction(actor="张卫东、李晓红", label="answer_item") as s:
        answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
    with store.session() as s:
        updates = s.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "answer", AuditEvent.action == "update")).all()
        assert len(updates) == 1
        event = updates[0]
        assert event.actor == "张卫东、李晓红" and event.label == "answer_item"
        assert json.loads(event.before)["result"] == "compliant"
        assert json.loads(event.after)["result"] == "noncompliant"
        assert event.at == clock()
        created = s.scalars(select(AuditEvent.entity_type).where(
            AuditEvent.action == "create", AuditEvent.at == clock())).all()
        assert "hazard" in created
        assert verify_chain(s).intact
