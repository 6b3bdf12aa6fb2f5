"""FieldCheck (工贸安全现场检查): the GUI by default, subcommands for headless work.

    python main.py [--data-dir DIR]                  start the application
    python main.py checklists --json                 every checklist item as JSON
    python main.py checklists --unverified           every citation not checked against a text (待核)
    python main.py demo [--laptop N]                 fill the store with demo data (N-th laptop)
    python main.py inspections --json                every inspection with hazard counts
    python main.py status --json                     counts and the audit-chain check
    python main.py export --out FILE [--all]         write a signed bundle for the office
    python main.py import FILE [--json]              verify, then merge a bundle
    python main.py verify FILE [--json]              check a bundle (exit 0 valid, 1 not)
    python main.py office-key create --out FILE      make the office key pair (office only)
    python main.py office-key install FILE           encrypt later exports to the office
    python main.py pdf INSPECTION_ID --out DIR       write the inspection's signed documents
    python main.py verify FILE.pdf                   who signed, when, intact (exit 0) or not (1)
    python main.py ledger --out FILE.xlsx            the hazard ledger (隐患台账) as Excel
    python main.py hazards --json                    every ordered hazard with the ledger's fields
    python main.py agency create|request|enroll|join|revoke|show|certificate   the agency root
    python main.py plan create|draw|verify|publish|show|list|assign   计划执法, 双随机 draws (office)
    python main.py migrate --database-url URL        upgrade the office database's schema
    python main.py backup --out DIR / restore DIR    the database and the data folder's files
    python main.py office-report --from D --to D --out DIR   通报 of major hazards + statistics
    python main.py assign-hazard HAZARD_ID --to 单位 --deadline D [--note 说明]   交办 (office)
  --database-url URL (or FIELDCHECK_DATABASE_URL), before or after the subcommand: the office's
  PostgreSQL database instead of the data folder's SQLite file (files stay in the data folder).
    python main.py release keygen|sign|verify …      sign an update (office) / verify one
"""
from __future__ import annotations

import argparse
import json
import sys

from models.errors import FieldCheckError


