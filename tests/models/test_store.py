"""The local store: where it lives, how it is opened, migrated, checked and audited."""
from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import platformdirs
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from models.tables import Base
from models.audit import AuditEvent, verify_chain
from models.base import Record
from models.errors import FinalizedRecordError, StoreError
from models.inspection import Answer, AnswerResult
from models.inspection_rules import answer_item, inspection_items
from models.paths import resolve_data_dir
from models.registry import Enterprise
from models.startup import start_store
from models.store import MIGRATIONS_DIR, SCHEMA_HEAD, migrate
from tests.conftest import make_enterprise, valid_credit_code

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 120


# ---------------------------------------------------------------- helpers

def _head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _sql(db_path: Path, query: str, *params) -> list[tuple]:
    """Read the file directly, the way a support technician would."""
    con = sqlite3.connect(db_path)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def _rows(store, query: str, **params) -> list[tuple]:
    """Read through a connection of its own, behind the app's back, on either backend."""
    from sqlalchemy import text
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


def _tables(db_path: Path) -> set[str]:
    return {r[0] for r in _sql(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}


def _revision(db_path: Path) -> list[tuple]:
    return _sql(db_path, "SELECT version_num FROM alembic_version")


def _enterprise_names(db_path: Path) -> list[str]:
    return [r[0] for r in _sql(db_path, "SELECT name FROM enterprise ORDER BY name")]


def _run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8",
                          timeout=CLI_TIMEOUT)


def _migrations_with(tmp_path: Path, name: str, body: str) -> Path:
    """A copy of the real migrations plus one more revision following the newest."""
    copy = tmp_path / "migrations-copy"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "versions" / name).write_text(body.replace('"HEAD"', f'"{SCHEMA_HEAD}"'), encoding="utf-8")
    return copy


_BROKEN_REVISION = '''"""a migration that fails half-way"""
from alembic import op
import sqlalchemy as sa

revision = "9901"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO half_done (id) VALUES (1)")
    raise RuntimeError("boom in the middle of 9901")


def downgrade() -> None:
    op.drop_table("half_done")
'''

_GOOD_REVISION = '''"""add a table"""
from alembic import op
import sqlalchemy as sa

revision = "9901"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("extra_note", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("text", sa.Text(), nullable=False))


def downgrade() -> None:
    op.drop_table("extra_note")
'''


# ---------------------------------------------------------------- a fresh folder

@pytest.mark.sqlite_only
def test_fresh_folder_gets_database_at_current_schema(tmp_path):
    """Starting on an empty folder creates fieldcheck.db with every table, at the newest schema."""
    data_dir = tmp_path / "fresh"
    store = start_store(data_dir)
    try:
        assert store.db_path == data_dir.resolve() / "fieldcheck.db"
        assert store.db_path.is_file()
        assert _revision(store.db_path) == [(_head_revision(),)]
        assert set(Base.metadata.tables) <= _tables(store.db_path)
    finally:
        store.close()


@pytest.mark.sqlite_only
def test_every_connection_is_crash_safe(store):
    """Each connection uses WAL, FULL sync and enforced foreign keys, not just the first one."""
    with store.engine.connect() as first, store.engine.connect() as second:
        assert first.connection.dbapi_connection is not second.connection.dbapi_connection
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.sqlite_only
def test_foreign_keys_are_enforced(store):
    """A row pointing at a missing parent is refused by the database itself."""
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO checklist_item (id, checklist_id, position, code, area, question, "
                "how_to_check, legal_basis, major, major_clause, rectification, deadline_days, "
                "seed_refs, created_at, updated_at, device_id) VALUES ('a', 'no-such-checklist', "
                "1, 'X-01', 'x', 'q', 'h', 'l', 0, '', 'r', 1, '[]', '2026-01-01', '2026-01-01', 'd')")


# ---------------------------------------------------------------- which folder

