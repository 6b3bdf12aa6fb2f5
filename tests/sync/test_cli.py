"""The export, import, verify and office-key commands: output and exit codes."""
from __future__ import annotations

import json

from sqlalchemy import delete, func, select

from main import main
from models.audit import AuditEvent


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_verify_import_twice_and_status(laptop_a, office, tmp_path, capsys):
    """export → verify (0) → import → import again says “0 new, 0 updated” → chain intact."""
    bundle = str(tmp_path / "a.fcb")
    a, o = str(laptop_a.data_dir), str(office.data_dir)
    code, out, _ = run(capsys, "export", "--out", bundle, "--data-dir", a)
    assert code == 0 and "已导出到" in out
    code, out, _ = run(capsys, "verify", bundle, "--data-dir", o)
    assert code == 0 and "签名有效" in out
    code, out, _ = run(capsys, "import", bundle, "--json", "--data-dir", o)
    assert code == 0 and json.loads(out)["new"] > 0
    code, out, _ = run(capsys, "import", bundle, "--data-dir", o)
    assert code == 0 and "新增 0 条，更新 0 条" in out
    code, out, _ = run(capsys, "status", "--json", "--data-dir", o)
    assert code == 0 and json.loads(out)["audit_chain"]["intact"]


def test_verify_exits_1_on_a_damaged_bundle(laptop_a, office, tmp_path, capsys):
    """A bundle with one byte changed fails verify with exit code 1 and a Chinese reason."""
    bundle = tmp_path / "a.fcb"
    run(capsys, "export", "--out", str(bundle), "--data-dir", str(laptop_a.data_dir))
    data = bytearray(bundle.read_bytes())
    data[len(data) // 3] ^= 0xFF
    bundle.write_bytes(bytes(data))
    code, _, err = run(capsys, "verify", str(bundle), "--data-dir", str(office.data_dir))
    assert code == 1 and "导出包无法使用" in err


def test_import_of_a_broken_file_exits_2_with_one_chinese_line(office, tmp_path, capsys):
    """Importing a file that is no bundle prints one Chinese line and exits 2."""
    junk = tmp_path / "junk.fcb"
    junk.write_bytes(b"not a zip at all")
    code, _, err = run(capsys, "import", str(junk), "--data-dir", str(office.data_dir))
    assert code == 2 and err.startswith("错误：导出包无法使用")


def test_office_key_create_and_install_encrypt_later_exports(laptop_a, office, tmp_path, capsys):
    """office-key create at the office, install on the laptop: the next export is sealed."""
    public = str(tmp_path / "office.pub")
    assert run(capsys, "office-key", "create", "--out", public, "--data-dir", str(office.data_dir))[0] == 0
    assert run(capsys, "office-key", "install", public, "--data-dir", str(laptop_a.data_dir))[0] == 0
    code, out, _ = run(capsys, "export", "--out", str(tmp_path / "s.fcb"), "--data-dir",
                       str(laptop_a.data_dir))
    assert code == 0 and "加密" in out
    assert run(capsys, "import", str(tmp_path / "s.fcb"), "--data-dir", str(office.data_dir))[0] == 0


def test_status_detects_newest_events_cut_after_an_export(laptop_a, tmp_path, capsys):
    """Deleting the newest audit events leaves a chain that verifies by itself; status still
    says it is broken, from the position recorded at the last export, and exits 1."""
    a = str(laptop_a.data_dir)
    run(capsys, "export", "--out", str(tmp_path / "a.fcb"), "--data-dir", a)
    assert json.loads(run(capsys, "status", "--json", "--data-dir", a)[1])["audit_chain"]["intact"]
    with laptop_a.engine.begin() as conn:  # behind the app's back: the last three events go
        top = conn.scalar(select(func.max(AuditEvent.seq)).where(
            AuditEvent.device_id == laptop_a.device_id))
        conn.execute(delete(AuditEvent).where(AuditEvent.device_id == laptop_a.device_id,
                                              AuditEvent.seq > top - 3))
    code, out, _ = run(capsys, "status", "--json", "--data-dir", a)
    chain = json.loads(out)["audit_chain"]
    assert code == 1 and not chain["intact"]
    assert any(f"只到第 {top - 3} 条" in p and f"已有 {top} 条" in p for p in chain["problems"])
