"""`python main.py agency …`: the agency root, enrollment and revocation on the command line.

    office, once:   agency create --name 湘乡市应急管理局 [--out agency-ca.crt]
    laptop:         agency request --out /media/usb/请求-张三电脑.json
    office:         agency enroll /media/usb/请求-张三电脑.json --out /media/usb/登记-张三电脑.json
    laptop:         agency join /media/usb/登记-张三电脑.json
    office:         agency revoke --device ID | --inspector 执法证号 --reason 原因
    anywhere:       agency show [--json];  agency certificate --out agency-ca.crt

Passphrases are asked on the terminal; scripts set FIELDCHECK_AGENCY_PASSPHRASE (the CA key),
FIELDCHECK_SIGNING_PASSPHRASE (inspectors' keys made or opened by `request`) and
FIELDCHECK_KEY_PASSPHRASE (this laptop's own keys).
"""
from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from models.errors import FieldCheckError
from models.paths import atomic_write_bytes, read_json_dict
from sync import agency, crypto, keystore

ENV_SIGNING_PASSPHRASE = "FIELDCHECK_SIGNING_PASSPHRASE"


def add_parser(sub, add_data_dir) -> None:
    cmd = sub.add_parser("agency", help="机构根证书：创建、登记电脑与执法人员、吊销")
    actions = cmd.add_subparsers(dest="agency_action", required=True)
    create = actions.add_parser("create", help="（办公室，一次）创建本机构根证书")
    create.add_argument("--name", required=True, help="机构名称，例如 湘乡市应急管理局")
    create.add_argument("--range-size", type=int, default=agency.DEFAULT_RANGE,
                        help="每台电脑的文书编号段大小（默认 1000）")
    create.add_argument("--out", metavar="FILE", help="同时把根证书写入该文件（供 pdfsig 使用）")
    request = actions.add_parser("request", help="（电脑）生成登记申请文件，交给办公室")
    request.add_argument("--out", required=True, metavar="FILE")
    request.add_argument("--inspector", action="append", metavar="执法证号",
                         help="只为这些执法人员申请证书（默认：本机全部在职执法人员）")
    enroll = actions.add_parser("enroll", help="（办公室）为申请文件签发登记文件")
    enroll.add_argument("request_file", metavar="REQUEST")
    enroll.add_argument("--out", required=True, metavar="FILE")
    enroll.add_argument("--range-size", type=int, help="该电脑的文书编号段大小")
    enroll.add_argument("--new-range", action="store_true",
                        help="给已登记的电脑一个新的编号段（原编号段将用完时）")
    join = actions.add_parser("join", help="（电脑）安装办公室签发的登记文件")
    join.add_argument("file", metavar="FILE")
    join.add_argument("--ca-fingerprint", metavar="指纹",
                      help="首次加入时：与办公室 agency show 显示的机构根证书指纹核对后填写")
    revoke = actions.add_parser("revoke", help="（办公室）吊销一台电脑或一名执法人员的证书")
    who = revoke.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", metavar="设备编号")
    who.add_argument("--inspector", metavar="执法证号")
    revoke.add_argument("--reason", required=True)
    show = actions.add_parser("show", help="本机所属机构、登记与吊销情况")
    show.add_argument("--json", action="store_true")
    cert = actions.add_parser("certificate", help="导出机构根证书（PEM，供 pdfsig 校验证书链）")
    cert.add_argument("--out", required=True, metavar="FILE")
    for action in (create, request, enroll, join, revoke, show, cert):
        add_data_dir(action)


