"""Private keys at rest: the device's signing key, the office's key, the agency's CA key.

Every private key in a data folder is stored encrypted (PKCS#8, PBES2/AES-256) in `keys/`
(a 0700 folder; files 0600). The secret that opens the device and office keys is either a
random one kept in the OS keyring (the `keyring` library, where a real backend exists) or
the *本机密钥口令* the user chose. Where no keyring backend is usable — keyring's `fail`
backend, an empty chainer, or `FIELDCHECK_NO_KEYRING=1` — the passphrase path is used.

Where the passphrase comes from, in order: the caller, the process's unlocked cache (the GUI
asks once per session: `unlock`), the environment variable `FIELDCHECK_KEY_PASSPHRASE` (for
scripts, CI and tests). Without one, `KeyLocked` is raised: the CLI then asks on the terminal,
the GUI shows a dialog. The agency's CA key always takes its own passphrase (≥ 10 characters;
`FIELDCHECK_AGENCY_PASSPHRASE` for scripts) — it signs for the whole agency.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from models.errors import FieldCheckError
from models.paths import atomic_write_bytes, read_json_dict, with_state_files_locked, write_json

KEYS_DIR = "keys"
PROTECTION_FILE = "keys/protection.json"  # key file → "keyring" | "passphrase"
ENV_PASSPHRASE = "FIELDCHECK_KEY_PASSPHRASE"
ENV_AGENCY_PASSPHRASE = "FIELDCHECK_AGENCY_PASSPHRASE"
ENV_NO_KEYRING = "FIELDCHECK_NO_KEYRING"
KEYRING_SERVICE = "FieldCheck"
MIN_KEY_PASSPHRASE = 8
MIN_AGENCY_PASSPHRASE = 10

_unlocked: dict[str, str] = {}  # data folder → the passphrase given this session


class KeyLocked(FieldCheckError):
    """A private key is protected by a passphrase that nobody has given yet."""

    def __init__(self, what: str = "本机密钥", env: str = ENV_PASSPHRASE) -> None:
        super().__init__(f"{what}受口令保护，需要输入口令",
                         f"请在提示时输入口令；脚本中可设置环境变量 {env}")
        self.env = env


# --------------------------------------------------------------------------- the keyring

def usable_keyring():
    """The OS keyring when a real backend exists, else None (keyring's fail backend, an
    empty chainer, or no keyring library at all)."""
    if os.environ.get(ENV_NO_KEYRING):
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 — a broken keyring installation is no keyring
        return None
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    if getattr(backend, "priority", 1) <= 0:
        return None
    return backend


def _keyring_user(data_dir: Path, name: str) -> str:
    folder = str(Path(data_dir).resolve())
    return f"{hashlib.sha256(folder.encode('utf-8')).hexdigest()[:16]}:{name}"


# --------------------------------------------------------------------------- passphrases

def unlock(data_dir: Path, passphrase: str) -> None:
    """Remember this session's passphrase for the data folder's keys (checked on use)."""
    _unlocked[str(Path(data_dir).resolve())] = passphrase


def forget(data_dir: Path) -> None:
    _unlocked.pop(str(Path(data_dir).resolve()), None)


def check_new_passphrase(passphrase: str | None, minimum: int = MIN_KEY_PASSPHRASE,
                         what: str = "本机密钥口令") -> str:
    if len(passphrase or "") < minimum:
        raise FieldCheckError(f"{what}至少需要 {minimum} 个字符",
                              "请设置一个只有管理人员知道的口令")
    return passphrase


def _passphrase(data_dir: Path, given: str | None) -> str | None:
    return (given or _unlocked.get(str(Path(data_dir).resolve()))
            or os.environ.get(ENV_PASSPHRASE) or None)


def secure_folder(data_dir: Path) -> Path:
    folder = Path(data_dir) / KEYS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(folder, 0o700)
    return folder


def write_private(target: Path, data: bytes) -> None:
    """A private file: 0600 from its first byte, in a 0700 folder."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(target.parent, 0o700)
        old = os.umask(0o077)
        try:
            atomic_write_bytes(target, data)
        finally:
            os.umask(old)
        os.chmod(target, 0o600)
    else:
        atomic_write_bytes(target, data)


# --------------------------------------------------------------------------- storing keys

def _protection(data_dir: Path) -> dict:
    return read_json_dict(Path(data_dir) / PROTECTION_FILE)


@with_state_files_locked
def _set_protection(data_dir: Path, name: str, how: str) -> None:
    state = _protection(data_dir)
    if state.get(name) != how:
        state[name] = how
        write_json(Path(data_dir) / PROTECTION_FILE, state)
        if os.name == "posix":
            os.chmod(Path(data_dir) / PROTECTION_FILE, 0o600)