def _add_data_dir(parser: argparse.ArgumentParser, default) -> None:
    """The global options, accepted before and after the subcommand."""
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="数据文件夹（默认：用户数据目录，或环境变量 FIELDCHECK_DATA_DIR）")
    parser.add_argument("--database-url", metavar="URL", default=default,
                        help="办公室 PostgreSQL 数据库，如 postgresql+psycopg://fc@/fieldcheck?host=/run/postgresql"
                             "（或环境变量 FIELDCHECK_DATABASE_URL；默认：数据文件夹中的本机数据库）")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldcheck", description="工贸安全现场检查 FieldCheck")
    _add_data_dir(parser, None)
    sub = parser.add_subparsers(dest="command")
    # SUPPRESS lets --data-dir stand before or after the subcommand without one hiding the other.
    for name, help_text in (("checklists", "列出全部检查项"), ("inspections", "列出全部检查"),
                            ("status", "数据概况与执法记录链校验"), ("demo", "写入演示数据")):
        cmd = sub.add_parser(name, help=help_text)
        _add_data_dir(cmd, argparse.SUPPRESS)
        if name != "demo":
            cmd.add_argument("--json", action="store_true", help="以 JSON 输出")
        if name == "status":
            cmd.add_argument("--files", action="store_true",
                             help="逐个读取并校验全部照片文件（缺失、损坏、无法读取）")
        if name == "checklists":
            cmd.add_argument("--unverified", action="store_true", help="列出未能核对出处的法律依据（待核）")
        if name == "demo":
            cmd.add_argument("--laptop", type=int, default=1, metavar="N",
                             help="同一演示执法单位的第 N 台笔记本（自己的检查组和案件编号段）")
    _add_sync_commands(sub)
    pdf = sub.add_parser("pdf", help="导出某次检查的执法文书（PDF）")
    pdf.add_argument("inspection_id", metavar="INSPECTION_ID")
    pdf.add_argument("--out", metavar="DIR", required=True, help="输出文件夹")
    _add_data_dir(pdf, argparse.SUPPRESS)
    ledger = sub.add_parser("ledger", help="导出隐患台账（Excel）")
    _add_data_dir(ledger, argparse.SUPPRESS)
    ledger.add_argument("--out", metavar="FILE.xlsx", required=True, help="要写入的 Excel 文件")
    hazards = sub.add_parser("hazards", help="列出隐患台账中的全部隐患")
    _add_data_dir(hazards, argparse.SUPPRESS)
    hazards.add_argument("--json", action="store_true", help="以 JSON 输出")
    _add_plan_commands(sub)
    migrate = sub.add_parser("migrate", help="升级办公室数据库的结构（请先备份）")
    _add_data_dir(migrate, argparse.SUPPRESS)
    report = sub.add_parser("office-report", help="办公室：重大事故隐患通报（Excel 和 PDF）与分类统计")
    report.add_argument("--from", dest="found_from", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="found_to", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--out", metavar="DIR", required=True, help="写入通报的文件夹")
    report.add_argument("--json", action="store_true", help="统计以 JSON 输出")
    _add_data_dir(report, argparse.SUPPRESS)
    from models.assignment_command import add_parser as add_assign_parser
    add_assign_parser(sub, lambda cmd: _add_data_dir(cmd, argparse.SUPPRESS))
    backup = sub.add_parser("backup", help="备份数据库和数据文件夹")
    backup.add_argument("--out", metavar="DIR", required=True, help="新的或空的备份文件夹")
    _add_data_dir(backup, argparse.SUPPRESS)
    restore = sub.add_parser("restore", help="从备份恢复到空的数据文件夹（办公室：空数据库）")
    restore.add_argument("backup_dir", metavar="DIR")
    _add_data_dir(restore, argparse.SUPPRESS)
    from release.cli import add_parser as add_release_parser
    add_release_parser(sub)
    gui = sub.add_parser("gui", help="启动图形界面（默认）")
    _add_data_dir(gui, argparse.SUPPRESS)
    return parser


def _add_sync_commands(sub) -> None:
    export = sub.add_parser("export", help="导出检查记录到导出包（U盘）")
    export.add_argument("--out", required=True, metavar="FILE", help="导出包文件")
    export.add_argument("--all", action="store_true", help="导出全部记录（默认：该位置另一端尚未有的）")
    export.add_argument("--for", dest="for_device", metavar="DEVICE",
                        help="为该设备导出（设备编号或其前 8 位）：只含它确认已有之外的记录")
    export.add_argument("--inspection", action="append", metavar="ID", help="只导出指定检查（可重复）")
    export.add_argument("--inspector", metavar="ID", help="导出人（执法人员编号），写入清单")
    crypt = export.add_mutually_exclusive_group()
    crypt.add_argument("--encrypt", action="store_true", default=None, help="必须加密给办公室")
    crypt.add_argument("--plain", action="store_true", help="不加密（即使已安装办公室公钥）")
    imp = sub.add_parser("import", help="校验并导入导出包")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="以 JSON 输出")
    imp.add_argument("--trust-new-device", metavar="FINGERPRINT", action="append",
                     help="信任首次见到的设备：核对过的导出签名指纹（仅限尚未加入机构的电脑；可重复）")
    verify = sub.add_parser("verify", help="校验签章 PDF 或导出包（有效退出码 0，无效 1）")
    verify.add_argument("file", metavar="FILE")
    verify.add_argument("--json", action="store_true", help="以 JSON 输出")
    office = sub.add_parser("office-key", help="办公室加密密钥")
    office.add_argument("action", choices=("create", "public", "install"))
    office.add_argument("file", nargs="?", metavar="FILE", help="install：办公室公钥文件")
    office.add_argument("--out", metavar="FILE", help="create/public：公钥写入的文件")
    for cmd in (export, imp, verify, office):
        _add_data_dir(cmd, argparse.SUPPRESS)
    from sync.agency_cli import add_parser as add_agency
    add_agency(sub, lambda cmd: _add_data_dir(cmd, argparse.SUPPRESS))