def _secret(prompt: str, env: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise FieldCheckError(f"需要口令：{prompt}", f"请在终端中运行，或设置环境变量 {env}")
    value = getpass.getpass(f"{prompt}：")
    if confirm and getpass.getpass("再输入一次：") != value:
        raise FieldCheckError("两次输入的口令不一致", "请重新运行该命令")
    return value


def _agency_passphrase(confirm: bool = False) -> str:
    return _secret("机构根证书口令（至少 10 个字符）", keystore.ENV_AGENCY_PASSPHRASE, confirm=confirm)


def _read_json(path: str, what: str) -> dict:
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise FieldCheckError(f"找不到{what} {path}", "请检查文件路径和U盘") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise FieldCheckError(f"{what} {path} 无法读取（不是有效的文件）", "请重新复制该文件") from exc


def _write_json(path: str, data: dict) -> None:
    try:
        atomic_write_bytes(Path(path), json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
    except OSError as exc:
        raise FieldCheckError(f"无法写入 {path}（{exc.strerror or exc}）", "请检查U盘是否已插好、是否写保护") from exc


def cmd_agency(store, args) -> int:
    return {"create": _create, "request": _request, "enroll": _enroll, "join": _join,
            "revoke": _revoke, "show": _show, "certificate": _certificate}[args.agency_action](store, args)


def _create(store, args) -> int:
    passphrase = _agency_passphrase(confirm=True)
    key = crypto.device_signing_key(store.data_dir)
    ca = agency.create_agency(store.data_dir, args.name, passphrase, store.device_id,
                              crypto.public_key_text(key), args.range_size)
    print(f"已创建机构根证书：{agency.agency_name(ca)}；根证书指纹 {agency.cert_fingerprint(ca)}")
    print("私钥已用口令加密保存，请牢记口令并备份数据文件夹；本机（办公室）已登记为本机构的第一台设备")
    if _add_demo_office_register(store):
        print("演示数据：已在本机（办公室）登记演示用的回避与不在岗人员（设置 → 在岗与回避）")
    if args.out:
        atomic_write_bytes(Path(args.out), agency.cert_pem(ca).encode("ascii"))
        print(f"根证书已写入 {args.out}")
    return 0


def _add_demo_office_register(store) -> bool:
    """A demo store that becomes the office gets the demo's 回避 and 不在岗 (the office's
    alone to set: a laptop's would be refused at the office)."""
    from models.planning_demo import add_office_register
    from models.store_mode import is_demo_store
    if not is_demo_store(store.data_dir):
        return False
    with store.transaction(actor="演示数据", label="demo") as s:
        return add_office_register(s)


def _request(store, args) -> int:
    from models.inspector_keys import signing_request
    from models.settings_rules import get_agency_settings, list_inspectors
    key = crypto.device_signing_key(store.data_dir)
    with store.session() as s:
        people = [(p.id, p.name, p.certificate_no) for p in list_inspectors(s)]
        agency_name = get_agency_settings(s).agency_name
        s.rollback()
    if args.inspector:
        wanted = set(args.inspector)
        people = [p for p in people if p[2] in wanted]
        missing = wanted - {p[2] for p in people}
        if missing:
            raise FieldCheckError(f"本机没有执法证号为 {sorted(missing)[0]} 的在职执法人员",
                                  "请在「设置 → 执法人员」中核对")
    inspectors = []
    for person_id, name, number in people:
        passphrase = _secret(f"执法人员 {name}（{number}）的签名口令（至少 8 个字符）",
                             ENV_SIGNING_PASSPHRASE)
        csr = signing_request(store.data_dir, person_id, name, number, passphrase, agency_name)
        inspectors.append({"id": str(person_id), "name": name, "certificate_no": number, "csr": csr})
    from sync.trust import own_device_ids
    previous = [d for d in own_device_ids(store.data_dir) if d != store.device_id]
    doc = agency.make_request(store.data_dir, store.device_id, previous, key, inspectors)
    _write_json(args.out, doc)
    print(f"已生成登记申请：{args.out}")
    print(f"本机编号 {store.device_id}；导出签名指纹 {crypto.fingerprint(crypto.public_key_text(key))}"
          f"；执法人员 {len(inspectors)} 名")
    print("请把该文件交给办公室（agency enroll），再把办公室给回的登记文件用 agency join 安装")
    return 0


def _enroll(store, args) -> int:
    request = _read_json(args.request_file, "登记申请文件")
    done = agency.enroll(store.data_dir, request, _agency_passphrase(), args.range_size,
                         new_range=args.new_range)
    _write_json(args.out, done.document)
    print(f"已签发登记文件：{args.out}")
    print(f"设备 {done.device_id}；导出签名指纹 {done.fingerprint}（请与该电脑 status 显示的核对）")
    ca = agency.installed_ca(store.data_dir)
    print(f"本机构根证书指纹 {agency.cert_fingerprint(ca)}：该电脑首次安装登记文件时须核对"
          f"（agency join FILE --ca-fingerprint {agency.cert_fingerprint(ca)}）")
    print(f"文书编号段 {done.case_range[0]}–{done.case_range[1]}；执法人员证书 {len(done.inspectors)} 张"
          + (f"：{'、'.join(done.inspectors)}" if done.inspectors else ""))
    return 0


def join_file(store, path: str | Path, ca_fingerprint: str | None = None) -> agency.Joined:
    """Check and install an enrollment file on this laptop (the CLI and 设置 share it).
    A first enrollment raises agency.CAUnconfirmed unless `ca_fingerprint` matches."""
    from sync.trust import own_device_ids
    doc = _read_json(str(path), "登记文件")
    aliases = [d for d in own_device_ids(store.data_dir) if d != store.device_id]
    payload, ca = agency.read_enrollment(store.data_dir, doc, store.device_id, aliases,
                                         crypto.device_public_key(store.data_dir), ca_fingerprint)
    return agency.install_enrollment(store.data_dir, doc, payload, ca)


def _join(store, args) -> int:
    joined = join_file(store, args.file, args.ca_fingerprint)
    print(f"已加入机构：{joined.agency}（根证书指纹 {joined.fingerprint}，登记文件第 {joined.number} 号）")
    print(f"本机文书编号段 {joined.case_range[0]}–{joined.case_range[1]}"
          + (f"；已安装执法人员证书：{'、'.join(p['name'] for p in joined.inspectors)}"
             if joined.inspectors else ""))
    return 0


def _revoke(store, args) -> int:
    from models.audit import chain_head
    last = None
    if args.device:
        with store.session() as s:
            last, _ = chain_head(s, args.device)
            s.rollback()
    entry = agency.revoke(store.data_dir, _agency_passphrase(), device_id=args.device,
                          certificate_no=args.inspector, reason=args.reason, last_seq=last)
    what = f"设备 {entry['device_id']}" if entry["kind"] == "device" else f"执法证号 {entry['certificate_no']}"
    print(f"已吊销{what}（{entry['reason']}）；吊销列表随本机以后的导出包送达各电脑")
    if entry["kind"] == "device":
        print(f"该设备的执法记录第 {entry['last_seq']} 条及以前的仍然有效，此后的一概不接受")
    else:
        print("此前签署的文书仍然有效，此后签署的将被拒绝")
    return 0


def _show(store, args) -> int:
    ca = agency.installed_ca(store.data_dir)
    rng = read_json_dict(store.data_dir / agency.CASE_RANGE_FILE)
    info = {"agency": agency.agency_name(ca) if ca else None,
            "agency_fingerprint": agency.cert_fingerprint(ca) if ca else None,
            "office": agency.is_office(store.data_dir), "device_id": store.device_id,
            "device_fingerprint": crypto.device_fingerprint(store.data_dir),
            "enrolled": agency.device_certificate(store.data_dir) is not None,
            "case_range": [rng.get("start"), rng.get("end")] if rng else None,
            "revoked": agency.revocation_entries(store.data_dir)}
    if info["office"]:
        registry = agency.registry_summary(store.data_dir)
        info["devices"] = {d: {"range": v["range"], "enrolled_at": v["enrolled_at"]}
                           for d, v in registry.get("devices", {}).items()}
    if args.json:
        json.dump(info, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if ca is None:
        print("本机尚未加入任何机构（可由办公室 agency create，或在本机 agency request / join）")
    else:
        print(f"所属机构：{info['agency']}；根证书指纹 {info['agency_fingerprint']}"
              + ("（本机为办公室）" if info["office"] else ""))
    print(f"本机编号 {store.device_id}；导出签名指纹 {info['device_fingerprint']}"
          + (f"；文书编号段 {rng.get('start')}–{rng.get('end')}" if rng else ""))
    for entry in info["revoked"]:
        who = entry.get("device_id") or entry.get("certificate_no")
        print(f"已吊销：{who}，{entry['at'][:10]}，{entry['reason']}")
    return 0


def _certificate(store, args) -> int:
    ca = agency.installed_ca(store.data_dir)
    if ca is None:
        raise FieldCheckError("本机尚未加入任何机构，没有机构根证书", "请先 agency create 或 agency join")
    atomic_write_bytes(Path(args.out), agency.cert_pem(ca).encode("ascii"))
    print(f"机构根证书已写入 {args.out}（指纹 {agency.cert_fingerprint(ca)}）")
    return 0


__all__ = ["add_parser", "cmd_agency", "join_file"]
