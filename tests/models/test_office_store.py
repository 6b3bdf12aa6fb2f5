"""The office on PostgreSQL: one switch, a clear line when the server is not usable.

Runs with `--backend postgresql` (a throwaway server); the URL checks need no server.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from sqlalchemy import create_engine, text

import ui.app
from models.errors import StoreError
from models.startup import start_store
from models.store import MIGRATIONS_DIR, SCHEMA_HEAD, _alembic_config, server_url
from tests.conftest import make_enterprise

REPO = Path(__file__).resolve().parents[2]
DOWN = "postgresql+psycopg://postgres@/fieldcheck?host=/nonexistent-fieldcheck-socket&port=5999"


def cli(*args, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def one_chinese_line(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), run.stderr
    return lines[0]


def server_tables(url: str) -> set[str]:
    engine = create_engine(server_url(url))
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    finally:
        engine.dispose()


def test_a_url_that_is_not_postgresql_is_refused(tmp_path):
    with pytest.raises(StoreError, match="不是 PostgreSQL"):
        start_store(tmp_path / "d", "mysql://fc@localhost/fieldcheck")
    assert not (tmp_path / "d" / "fieldcheck.db").exists()


def test_plain_postgresql_url_gets_the_psycopg3_driver():
    assert server_url("postgresql://fc@/fieldcheck?host=/run/postgresql").drivername == "postgresql+psycopg"


def test_server_down_is_one_line_with_what_to_do(tmp_path):
    """A server that is not running: exit 2, one Chinese line naming the server and the fix;
    the data folder gets no SQLite file."""
    line = one_chinese_line(cli("status", "--database-url", DOWN, "--data-dir", str(tmp_path / "d")))
    assert "无法连接数据库服务器" in line and "nonexistent-fieldcheck-socket" in line
    assert "PostgreSQL 服务已启动" in line
    assert not (tmp_path / "d" / "fieldcheck.db").exists()


@pytest.mark.postgresql_only
@pytest.mark.parametrize("where", ["before", "after", "environment"])
def test_one_switch_puts_every_command_on_the_server(tmp_path, store_maker, where):
    """--database-url before or after the subcommand, or FIELDCHECK_DATABASE_URL: the records go
    to the server (schema made on an empty database), the files stay in the data folder."""
    url = store_maker.empty_database()
    folder = tmp_path / "office"
    args = {"before": ["--database-url", url, "demo", "--data-dir", str(folder)],
            "after": ["demo", "--data-dir", str(folder), "--database-url", url],
            "environment": ["demo", "--data-dir", str(folder)]}[where]
    run = cli(*args, env_extra={"FIELDCHECK_DATABASE_URL": url} if where == "environment" else None)
    assert run.returncode == 0, run.stderr
    assert not (folder / "fieldcheck.db").exists()
    assert any((folder / "photos").rglob("*.jpg"))
    assert {"enterprise", "inspection", "audit_event", "alembic_version"} <= server_tables(url)
    status = cli("status", "--json", "--data-dir", str(folder))  # the folder remembers its server
    assert status.returncode == 0, status.stderr
    summary = json.loads(status.stdout)
    assert summary["enterprises"] >= 5 and summary["photos"] > 0 and summary["audit_chain"]["intact"]
    assert not (folder / "fieldcheck.db").exists()


@pytest.mark.postgresql_only
def test_an_office_folder_is_not_opened_against_another_database(tmp_path, store_maker):
    """Photos and documents belong to one database: the folder of one is refused for another,
    and a laptop's folder is refused for the server."""
    first, second = store_maker.empty_database(), store_maker.empty_database()
    start_store(tmp_path / "office", first).close()
    line = one_chinese_line(cli("status", "--data-dir", str(tmp_path / "office"), "--database-url", second))
    assert "属于数据库" in line
    start_store(tmp_path / "laptop").close()
    line = one_chinese_line(cli("status", "--data-dir", str(tmp_path / "laptop"), "--database-url", second))
    assert "笔记本电脑的本机数据" in line


