"""Failures a user can cause, through the real command line: one Chinese line on stderr,
exit code 2, no traceback, the right cause, and the store exactly as it was."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import json
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli(*argv: str, data_dir: Path, wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, str(REPO / "main.py"), *argv, "--data-dir", str(data_dir)]
    return subprocess.run((wrap or []) + command, capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=180)


def one_chinese_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("错误："), err
    return lines[0]


def folder_bytes(folder: Path) -> dict[str, str]:
    """Every file under `folder` by its SHA-256: the store byte for byte."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "data"
    assert cli("demo", data_dir=folder).returncode == 0
    return folder


def _corrupt_deflated_member(source: Path, target: Path, prefix: str) -> str:
    """Flip bytes inside the compressed data of the first deflated entry under `prefix`."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith(prefix)
                    and i.compress_type == zipfile.ZIP_DEFLATED and i.compress_size > 64)
    offset = info.header_offset
    name_len = int.from_bytes(data[offset + 26:offset + 28], "little")
    extra_len = int.from_bytes(data[offset + 28:offset + 30], "little")
    start = offset + 30 + name_len + extra_len
    for k in range(5, 40):
        data[start + k] ^= 0x55
    target.write_bytes(bytes(data))
    return info.filename


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["records/", "manifest.json"])
def test_import_of_a_bundle_with_a_corrupt_member(prefix, demo_folder, tmp_path):
    """A bundle whose compressed member is damaged: one Chinese line naming the damage, exit 2,
    the receiving store unchanged byte for byte (was: a zlib.error traceback, exit 1)."""
    laptop = tmp_path / "laptop"
    shutil.copytree(demo_folder, laptop)
    bundle, bad = tmp_path / "a.fcb", tmp_path / "bad.fcb"
    assert cli("export", "--all", "--plain", "--out", str(bundle), data_dir=laptop).returncode == 0
    _corrupt_deflated_member(bundle, bad, prefix)
    office = tmp_path / "office"
    assert cli("status", data_dir=office).returncode == 0
    before = folder_bytes(office)
    # The clerk compared the laptop's fingerprint (sync.trust): the damage is what stops it.
    fingerprint = json.loads(cli("status", "--json", data_dir=laptop).stdout)["device_fingerprint"]
    result = cli("import", str(bad), "--trust-new-device", fingerprint, data_dir=office)
    line = one_chinese_line(result.stderr)
    assert result.returncode == 2 and "损坏" in line and "重新" in line
    assert folder_bytes(office) == before


@pytest.mark.slow
def test_demo_on_a_store_whose_inspector_holds_a_demo_certificate(tmp_path):
    """demo where an inspector already uses a demo certificate number: one line saying what
    and what to do, exit 2, store unchanged (was: an IntegrityError traceback)."""
    from models.demo import INSPECTORS
    from models.settings_rules import add_inspector
    from models.startup import start_store
    folder = tmp_path / "data"
    store = start_store(folder)
    with store.transaction() as s:
        add_inspector(s, "赵一", INSPECTORS[1][1])
    store.close()
    before = folder_bytes(folder)
    result = cli("demo", data_dir=folder)
    line = one_chinese_line(result.stderr)
    assert result.returncode == 2
    # A folder with records is never turned into a demo (models.store_mode); the line says
    # so and where to put the demo instead.
    assert "已有正式数据" in line and "--data-dir" in line
    assert folder_bytes(folder) == before


def _read_only_wrapper(folder: Path) -> list[str] | None:
    """A command prefix that runs with `folder` read-only, for root as for a normal user."""
    if os.name != "posix":
        return None
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return []
    if not shutil.which("unshare"):
        return None
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        return None
    # Root ignores permission bits: a read-only bind mount in a private mount namespace.
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh"]


@pytest.mark.slow
@pytest.mark.parametrize("command", [["status"], ["demo"]])
def test_read_only_data_folder_is_called_read_only(command, demo_folder, tmp_path):
    """A data folder on a read-only medium is reported as read-only with what to do, never as
    a damaged database."""
    folder = tmp_path / "data"
    shutil.copytree(demo_folder, folder)
    before = folder_bytes(folder)
    wrap = _read_only_wrapper(folder)
    if wrap is None:
        pytest.skip("no way to make a folder read-only here")
    try:
        result = cli(*command, data_dir=folder, wrap=wrap)
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    line = one_chinese_line(result.stderr)
    assert result.returncode == 2
    assert "只读" in line and "损坏" not in line and "--data-dir" in line
    assert folder_bytes(folder) == before


def test_status_files_names_a_damaged_or_missing_photo_and_its_case(demo_folder, tmp_path):
    """`status --files` hashes every photo file the records name: intact, it says so and
    exits 0; one damaged at its size (bit rot: no size check sees it) and one gone are each
    named with their case, and the exit code is 1 — what the export's read error and the
    damaged-photo refusal send the user to."""
    folder = tmp_path / "data"
    shutil.copytree(demo_folder, folder)
    fine = cli("status", "--files", data_dir=folder)
    assert fine.returncode == 0, fine.stderr
    photos = sorted(p for p in (folder / "photos").rglob("*") if p.is_file()
                    and len(p.stem) == 64)
    assert "照片文件" in fine.stdout and f"{len(photos)} 个" in fine.stdout and "完好" in fine.stdout
    damaged, gone = photos[0], photos[1]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    gone.unlink()
    before = folder_bytes(folder)
    bad = cli("status", "--files", data_dir=folder)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    lines = bad.stdout.splitlines()
    hit = [line for line in lines if damaged.stem[:12] in line]
    assert hit and "已损坏" in hit[0] and "检查" in hit[0], bad.stdout
    missing = [line for line in lines if gone.stem[:12] in line]
    assert missing and "缺少" in missing[0], bad.stdout
    as_json = json.loads(cli("status", "--files", "--json", data_dir=folder).stdout)
    assert as_json["photo_files"]["checked"] == len(photos)
    assert len(as_json["photo_files"]["problems"]) == 2
    assert folder_bytes(folder) == before   # looked at, nothing changed


def test_status_files_names_a_damaged_or_missing_signature_image(demo_folder, tmp_path):
    """The handwritten signatures of issued documents are evidence files too: `status
    --files` hashes each image a signature names, says how many are intact, and names a
    damaged or missing one with its document; exit code 1, nothing changed."""
    from documents.demo_signing import demo_signing_input
    from documents.service import issue_case_documents
    from models.startup import start_store
    from models.tables import Inspection, Signature
    from sqlalchemy import select
    folder = tmp_path / "data"
    shutil.copytree(demo_folder, folder)
    store = start_store(folder)
    try:
        with store.session() as s:
            finalized = s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                                  .order_by(Inspection.started_at)).first()
        issued = issue_case_documents(store, finalized, demo_signing_input(store, finalized))
        with store.session() as s:
            images = sorted({sig.image_sha256 for sig in s.scalars(select(Signature))
                             if sig.image_sha256})
    finally:
        store.close()
    assert images and issued
    fine = cli("status", "--files", data_dir=folder)
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert f"签名图像 {len(images)} 个均完好" in fine.stdout, fine.stdout
    damaged = folder / "signatures" / f"{images[0]}.png"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    if len(images) > 1:
        (folder / "signatures" / f"{images[1]}.png").unlink()
    before = folder_bytes(folder)
    bad = cli("status", "--files", data_dir=folder)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    hit = [line for line in bad.stdout.splitlines() if images[0][:12] in line]
    assert hit and "已损坏" in hit[0] and issued[0].number.split("〔")[0][:2] in bad.stdout, bad.stdout
    if len(images) > 1:
        gone = [line for line in bad.stdout.splitlines() if images[1][:12] in line]
        assert gone and "缺少" in gone[0], bad.stdout
    as_json = json.loads(cli("status", "--files", "--json", data_dir=folder).stdout)
    assert as_json["signature_images"]["checked"] == len(images)
    assert len(as_json["signature_images"]["problems"]) == min(len(images), 2)
    assert folder_bytes(folder) == before
