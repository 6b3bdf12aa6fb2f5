"""Keys of sync: the device's Ed25519 signing key and the office's X25519 encryption key.

Signing: each data folder has `keys/device-ed25519.pem` (made on first export, encrypted and
readable by its owner only: sync.keystore; its public half in `keys/device-ed25519.pub`). The
manifest's exact bytes are signed; the public key travels inside the signed manifest. An
importing store binds each device id to the first key it trusted for it
(`sync/known_devices.json`); who is trusted at all is decided in sync.trust.

Encryption ("FCENC1"): X25519 with a fresh ephemeral key per bundle, HKDF-SHA256 to an
AES-256-GCM key, then the zip in 1 MiB chunks, each sealed with its counter as nonce and
a last-chunk flag as associated data, so reordered, cut or extended files are refused.
"""
from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.key_fingerprint import fingerprint  # noqa: F401  (crypto.fingerprint for sync)
from models.paths import atomic_write_bytes, with_state_files_locked
from sync import keystore
from sync.bundle_format import BundleError, refuse

DEVICE_KEY_NAME = "device-ed25519.pem"
DEVICE_KEY_FILE = f"keys/{DEVICE_KEY_NAME}"
DEVICE_PUBLIC_FILE = "keys/device-ed25519.pub"
OFFICE_KEY_NAME = "office-x25519.pem"
OFFICE_PRIVATE_FILE = f"keys/{OFFICE_KEY_NAME}"
OFFICE_PUBLIC_FILE = "keys/office-public.pem"
KNOWN_DEVICES_FILE = "sync/known_devices.json"
SIGNATURE_ALGORITHM = "Ed25519"

MAGIC = b"FCENC1\n"
CHUNK = 1024 * 1024
_HEADER = struct.Struct(">32s16sI")   # ephemeral public key, salt, chunk size
_LEN = struct.Struct(">I")
_INFO = b"fieldcheck-bundle-encryption-v1"


# --------------------------------------------------------------------------- signing

@with_state_files_locked  # two first exports at once must not make two keys
def device_signing_key(data_dir: Path, passphrase: str | None = None) -> ed25519.Ed25519PrivateKey:
    """This data folder's signing key, made on first use, stored encrypted (sync.keystore)."""
    key = keystore.load_key(data_dir, DEVICE_KEY_NAME, passphrase)
    if key is None:
        key = ed25519.Ed25519PrivateKey.generate()
        keystore.save_key(data_dir, DEVICE_KEY_NAME, key, passphrase)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BundleError(f"本机签名密钥文件 {DEVICE_KEY_FILE} 类型不对", "请从备份恢复该文件")
    _keep_public(data_dir, key)
    return key


def _keep_public(data_dir: Path, key: ed25519.Ed25519PrivateKey) -> None:
    path = Path(data_dir) / DEVICE_PUBLIC_FILE
    text = public_key_text(key)
    try:
        if path.read_text("ascii").strip() == text:
            return
    except (OSError, ValueError):
        pass
    atomic_write_bytes(path, text.encode("ascii"))


def device_public_key(data_dir: Path, create: bool = True) -> str | None:
    """This laptop's public signing key (base64), without needing its passphrase; None when
    it has none yet and `create` is False."""
    if not create and not (Path(data_dir) / DEVICE_KEY_FILE).is_file():
        return None
    try:
        text = (Path(data_dir) / DEVICE_PUBLIC_FILE).read_text("ascii").strip()
        base64.b64decode(text, validate=True)
        if (Path(data_dir) / DEVICE_KEY_FILE).is_file():
            return text
    except (OSError, ValueError):
        pass
    return public_key_text(device_signing_key(data_dir))


def public_key_text(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def device_fingerprint(data_dir: Path) -> str:
    """This laptop's export-signing key fingerprint (shown in 设置 and `status`)."""
    return fingerprint(device_public_key(data_dir))


def sign_manifest(key: ed25519.Ed25519PrivateKey, manifest_bytes: bytes) -> bytes:
    sig = base64.b64encode(key.sign(manifest_bytes)).decode("ascii")
    return json.dumps({"algorithm": SIGNATURE_ALGORITHM, "signature": sig}).encode("utf-8")


def check_signature(manifest_bytes: bytes, signature_bytes: bytes, public_key_b64: str) -> None:
    """Raise a BundleError unless `signature_bytes` signs `manifest_bytes` under the key."""
    try:
        sig = json.loads(signature_bytes.decode("utf-8"))
        if sig.get("algorithm") != SIGNATURE_ALGORITHM:
            raise refuse(f"不支持的签名算法 {sig.get('algorithm')!r}")
        public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64,
                                                                             validate=True))
        public.verify(base64.b64decode(sig["signature"], validate=True), manifest_bytes)
    except BundleError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, InvalidSignature) as exc:
        raise refuse("清单签名无效，导出包可能被改动") from exc


def known_device_key(data_dir: Path, device: str) -> str | None:
    return _known_devices(data_dir).get(device)


def known_devices(data_dir: Path) -> list[str]:
    """The device ids whose keys this store has bound."""
    return sorted(_known_devices(data_dir))


@with_state_files_locked
def remember_device_key(data_dir: Path, device: str, public_key_b64: str) -> None:
    known = _known_devices(data_dir)
    if known.get(device) != public_key_b64:
        known[device] = public_key_b64
        atomic_write_bytes(Path(data_dir) / KNOWN_DEVICES_FILE,
                           json.dumps(known, indent=1, sort_keys=True).encode("utf-8"))