@pytest.mark.postgresql_only
def test_unknown_role_and_database_say_what_to_create(tmp_path, store_maker):
    url = store_maker.empty_database()
    no_role = str(server_url(url).set(username="no_such_clerk"))
    line = one_chinese_line(cli("status", "--database-url", no_role, "--data-dir", str(tmp_path / "a")))
    assert "没有该用户" in line and "createuser" in line
    no_db = str(server_url(url).set(database="no_such_database"))
    line = one_chinese_line(cli("status", "--database-url", no_db, "--data-dir", str(tmp_path / "b")))
    assert "没有该数据库" in line and "createdb" in line


def _migrate_to(url: str, revision: str) -> None:
    engine = create_engine(server_url(url))
    try:
        with engine.begin() as conn:
            cfg = _alembic_config(MIGRATIONS_DIR)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@pytest.mark.postgresql_only
def test_older_schema_is_refused_until_migrated(tmp_path, store_maker):
    """A server left at an older schema is not changed behind the clerks' backs: one line says
    to back up and run `migrate`; `migrate` upgrades it and the data is kept."""
    url = store_maker.empty_database()
    _migrate_to(url, "0003")
    folder = str(tmp_path / "office")
    line = one_chinese_line(cli("status", "--database-url", url, "--data-dir", folder))
    assert "旧版本（0003" in line and "migrate" in line and "备份" in line
    run = cli("migrate", "--database-url", url, "--data-dir", folder)
    assert run.returncode == 0, run.stderr
    store = start_store(folder, url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
    finally:
        store.close()


@pytest.mark.postgresql_only
def test_newer_schema_is_refused_and_left_alone(tmp_path, store):
    make_enterprise(store)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.close()
    line = one_chinese_line(cli("status", "--data-dir", str(store.data_dir)))
    assert "更新版本" in line
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9999_future"
        assert conn.execute(text("SELECT count(*) FROM enterprise")).scalar() == 1


@pytest.mark.postgresql_only
def test_failed_migration_leaves_the_server_as_it_was(tmp_path, store_maker):
    """PostgreSQL runs the whole upgrade in one transaction: a failure half-way keeps nothing."""
    from models.store import migrate_server, make_server_engine
    url = store_maker.empty_database()
    _migrate_to(url, "0003")
    scripts = tmp_path / "migrations"
    import shutil
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9901_broken.py").write_text(
        f'from alembic import op\nimport sqlalchemy as sa\nrevision = "9901"\n'
        f'down_revision = "{SCHEMA_HEAD}"\nbranch_labels = None\ndepends_on = None\n'
        'def upgrade():\n    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))\n'
        '    raise RuntimeError("boom in 9901")\n', encoding="utf-8")
    engine = make_server_engine(url)
    try:
        with pytest.raises(StoreError, match="boom in 9901"):
            migrate_server(engine, upgrade=True, script_location=scripts)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    finally:
        engine.dispose()
    assert "half_done" not in server_tables(url)


@pytest.mark.postgresql_only
def test_gui_opens_the_server_and_says_so_when_it_is_down(qtbot, tmp_path, store_maker, monkeypatch):
    boxes = []
    monkeypatch.setattr(ui.app.QMessageBox, "critical", lambda *a: boxes.append((a[1], a[2])))

    class Exit:
        code = None
        aboutToQuit = SimpleNamespace(connect=lambda _slot: None)

        def exit(self, code):
            self.code = code

        def quit(self):
            pass
    window = ui.app.MainWindow()
    qtbot.addWidget(window)
    app = Exit()
    monkeypatch.setenv(ui.app.EXIT_AFTER_READY, "1")
    monkeypatch.setattr(ui.app.QTimer, "singleShot", lambda *_a: None)
    ui.app.open_data(app, window, str(tmp_path / "office"), store_maker.empty_database())
    assert window.store is not None and window.store.backend == "postgresql"
    assert not (tmp_path / "office" / "fieldcheck.db").exists()
    window.store.close()
    window2 = ui.app.MainWindow()
    qtbot.addWidget(window2)
    ui.app.open_data(app, window2, str(tmp_path / "other"), DOWN)
    assert app.code == 2 and window2.store is None
    assert boxes and boxes[0][0] == "无法打开数据" and "无法连接数据库服务器" in boxes[0][1]