def test_data_dir_option_beats_environment(tmp_path, monkeypatch):
    """An explicit --data-dir wins over FIELDCHECK_DATA_DIR."""
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "from-option") == (tmp_path / "from-option").resolve()
    assert (tmp_path / "from-option").is_dir()
    assert not (tmp_path / "from-env").exists()


def test_environment_beats_platform_default(tmp_path, monkeypatch):
    """FIELDCHECK_DATA_DIR wins over the user's platform data folder."""
    monkeypatch.setattr(platformdirs, "user_data_dir",
                        lambda appname=None, *a, **kw: str(tmp_path / "platform" / appname))
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", str(tmp_path / "from-env"))
    store = start_store()
    try:
        assert store.data_dir == (tmp_path / "from-env").resolve()
        assert (tmp_path / "from-env" / "fieldcheck.db").is_file()
    finally:
        store.close()
    assert not (tmp_path / "platform").exists()


def test_platform_default_is_used_when_nothing_is_given(tmp_path, monkeypatch):
    """With no option and no environment variable the data lives in the user's data folder."""
    monkeypatch.setattr(platformdirs, "user_data_dir",
                        lambda appname=None, *a, **kw: str(tmp_path / "platform" / appname))
    monkeypatch.delenv("FIELDCHECK_DATA_DIR", raising=False)
    assert resolve_data_dir() == (tmp_path / "platform" / "FieldCheck").resolve()
    assert (tmp_path / "platform" / "FieldCheck").is_dir()


def test_unusable_data_dir_is_explained(tmp_path):
    """A data folder that cannot be created gives a Chinese message naming --data-dir."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as err:
        resolve_data_dir(blocker / "data")
    assert "无法创建数据文件夹" in err.value.text() and "--data-dir" in err.value.text()


@pytest.mark.parametrize("order", ["before-command", "after-command"])
def test_cli_data_dir_works_before_or_after_the_command(tmp_path, order):
    """`--data-dir X` is honoured whether typed before or after `status`, over the env variable."""
    target = tmp_path / "cli-data"
    env_dir = tmp_path / "env-data"
    args = (["--data-dir", str(target), "status", "--json"] if order == "before-command"
            else ["status", "--json", "--data-dir", str(target)])
    result = _run_cli(*args, env_extra={"FIELDCHECK_DATA_DIR": str(env_dir)})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["data_dir"] == str(target.resolve())
    assert summary["audit_chain"]["intact"] is True
    assert (target / "fieldcheck.db").is_file()
    assert not env_dir.exists()


# ---------------------------------------------------------------- migrations

@pytest.mark.sqlite_only
def test_failed_migration_puts_the_database_back(store, enterprise_id, tmp_path):
    """A migration that dies half-way leaves the old data and schema, with a backup kept aside."""
    scripts = _migrations_with(tmp_path, "9901_broken.py", _BROKEN_REVISION)
    with pytest.raises(StoreError) as err:
        migrate(store.engine, store.db_path, script_location=scripts)
    text = err.value.text()
    assert "数据库升级失败" in text and "恢复" in text
    assert "boom in the middle of 9901" in text  # the cause, for technical support
    assert _revision(store.db_path) == [(SCHEMA_HEAD,)]
    assert "half_done" not in _tables(store.db_path)
    assert _enterprise_names(store.db_path) == ["湘乡市测试木业有限公司"]
    backups = list((store.data_dir / "backups").glob("*.db"))
    assert len(backups) == 1
    assert _enterprise_names(backups[0]) == ["湘乡市测试木业有限公司"]
    assert _sql(store.db_path, "PRAGMA integrity_check") == [("ok",)]

    # The store keeps working afterwards and reopens normally.
    with store.session() as s:
        assert s.get(Enterprise, enterprise_id).name == "湘乡市测试木业有限公司"
    make_enterprise(store, name="第二家企业", credit_code=valid_credit_code("91430381MA4L99999"))
    store.close()
    again = start_store(store.data_dir)
    try:
        with again.session() as s:
            assert len(s.scalars(select(Enterprise)).all()) == 2
            assert verify_chain(s).intact
    finally:
        again.close()


@pytest.mark.sqlite_only
def test_successful_migration_backs_up_first(store, enterprise_id, tmp_path):
    """Before a schema upgrade the old file is copied to backups/, and the data carries over."""
    scripts = _migrations_with(tmp_path, "9901_extra.py", _GOOD_REVISION)
    backup = migrate(store.engine, store.db_path, script_location=scripts)
    assert backup is not None and backup.parent == store.data_dir / "backups"
    assert backup.is_file()
    # The backup is the database as it was before the upgrade.
    assert _revision(backup) == [(SCHEMA_HEAD,)]
    assert "extra_note" not in _tables(backup)
    assert _enterprise_names(backup) == ["湘乡市测试木业有限公司"]
    # The live database is upgraded and still holds the data.
    assert _revision(store.db_path) == [("9901",)]
    assert "extra_note" in _tables(store.db_path)
    assert _enterprise_names(store.db_path) == ["湘乡市测试木业有限公司"]
    # Nothing left to do: no further backup.
    assert migrate(store.engine, store.db_path, script_location=scripts) is None
    assert len(list((store.data_dir / "backups").glob("*.db"))) == 1


@pytest.mark.sqlite_only
def test_database_from_newer_version_is_refused(store, enterprise_id):
    """A file stamped by a newer FieldCheck is not touched; the user is told to update."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    store.close()
    with pytest.raises(StoreError) as err:
        start_store(store.data_dir)
    assert "更新版本" in err.value.text()
    assert _revision(store.db_path) == [("9999_future",)]
    assert _enterprise_names(store.db_path) == ["湘乡市测试木业有限公司"]


