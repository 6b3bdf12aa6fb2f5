"""A realistic demo: enterprises of the three areas, inspections in every state, photos.

Built only through the domain functions, so the demo's audit trail is a real one.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw
from sqlalchemy import select

from models.enterprise_rules import EnterpriseInput, create_enterprise, credit_check_char
from models.errors import FieldCheckError
from models.inspection import AnswerResult
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, start_inspection)
from models.local_time import agency_wall
from models.photo_store import attach_photo
from models.planning_demo import add_planning_register
from models.registry import AgencySettings, Enterprise, Inspector, RiskColour
from models.store import Store
from models.store_mode import begin_demo


def demo_credit_code(serial: int) -> str:
    first17 = f"91430381MA4L0DEM{serial}"
    return first17 + credit_check_char(first17)


ENTERPRISES = [
    ("湘乡市恒达木业有限公司", "湘乡市经济开发区木业路 8 号", "陈建国", "总经理", "13907321234",
     dict(has_dust=True, has_confined_space=True), RiskColour.ORANGE),
    ("湘乡市鑫源铝制品有限公司", "湘乡市月山镇工业园 3 栋", "周志明", "董事长", "0731-56781234",
     dict(has_dust=True), RiskColour.RED),
    ("湘乡市湘味冷链物流有限公司", "湘乡市东山街道冷链大道 16 号", "刘美华", "总经理", "13874112345",
     dict(has_ammonia=True, has_confined_space=True), RiskColour.ORANGE),
    ("湘乡市清源酿造有限公司", "湘乡市壶天镇酒厂路 2 号", "谭立新", "厂长", "13786543210",
     dict(has_confined_space=True), RiskColour.YELLOW),
    ("湘乡市金穗饲料有限公司", "湘乡市泉塘镇粮仓路 21 号", "彭德胜", "总经理", "0731-56223344",
     dict(has_dust=True, has_confined_space=True), RiskColour.YELLOW),
    ("湘乡市华源纸业有限公司", "湘乡市虞唐镇造纸厂路 5 号", "曾海波", "安全总监", "15173254321",
     dict(has_confined_space=True), RiskColour.BLUE),
]
INSPECTORS = [("张卫东", "43038120001"), ("李晓红", "43038120002"), ("王建军", "43038120003")]
# `demo --laptop N` (N ≥ 2): another laptop of the same agency — the same register, its own
# two-person team and its own range of case numbers, so its bundles meet laptop 1's at the office.
LAPTOP_TEAMS = [("赵志刚", "谢丽娟"), ("黄振华", "罗敏"), ("邓永红", "蒋文博"), ("唐国平", "彭雪梅")]
LAPTOP_SERIALS = 1000  # laptop N numbers its cases from (N - 1) × 1000 + 1


def laptop_team(laptop: int) -> list[tuple[str, str]]:
    if laptop == 1:
        return INSPECTORS
    first, second = LAPTOP_TEAMS[(laptop - 2) % len(LAPTOP_TEAMS)]
    return [(first, f"4303812{laptop:03d}1"), (second, f"4303812{laptop:03d}2")]


def demo_photo(label: str, taken: datetime, orientation: int = 1) -> bytes:
    """A camera-like JPEG with EXIF time, GPS (湘乡) and orientation."""
    img = Image.new("RGB", (1600, 1200), (96, 104, 112))
    draw = ImageDraw.Draw(img)
    draw.rectangle((200, 300, 1400, 1000), outline=(240, 200, 40), width=12)
    draw.text((240, 340), label, fill=(255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = agency_wall(taken).strftime("%Y:%m:%d %H:%M:%S")
    exif.get_ifd(0x8825).update({1: "N", 2: (27.0, 44.0, 12.5), 3: "E", 4: (112.0, 31.0, 40.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def _at(moment: datetime):
    return lambda: moment


def _refuse_certificate_clash(session) -> None:
    """The demo's inspectors are new people: a real one holding a demo number stops it."""
    numbers = [c for _n, c in INSPECTORS]
    holder = session.scalars(select(Inspector).where(Inspector.certificate_no.in_(numbers))
                             .order_by(Inspector.certificate_no)).first()
    if holder is not None:
        raise FieldCheckError(
            f"本数据文件夹中的执法人员 {holder.name} 已使用演示数据的执法证号 {holder.certificate_no}，"
            "演示数据未写入",
            "请另建一个空文件夹写入演示数据（python main.py demo --data-dir 新文件夹）")