def _add_plan_commands(sub) -> None:
    plan = sub.add_parser("plan", help="年度执法计划与“双随机”抽取（办公室）")
    _add_data_dir(plan, argparse.SUPPRESS)
    psub = plan.add_subparsers(dest="plan_command", required=True)
    create = psub.add_parser("create", help="按计划规则编制某年度的执法计划")
    create.add_argument("--year", type=int, required=True)
    create.add_argument("--focus", action="append", default=[], metavar="ENTERPRISE_ID",
                        help="重点检查企业（可重复，不参与抽取）")
    draw = psub.add_parser("draw", help="抽取一轮检查对象与执法人员")
    draw.add_argument("plan_id", metavar="PLAN_ID")
    draw.add_argument("--seed", required=True,
                      help="随机种子（当众确定的数字或文字；random：由系统随机源生成并显示）")
    draw.add_argument("--round", type=int, help="轮次（默认：下一轮未抽取的）")
    draw.add_argument("--redraw", metavar="DRAW_ID", help="重抽：取代这次抽取（原抽取保留）")
    draw.add_argument("--reason", default="", help="重抽的理由（重抽时必填）")
    verify = psub.add_parser("verify", help="按记录重放每次抽取，结果一致退出码 0，否则 1")
    verify.add_argument("plan_id", metavar="PLAN_ID")
    publish = psub.add_parser("publish", help="写出“一公开”公示清单（.xlsx 或 .pdf）")
    publish.add_argument("plan_id", metavar="PLAN_ID")
    publish.add_argument("--out", required=True, metavar="FILE")
    show = psub.add_parser("show", help="计划概况：每月检查数与所需组数、抽取、进度")
    show.add_argument("plan_id", metavar="PLAN_ID")
    psub.add_parser("list", help="列出全部执法计划")
    assign = psub.add_parser("assign", help="为重点检查任务指派执法人员（至少两名，遵守回避与在岗）")
    assign.add_argument("task_id", metavar="TASK_ID")
    assign.add_argument("--inspector", action="append", default=[], metavar="ID",
                        help="执法人员编号或执法证号（可重复）")
    for cmd in (create, draw, verify, publish, show, assign):
        cmd.add_argument("--json", action="store_true", help="以 JSON 输出")
    for cmd in psub.choices.values():
        _add_data_dir(cmd, argparse.SUPPRESS)


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_checklists(store, args) -> int:
    from models.reports import checklist_dump
    if args.unverified:
        from checklists.citations import print_unverified
        with store.session() as s:
            return print_unverified(s, args.json)
    with store.session() as s:
        data = checklist_dump(s, latest_only=True)
    if args.json:
        _print_json(data)
    else:
        for checklist in data:
            print(f"{checklist['title']}（v{checklist['version']}，{len(checklist['items'])} 项）")
            for item in checklist["items"]:
                mark = f"  [重大：{item['major_clause']}]" if item["major"] else ""
                print(f"  {item['code']}  {item['question']}{mark}")
    return 0


def cmd_inspections(store, args) -> int:
    from models.reports import inspection_row, list_inspections
    with store.session() as s:
        rows = [inspection_row(*r) for r in list_inspections(s, limit=None)]
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['started_at'][:16]}  {r['status_label']}  {r['enterprise']}  "
                  f"隐患 {r['hazards']}（重大 {r['major_hazards']}）  {r['id']}")
    return 0


def _tally(counts: dict, kind, unit: str) -> str:
    """「6 次（已定稿 4，检查中 2）」 from {"finalized": 4, "in_progress": 2}."""
    parts = "，".join(f"{kind(k).label} {n}" for k, n in sorted(counts.items()))
    return f"{sum(counts.values())} {unit}" + (f"（{parts}）" if parts else "")


