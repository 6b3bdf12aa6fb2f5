"""`assign-hazard HAZARD_ID --to 单位 --deadline YYYY-MM-DD [--note 说明] [--json]`: the office's
交办 of a major hazard from the command line (rules in models.assignment_rules)."""
from __future__ import annotations

import json
import sys
import uuid
from datetime import date

from models.errors import FieldCheckError

ACTOR = "办公室"


def add_parser(sub, add_global_options) -> None:
    cmd = sub.add_parser("assign-hazard", help="办公室：交办重大事故隐患（再次交办即改交，原交办保留）")
    cmd.add_argument("hazard_id", metavar="HAZARD_ID", help="隐患编号（hazards --json 中的 id）")
    cmd.add_argument("--to", required=True, metavar="单位", help="责任单位：部门或乡镇/街道")
    cmd.add_argument("--deadline", required=True, metavar="YYYY-MM-DD", help="交办期限")
    cmd.add_argument("--note", default="", metavar="说明", help="交办说明")
    cmd.add_argument("--json", action="store_true", help="以 JSON 输出")
    add_global_options(cmd)


def _hazard_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise FieldCheckError(f"隐患编号格式不对：{text}", "请使用 hazards --json 列出的 id") from None


def _deadline(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldCheckError(f"交办期限格式不对：{text}", "请写成 YYYY-MM-DD，例如 2026-12-31") from None


def run(store, args) -> int:
    # Imported here: main.py builds its parser (this module's add_parser) for every command.
    from models.assignment_rules import assign_hazard
    from models.base import utcnow
    from models.ledger import ledger_row, row_dict
    from models.local_time import agency_date
    hazard_id, deadline = _hazard_id(args.hazard_id), _deadline(args.deadline)
    with store.transaction(actor=ACTOR, label="assign_hazard") as s:
        made = assign_hazard(s, hazard_id, to=args.to, deadline=deadline, note=args.note,
                             assigned_by=ACTOR)
    with store.session() as s:
        row = ledger_row(s, hazard_id, agency_date((store.clock or utcnow)()))
    if args.json:
        out = {"assignment_id": str(made.id), "hazard_id": str(hazard_id), "to": made.assignee,
               "deadline": made.deadline.isoformat(), "note": made.note, "round": made.round,
               "replaces_id": str(made.replaces_id) if made.replaces_id else None,
               "hazard": row_dict(row) if row else None}
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        what = f"{row.enterprise}：{row.description[:30]}" if row else str(hazard_id)
        again = f"（第 {made.round} 次交办，原交办保留）" if made.round > 1 else ""
        print(f"已交办 {what} → {made.assignee}，期限 {made.deadline.isoformat()}{again}")
    return 0