def build_demo(store: Store, now: datetime | None = None, laptop: int = 1) -> bool:
    """Fill the store with the demo; False when it is already there (run twice: no change).
    Refused on a store that holds records and is not a demo store (models.store_mode).
    `laptop` N ≥ 2: the N-th laptop of the same demo agency (see LAPTOP_TEAMS)."""
    if laptop < 1:
        raise ValueError("laptop numbers start at 1")
    now = now or datetime.now(timezone.utc)
    with store.session() as s:
        begin_demo(s, store.data_dir)
    if laptop > 1:
        return _build_other_laptop(store, now, laptop)
    with store.transaction(actor="演示数据", label="demo") as s:
        if s.scalar(select(Enterprise.id).where(Enterprise.credit_code == demo_credit_code(0))):
            return False
        _refuse_certificate_clash(s)
        settings = s.scalar(select(AgencySettings)) or AgencySettings()
        settings.agency_name = settings.agency_name or "湘乡市应急管理局"
        settings.region_short = settings.region_short or "湘乡"
        settings.reconsideration_government = settings.reconsideration_government or "湘乡市人民政府"
        settings.court = settings.court or "湘乡市人民法院"
        s.add(settings)
        people = [Inspector(name=n, certificate_no=c) for n, c in INSPECTORS]
        s.add_all(people)
        firms = [create_enterprise(s, EnterpriseInput(
            name=name, credit_code=demo_credit_code(i), address=addr, legal_representative=rep,
            representative_post=post, phone=phone, risk_colour=colour, **flags))
            for i, (name, addr, rep, post, phone, flags, colour) in enumerate(ENTERPRISES)]
        add_planning_register(s, firms, people)
        team = [people[0].id, people[1].id]
    _walk(store, firms[0].id, team, "木工车间、除尘器区域、地下污水池", now - timedelta(days=40),
          fail={"DUST-01", "DUST-03", "CS-03"}, photos=True, finish=True)
    _walk(store, firms[1].id, [people[1].id, people[2].id], "抛光车间及除尘系统",
          now - timedelta(days=12), fail={"DUST-04", "DUST-07"}, photos=True, finish=True)
    _walk(store, firms[2].id, team, "速冻间、机房、冷藏间", now - timedelta(days=5),
          fail={"NH3-08", "CS-05"}, photos=True, finish=True,
          not_applicable=frozenset({"NH3-01"}))
    _walk(store, firms[3].id, team, "发酵罐区", now - timedelta(days=3), fail=set(), finish=True)
    _walk(store, firms[4].id, [people[0].id, people[2].id], "粉碎车间、筒仓", now - timedelta(hours=2),
          fail={"DUST-02"}, photos=True, finish=False, answer_share=0.5, withdraw="DUST-09")
    _walk(store, firms[5].id, team, "制浆车间污水池", now - timedelta(minutes=20),
          fail=set(), finish=False, answer_share=0.0)
    return True


