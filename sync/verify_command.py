"""The verify command: a bundle checked completely — alone, or against a store (then also
every reference to a record already there and what importing it would refuse) — without
changing anything. Sits on top of the import (records → verify → plan → merge → here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sync import crypto
from sync.bundle_format import BundleError, refuse
from sync.merge import check_against_store
from sync.records import check_files, missing_references
from sync.verify import read_bundle


@dataclass
class BundleReport:
    valid: bool
    problem: str = ""
    manifest: dict = field(default_factory=dict)
    signer_known: bool = False
    agency: str = ""        # the agency that enrolled the signer, when this store has one

    @property
    def exit_code(self) -> int:
        return 0 if self.valid else 1

    def lines(self) -> list[str]:
        if not self.valid:
            return [self.problem]
        m = self.manifest
        counts = m.get("counts", {})
        who = m.get("inspector") or {}
        source = (f"（来自本机构「{self.agency}」登记的设备）" if self.agency else
                  "（签名设备已知）" if self.signer_known else "（首次见到该签名设备）")
        return [
            "导出包完整，签名有效" + source
            + f"；签名指纹 {crypto.fingerprint(m['signer']['public_key'])}",
            f"导出时间：{m['created_at']}；设备：{m['device_id']}"
            + (f"；执法人员：{who.get('name')}" if who else ""),
            f"检查 {counts.get('inspection', 0)} 次；照片 {counts.get('photo', 0)} 张；"
            f"文件 {len(m['entries'])} 个；编号 {m['bundle_id']}",
        ] + (["增量导出包：只含目标电脑尚未有的记录，须导入已有此前记录的电脑"]
             if m.get("builds_on") else [])


def verify_bundle_file(path, store=None) -> BundleReport:
    """Check a bundle completely (with the store: also references to records already here)."""
    try:
        bundle = read_bundle(Path(path), data_dir=store.data_dir if store else None)
        if store is not None:
            check_against_store(store, bundle)
        else:
            # A delta names rows its destination holds: only a store can check those.
            missing = {} if bundle.is_delta else missing_references(bundle.records)
            if missing:
                table = sorted(missing)[0]
                raise refuse(f"记录引用了导出包中没有的{table}记录 {sorted(map(str, missing[table]))[0]}")
            check_files(bundle, lambda _name: False)
    except BundleError as exc:
        return BundleReport(valid=False, problem=exc.text())
    return BundleReport(valid=True, manifest=bundle.manifest, signer_known=bundle.signer_known,
                        agency=bundle.trust.agency if bundle.trust is not None else "")