def _known_devices(data_dir: Path) -> dict:
    path = Path(data_dir) / KNOWN_DEVICES_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise BundleError(f"已知设备文件 {path} 已损坏", "请从备份恢复该文件") from exc
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- office key

def create_office_key(data_dir: Path, public_out: Path) -> Path:
    """Make the office's key pair: the private half stays in the data folder."""
    private_path = Path(data_dir) / OFFICE_PRIVATE_FILE
    if private_path.exists():
        raise BundleError(f"本机已有办公室密钥 {private_path}",
                          "如需重新导出公钥，请使用 office-key public --out 文件")
    key = x25519.X25519PrivateKey.generate()
    keystore.save_key(data_dir, OFFICE_KEY_NAME, key)
    _write_public(key, public_out)
    return private_path


def write_office_public(data_dir: Path, public_out: Path) -> None:
    key = office_private_key(data_dir)
    if key is None:
        raise BundleError("本机没有办公室密钥", "请先在办公室电脑上运行 office-key create")
    _write_public(key, public_out)


def _write_public(key: x25519.X25519PrivateKey, public_out: Path) -> None:
    atomic_write_bytes(Path(public_out), key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def install_office_public(data_dir: Path, source: Path) -> None:
    """Keep the office's public key: later exports are encrypted to it."""
    try:
        key = serialization.load_pem_public_key(Path(source).read_bytes())
    except (OSError, ValueError) as exc:
        raise BundleError(f"无法读取办公室公钥文件 {source}", "请向办公室索取正确的公钥文件") from exc
    if not isinstance(key, x25519.X25519PublicKey):
        raise BundleError("该文件不是办公室公钥（X25519）", "请向办公室索取正确的公钥文件")
    atomic_write_bytes(Path(data_dir) / OFFICE_PUBLIC_FILE, key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def office_public_key(data_dir: Path) -> x25519.X25519PublicKey | None:
    path = Path(data_dir) / OFFICE_PUBLIC_FILE
    if not path.exists():
        return None
    key = serialization.load_pem_public_key(path.read_bytes())
    return key if isinstance(key, x25519.X25519PublicKey) else None


def office_private_key(data_dir: Path) -> x25519.X25519PrivateKey | None:
    key = keystore.load_key(data_dir, OFFICE_KEY_NAME)
    return key if isinstance(key, x25519.X25519PrivateKey) else None


# --------------------------------------------------------------------------- encryption

def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def _derive(shared: bytes, salt: bytes, eph_pub: bytes, recipient_pub: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
               info=_INFO + eph_pub + recipient_pub).derive(shared)
    return AESGCM(key)


def _raw(public) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _nonce(counter: int) -> bytes:
    return b"\0\0\0\0" + counter.to_bytes(8, "big")


def encrypt_file(source: Path, target_fh, recipient: x25519.X25519PublicKey,
                 progress: Callable[[int], None] | None = None) -> None:
    """Seal `source` for the office into the open binary file `target_fh`."""
    eph = x25519.X25519PrivateKey.generate()
    eph_pub, salt = _raw(eph.public_key()), os.urandom(16)
    aead = _derive(eph.exchange(recipient), salt, eph_pub, _raw(recipient))
    target_fh.write(MAGIC + _HEADER.pack(eph_pub, salt, CHUNK))
    size, done, counter = Path(source).stat().st_size, 0, 0
    with open(source, "rb") as src:
        while True:
            chunk = src.read(CHUNK)
            done += len(chunk)
            last = done >= size
            sealed = aead.encrypt(_nonce(counter), chunk, b"last" if last else b"more")
            target_fh.write(_LEN.pack(len(sealed)) + sealed)
            counter += 1
            if progress:
                progress(len(chunk))
            if last:
                return


def decrypt_file(source: Path, target: Path, key: x25519.X25519PrivateKey | None) -> None:
    """Open a sealed bundle into `target`; refused when cut, changed or for another office."""
    if key is None:
        raise BundleError("该导出包已加密，只能在持有办公室密钥的电脑上导入或校验",
                          "请把导出包交给办公室处理")
    with open(source, "rb") as src, open(target, "wb") as out:
        src.read(len(MAGIC))
        header = src.read(_HEADER.size)
        if len(header) != _HEADER.size:
            raise refuse("加密文件头不完整（文件被截断）")
        eph_pub, salt, chunk = _HEADER.unpack(header)
        if chunk > 64 * CHUNK:
            raise refuse("加密文件头无效")
        aead = _derive(key.exchange(x25519.X25519PublicKey.from_public_bytes(eph_pub)), salt,
                       eph_pub, _raw(key.public_key()))
        _decrypt_chunks(src, out, aead, chunk)


def _decrypt_chunks(src, out, aead: AESGCM, chunk: int) -> None:
    counter = 0
    while True:
        head = src.read(_LEN.size)
        if len(head) != _LEN.size:
            raise refuse("加密内容不完整（文件被截断）")
        (length,) = _LEN.unpack(head)
        sealed = src.read(length) if length <= chunk + 16 else b""
        if len(sealed) != length or length < 16:
            raise refuse("加密内容不完整（文件被截断）")
        try:
            plain = aead.decrypt(_nonce(counter), sealed, b"more")
            last = False
        except InvalidTag:
            try:
                plain = aead.decrypt(_nonce(counter), sealed, b"last")
            except InvalidTag:
                raise refuse("无法解密：不是发给本办公室的导出包，或内容被改动") from None
            last = True
        out.write(plain)
        counter += 1
        if last:
            if src.read(1):
                raise refuse("加密文件末尾有多余内容")
            return
