"""The citations of the stored checklists that could not be checked against a text (待核)."""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from models.checklist_library import UNVERIFIED, latest_checklists

if TYPE_CHECKING:  # annotations only: the checklists package speaks no SQL
    from sqlalchemy.orm import Session


def unverified_citations(session: Session) -> list[dict]:
    """One row per 待核 citation of the newest checklist versions, in checklist and item order."""
    rows = []
    latest = latest_checklists(session)
    for code in sorted(latest):
        for item in latest[code].items:
            for source in json.loads(item.basis_sources):
                if source.get("status") == UNVERIFIED:
                    rows.append({"checklist": code, "item": item.code, "citation": source["citation"],
                                 "status": UNVERIFIED, "reason": source.get("reason", "")})
    return rows


def print_unverified(session: Session, as_json: bool) -> int:
    """`checklists --unverified`: one tab-separated line each (item code, citation, why); exit 0."""
    rows = unverified_citations(session)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(f"{r['item']}\t{r['citation']}\t{r['reason']}")
        items = len({r["item"] for r in rows})
        print(f"共 {len(rows)} 条引用待核（{items} 个检查项）；核对出处后改正 checklists/data/ 中的 basis_sources",
              file=sys.stderr)
    return 0