def save_key(data_dir: Path, name: str, key, passphrase: str | None = None) -> None:
    """Store `key` encrypted as `keys/<name>`: under a keyring secret where a keyring is
    usable, else under the passphrase (given, unlocked or from the environment)."""
    secure_folder(data_dir)
    ring = usable_keyring()
    if ring is not None and passphrase is None:
        secret = secrets.token_urlsafe(32)
        ring.set_password(KEYRING_SERVICE, _keyring_user(data_dir, name), secret)
        how = "keyring"
    else:
        secret = _passphrase(data_dir, passphrase)
        if secret is None:
            raise KeyLocked()
        check_new_passphrase(secret)
        how = "passphrase"
    write_private(Path(data_dir) / KEYS_DIR / name, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret.encode("utf-8"))))
    _set_protection(data_dir, name, how)


def load_key(data_dir: Path, name: str, passphrase: str | None = None):
    """The key stored as `keys/<name>`, or None when there is none. A key left unencrypted
    by an earlier version is encrypted on the way (when a secret is at hand)."""
    path = Path(data_dir) / KEYS_DIR / name
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FieldCheckError(f"无法读取密钥文件 {path}（{exc.strerror or exc}）",
                              "请检查数据文件夹的权限") from exc
    if b"ENCRYPTED" not in pem:
        key = _load_pem(path, pem, None)
        try:
            save_key(data_dir, name, key, passphrase)
        except KeyLocked:
            pass  # stays as it was until a passphrase is given
        return key
    if _protection(data_dir).get(name) == "keyring":
        ring = usable_keyring()
        secret = ring.get_password(KEYRING_SERVICE, _keyring_user(data_dir, name)) if ring else None
        if secret is None:
            raise FieldCheckError(f"系统钥匙串中找不到密钥 {name} 的口令",
                                  "请在原用户账户下运行 FieldCheck，或从备份恢复")
    else:
        secret = _passphrase(data_dir, passphrase)
        if secret is None:
            raise KeyLocked()
    return _load_pem(path, pem, secret)


def _load_pem(path: Path, pem: bytes, secret: str | None):
    try:
        return serialization.load_pem_private_key(
            pem, password=secret.encode("utf-8") if secret is not None else None)
    except (TypeError, ValueError) as exc:
        if secret is not None and b"ENCRYPTED" in pem:
            raise FieldCheckError("本机密钥口令不正确", "请重新输入口令（区分大小写）") from exc
        raise FieldCheckError(f"密钥文件 {path} 已损坏", "请从备份恢复该文件") from exc


def change_passphrase(data_dir: Path, old: str, new: str) -> list[str]:
    """Re-encrypt every passphrase-protected key of the data folder under `new`; returns the
    key files changed. Refused (nothing changed) when `old` does not open them all."""
    check_new_passphrase(new)
    protection = _protection(data_dir)
    names = [n for n, how in sorted(protection.items()) if how == "passphrase"
             and (Path(data_dir) / KEYS_DIR / n).is_file()]
    if not names:
        raise FieldCheckError("本机密钥未使用口令保护（保存在系统钥匙串中），无需修改口令")
    keys = {n: load_key(data_dir, n, old) for n in names}  # every one opens, or nothing changes
    for name, key in keys.items():
        save_key(data_dir, name, key, new)
    unlock(data_dir, new)
    return names


def uses_passphrase(data_dir: Path) -> bool:
    return "passphrase" in _protection(data_dir).values()


# --------------------------------------------------------------------------- the agency's key

def agency_passphrase(given: str | None) -> str | None:
    return given or os.environ.get(ENV_AGENCY_PASSPHRASE) or None


def save_agency_key(data_dir: Path, name: str, key, passphrase: str) -> None:
    check_new_passphrase(passphrase, MIN_AGENCY_PASSPHRASE, "机构根证书口令")
    write_private(Path(data_dir) / KEYS_DIR / name, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))))


def load_agency_key(data_dir: Path, name: str, passphrase: str | None):
    path = Path(data_dir) / KEYS_DIR / name
    if not path.is_file():
        raise FieldCheckError("本机不是办公室（没有机构根证书私钥）",
                              "请在办公室电脑上执行该操作，或先运行 agency create")
    secret = agency_passphrase(passphrase)
    if secret is None:
        raise KeyLocked("机构根证书私钥", ENV_AGENCY_PASSPHRASE)
    try:
        return serialization.load_pem_private_key(path.read_bytes(), secret.encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise FieldCheckError("机构根证书口令不正确", "请重新输入口令（区分大小写）") from exc
