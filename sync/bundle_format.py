"""What a bundle is: entry names, limits, the manifest, canonical JSON and the column codec.

Shared by export, verify and import so the three can never disagree on the format.
"""
from __future__ import annotations

import enum
import json
import operator
import re
import shutil
import time
import uuid
from datetime import date, datetime, timezone
from operator import attrgetter, methodcaller
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy import types as sqltypes

from models.base import UTCDateTime
from models.documents import SIGNATURE_IMAGE_SUFFIX
from models.errors import FieldCheckError
from models.record_policy import Merge, policy

FORMAT_NAME = "fieldcheck-bundle"
BUNDLE_VERSION = 3           # this program writes version 3 (2 + what the sender holds, deltas)
OLDEST_READ_VERSION = 2      # and reads 2 on (chain heads, certificates): a 2 acknowledges nothing
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
RECORDS_PREFIX = "records/"
FILES_PREFIX = "files/"
PHOTOS_PREFIX = "files/photos/"
DOCUMENTS_PREFIX = "files/documents/"
SIGNATURE_IMAGES_PREFIX = "files/signatures/"
# Folders of the data folder that hold the files a bundle carries.
DOCUMENTS_DIR = "documents"

# Limits against hostile or broken bundles (checked before anything is decompressed).
MAX_ENTRIES = 200_000
MAX_TOTAL_BYTES = 32 * 1024**3          # everything uncompressed
MAX_ENTRY_BYTES = 2 * 1024**3           # one file
MAX_JSON_BYTES = 512 * 1024**2          # one records file or the manifest
MAX_RATIO = 100                         # uncompressed / compressed, for entries over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024

_SHA = r"[0-9a-f]{64}"
_SAFE_NAME = r"[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff._〔〕（）()-]{0,199}"
ENTRY_PATTERNS = (
    re.compile(r"records/[a-z_][a-z0-9_]{0,62}\.json"),
    re.compile(rf"files/photos/[0-9a-f]{{2}}/{_SHA}\.[a-z0-9]{{1,8}}"),
    re.compile(rf"files/documents/{_SAFE_NAME}"),
    # A signature image only as documents.service names it: another extension beside the
    # .png was kept, and an export listing it first carried it in place of the image.
    re.compile(rf"files/signatures/{_SHA}{re.escape(SIGNATURE_IMAGE_SUFFIX)}"),
)
_SAFE_FILE_NAME = re.compile(_SAFE_NAME)


# Leftovers of an import or export that never ended (the laptop died, the stick was pulled):
# ours by name, and old enough that no FieldCheck still running can be using them.
STALE_AFTER_SECONDS = 6 * 3600
LEFTOVER_PATTERNS = (re.compile(r"import-[0-9a-f]{32}"), re.compile(r"fc-bundle-\w+"),
                     re.compile(r"[0-9a-f-]{36}\.zip"), re.compile(r"\..+\.[0-9a-f]{32}\.partial"))


def remove_leftovers(folder: Path, now: float | None = None) -> list[str]:
    """Delete our stale staging folders and partial files in `folder`; their names."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not any(p.fullmatch(entry.name) for p in LEFTOVER_PATTERNS):
            continue
        try:
            if now - entry.lstat().st_mtime < STALE_AFTER_SECONDS or entry.is_symlink():
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # a leftover that cannot go now can go next time
        removed.append(entry.name)
    return removed


class BundleError(FieldCheckError):
    """A bundle that cannot be written, read or trusted; the store is unchanged."""


def refuse(reason: str, hint: str = "请向导出方重新索取导出包（U盘文件可能已损坏或被改动）") -> BundleError:
    return BundleError(f"导出包无法使用：{reason}", hint)


def canonical_json(data) -> bytes:
    """One byte sequence per value: sorted keys, no spaces, UTF-8 (what is hashed and signed)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def is_safe_file_name(name: str) -> bool:
    """A document file name fit to live directly under a folder (no path, no tricks)."""
    return bool(_SAFE_FILE_NAME.fullmatch(name)) and ".." not in name


def document_entry(file_name: str) -> str | None:
    """The bundle entry of a Document's file. `file_name` is relative to the data folder
    ("documents/<name>", as documents.service writes it; a bare name is read the same way);
    None when it is not a plain file directly in that folder."""
    prefix = DOCUMENTS_DIR + "/"
    name = file_name[len(prefix):] if file_name.startswith(prefix) else file_name
    return DOCUMENTS_PREFIX + name if is_safe_file_name(name) else None


