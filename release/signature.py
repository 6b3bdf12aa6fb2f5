"""Detached signatures over release files, made with the office's Ed25519 release key.

`<name>.sig` beside the package (or beside the kit folder) is JSON: a statement — product,
version, kind and every file's size and SHA-256 — and the Ed25519 signature over the
statement's exact bytes. Hashing the files and signing the short statement keeps a 100 MB
package out of memory. A folder's statement lists every file: one more (a wheel slipped in
for pip to prefer) is refused like one changed.

Only keys in resources/release/*.pub are trusted (pinned; the agency CA will replace them).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from models.errors import FieldCheckError
from models.paths import atomic_write_bytes, resources_dir
from models.key_fingerprint import fingerprint

FORMAT = "fieldcheck-release/1"
PRODUCT = "fieldcheck"
SIG_SUFFIX = ".sig"
CHUNK = 1024 * 1024
DEB_NAME = re.compile(r"^fieldcheck_(?P<version>[0-9][A-Za-z0-9.+~-]*)_amd64\.deb$")
KIT_VERSION_FILE = "VERSION"


class UpdateRefused(FieldCheckError):
    """An update that must not be installed: unsigned, altered, or signed by another key."""

    def __init__(self, what: str) -> None:
        super().__init__(f"更新未通过校验，未安装：{what}", "请勿使用该文件，请向办公室重新索取带签名的更新")


@dataclass(frozen=True)
class Release:
    """What a valid signature vouches for."""

    version: str
    kind: str                 # "deb" or "windows-kit"
    name: str                 # the package file's or the kit folder's name
    signer: str               # the release key's fingerprint
    signed_at: str


def signature_path(target: Path) -> Path:
    target = Path(target)
    return target.with_name(target.name + SIG_SUFFIX)


def _hash_file(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def file_list(target: Path) -> dict[str, dict]:
    """Every file of the release with its size and hash, by path relative to the target."""
    target = Path(target)
    if target.is_file():
        return {target.name: _hash_file(target)}
    files = sorted(p for p in target.rglob("*") if p.is_file() or p.is_symlink())
    return {p.relative_to(target).as_posix(): _hash_file(p) for p in files}


def _kind_and_version(target: Path) -> tuple[str, str]:
    if target.is_file() and (match := DEB_NAME.match(target.name)):
        return "deb", match["version"]
    version_file = target / KIT_VERSION_FILE
    if target.is_dir() and version_file.is_file():
        return "windows-kit", version_file.read_text("utf-8").strip()
    raise FieldCheckError(f"{target} 不是 FieldCheck 的安装包或 Windows 安装包文件夹",
                          "请选择 fieldcheck_<版本>_amd64.deb 或 fieldcheck-windows-kit 文件夹")


# --------------------------------------------------------------------------- the office's side

def create_release_key(private_out: Path, public_out: Path, passphrase: bytes) -> str:
    """A new release key pair: the private key encrypted under the passphrase (office only),
    the public key to be put in resources/release/. Returns the fingerprint."""
    if Path(private_out).exists():
        raise FieldCheckError(f"{private_out} 已存在，未覆盖", "换一个文件名，或先把旧密钥移走")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase))
    atomic_write_bytes(Path(private_out), pem)
    Path(private_out).chmod(0o600)
    atomic_write_bytes(Path(public_out), key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_fingerprint(key.public_key())


def load_private_key(path: Path, passphrase: bytes) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=passphrase)
    except OSError as exc:
        raise FieldCheckError(f"无法读取发布密钥 {path}（{exc.strerror or exc}）", "请检查路径") from exc
    except (ValueError, TypeError) as exc:
        raise FieldCheckError(f"发布密钥 {path} 打不开", "请检查口令是否正确") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise FieldCheckError(f"{path} 不是 Ed25519 发布密钥", "请使用 release keygen 生成的密钥")
    return key


def sign_release(target: Path, key: ed25519.Ed25519PrivateKey, version: str | None = None) -> Path:
    """Write `<target>.sig`; returns its path."""
    target = Path(target)
    kind, found_version = _kind_and_version(target)
    statement = {"format": FORMAT, "product": PRODUCT, "kind": kind, "name": target.name,
                 "version": version or found_version,
                 "signed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "files": file_list(target)}
    body = json.dumps(statement, ensure_ascii=False, sort_keys=True).encode("utf-8")
    sig = {"format": FORMAT, "statement": base64.b64encode(body).decode("ascii"),
           "signature": base64.b64encode(key.sign(body)).decode("ascii")}
    out = signature_path(target)
    atomic_write_bytes(out, json.dumps(sig, indent=1).encode("utf-8"))
    return out


# --------------------------------------------------------------------------- the laptop's side

def key_fingerprint(public: ed25519.Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return fingerprint(base64.b64encode(raw).decode("ascii"))


def pinned_keys() -> list[ed25519.Ed25519PublicKey]:
    """The release keys this build trusts, shipped in resources/release/."""
    keys = []
    for path in sorted((resources_dir() / "release").glob("*.pub")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, ed25519.Ed25519PublicKey):
            keys.append(key)
    return keys


def _signed_statement(sig_file: Path, keys) -> tuple[dict, str]:
    try:
        raw = json.loads(Path(sig_file).read_text("utf-8"))
        body = base64.b64decode(raw["statement"], validate=True)
        signature = base64.b64decode(raw["signature"], validate=True)
    except FileNotFoundError:
        raise UpdateRefused(f"没有签名文件 {Path(sig_file).name}，该更新未签名") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UpdateRefused(f"签名文件 {Path(sig_file).name} 已损坏") from exc
    for key in keys:
        try:
            key.verify(signature, body)
        except InvalidSignature:
            continue
        return json.loads(body), key_fingerprint(key)
    raise UpdateRefused("签名不是本单位发布密钥所签，或签名文件被改动")


def verify_release(target: Path, sig_file: Path | None = None, keys=None) -> Release:
    """The release `target` vouched for by a pinned key, or UpdateRefused."""
    target = Path(target)
    statement, signer = _signed_statement(sig_file or signature_path(target),
                                          pinned_keys() if keys is None else keys)
    if statement.get("format") != FORMAT or statement.get("product") != PRODUCT:
        raise UpdateRefused("签名文件不是 FieldCheck 的更新签名")
    if not target.exists():
        raise UpdateRefused(f"找不到签名所指的 {target.name}")
    expected, actual = statement.get("files", {}), file_list(target)
    changed = sorted(set(expected) ^ set(actual) | {n for n in expected.keys() & actual.keys()
                                                    if expected[n] != actual[n]})
    if changed:
        raise UpdateRefused(f"{changed[0]} 与签名不符，文件已被改动"
                            + (f"（另有 {len(changed) - 1} 个）" if len(changed) > 1 else ""))
    return Release(str(statement["version"]), str(statement["kind"]), str(statement["name"]),
                   signer, str(statement.get("signed_at", "")))