def cmd_status(store, args) -> int:
    from models.inspection import HazardStatus, InspectionStatus
    from models.reports import status_summary
    with store.session() as s:
        summary = status_summary(s)
    summary["data_dir"] = str(store.data_dir)
    from sync.crypto import device_fingerprint
    from sync.keystore import KeyLocked
    try:
        fingerprint = device_fingerprint(store.data_dir)
    except KeyLocked:  # no key yet and no passphrase to make one under: made at first export
        fingerprint = None
    summary["device_id"], summary["device_fingerprint"] = store.device_id, fingerprint
    summary["recovered"] = store.recovered_note
    from models.case_range import case_range, range_warning
    rng = case_range(store.data_dir)
    with store.session() as s:
        summary["case_range"] = {"start": rng.start, "end": rng.end,
                                 "warning": range_warning(s, store.data_dir, _today(store).year)} if rng else None
    from models.integrity import check_integrity
    with_files = getattr(args, "files", False)
    with store.session() as s:
        found = check_integrity(s, store.data_dir, store.photos_dir if with_files else None)
    summary["audit_chain"] = {"intact": found.chain_intact, "events": found.events,
                              "devices": found.devices, "problems": found.chain_problems}
    if with_files:
        summary["photo_files"] = {"checked": found.photo_files.checked,
                                  "problems": found.photo_files.problems}
        summary["signature_images"] = {"checked": found.signature_images.checked,
                                       "problems": found.signature_images.problems}
    if args.json:
        _print_json(summary)
    else:
        print(f"数据文件夹：{summary['data_dir']}")
        print(f"本机编号：{summary['device_id']}；导出签名指纹："
              f"{summary['device_fingerprint'] or '尚未生成（首次导出时生成）'}")
        if summary["recovered"]:
            print(summary["recovered"])
        if summary["case_range"] and summary["case_range"]["warning"]:
            print(summary["case_range"]["warning"])
        print(f"企业 {summary['enterprises']} 家；"
              f"检查 {_tally(summary['inspections'], InspectionStatus, '次')}；"
              f"隐患 {_tally(summary['hazards'], HazardStatus, '项')}")
        print(f"照片 {summary['photos']} 张；文书 {summary['documents']} 份；执法记录 {summary['audit_events']} 条")
        print(found.chain_line())
        for line in found.file_lines():
            print(line)
    return 0 if found.intact else 1


def cmd_demo(store, args) -> int:
    from models.demo import build_demo
    if args.laptop < 1:
        raise FieldCheckError(f"笔记本编号不对：{args.laptop}", "请用 1 或更大的数，例如 --laptop 2")
    if build_demo(store, laptop=args.laptop):
        print(f"已写入演示数据：{store.data_dir}")
    else:
        print("演示数据已存在，未重复写入")
    return 0


def _progress_printer(what: str):
    """Progress on stderr, one line per tenth, for large bundles only."""
    shown = [-1]

    def show(done: int, total: int) -> None:
        if total < 50 * 1024 * 1024:
            return
        tenth = done * 10 // max(total, 1)
        if tenth != shown[0]:
            shown[0] = tenth
            print(f"{what}… {tenth * 10}%（{done // 1048576} / {total // 1048576} MB）",
                  file=sys.stderr, flush=True)
    return show


def _uuid_arg(value: str):
    import uuid
    try:
        return uuid.UUID(value)
    except ValueError:
        raise FieldCheckError(f"编号格式不对：{value}", "请使用 inspections --json 列出的编号") from None


def cmd_export(store, args) -> int:
    from sync.export import export_bundle
    ids = [_uuid_arg(v) for v in args.inspection] if args.inspection else None
    inspector = _uuid_arg(args.inspector) if args.inspector else None
    encrypt = False if args.plain else (True if args.encrypt else None)
    result = export_bundle(store, args.out, inspection_ids=ids, everything=args.all,
                           encrypt=encrypt, inspector_id=inspector, for_device=args.for_device,
                           progress=_progress_printer("导出中"))
    for line in result.lines():
        print(line)
    return 0


def cmd_import(store, args) -> int:
    from sync.merge import import_bundle
    report = import_bundle(store, args.file, progress=_progress_printer("校验中"),
                           trust_new_device=args.trust_new_device)
    if args.json:
        _print_json(report.as_dict())
    else:
        for line in report.lines():
            print(line)
    return 0


def cmd_agency(store, args) -> int:
    from sync.agency_cli import cmd_agency as run
    return run(store, args)


def cmd_pdf(store, args) -> int:
    """Write the inspection's issued documents byte for byte (a demo store signs its own)."""
    from pathlib import Path

    from documents.service import KIND_LABEL, documents_to_hand_out
    from models.paths import atomic_write_bytes
    out = Path(args.out)
    for doc, data in documents_to_hand_out(store, _uuid_arg(args.inspection_id)):
        target = out / f"{KIND_LABEL[doc.kind]}_{doc.number}.pdf"
        try:
            atomic_write_bytes(target, data)
        except OSError as exc:
            raise FieldCheckError(f"无法写入 {target}（{exc.strerror or exc}）",
                                  "请检查输出文件夹是否可写、磁盘是否已满") from None
        print(target)
    return 0


