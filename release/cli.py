"""`fieldcheck-cli release …`: the office makes the key and signs; anyone can verify.

    release keygen --out DIR        the release key pair (private key under a passphrase)
    release sign PATH --key FILE    writes PATH.sig (a .deb or the Windows kit folder)
    release verify PATH             exit 0 when a pinned release key signed it, else 2
The passphrase comes from FIELDCHECK_RELEASE_PASSPHRASE, or is asked for on a terminal.
"""
from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from models.errors import FieldCheckError
from release import signature

PASSPHRASE_ENV = "FIELDCHECK_RELEASE_PASSPHRASE"


def add_parser(sub) -> None:
    release = sub.add_parser("release", help="软件更新的签名与校验（发布密钥由办公室保管）")
    release.add_argument("action", choices=("keygen", "sign", "verify"))
    release.add_argument("path", nargs="?", metavar="PATH", help="sign/verify：安装包或安装包文件夹")
    release.add_argument("--key", metavar="FILE", help="sign：发布私钥文件")
    release.add_argument("--out", metavar="DIR", help="keygen：密钥写入的文件夹")
    release.add_argument("--version", help="sign：版本号（默认取自文件名或 VERSION 文件）")


def _passphrase(confirm: bool) -> bytes:
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV].encode("utf-8")
    if not sys.stdin.isatty():
        raise FieldCheckError("需要发布密钥口令", f"请在终端中运行，或设置环境变量 {PASSPHRASE_ENV}")
    first = getpass.getpass("发布密钥口令：")
    if confirm and getpass.getpass("再输入一次：") != first:
        raise FieldCheckError("两次输入的口令不一致", "请重新运行")
    return first.encode("utf-8")


def run(args) -> int:
    try:
        if args.action == "keygen":
            if not args.out:
                raise FieldCheckError("请用 --out 指定密钥文件夹", "例如：release keygen --out 发布密钥")
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            fp = signature.create_release_key(out / "release-private.pem",
                                              out / "fieldcheck-release.pub", _passphrase(True))
            print(f"已生成发布密钥（指纹 {fp}）：私钥 {out / 'release-private.pem'} 只留在办公室；"
                  f"公钥 {out / 'fieldcheck-release.pub'} 放入 resources/release/ 后随程序发布")
            return 0
        if not args.path:
            raise FieldCheckError("请指定安装包", f"用法：release {args.action} 安装包路径")
        if args.action == "sign":
            if not args.key:
                raise FieldCheckError("请用 --key 指定发布私钥", "例如：release sign 安装包 --key release-private.pem")
            key = signature.load_private_key(Path(args.key), _passphrase(False))
            out = signature.sign_release(Path(args.path), key, args.version)
            print(f"已签名：{out}（发布密钥指纹 {signature.key_fingerprint(key.public_key())}）")
            return 0
        release = signature.verify_release(Path(args.path))
        print(f"校验通过：FieldCheck {release.version}（{release.name}），"
              f"发布密钥 {release.signer} 签于 {release.signed_at}")
        return 0
    except FieldCheckError as exc:
        print(f"错误：{exc.text()}", file=sys.stderr)
        return 2
