"""A process SIGKILLed half-way through writing a photo, issuing documents or importing a
bundle leaves pieces behind; the next start removes every one of them and nothing complete."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from models.leftovers import InstanceLock
from models.startup import start_store

REPO_ROOT = Path(__file__).resolve().parents[2]

# Does one half-done thing and blocks right before the step that would complete it, so the
# test can SIGKILL it there. argv: data folder, what, [bundle].
CHILD = r'''
import os, sys, time
from pathlib import Path

def block_here():
    print("BLOCKED", flush=True)
    time.sleep(600)

from models.startup import start_store
store = start_store(sys.argv[1])
what = sys.argv[2]
if what == "photo":  # the bytes are in the temporary file; fsync and rename never come
    from datetime import datetime
    from models.demo import demo_photo
    from models.photo_store import prepare_photo
    os.fsync = lambda fd: block_here()
    prepare_photo(store.photos_dir, demo_photo("KILL", datetime.now().astimezone()), "kill.jpg")
elif what == "documents":  # signed PDFs and signature images are written; the rows never come
    from documents.demo_signing import demo_signing_input
    from documents.service import issue_case_documents
    from models.inspection import Inspection, InspectionStatus
    from models.store import Store
    with store.session() as s:
        target = s.query(Inspection).filter_by(status=InspectionStatus.FINALIZED).first().id
    real = Store.transaction
    def transaction(self, actor=None, label=""):
        if label == "issue_documents":
            block_here()
        return real(self, actor, label)
    Store.transaction = transaction
    issue_case_documents(store, target, demo_signing_input(store, target), actor="x")
elif what == "import":  # every file is staged and checked; the merge never comes
    import sync.merge
    from sync.merge import import_bundle
    sync.merge.check_files = lambda *a: block_here()
    import_bundle(store, Path(sys.argv[3]), trust_new_device=sys.argv[4])
print("NOT BLOCKED", flush=True)
'''


def _files(folder: Path) -> dict[str, str]:
    """Every file except the database and the lock folder, by SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and not p.name.startswith("fieldcheck.db") and p.parent.name != "run"}


def _kill_while_blocked(folder: Path, what: str, *extra: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), what, *extra],
                             stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
    try:
        line = child.stdout.readline()
        assert line.strip() == "BLOCKED", line
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


@pytest.fixture(scope="module")
def demo_copy_source(tmp_path_factory) -> Path:
    from models.demo import build_demo
    folder = tmp_path_factory.mktemp("demo") / "data"
    store = start_store(folder)
    build_demo(store)
    store.close()
    return folder


@pytest.fixture
def demo_folder(demo_copy_source, tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(demo_copy_source, folder)
    return folder


def _document_rows(folder: Path) -> int:
    import sqlite3
    con = sqlite3.connect(folder / "fieldcheck.db")
    try:
        return con.execute("SELECT count(*) FROM document").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_killed_photo_write_leaves_nothing_after_the_next_start(demo_folder):
    """SIGKILL between writing a photo's bytes and renaming them: the `.tmp` file is gone
    after the next start; every complete photo is still there, unchanged."""
    before = _files(demo_folder)
    _kill_while_blocked(demo_folder, "photo")
    half = [p for p in demo_folder.rglob("*.tmp")]
    assert half, "the killed process left no temporary file: the test proves nothing"
    start_store(demo_folder).close()
    assert list(demo_folder.rglob("*.tmp")) == []
    assert _files(demo_folder) == before


@pytest.mark.slow
def test_killed_issuing_leaves_no_unrecorded_document(demo_folder):
    """SIGKILL after the signed PDFs and signature images are written but before their rows:
    the next start removes those files; documents issued before stay."""
    before = _files(demo_folder)
    _kill_while_blocked(demo_folder, "documents")
    new = set(_files(demo_folder)) - set(before)
    assert any(n.startswith("documents") for n in new) and any(n.startswith("signatures") for n in new)
    assert _document_rows(demo_folder) == 0
    start_store(demo_folder).close()
    after = _files(demo_folder)
    kept_new = set(after) - set(before)
    # the inspectors' keys stay (a demo store keeps its demo keys apart, models.store_mode)
    assert all(n.startswith(("keys", "demo_keys")) for n in kept_new), kept_new
    assert {k: after[k] for k in before} == before


@pytest.mark.slow
def test_issued_documents_survive_the_cleanup(demo_folder):
    """Documents with their rows (complete) are never removed by the start."""
    from documents.demo_signing import demo_signing_input
    from documents.service import document_file, issue_case_documents
    from models.inspection import Inspection, InspectionStatus
    store = start_store(demo_folder)
    with store.session() as s:
        target = s.query(Inspection).filter_by(status=InspectionStatus.FINALIZED).first().id
    docs = issue_case_documents(store, target, demo_signing_input(store, target))
    paths = [document_file(store.data_dir, d) for d in docs]
    store.close()
    before = _files(demo_folder)
    start_store(demo_folder).close()
    assert all(p.is_file() for p in paths) and _files(demo_folder) == before


@pytest.mark.slow
def test_killed_import_leaves_no_staging_folder(demo_folder, tmp_path):
    """SIGKILL while an import has every file staged: the next start empties the staging
    (not six hours later, at the next import); the receiving store is as it was."""
    from sync.export import export_bundle
    laptop = start_store(demo_folder)
    bundle = tmp_path / "a.fcb"
    export_bundle(laptop, bundle, everything=True)
    laptop.close()
    from sync.crypto import device_fingerprint
    fingerprint = device_fingerprint(demo_folder)  # compared by the clerk (sync.trust)
    office = tmp_path / "office"
    start_store(office).close()
    before = _files(office)
    _kill_while_blocked(office, "import", str(bundle), fingerprint)
    staged = list((office / "tmp").glob("import-*/*"))
    assert staged, "the killed import left no staged file: the test proves nothing"
    start_store(office).close()
    assert list((office / "tmp").iterdir()) == []
    assert _files(office) == before


def test_nothing_is_removed_while_another_process_has_the_folder(demo_folder):
    """Another live FieldCheck on the folder may be half-way: its pieces stay."""
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from models.leftovers import InstanceLock; "
         "lock = InstanceLock(sys.argv[1]); print('LOCKED', flush=True); time.sleep(600)",
         str(demo_folder)], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    try:
        assert other.stdout.readline().strip() == "LOCKED"
        busy = demo_folder / "photos" / f".x.jpg.{uuid.uuid4().hex}.tmp"
        busy.write_bytes(b"being written")
        start_store(demo_folder).close()
        assert busy.exists()
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
    time.sleep(0.05)
    start_store(demo_folder).close()  # that process is gone now: its piece goes
    assert not busy.exists()
    assert not [p for p in (demo_folder / "run").iterdir()]  # dead and own locks are gone


def test_own_lock_is_released_at_close(tmp_path):
    """A closed store leaves no lock behind; an open one holds exactly one."""
    store = start_store(tmp_path / "data")
    assert isinstance(store.instance_lock, InstanceLock)
    assert len(list((tmp_path / "data" / "run").iterdir())) == 1
    store.close()
    assert list((tmp_path / "data" / "run").iterdir()) == []