# ---------------------------------------------------------------- damaged files

def _assert_damage_explained(err: StoreError) -> None:
    text = err.text()
    assert "损坏" in text
    assert "备份" in text and "技术支持" in text
    assert "Traceback" not in text and "\n" not in text


def test_garbage_file_is_refused_with_advice(tmp_path):
    """A file that is not a database at all gives advice, not a traceback, and is left as it was."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    garbage = random.Random(7).randbytes(8192)
    (data_dir / "fieldcheck.db").write_bytes(garbage)
    with pytest.raises(StoreError) as err:
        start_store(data_dir)
    _assert_damage_explained(err.value)
    assert (data_dir / "fieldcheck.db").read_bytes() == garbage


def _corrupt_middle_pages(tmp_path) -> Path:
    data_dir = tmp_path / "data"
    store = start_store(data_dir)
    make_enterprise(store)
    store.close()
    db = data_dir / "fieldcheck.db"
    raw = bytearray(db.read_bytes())
    assert len(raw) > 3 * 4096  # several pages, so the damage is in the middle
    raw[4096:8192] = random.Random(11).randbytes(4096)
    db.write_bytes(bytes(raw))
    return data_dir


def test_damaged_pages_are_refused_with_advice(tmp_path):
    """A database with a damaged page is refused at start with what to do next."""
    data_dir = _corrupt_middle_pages(tmp_path)
    with pytest.raises(StoreError) as err:
        start_store(data_dir)
    _assert_damage_explained(err.value)
    assert str(data_dir.resolve() / "fieldcheck.db") in err.value.text()


@pytest.mark.sqlite_only
def test_damage_message_names_the_latest_backup(tmp_path, store, enterprise_id):
    """When backups exist, the damage message points at the newest one."""
    scripts = _migrations_with(tmp_path, "9901_extra.py", _GOOD_REVISION)
    backup = migrate(store.engine, store.db_path, script_location=scripts)
    store.close()
    raw = bytearray(store.db_path.read_bytes())
    raw[4096:8192] = random.Random(3).randbytes(4096)
    store.db_path.write_bytes(bytes(raw))
    with pytest.raises(StoreError) as err:
        start_store(store.data_dir)
    assert str(backup) in err.value.text()


def test_cli_reports_damaged_database_in_one_line(tmp_path):
    """`main.py status` on a damaged file exits non-zero with a one-line Chinese error."""
    data_dir = _corrupt_middle_pages(tmp_path)
    result = _run_cli("status", "--json", "--data-dir", str(data_dir))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("错误")
    assert "损坏" in lines[0] and "备份" in lines[0]


# ---------------------------------------------------------------- device id and row stamps

def test_device_id_is_kept_across_restarts(tmp_path):
    """The installation keeps one device id for life; another folder gets its own."""
    first = start_store(tmp_path / "data")
    device = first.device_id
    first.close()
    second = start_store(tmp_path / "data")
    try:
        assert second.device_id == device
        assert str(uuid.UUID(device)) == device
        assert json.loads((tmp_path / "data" / "device.json").read_text("utf-8")) == {
            "device_id": device}
    finally:
        second.close()
    other = start_store(tmp_path / "other")
    try:
        assert other.device_id != device
    finally:
        other.close()


def test_every_row_carries_device_uuid_and_utc_times(store, inspection_id, clock):
    """Every stored row has a UUID key, this device's id and UTC-aware creation/update times."""
    with store.session() as s:
        item = inspection_items(s, inspection_id)[0]
    clock.advance(minutes=7)
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT, "灰尘堆积")
    clock.advance(minutes=3)
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, AnswerResult.COMPLIANT)

    record_classes = [m.class_ for m in Base.registry.mappers if issubclass(m.class_, Record)]
    seen_tables = set()
    with store.session() as s:
        for cls in record_classes:
            rows = s.scalars(select(cls)).all()
            if rows:
                seen_tables.add(cls.__tablename__)
            for row in rows:
                where = f"{cls.__tablename__} {row.id}"
                assert isinstance(row.id, uuid.UUID), where
                assert row.device_id == store.device_id, where
                for stamp in (row.created_at, row.updated_at):
                    assert stamp.utcoffset() == timedelta(0), where
                assert row.updated_at >= row.created_at, where
        answer = s.scalar(select(Answer).where(Answer.item_id == item.id))
        assert answer.created_at == clock() - timedelta(minutes=3)
        assert answer.updated_at == clock()
    assert {"enterprise", "inspector", "inspection", "answer", "hazard", "audit_event",
            "checklist", "checklist_item"} <= seen_tables
    # Stored as UUIDs (text in the SQLite file, uuid on PostgreSQL), readable by any tool.
    for table in ("enterprise", "answer", "audit_event"):
        for row_id, device in _rows(store, f"SELECT id, device_id FROM {table}"):
            uuid.UUID(str(row_id))
            assert device == store.device_id