def verify_pdf_file(path, data_dir) -> int:
    """A signed document: who signed, when, and whether it is exactly as signed."""
    from documents.keys import trusted_certificates
    from documents.signing import verify_pdf
    from sync.agency import revoked_certificates
    report = verify_pdf(path, trusted_certificates(data_dir), revoked_certificates(data_dir))
    for line in report.lines():
        print(line, file=sys.stdout if report.exit_code == 0 else sys.stderr)
    return report.exit_code


def cmd_verify(store, args) -> int:
    from pathlib import Path
    try:
        with Path(args.file).open("rb") as fh:
            is_pdf = fh.read(5) == b"%PDF-"
    except OSError as exc:
        raise FieldCheckError(f"无法读取文件 {args.file}（{exc.strerror or exc}）", "请检查文件路径") from exc
    if is_pdf:
        return verify_pdf_file(args.file, store.data_dir)
    from sync.verify_command import verify_bundle_file
    report = verify_bundle_file(args.file, store)
    if args.json:
        _print_json({"valid": report.valid, "problem": report.problem,
                     "bundle_id": report.manifest.get("bundle_id"),
                     "device_id": report.manifest.get("device_id"),
                     "signer_known": report.signer_known})
    else:
        for line in report.lines():
            print(line, file=sys.stdout if report.valid else sys.stderr)
    return report.exit_code


def cmd_office_key(store, args) -> int:
    from pathlib import Path
    from sync import crypto
    if args.action == "install":
        if not args.file:
            raise FieldCheckError("请指定办公室公钥文件", "用法：office-key install 公钥文件")
        crypto.install_office_public(store.data_dir, Path(args.file))
        print("已安装办公室公钥；以后的导出包将加密，只有办公室能打开")
        return 0
    if not args.out:
        raise FieldCheckError("请用 --out 指定公钥写入的文件", "例如：office-key create --out office.pub")
    if args.action == "create":
        private = crypto.create_office_key(store.data_dir, Path(args.out))
        print(f"已生成办公室密钥：私钥保存在 {private}（请备份并妥善保管），公钥写入 {args.out}")
    else:
        crypto.write_office_public(store.data_dir, Path(args.out))
        print(f"办公室公钥已写入 {args.out}")
    return 0


def _today(store):
    from models.base import utcnow
    from models.inspection_rules import local_date
    return local_date((store.clock or utcnow)())


def cmd_ledger(store, args) -> int:
    from models.excel_ledger import export_ledger
    with store.session() as s:
        rows = export_ledger(s, args.out, _today(store))
    print(f"已导出隐患台账 {rows} 条：{args.out}")
    return 0


def cmd_hazards(store, args) -> int:
    from models.ledger import LedgerFilter, iter_ledger, row_dict
    with store.session() as s:
        rows = [row_dict(r) for r in iter_ledger(s, LedgerFilter(), _today(store))]
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['deadline']}  {r['status']}  {r['level']}  {r['enterprise']}  "
                  f"{r['item_code']}  {r['order_number']}")
    return 0


def cmd_office_report(store, args) -> int:
    from documents.office_report import run_office_report
    summary = run_office_report(store, args.out, args.found_from, args.found_to, _today(store))
    if args.json:
        _print_json(summary)
    else:
        print(f"已写入重大事故隐患通报 {summary['major_hazards']} 项：{summary['xlsx']}、{summary['pdf']}")
    return 0


def cmd_assign_hazard(store, args) -> int:
    from models.assignment_command import run
    return run(store, args)


def cmd_backup(store, args) -> int:
    from models.backup import backup_store
    manifest = backup_store(store, args.out)
    print(f"已备份到 {args.out}：数据库及 {len(manifest['files'])} 个文件")
    return 0


