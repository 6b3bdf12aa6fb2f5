"""Shared fixtures: a fresh store in tmp_path per test, a controllable clock, a team.

`--backend postgresql` puts the stores of the tests on a throwaway PostgreSQL server (see
tests/support/stores.py); tests marked `sqlite_only` (the laptop's file itself) then skip,
`postgresql_only` ones run only there.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from unittest import mock

# Before any QApplication exists (STYLE.md pattern 6).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keys at rest (sync.keystore): the tests take the unattended passphrase path, as CI does,
# and never touch the developer's own keyring.
os.environ.setdefault("FIELDCHECK_KEY_PASSPHRASE", "test-device-passphrase")
os.environ.setdefault("FIELDCHECK_NO_KEYRING", "1")

from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from models.enterprise_rules import EnterpriseInput, create_enterprise, credit_check_char  # noqa: E402
from models.inspection_rules import NewInspection, start_inspection  # noqa: E402
from models.registry import Inspector  # noqa: E402
from tests.support.stores import StoreMaker  # noqa: E402

T0 = datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc)  # 09:30 in Beijing


def _parse_shipped_checklists_once() -> None:
    """Every start_store parsed the four checklist files and hashed them again: more than half
    of the 0.035–0.05 s CPU a test's store took to copy, open and close (now 0.017–0.020 s).
    Here a start parses a given content once per test process (keyed by each file's name and
    bytes: an edited file is parsed anew) and stores the result as load_checklists does;
    tests/checklists call the loader itself, unchanged."""
    import models.startup
    from checklists import loader
    parsed: dict[tuple, list] = {}

    class Parsed:
        """A parsed spec with its content hash computed once (the spec is frozen)."""

        def __init__(self, spec):
            self._spec, self.content_hash = spec, spec.content_hash

        def __getattr__(self, name):
            return getattr(self._spec, name)

    def load_checklists(session, folder=loader.DATA_DIR):
        key = tuple((p.name, p.read_bytes()) for p in sorted(Path(folder).glob("*.toml")))
        if key not in parsed:
            parsed[key] = [Parsed(spec) for spec in loader.parse_folder(folder)]
        return loader.store_checklists(session, parsed[key])

    models.startup.load_checklists = load_checklists


_parse_shipped_checklists_once()


def valid_credit_code(body: str) -> str:
    """An 18-character code with a correct check character, from 17 characters."""
    assert len(body) == 17
    return body + credit_check_char(body)


class Clock:
    """A clock tests move by hand instead of sleeping."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def pytest_addoption(parser):
    parser.addoption("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                     help="stores on SQLite (the laptop, default) or on a throwaway PostgreSQL "
                          "server (the office)")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about the laptop's SQLite file itself")
    config.addinivalue_line("markers", "postgresql_only: needs the PostgreSQL server")


# The fixtures whose store is on the server under --backend postgresql.
SERVER_STORES = {"store", "office"}


def pytest_collection_modifyitems(config, items):
    backend = config.getoption("--backend")
    if backend == "postgresql":
        # A test with no store on the server runs exactly as in the SQLite pass: not twice.
        same = [i for i in items if not SERVER_STORES & set(i.fixturenames)
                and not i.get_closest_marker("postgresql_only")]
        if same:
            config.hook.pytest_deselected(items=same)
            items[:] = [i for i in items if i not in same]
    for item in items:
        if backend == "postgresql" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite only (the laptop's file)"))
        if backend == "sqlite" and item.get_closest_marker("postgresql_only"):
            item.add_marker(pytest.mark.skip(reason="needs --backend postgresql"))


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def store_maker(backend, tmp_path_factory):
    maker = StoreMaker(backend, tmp_path_factory.mktemp("store-templates"))
    yield maker
    maker.close()


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch, store_maker):
    """No test may touch the real user data folder or a real server; the test's databases on
    the throwaway server are dropped after it."""
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.delenv("FIELDCHECK_DATABASE_URL", raising=False)
    yield
    store_maker.end_test()


