"""FieldCheck (工贸安全现场检查): the GUI by default, subcommands for headless work.

    python main.py [--data-dir DIR]                  start the application
    python main.py checklists --json                 every checklist item as JSON
    python main.py demo                              fill the store with demo data
    python main.py inspections --json                every inspection with hazard counts
    python main.py status --json                     counts and the audit-chain check
"""
from __future__ import annotations

import argparse
import json
import sys

from models.errors import FieldCheckError


def _add_data_dir(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="数据文件夹（默认：用户数据目录，或环境变量 FIELDCHECK_DATA_DIR）")


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
    gui = sub.add_parser("gui", help="启动图形界面（默认）")
    _add_data_dir(gui, argparse.SUPPRESS)
    return parser


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_checklists(store, args) -> int:
    from models.reports import checklist_dump
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


def cmd_status(store, args) -> int:
    from models.reports import status_summary
    with store.session() as s:
        summary = status_summary(s)
    summary["data_dir"] = str(store.data_dir)
    if args.json:
        _print_json(summary)
    else:
        chain = summary["audit_chain"]
        print(f"数据文件夹：{summary['data_dir']}")
        print(f"企业 {summary['enterprises']} 家；检查 {summary['inspections']}；隐患 {summary['hazards']}")
        print(f"照片 {summary['photos']} 张；文书 {summary['documents']} 份；执法记录 {summary['audit_events']} 条")
        print("执法记录链完整" if chain["intact"] else "执法记录链被改动：" + "；".join(chain["problems"]))
    return 0 if summary["audit_chain"]["intact"] else 1


def cmd_demo(store, args) -> int:
    from models.demo import build_demo
    if build_demo(store):
        print(f"已写入演示数据：{store.data_dir}")
    else:
        print("演示数据已存在，未重复写入")
    return 0


COMMANDS = {"checklists": cmd_checklists, "inspections": cmd_inspections,
            "status": cmd_status, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in (None, "gui"):
        from ui.app import run_gui
        return run_gui(args.data_dir)
    from models.startup import start_store
    try:
        store = start_store(args.data_dir)
        try:
            return COMMANDS[args.command](store, args)
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