def exported_tables(metadata) -> list[Table]:
    """Every table a bundle carries, parents before children (foreign-key order): all but
    those declared local only (this laptop's own settings are no other laptop's business)."""
    return [t for t in metadata.sorted_tables if policy(t).merge is not Merge.LOCAL_ONLY]


# --------------------------------------------------------------------------- column codec

def encode_value(column, value):
    """A column's Python value as JSON: UUID → str, datetime → ISO UTC, enum → its value."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def decode_value(column, raw):
    """The JSON value back to what the column holds; ValueError when it cannot be."""
    return column_decoder(column)(raw)


def column_decoder(column):
    """A checking decoder for one column (the type is looked at once, not per value)."""
    convert = _converter(column)
    nullable, name = column.nullable, column.name

    def decode(raw):
        if raw is None:
            if not nullable:
                raise ValueError(f"字段 {name} 不能为空")
            return None
        return convert(raw)
    return decode


_NONE = type(None)


def decode_column(column, raws: list) -> list:
    """A whole column of a records file decoded at once. The usual case — every value of
    the right JSON type — runs through C-level map(); anything else goes value by value
    through column_decoder, which names the problem (same result, same messages)."""
    fast = _batch_converter(column)
    if fast is not None:
        json_type, convert = fast
        allowed = {json_type, _NONE} if column.nullable else {json_type}
        if set(map(type, raws)) <= allowed:
            try:
                return convert(raws)
            except ValueError:
                pass  # the per-value pass below says which value and why
    decode = column_decoder(column)
    return [decode(raw) for raw in raws]


def _skip_none(convert):
    def run(raws: list) -> list:
        if None not in raws:
            return convert(raws)
        out = [None] * len(raws)
        present = [n for n, raw in enumerate(raws) if raw is not None]
        for n, value in zip(present, convert([raws[n] for n in present])):
            out[n] = value
        return out
    return run


def _batch_converter(column):
    """(the JSON type every value must have, a list → list converter) or None."""
    kind = column.type
    if isinstance(kind, sqltypes.Enum):
        return None
    if isinstance(kind, sqltypes.Uuid):
        return str, _skip_none(lambda raws: list(map(uuid.UUID, raws)))
    if isinstance(kind, (UTCDateTime, sqltypes.DateTime)):
        def times(raws: list) -> list:
            moments = list(map(datetime.fromisoformat, raws))
            if None in set(map(_tzinfo, moments)):
                raise ValueError("a time without zone")
            return list(map(_to_utc, moments))
        return str, _skip_none(times)
    if isinstance(kind, (sqltypes.Date, sqltypes.Float)):
        return None
    if isinstance(kind, sqltypes.Boolean):
        return bool, list
    if isinstance(kind, sqltypes.Integer):
        return int, list
    length = getattr(kind, "length", None)

    def texts(raws: list) -> list:
        if length and max(map(len, filter(None, raws)), default=0) > length:
            raise ValueError("too long")
        return list(raws)
    return str, texts


# C-level callables for map(): a Python function per value was a third of the decoding.
_tzinfo = attrgetter("tzinfo")
_to_utc = methodcaller("astimezone", timezone.utc)


def _converter(column):
    kind = column.type
    if isinstance(kind, sqltypes.Enum):
        return kind.enum_class if kind.enum_class else (lambda raw: _text(column, raw))
    if isinstance(kind, sqltypes.Uuid):
        return lambda raw: uuid.UUID(_text(column, raw))
    if isinstance(kind, (UTCDateTime, sqltypes.DateTime)):
        return lambda raw: _aware(column, datetime.fromisoformat(_text(column, raw)))
    if isinstance(kind, sqltypes.Date):
        return lambda raw: date.fromisoformat(_text(column, raw))
    if isinstance(kind, sqltypes.Boolean):
        return lambda raw: _typed(column, raw, (bool,), "真假值")
    if isinstance(kind, sqltypes.Integer):
        return lambda raw: _typed(column, raw, (int,), "整数")
    if isinstance(kind, sqltypes.Float):
        return lambda raw: float(_typed(column, raw, (int, float), "数字"))
    return lambda raw: _text(column, raw)


def _aware(column, moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"字段 {column.name} 的时间缺少时区")
    return moment.astimezone(timezone.utc)


def _typed(column, raw, types: tuple, what: str):
    if not isinstance(raw, types) or (bool not in types and isinstance(raw, bool)):
        raise ValueError(f"字段 {column.name} 应为{what}")
    return raw


def _text(column, raw) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"字段 {column.name} 应为文字")
    length = getattr(column.type, "length", None)
    if length and len(raw) > length:
        raise ValueError(f"字段 {column.name} 超过 {length} 个字符")
    return raw


def _iso_utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def column_encoder(column):
    """A fast encoder for one column (the type is looked at once, not per value)."""
    kind = column.type
    if isinstance(kind, sqltypes.Enum):
        return lambda v: None if v is None else getattr(v, "value", v)
    if isinstance(kind, sqltypes.Uuid):
        return lambda v: None if v is None else str(v)
    if isinstance(kind, (UTCDateTime, sqltypes.DateTime)):
        return lambda v: None if v is None else _iso_utc(v)
    if isinstance(kind, sqltypes.Date):
        return lambda v: None if v is None else v.isoformat()
    return lambda v: v


def encode_row(table: Table, row, encoders: list | None = None) -> list:
    encoders = encoders or [column_encoder(c) for c in table.columns]
    return [enc(row[c.name]) for enc, c in zip(encoders, table.columns)]


def encode_rows(table: Table, rows) -> list[list]:
    """encode_row for every row, column by column (C-level loops: a large export's records
    took longer than its photos)."""
    rows = list(rows)
    if not rows:
        return []
    columns = []
    for column in table.columns:
        values = list(map(operator.itemgetter(column.name), rows))
        columns.append(_encode_column(column, values))
    return list(map(list, zip(*columns)))


def _encode_column(column, values: list) -> list:
    kind = column.type
    if isinstance(kind, sqltypes.Enum):
        encode = column_encoder(column)
        return [encode(v) for v in values]
    if isinstance(kind, (sqltypes.Uuid, UTCDateTime, sqltypes.DateTime, sqltypes.Date)):
        convert = (str if isinstance(kind, sqltypes.Uuid) else
                   _iso_utc if isinstance(kind, (UTCDateTime, sqltypes.DateTime)) else date.isoformat)
        if None not in values:
            return list(map(convert, values))
        return [None if v is None else convert(v) for v in values]
    return values


# An export of everything reads the UUID and UTC-time columns as the driver returns them
# (`fetched_raw`) and writes them as text directly: the round trip through Python objects
# and back was most of a large export's record time. SQLite's text forms (what SQLAlchemy
# stores: a UUID's 32 hex digits, a naive UTC time) are rewritten as text; anything else
# (another form, another database's objects) goes through the column's own processing and
# _encode_column. The result is the same JSON either way.
_UUID_HEX = re.compile(r"[0-9a-f]{32}")
_NAIVE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


def fetched_raw(column) -> bool:
    """Whether an export of everything reads this column without its own processing."""
    return isinstance(column.type, (sqltypes.Uuid, UTCDateTime))


def _dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def _iso_text(naive: str) -> str:  # "2026-12-01 14:30:00.000000" → what isoformat() gives
    micro = "" if naive.endswith(".000000") else naive[19:]
    return f"{naive[:10]}T{naive[11:19]}{micro}+00:00"


def encode_fetched(column, dialect, values: list) -> list:
    """A column's values as the driver returned them (fetched_raw columns unprocessed) →
    what encode_rows gives for the same values read the usual way."""
    if fetched_raw(column):
        present = [v for v in values if v is not None]
        form, rewrite = ((_UUID_HEX, _dashed) if isinstance(column.type, sqltypes.Uuid)
                         else (_NAIVE_TIME, _iso_text))
        if set(map(type, present)) <= {str} and all(map(form.fullmatch, present)):
            return [None if v is None else rewrite(v) for v in values]
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            values = [process(v) for v in values]
    return _encode_column(column, values)


def row_key(row: dict, exclude: frozenset[str] = frozenset()) -> bytes:
    """A row's content as bytes, for deciding whether two versions differ."""
    return canonical_json({k: encode_value(None, v) for k, v in row.items() if k not in exclude})