def _walk(store: Store, enterprise_id, team, place, start: datetime, *, fail: set[str],
          finish: bool, photos: bool = False, answer_share: float = 1.0,
          withdraw: str | None = None, not_applicable: frozenset[str] = frozenset()) -> None:
    actor = "演示数据"
    with store.transaction(actor=actor, label="start_inspection") as s:
        s.info["clock"] = _at(start)
        inspection = start_inspection(s, NewInspection(enterprise_id, team, place, start))
        items = inspection_items(s, inspection.id)
    count = round(len(items) * answer_share)
    for n, item in enumerate(items[:count]):
        moment = start + timedelta(minutes=2 * n + 1)
        result = AnswerResult.NONCOMPLIANT if item.code in fail else AnswerResult.COMPLIANT
        if item.code in not_applicable:
            result = AnswerResult.NOT_APPLICABLE
        with store.transaction(actor=actor, label="answer_item") as s:
            s.info["clock"] = _at(moment)
            note = "现场查看发现问题，已拍照取证" if item.code in fail else ""
            answer = answer_item(s, inspection.id, item.id, result, note)
            if photos and item.code in fail:
                attach_photo(s, store.photos_dir, inspection.id,
                             demo_photo(item.code, moment, orientation=6 if n % 2 else 1),
                             original_name=f"IMG_{n:04d}.jpg", answer_id=answer.id,
                             hazard_id=answer.hazard.id, caption=f"{item.code} 现场情况")
        if item.code == withdraw:
            with store.transaction(actor=actor, label="answer_item") as s:
                s.info["clock"] = _at(moment)
                answer_item(s, inspection.id, item.id, AnswerResult.NONCOMPLIANT, "疑似积尘")
            with store.transaction(actor=actor, label="answer_item") as s:
                s.info["clock"] = _at(moment + timedelta(seconds=30))
                answer_item(s, inspection.id, item.id, AnswerResult.COMPLIANT, "复看后符合")
    if finish:
        with store.transaction(actor=actor, label="finalize_inspection") as s:
            s.info["clock"] = _at(start + timedelta(minutes=2 * len(items) + 10))
            finalize_inspection(s, inspection.id)


def _build_other_laptop(store: Store, now: datetime, laptop: int) -> bool:
    with store.transaction(actor="演示数据", label="demo") as s:
        if s.scalar(select(Enterprise.id).where(Enterprise.credit_code == demo_credit_code(0))):
            return False
        settings = s.scalar(select(AgencySettings)) or AgencySettings()
        settings.agency_name = settings.agency_name or "湘乡市应急管理局"
        settings.region_short = settings.region_short or "湘乡"
        settings.reconsideration_government = settings.reconsideration_government or "湘乡市人民政府"
        settings.court = settings.court or "湘乡市人民法院"
        settings.serial_start = LAPTOP_SERIALS * (laptop - 1) + 1
        s.add(settings)
        people = [Inspector(name=n, certificate_no=c) for n, c in laptop_team(laptop)]
        s.add_all(people)
        firms = [create_enterprise(s, EnterpriseInput(
            name=name, credit_code=demo_credit_code(i), address=addr, legal_representative=rep,
            representative_post=post, phone=phone, risk_colour=colour, **flags))
            for i, (name, addr, rep, post, phone, flags, colour) in enumerate(ENTERPRISES)]
        add_planning_register(s, firms, None)  # the same 名录库 (the office holds the people)
        team = [p.id for p in people]
    # Its own visits: other firms first, other days, other findings than laptop 1's.
    shift = timedelta(hours=laptop)
    order = [firms[(i + laptop - 1) % len(firms)] for i in range(len(firms))]
    _walk(store, order[0].id, team, "生产车间、除尘系统", now - timedelta(days=30) + shift,
          fail={"DUST-01", "CS-03"}, photos=True, finish=True)
    _walk(store, order[1].id, team, "仓库、有限空间作业点", now - timedelta(days=9) + shift,
          fail={"CS-05"}, photos=True, finish=True)
    _walk(store, order[2].id, team, "厂区全面检查", now - timedelta(days=2) + shift,
          fail=set(), finish=True)
    _walk(store, order[3].id, team, "车间现场", now - timedelta(hours=3) + shift,
          fail={"DUST-02"}, photos=True, finish=False, answer_share=0.4)
    return True
