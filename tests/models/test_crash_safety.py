"""A process killed mid-inspection loses nothing it had acknowledged and leaves a sound file."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from models.audit import verify_chain
from models.inspection import Answer, AnswerResult, Hazard, HazardStatus
from models.startup import start_store

REPO_ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 60
RESULTS = [AnswerResult.COMPLIANT, AnswerResult.NONCOMPLIANT, AnswerResult.NOT_APPLICABLE]

# The child walks the inspection item by item, round after round, until it is killed;
# it says ACK only after the commit of that answer has returned.
CHILD = r'''
import sys
from datetime import datetime, timezone

from models.enterprise_rules import EnterpriseInput, create_enterprise, credit_check_char
from models.inspection import AnswerResult
from models.inspection_rules import NewInspection, answer_item, inspection_items, start_inspection
from models.registry import Inspector
from models.startup import start_store

RESULTS = [AnswerResult.COMPLIANT, AnswerResult.NONCOMPLIANT, AnswerResult.NOT_APPLICABLE]
store = start_store(sys.argv[1])
with store.transaction(actor="管理员", label="setup") as s:
    people = [Inspector(name="张卫东", certificate_no="43038120001"),
              Inspector(name="李晓红", certificate_no="43038120002")]
    s.add_all(people)
    s.flush()
    body = "91430381MA4L12345"
    enterprise = create_enterprise(s, EnterpriseInput(
        name="湘乡市测试木业有限公司", credit_code=body + credit_check_char(body),
        has_dust=True, has_ammonia=True, has_confined_space=True))
    inspection_id = start_inspection(s, NewInspection(
        enterprise.id, [p.id for p in people], "木工车间", datetime.now(timezone.utc))).id
with store.session() as s:
    items = [item.id for item in inspection_items(s, inspection_id)]
print("READY", inspection_id, " ".join(str(i) for i in items), flush=True)
rnd = 0
while True:
    rnd += 1
    for n, item_id in enumerate(items):
        with store.transaction(actor="张卫东、李晓红", label="answer_item") as s:
            answer_item(s, inspection_id, item_id, RESULTS[(n + rnd) % 3], f"第{rnd}遍")
        print("ACK", item_id, rnd, flush=True)
'''


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue, deadline: float, why: str) -> str | None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        pytest.fail(f"timed out waiting for {why}")
    try:
        return lines.get(timeout=remaining)
    except queue.Empty:
        pytest.fail(f"timed out waiting for {why}")


def _run_and_kill(data_dir: Path, kill_after: int, stderr_file) -> tuple[uuid.UUID, list, dict]:
    """Run the child, SIGKILL it after `kill_after` ACKs; return what it acknowledged."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir)], cwd=REPO_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=stderr_file, text=True, encoding="utf-8", bufsize=1,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + DEADLINE_S
    acked: dict[uuid.UUID, int] = {}
    order: list[uuid.UUID] = []
    inspection_id = None
    last_ack = None

    def take(line: str) -> None:
        nonlocal inspection_id, last_ack
        if not line.endswith("\n"):
            return  # cut off by the kill: not acknowledged
        word, *rest = line.split()
        if word == "READY":
            inspection_id = uuid.UUID(rest[0])
            order.extend(uuid.UUID(i) for i in rest[1:])
        elif word == "ACK":
            item_id, rnd = uuid.UUID(rest[0]), int(rest[1])
            assert acked.get(item_id, 0) < rnd, "answers acknowledged out of order"
            acked[item_id] = rnd
            last_ack = (item_id, rnd)

    try:
        count = 0
        while count < kill_after:
            line = _next_line(lines, deadline, f"ACK number {count + 1}")
            if line is None:
                stderr_file.seek(0)
                pytest.fail(f"child ended early (rc={proc.wait(5)}): {stderr_file.read()}")
            take(line)
            count += line.startswith("ACK")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=DEADLINE_S) == -signal.SIGKILL  # killed mid-loop, not finished
        # What the child printed before it died was acknowledged too: read it all.
        while (line := _next_line(lines, deadline, "the child's output to end")) is not None:
            take(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
    assert inspection_id is not None and order
    return inspection_id, order, {"acked": acked, "last": last_ack}


def _in_flight(order: list[uuid.UUID], last: tuple[uuid.UUID, int]) -> tuple[uuid.UUID, int]:
    """The answer the child was committing when it died (its commit may or may not have landed)."""
    item_id, rnd = last
    n = order.index(item_id) + 1
    return (order[n], rnd) if n < len(order) else (order[0], rnd + 1)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 9, 60])
def test_killed_process_keeps_every_acknowledged_answer(tmp_path, kill_after):
    """Pulling the plug mid-inspection keeps every answer that was saved, and the file stays sound."""
    data_dir = tmp_path / "data"
    with open(tmp_path / "child-stderr.txt", "w+", encoding="utf-8") as stderr_file:
        inspection_id, order, seen = _run_and_kill(data_dir, kill_after, stderr_file)
    acked, last = seen["acked"], seen["last"]
    assert len(acked) >= min(kill_after, len(order))
    # The process died without closing the database: recovery must come from the WAL.
    assert (data_dir / "fieldcheck.db-wal").exists()

    store = start_store(data_dir)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
        with store.session() as s:
            answers = {a.item_id: a for a in s.scalars(
                select(Answer).where(Answer.inspection_id == inspection_id))}
            hazards = {h.answer_id: h for h in s.scalars(select(Hazard))}
            report = verify_chain(s)
    finally:
        store.close()

    assert report.intact, report.problems
    flight_item, flight_round = _in_flight(order, last)
    for n, item_id in enumerate(order):
        answer = answers.get(item_id)
        stored_round = int(answer.note.removeprefix("第").removesuffix("遍")) if answer else 0
        allowed = {acked.get(item_id, 0)}
        if item_id == flight_item:
            allowed.add(flight_round)  # the commit in progress may have landed
        assert stored_round in allowed, f"item {n}: stored round {stored_round}, acked {allowed}"
        if answer is None:
            continue
        # Answer and hazard were written in one transaction: they always agree.
        assert answer.result == RESULTS[(n + stored_round) % 3]
        hazard = hazards.get(answer.id)
        if answer.result == AnswerResult.NONCOMPLIANT:
            assert hazard is not None and hazard.status == HazardStatus.OPEN
        else:
            assert hazard is None or hazard.status == HazardStatus.WITHDRAWN
