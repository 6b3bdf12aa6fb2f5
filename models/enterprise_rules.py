"""The enterprise register: creating and editing 台账 entries, with their checks."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import NotFoundError, ValidationError
from models.registry import Enterprise, RiskColour
from models.risk_class import areas_of

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a check code.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None if it is."""
    code = code.strip().upper()
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，现为 {len(code)} 位"
    bad = sorted({c for c in code if c not in CREDIT_ALPHABET})
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、S、V、Z）"
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位不符（最后一位应为 {expected}），请核对营业执照"
    return None


def phone_problem(phone: str) -> str | None:
    phone = phone.strip().replace(" ", "")
    if phone and not PHONE.match(phone):
        return "联系电话格式不对：手机 11 位，座机如 0731-12345678"
    return None


@dataclass
class EnterpriseInput:
    name: str
    credit_code: str
    address: str = ""
    legal_representative: str = ""
    representative_post: str = ""
    phone: str = ""
    has_dust: bool = False
    has_ammonia: bool = False
    has_confined_space: bool = False
    # None, or no reason: the class follows the rules of 设置 (models.risk_class); a class
    # set by hand carries its reason and overrides them.
    risk_colour: RiskColour | None = None
    township: str = ""      # 乡镇/街道, for 回避 and the office's views
    risk_reason: str = ""   # why the class was set by hand

    def normalized(self) -> EnterpriseInput:
        return replace(
            self, name=self.name.strip(), credit_code=self.credit_code.strip().upper(),
            address=self.address.strip(), legal_representative=self.legal_representative.strip(),
            representative_post=self.representative_post.strip(),
            phone=self.phone.strip().replace(" ", ""), township=self.township.strip(),
            risk_reason=self.risk_reason.strip(),
        )


def field_problems(data: EnterpriseInput) -> dict[str, str]:
    """Each invalid field with the reason, for showing next to the field."""
    problems: dict[str, str] = {}
    if not data.name.strip():
        problems["name"] = "请填写单位名称"
    if (p := credit_code_problem(data.credit_code)):
        problems["credit_code"] = p
    if (p := phone_problem(data.phone)):
        problems["phone"] = p
    return problems


def _check(session: Session, data: EnterpriseInput, own_id: uuid.UUID | None) -> None:
    problems = field_problems(data)
    if "credit_code" not in problems:
        other = session.scalar(select(Enterprise).where(Enterprise.credit_code == data.credit_code))
        if other is not None and other.id != own_id:
            problems["credit_code"] = f"该统一社会信用代码已登记为“{other.name}”"
    if problems:
        raise ValidationError("企业信息有误", list(problems.values()))


def _follow_rules(session: Session, data: EnterpriseInput,
                  enterprise_id: uuid.UUID | None) -> EnterpriseInput:
    """A class by hand keeps its colour and reason; otherwise the rules of 设置 give it."""
    if data.risk_colour is not None and data.risk_reason:
        return data
    from models.plan_rules import rule_class  # the planning rules import the register
    areas = areas_of(data.has_dust, data.has_ammonia, data.has_confined_space)
    return replace(data, risk_colour=rule_class(session, areas, enterprise_id).colour,
                   risk_reason="")


def create_enterprise(session: Session, data: EnterpriseInput) -> Enterprise:
    data = _follow_rules(session, data.normalized(), None)
    _check(session, data, None)
    enterprise = Enterprise(**vars(data))
    session.add(enterprise)
    session.flush()
    return enterprise


def risk_reason_problem(old_colour: RiskColour, old_reason: str, data: EnterpriseInput) -> str | None:
    """A class changed by hand needs a reason, written for this change (not the last one's);
    no class, or the stored one without a reason, follows the rules."""
    reason = data.risk_reason.strip()
    if data.risk_colour is None or (not reason and data.risk_colour == old_colour):
        return None
    if not reason:
        return "调整风险等级须写明理由"
    if data.risk_colour != old_colour and reason == (old_reason or "").strip():
        return "调整风险等级须写明本次调整的理由（与上次理由相同）"
    return None


def update_enterprise(session: Session, enterprise_id: uuid.UUID, data: EnterpriseInput) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError("找不到该企业", "它可能已被删除，请刷新台账")
    data = data.normalized()
    if (p := risk_reason_problem(enterprise.risk_colour, enterprise.risk_reason, data)):
        raise ValidationError("企业信息有误", [p])
    data = _follow_rules(session, data, enterprise_id)
    _check(session, data, enterprise_id)
    for key, value in vars(data).items():
        if getattr(enterprise, key) != value:
            setattr(enterprise, key, value)
    session.flush()
    return enterprise


def default_checklist_codes(enterprise: Enterprise) -> list[str]:
    """The checklists an inspection of this enterprise starts with: its areas plus general."""
    codes = [code for code, flag in (("dust", enterprise.has_dust),
                                     ("confined_space", enterprise.has_confined_space),
                                     ("ammonia", enterprise.has_ammonia)) if flag]
    return codes + ["general"]