@pytest.fixture(autouse=True)
def _closed_widgets_deleted():
    """What the previous test closed is deleted before this one starts. pytest-qt closes a
    test's widgets and calls deleteLater(), which processEvents() never carries out: closed
    main windows piled up, and every QApplication.setStyleSheet (tests/ui/conftest.py) then
    re-polished all of them — seconds per test by the end of a UI module."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is not None and widgets.QApplication.instance() is not None:
        from PySide6.QtCore import QCoreApplication, QEvent
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    yield


@pytest.fixture(autouse=True)
def _agency_zone_default():
    """Each test starts on the default agency clock (Asia/Shanghai), whatever another set."""
    from models.local_time import use_agency_zone
    use_agency_zone(None)
    yield
    use_agency_zone(None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock, store_maker):
    s = store_maker.open(tmp_path / "data")
    s.clock = clock
    yield s
    s.close()


def make_team(store):
    """Two inspectors with certificate numbers, as ids."""
    with store.transaction() as s:
        people = [Inspector(name="张卫东", certificate_no="43038120001"),
                  Inspector(name="李晓红", certificate_no="43038120002")]
        s.add_all(people)
        s.flush()
        return [p.id for p in people]


@pytest.fixture
def team(store):
    """Two inspectors with certificate numbers, as ids."""
    return make_team(store)


def make_office(store) -> None:
    """Make `store` the office's: the agency's CA created in its data folder (`agency
    create`), as models.store_mode.is_office_store asks."""
    from sync import agency, crypto
    agency.create_agency(store.data_dir, "湘乡市应急管理局", "agency-passphrase-1", store.device_id,
                         crypto.public_key_text(crypto.device_signing_key(store.data_dir)))


@contextmanager
def office_check_taken_out():
    """The office's own functions (plans, draws, 在岗, 回避, 台账 …) run on a laptop's store,
    its office check (models.store_mode.require_office) taken out: what a stolen laptop's
    tampered FieldCheck writes, audited and signed as the laptop's (the attacks in
    tests/sync), or a screen test's set-up of what the office's bundle leaves on a laptop
    (that exchange itself: tests/sync/test_plan_tasks)."""
    with mock.patch("models.store_mode.session_is_office", return_value=True):
        yield


def make_enterprise(store, **overrides):
    data = dict(name="湘乡市测试木业有限公司", credit_code=valid_credit_code("91430381MA4L12345"),
                address="湘乡市工业园 1 号", legal_representative="陈建国",
                representative_post="总经理", phone="13907321234", has_dust=True)
    data.update(overrides)
    with store.transaction() as s:
        return create_enterprise(s, EnterpriseInput(**data)).id


@pytest.fixture
def enterprise_id(store):
    return make_enterprise(store)


def make_inspection(store, enterprise_id, team, clock):
    with store.transaction() as s:
        return start_inspection(s, NewInspection(enterprise_id, team, "木工车间", clock())).id


@pytest.fixture
def inspection_id(store, enterprise_id, team, clock):
    return make_inspection(store, enterprise_id, team, clock)


PEOPLE_PASSPHRASE = "签名口令-2026-测试"


def pad_stroke(seed: int) -> bytes:
    """A PNG like the signature pad makes (a stroke on transparent ground)."""
    import io

    from PIL import Image, ImageDraw
    img = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(20, 60), (120, 30 + seed * 7), (220, 90), (330, 50)],
                             fill=(20, 20, 80, 255), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _fill_remedy_bodies(store) -> None:
    """The reconsideration authority and court an office fills in at first run (issuing is
    refused without them); left as they are when a test set them, blank ones included."""
    from sqlalchemy import select
    from models.registry import AgencySettings
    with store.transaction() as s:
        settings = s.scalar(select(AgencySettings))
        if settings is None:
            s.add(AgencySettings(agency_name="湘乡市应急管理局", region_short="湘乡",
                                 reconsideration_government="湘乡市人民政府", court="湘乡市人民法院"))


def people_signing(store, inspection_id):
    """What a team gives at the signing step: each inspector's own key under a passphrase
    (made here on first use, as 设置 → 执法人员 does), strokes on the pad."""
    from documents.keys import create_inspector_identity, identity_exists
    from documents.service import SigningInput
    from models.inspection_rules import get_inspection
    with store.session() as s:
        inspection = get_inspection(s, inspection_id)
        people = [(m.inspector.id, m.inspector.name, m.inspector.certificate_no)
                  for m in inspection.team][:2]
        representative = inspection.enterprise.legal_representative
    for pid, name, cert in people:
        if not identity_exists(store.data_dir, pid):
            create_inspector_identity(store.data_dir, pid, name, cert, PEOPLE_PASSPHRASE,
                                      "湘乡市应急管理局")
    _fill_remedy_bodies(store)
    images = {f"inspector{n}": pad_stroke(n) for n in range(1, len(people) + 1)}
    images["representative"] = pad_stroke(9)
    return SigningInput(images=images, passphrases={pid: PEOPLE_PASSPHRASE for pid, *_ in people},
                        representative_name=representative)
