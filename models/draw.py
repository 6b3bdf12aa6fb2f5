"""The 双随机 draw as a pure function of a seed and the recorded input lists.

Algorithm ``fieldcheck-draw-v1`` (docs/draw-algorithm.md says the same in prose):

* Every random choice is a ranking by a keyed hash: ``key(purpose, x) = SHA-256(
  "fieldcheck-draw-v1|" + seed + "|" + purpose + "|" + x)`` read as a hex string. Ranking by
  it is a uniform random permutation that depends on nothing but the seed and the ids: not on
  Python's ``hash()``, set order, the order of the input lists or the machine.
* Enterprises, per risk class: the candidates are those of the class below their yearly cap;
  those inspected or drawn fewer times this year come first, ties ranked by
  ``key("enterprise:<round>", id)``; the class's quota is taken from the top.
* Inspectors, per drawn enterprise in the order drawn: the available ones who are not under
  回避 for the enterprise or its township, ranked by (tasks already given in this draw,
  ``key("inspector:<enterprise id>", inspector id)``); the first pair in that order that is not
  the enterprise's previous team is taken. Fewer than two left: the enterprise is excluded
  with the reason.

``run_draw(inputs)`` returns ``(tasks, exclusions)``; replaying recorded inputs must give the
recorded result byte for byte (``plan verify``).
"""
from __future__ import annotations

import hashlib
import json
from itertools import combinations

ALGORITHM = "fieldcheck-draw-v1"
UNAVAILABLE = "不在岗（不可抽取）"


def canonical(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(data) -> str:
    return hashlib.sha256(canonical(data).encode("utf-8")).hexdigest()


def key(seed: str, purpose: str, item: str) -> str:
    return hashlib.sha256(f"{ALGORITHM}|{seed}|{purpose}|{item}".encode("utf-8")).hexdigest()


def _avoided(inspector_id: str, enterprise: dict, avoidances: list[dict]) -> str | None:
    for a in avoidances:
        if a["inspector_id"] != inspector_id:
            continue
        if a.get("enterprise_id") == enterprise["id"]:
            return f"回避（本企业）：{a['reason']}"
        if a.get("township") and a["township"] == enterprise.get("township"):
            return f"回避（{a['township']}）：{a['reason']}"
    return None


def inspector_bar(person: dict, enterprise: dict, avoidances: list[dict]) -> str | None:
    """Why this inspector may not inspect this enterprise (不在岗 or 回避), None when they may:
    the one rule for the draw and for a team assigned by hand (重点检查)."""
    if not person["available"]:
        return UNAVAILABLE
    return _avoided(person["id"], enterprise, avoidances)


def _draw_enterprises(inputs: dict, exclusions: list[dict]) -> list[dict]:
    seed, rnd = inputs["seed"], inputs["round"]
    drawn: list[dict] = []
    for colour in ("red", "orange", "yellow", "blue"):
        quota = int(inputs["quotas"].get(colour, 0))
        pool = [e for e in inputs["enterprises"] if e["risk"] == colour]
        candidates = []
        for e in pool:
            if e["times_this_year"] >= e["cap"]:
                exclusions.append({"enterprise_id": e["id"], "reason": "本年度检查次数已达上限"})
            else:
                candidates.append(e)
        candidates.sort(key=lambda e: (e["times_this_year"], key(seed, f"enterprise:{rnd}", e["id"])))
        if quota > len(candidates):
            exclusions.append({"risk": colour,
                               "reason": f"可抽企业 {len(candidates)} 家，少于本轮应抽 {quota} 家"})
        drawn.extend(candidates[:quota])
    return drawn


def _pick_pair(enterprise: dict, inputs: dict, load: dict[str, int],
               exclusions: list[dict]) -> list[str] | None:
    seed, size = inputs["seed"], int(inputs.get("team_size", 2))
    eligible = []
    for person in inputs["inspectors"]:
        why = inspector_bar(person, enterprise, inputs["avoidances"])
        if why == UNAVAILABLE:
            continue  # recorded once for the draw, see run_draw
        if why:
            exclusions.append({"enterprise_id": enterprise["id"], "inspector_id": person["id"],
                               "reason": why})
            continue
        eligible.append(person["id"])
    eligible.sort(key=lambda pid: (load.get(pid, 0), key(seed, f"inspector:{enterprise['id']}", pid)))
    previous = set(inputs["previous_teams"].get(enterprise["id"], []))
    for team in combinations(eligible, size):
        if previous and set(team) == previous:
            continue
        return list(team)
    reason = (f"可选执法人员不足 {size} 人" if len(eligible) < size
              else "可选执法人员只能组成与上次相同的组合")
    exclusions.append({"enterprise_id": enterprise["id"], "reason": reason})
    return None


def run_draw(inputs: dict) -> tuple[list[dict], list[dict]]:
    """The tasks (enterprise, team, months) and every exclusion, from the inputs alone."""
    inputs = dict(inputs, enterprises=sorted(inputs["enterprises"], key=lambda e: e["id"]),
                  inspectors=sorted(inputs["inspectors"], key=lambda p: p["id"]),
                  avoidances=sorted(inputs["avoidances"], key=canonical))
    exclusions: list[dict] = [{"inspector_id": p["id"], "reason": UNAVAILABLE}
                              for p in inputs["inspectors"] if not p["available"]]
    load: dict[str, int] = {}
    tasks = []
    for enterprise in _draw_enterprises(inputs, exclusions):
        team = _pick_pair(enterprise, inputs, load, exclusions)
        if team is None:
            continue
        for pid in team:
            load[pid] = load.get(pid, 0) + 1
        tasks.append({"enterprise_id": enterprise["id"], "inspector_ids": team,
                      "risk": enterprise["risk"], "first_month": inputs["first_month"],
                      "due_month": inputs["due_month"]})
    return tasks, exclusions