def cmd_restore(args) -> int:
    """Before any store is opened: the target folder and database must still be empty."""
    from models.backup import restore_store
    from models.paths import resolve_data_dir, resolve_database_url
    print(restore_store(args.backup_dir, resolve_data_dir(args.data_dir),
                        resolve_database_url(args.database_url)))
    return 0


def cmd_migrate(store, args) -> int:
    from models.store import SCHEMA_HEAD
    print(f"数据库结构已是最新（{SCHEMA_HEAD}）：{store.location}")
    return 0


def cmd_plan(store, args) -> int:
    if args.plan_command in ("create", "draw", "assign"):
        from models.plan_rules import require_plan_office
        with store.session() as s:  # the office's work: said before an argument is looked up
            require_plan_office(s)
    return PLAN_COMMANDS[args.plan_command](store, args)


def _plan_create(store, args) -> int:
    from models.plan_rules import create_plan
    with store.transaction(actor="办公室", label="plan_create") as s:
        plan = create_plan(s, args.year, [_uuid_arg(f) for f in args.focus])
        plan_id, summary = str(plan.id), json.loads(plan.summary_json)
    if args.json:
        _print_json({"plan_id": plan_id, "months": summary})
    else:
        print(f"已编制 {args.year} 年度执法计划：{plan_id}")
        for m in summary:
            print(f"  {m['month']:>2} 月  检查 {m['inspections']} 家次，需 {m['teams']} 个检查组")
    return 0


def _plan_draw(store, args) -> int:
    import secrets
    from models.plan_rules import draw_round
    seed = secrets.token_hex(8) if args.seed == "random" else args.seed
    redraw = _uuid_arg(args.redraw) if args.redraw else None
    with store.transaction(actor="办公室", label="plan_draw") as s:
        draw = draw_round(s, _uuid_arg(args.plan_id), seed, rnd=args.round, redraw_of=redraw,
                          reason=args.reason, actor="办公室")
        out = {"draw_id": str(draw.id), "round": draw.round, "seed": draw.seed,
               "tasks": [{"enterprise_id": t["enterprise_id"], "inspector_ids": t["inspector_ids"],
                          "due_month": t["due_month"]} for t in json.loads(draw.result_json)],
               "exclusions": json.loads(draw.exclusions_json)}
    if args.json:
        _print_json(out)
    else:
        print(f"第 {out['round']} 轮抽取完成（种子 {out['seed']}）：{len(out['tasks'])} 项任务，"
              f"排除 {len(out['exclusions'])} 条；抽取编号 {out['draw_id']}")
    return 0


