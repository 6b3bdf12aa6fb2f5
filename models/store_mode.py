"""Demo data is a mode of the store, never a guess from the data: marked once, at creation.

`python main.py demo` marks an empty data folder as a demo store (`demo_store.json`) before
writing anything; only such a store has demo keys, drawn demo signatures and the 演示
watermark. The mark lives beside the database, not in it, so no bundle can carry it into
another store, and a real store is never turned into a demo one: `demo` refuses a folder
that already holds records of its own.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.errors import FieldCheckError, ValidationError
from models.inspection import Inspection
from models.paths import AGENCY_CA_KEY_FILE, read_json_dict, write_json
from models.registry import AgencySettings, Enterprise, Inspector

DEMO_FILE = "demo_store.json"
# What a user enters; checklists are loaded into every store at start and do not count.
_USER_TABLES = (AgencySettings, Inspector, Enterprise, Inspection)


def is_office_store(data_dir: Path | None, backend: str | None = None) -> bool:
    """The office is the store that holds the agency CA's key (`agency create`) or runs on
    the office's PostgreSQL (laptops are always SQLite); what only the office does (交办,
    plans, draws) asks here. `backend`: the dialect name, when the caller knows it."""
    return backend == "postgresql" or (
        data_dir is not None and (Path(data_dir) / AGENCY_CA_KEY_FILE).is_file())


def session_is_office(session: Session) -> bool:
    return is_office_store(session.info.get("data_dir"), session.get_bind().dialect.name)


def require_office(session: Session, message: str, hint: str) -> None:
    """Refuse on a laptop what only the office records: the rows it alone makes
    (`TablePolicy.office_writes_only`: 交办, 回避, plan rules, plans, draws, tasks) and the
    fields of shared rows it alone sets (`TablePolicy.office_fields`: 在岗, 台账/通报). The
    office takes no laptop's value of them (sync.authority): written here, it would only
    show the laptop's user something the office never hears of."""
    if not session_is_office(session):
        raise ValidationError(message, hint=hint)


OFFICE_RECORD_HINT = "请在办公室的电脑上办理，本机随下次同步收到；本机的记录未改动"


def refuse_office_write_here(session: Session, table_policy, fields: frozenset[str]) -> None:
    """The flush's check (models.flush_hooks) for any write through the models, whichever
    code makes it: on a laptop, what only the office records (models.record_policy
    .office_only_fields) is refused as require_office refuses it — signed here, it would make
    the office refuse this laptop's whole next bundle."""
    what = table_policy.label if not fields else \
        f"{table_policy.label}的{table_policy.office_fields_label or '这些信息'}"
    require_office(session, f"{what}只能由办公室登记，本机只能查看", OFFICE_RECORD_HINT)


def is_demo_store(data_dir: Path | None) -> bool:
    return data_dir is not None and read_json_dict(Path(data_dir) / DEMO_FILE).get("demo") is True


def _holds_records(session: Session) -> bool:
    return any(session.scalar(select(func.count()).select_from(model)) for model in _USER_TABLES)


def begin_demo(session: Session, data_dir: Path) -> None:
    """Mark an empty store as a demo store (a demo store stays one); refuse any other."""
    if is_demo_store(data_dir):
        return
    if _holds_records(session):
        raise FieldCheckError(f"数据文件夹 {data_dir} 中已有正式数据，不能写入演示数据",
                              "请用 --data-dir 指定一个新的空文件夹来查看演示")
    write_json(Path(data_dir) / DEMO_FILE, {"demo": True, "marked_at": utcnow().isoformat()})