# ---------------------------------------------------------------- the audit chain

def _do_some_work(store, inspection_id, clock) -> None:
    with store.session() as s:
        items = inspection_items(s, inspection_id)[:3]
    for result in (AnswerResult.COMPLIANT, AnswerResult.NONCOMPLIANT):
        for item in items:
            clock.advance(minutes=1)
            with store.transaction(actor="张卫东", label="answer_item") as s:
                answer_item(s, inspection_id, item.id, result)


def _chain(store):
    with store.session() as s:
        return verify_chain(s)


def _event_count(store) -> int:
    return _rows(store, "SELECT COUNT(*) FROM audit_event WHERE device_id = :d",
                 d=store.device_id)[0][0]


def test_chain_is_intact_after_normal_work(store, inspection_id, clock):
    """Ordinary work leaves an unbroken 执法全过程记录."""
    _do_some_work(store, inspection_id, clock)
    report = _chain(store)
    assert report.intact, report.problems
    assert report.events == _event_count(store) > 10
    assert report.devices == 1


def test_edited_event_is_reported(store, inspection_id, clock):
    """Changing what an event says, even with raw SQL, is named in the chain check."""
    _do_some_work(store, inspection_id, clock)
    seq = _event_count(store) // 2
    with store.engine.begin() as conn:
        changed = conn.execute(text(
            "UPDATE audit_event SET \"after\" = '{\"result\":\"compliant\"}' "
            "WHERE device_id = :d AND seq = :s"), {"d": store.device_id, "s": seq}).rowcount
    assert changed == 1
    report = _chain(store)
    assert not report.intact
    assert report.problems == [f"设备 {store.device_id} 第 {seq} 条记录内容被改动"]