def _plan_verify(store, args) -> int:
    from models.plan_rules import verify_plan
    with store.session() as s:
        problems = verify_plan(s, _uuid_arg(args.plan_id))
    if getattr(args, "json", False):
        _print_json({"identical": not problems, "problems": problems})
    elif problems:
        print("抽取重放结果与记录不一致：", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
    else:
        print("每次抽取按记录重放，结果完全一致")
    return 1 if problems else 0


def _plan_publish(store, args) -> int:
    from pathlib import Path
    from documents.plan_publication import save_publication
    from models.plan_publication import publication
    out = Path(args.out)
    with store.session() as s:
        pub = publication(s, _uuid_arg(args.plan_id))
    save_publication(pub, out)  # refuses any ending but .xlsx / .pdf
    print(f"已写出公示清单（{len(pub.results)} 家企业）：{out}")
    return 0


def _plan_show(store, args) -> int:
    from models.plan_rules import active_draws, focus_tasks, get_plan, plan_progress
    with store.session() as s:
        plan = get_plan(s, _uuid_arg(args.plan_id))
        data = {"plan_id": str(plan.id), "year": plan.year, "months": json.loads(plan.summary_json),
                "draws": [{"draw_id": str(d.id), "round": d.round, "seed": d.seed,
                           "replaces": str(d.replaces_id) if d.replaces_id else None,
                           "reason": d.reason} for d in active_draws(s, plan.id)],
                "progress": plan_progress(s, plan.id, _today(store)),
                "focus_tasks": focus_tasks(s, plan.id)}
    if args.json:
        _print_json(data)
    else:
        t = data["progress"]["total"]
        print(f"{data['year']} 年度执法计划 {data['plan_id']}：已完成 {t['done']}，待检 {t['due']}，逾期 {t['overdue']}")
        for d in data["draws"]:
            print(f"  第 {d['round']} 轮  种子 {d['seed']}  {d['draw_id']}")
        for t in data["focus_tasks"]:
            print(f"  重点检查 {t['enterprise']}  {t['task_id']}  执法人员 {'、'.join(t['team']) or '未指派'}")
    return 0


def _plan_assign(store, args) -> int:
    from models.plan_people import find_inspector
    from models.plan_rules import assign_team
    with store.transaction(actor="办公室", label="plan_assign") as s:
        task = assign_team(s, _uuid_arg(args.task_id), [find_inspector(s, i) for i in args.inspector])
        out = {"task_id": str(task.id), "enterprise_id": str(task.enterprise_id),
               "inspector_ids": json.loads(task.inspector_ids)}
    if args.json:
        _print_json(out)
    else:
        print(f"已为重点检查任务 {out['task_id']} 指派 {len(out['inspector_ids'])} 名执法人员，"
              "随下次导出发往执法人员的电脑")
    return 0


def _plan_list(store, args) -> int:
    from models.plan_views import plans_by_year
    with store.session() as s:
        for year, plan_id in plans_by_year(s):
            print(f"{year}  {plan_id}")
    return 0


PLAN_COMMANDS = {"create": _plan_create, "draw": _plan_draw, "verify": _plan_verify,
                 "publish": _plan_publish, "show": _plan_show, "list": _plan_list,
                 "assign": _plan_assign}


COMMANDS = {"plan": cmd_plan, "migrate": cmd_migrate, "backup": cmd_backup, "office-report": cmd_office_report,
            "assign-hazard": cmd_assign_hazard, "checklists": cmd_checklists, "inspections": cmd_inspections,
            "status": cmd_status, "demo": cmd_demo, "export": cmd_export,
            "import": cmd_import, "verify": cmd_verify, "office-key": cmd_office_key,
            "pdf": cmd_pdf, "ledger": cmd_ledger, "hazards": cmd_hazards, "agency": cmd_agency}


def _run_unlocking(store, args) -> int:
    """Run the command; a locked key (no keyring, no FIELDCHECK_KEY_PASSPHRASE) is asked for
    once on the terminal and the command run again (sync.keystore)."""
    from sync.keystore import KeyLocked, unlock
    try:
        return COMMANDS[args.command](store, args)
    except KeyLocked as exc:
        if not sys.stdin.isatty() or exc.env != "FIELDCHECK_KEY_PASSPHRASE":
            raise
        import getpass
        unlock(store.data_dir, getpass.getpass("本机密钥口令（至少 8 个字符）："))
        return COMMANDS[args.command](store, args)


def _gui_options(argv: list[str]) -> argparse.Namespace | None:
    """The GUI's own options, when that is all there is: read without building every command's
    parser, which imports the sync stack (cryptography, SQLAlchemy: 1–2 s before the window)."""
    light = argparse.ArgumentParser(add_help=False)
    _add_data_dir(light, None)
    known, rest = light.parse_known_args(argv)
    return known if rest in ([], ["gui"]) else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from sync import export_files, staging  # the children: standard library only, cheap
    children = {staging.CHILD_ARGUMENT: staging.child_main,
                export_files.CHILD_ARGUMENT: export_files.child_main}
    if len(argv) == 1 and argv[0] in children:  # a frozen build asked to be a child
        children[argv[0]]()
        return 0
    gui = _gui_options(argv)
    if gui is not None:
        from ui.app import run_gui
        return run_gui(gui.data_dir, gui.database_url)
    args = build_parser().parse_args(argv)
    if args.command in (None, "gui"):
        from ui.app import run_gui
        return run_gui(args.data_dir, args.database_url)
    if args.command == "release":  # software updates: no store involved
        from release.cli import run
        return run(args)
    from models.startup import start_store
    try:
        if args.command == "restore":
            return cmd_restore(args)
        store = start_store(args.data_dir, args.database_url, upgrade=args.command == "migrate")
        try:
            return _run_unlocking(store, args)
        finally:
            store.close()
    except FieldCheckError as exc:
        print(f"错误：{exc.text()}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and cut short: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