def test_deleted_event_is_reported(store, inspection_id, clock):
    """Removing an event from the middle of the chain is named in the chain check."""
    _do_some_work(store, inspection_id, clock)
    total = _event_count(store)
    seq = total // 2
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE device_id = :d AND seq = :s"),
                     {"d": store.device_id, "s": seq})
    report = _chain(store)
    assert not report.intact
    assert report.events == total - 1
    assert f"设备 {store.device_id} 缺少第 {seq} 条记录（下一条为第 {seq + 1} 条）" in report.problems


def test_events_cannot_be_changed_through_the_app(store, inspection_id, clock):
    """Editing or deleting an audit event through the ORM is refused and nothing changes."""
    _do_some_work(store, inspection_id, clock)
    before = _rows(store, "SELECT * FROM audit_event ORDER BY seq")
    with pytest.raises(FinalizedRecordError) as err:
        with store.transaction() as s:
            event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).first()
            event.after = "{}"
    assert "执法全过程记录已定稿，不能修改" in err.value.text()
    with pytest.raises(FinalizedRecordError):
        with store.transaction() as s:
            s.delete(s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first())
    assert _rows(store, "SELECT * FROM audit_event ORDER BY seq") == before
    assert _chain(store).intact


def test_failed_transaction_leaves_no_trace(store, enterprise_id, clock):
    """A unit of work that fails stores neither its rows nor audit events for them."""
    events = _event_count(store)
    with pytest.raises(RuntimeError):
        with store.transaction() as s:
            s.get(Enterprise, enterprise_id).name = "改名中"
            s.flush()
            raise RuntimeError("power cut")
    assert _rows(store, "SELECT name FROM enterprise") == [("湘乡市测试木业有限公司",)]
    assert _event_count(store) == events
    assert _chain(store).intact


def test_mapped_tables_match_migration(store):
    """The migrated file has every column the code expects (no drift between models and migration)."""
    insp = sa_inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        stored = {c["name"] for c in insp.get_columns(table.name)}
        assert {c.name for c in table.columns} == stored, table.name


# ---------------------------------------------------------------- known product bugs (see report)

_SQL_FAILING_REVISION = '''"""a migration whose SQL fails"""
from alembic import op

revision = "9901"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO no_such_table (id) VALUES (1)")


def downgrade() -> None:
    pass
'''


@pytest.mark.sqlite_only
def test_migration_failure_message_is_one_line(store, enterprise_id, tmp_path):
    """A failed upgrade is reported on one line, fit for a message box or stderr."""
    scripts = _migrations_with(tmp_path, "9901_bad_sql.py", _SQL_FAILING_REVISION)
    with pytest.raises(StoreError) as err:
        migrate(store.engine, store.db_path, script_location=scripts)
    assert _enterprise_names(store.db_path) == ["湘乡市测试木业有限公司"]
    assert "\n" not in err.value.text()


def test_unrecognised_database_file_is_never_deleted(tmp_path):
    """A database file FieldCheck did not stamp is refused but kept, never deleted."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = data_dir / "fieldcheck.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE enterprise (name TEXT)")
    con.execute("INSERT INTO enterprise VALUES ('台账原件')")
    con.commit()
    con.close()
    with pytest.raises(StoreError):
        start_store(data_dir)
    assert db.exists()
    assert _enterprise_names(db) == ["台账原件"]


def test_schema_head_constant_matches_migrations():
    """The fast start-up check knows the newest migration (else upgrades would be skipped)."""
    from alembic.script import ScriptDirectory

    from models.store import MIGRATIONS_DIR, SCHEMA_HEAD, _alembic_config
    assert ScriptDirectory.from_config(_alembic_config(MIGRATIONS_DIR)).get_current_head() == SCHEMA_HEAD
