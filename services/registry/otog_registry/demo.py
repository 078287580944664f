"""Demo data (`make run demo=1`): groups from the programme's announcements with their
place, journey, members, products, certifications, a field visit and market links.

Safe to run on every start: groups are matched by Thai name and subdistrict,
workers by national ID, and nothing is added to a group that already exists.
The national IDs are made up (valid check digits, fixed so that reruns match).
The caller commits (services only flush).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from otog_shared.auth import Principal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.audit.service import AuditLog
from otog_registry.geography.repository import GeographyRepository
from otog_registry.groups.models import Group
from otog_registry.groups.occupations import Occupation
from otog_registry.groups.repository import GroupRepository
from otog_registry.groups.schemas import GroupCreate, StageChangeCreate
from otog_registry.groups.service import GroupService
from otog_registry.groups.stages import Stage
from otog_registry.market.repository import MarketLinkRepository
from otog_registry.market.schemas import MarketLinkCreate, Partner
from otog_registry.market.service import MarketService
from otog_registry.members.repository import MemberRepository
from otog_registry.members.schemas import MemberCreate, Role
from otog_registry.members.service import MemberService
from otog_registry.pii.crypto import NationalIdProtector, PiiKeys
from otog_registry.pii.national_id import checksum_digit
from otog_registry.products.repository import ProductRepository
from otog_registry.products.schemas import CertificationCreate, ProductCreate, Standard
from otog_registry.products.service import ProductService
from otog_registry.settings import RegistrySettings
from otog_registry.visits.repository import VisitRepository
from otog_registry.visits.schemas import VisitCreate
from otog_registry.visits.service import VisitService
from otog_registry.workers.repository import WorkerRepository
from otog_registry.workers.schemas import SocialSecurity, WorkerCreate
from otog_registry.workers.service import WorkerService

DEMO_PRINCIPAL = Principal(client_id="demo-loader", scopes=frozenset({"admin"}))


@dataclass
class DemoGroup:
    name_th: str
    name_en: str
    subdistrict: str
    occupation: Occupation
    journey: list[Stage]
    products: list[ProductCreate] = field(default_factory=list)
    fda: str | None = None
    tcps: str | None = None


GROUPS = [
    DemoGroup(
        "กลุ่มดอกไม้จันทน์และพวงหรีดย่านซื่อ",
        "Yan Sue funeral flowers and wreaths group",
        "150114",
        Occupation.flowers_wreaths,
        [Stage.prototype, Stage.training, Stage.product_development],
        [
            ProductCreate(
                name_th="พวงหรีดดอกไม้จันทน์",
                name_en="Sandalwood-flower wreath",
                price_satang=150_000,
                unit="ชิ้น",
                is_premium=True,
                packaging_notes="กล่องกระดาษรีไซเคิล พร้อมโลโก้กลุ่ม",
            )
        ],
        tcps="มผช. 1182/2566",
    ),
    DemoGroup(
        "วิสาหกิจชุมชนหมูแดดเดียวเกาะตาล",
        "Ko Tan sun-dried pork community enterprise",
        "620413",
        Occupation.food_processing,
        [Stage.prototype, Stage.training, Stage.product_development, Stage.funding],
        [
            ProductCreate(
                name_th="หมูแดดเดียว", name_en="Sun-dried pork", price_satang=12_000, unit="แพ็ก"
            )
        ],
        fda="62-2-04159-2-0012",
    ),
    DemoGroup(
        "กลุ่มเลี้ยงผึ้งช้างกลาง",
        "Chang Klang beekeeping group",
        "802201",
        Occupation.beekeeping,
        [Stage.prototype, Stage.training],
        [
            ProductCreate(
                name_th="น้ำผึ้งชันโรง", name_en="Stingless-bee honey", price_satang=35_000, unit="ขวด"
            )
        ],
    ),
    DemoGroup(
        "กลุ่มแปรรูปปลาเม็งบ้านนาเดิม",
        "Ban Na Doem pla meng processing group",
        "841301",
        Occupation.food_processing,
        [Stage.prototype],
    ),
    DemoGroup(
        "กลุ่มทอผ้าวิภาวดี",
        "Wiphawadi weaving group",
        "841901",
        Occupation.textiles_weaving,
        [
            Stage.prototype,
            Stage.training,
            Stage.product_development,
            Stage.funding,
            Stage.marketing,
        ],
        [
            ProductCreate(
                name_th="ผ้าทอมือลายดอกพิกุล",
                name_en="Hand-woven cloth",
                price_satang=80_000,
                unit="ผืน",
                is_premium=True,
            )
        ],
    ),
    DemoGroup(
        "กลุ่มผลิตภัณฑ์มะพร้าวเมืองสุราษฎร์ธานี",
        "Mueang Surat Thani coconut products group",
        "840101",
        Occupation.food_processing,
        [Stage.prototype],
    ),
    DemoGroup(
        "กลุ่มสปาสมุนไพรนครพนม",
        "Nakhon Phanom herbal spa massage group",
        "480101",
        Occupation.herbal_spa,
        [Stage.prototype, Stage.training],
    ),
    DemoGroup(
        "กลุ่มแปรรูปข้าวพัทลุง",
        "Phatthalung rice processing group",
        "930101",
        Occupation.food_processing,
        [Stage.prototype],
        [
            ProductCreate(
                name_th="ข้าวสังข์หยดพัทลุง",
                name_en="Sangyod Phatthalung rice",
                price_satang=9_000,
                unit="กิโลกรัม",
            )
        ],
    ),
    DemoGroup(
        "กลุ่มผลิตภัณฑ์จากบัวกว๊านพะเยา",
        "Kwan Phayao lotus products group",
        "560101",
        Occupation.handicraft,
        [],
    ),
]

PEOPLE = [
    ("สมศรี", "ใจดี", "1978-03-02", SocialSecurity.section_40),
    ("บุญมา", "รักถิ่น", "1969-11-20", SocialSecurity.section_40),
    ("อำไพ", "สุขใจ", "1985-07-14", SocialSecurity.none),
]


def demo_national_id(group_no: int, person_no: int) -> str:
    twelve = f"0999{group_no:04d}{person_no:04d}"
    return twelve + str(checksum_digit(twelve))


def _protector() -> NationalIdProtector:
    # The same key files the registry service uses: REGISTRY_DATA_DIR, else the
    # data directory of `make run`.
    data_dir = os.environ.get("REGISTRY_DATA_DIR") or str(
        Path(os.environ.get("OTOG_VAR_DIR", "var")) / "data"
    )
    return NationalIdProtector(PiiKeys.from_settings(RegistrySettings(data_dir=Path(data_dir))))


async def load_demo(session: AsyncSession) -> None:
    protector = _protector()
    audit = AuditLog(session)
    geography = GeographyRepository(session)
    groups = GroupService(GroupRepository(session), geography, audit)
    workers = WorkerService(WorkerRepository(session), geography, audit, protector)
    members = MemberService(MemberRepository(session), WorkerRepository(session), audit, protector)
    products = ProductService(ProductRepository(session), GroupRepository(session), audit)
    visits = VisitService(VisitRepository(session), audit)
    market = MarketService(MarketLinkRepository(session), ProductRepository(session), audit)

    for number, demo in enumerate(GROUPS, start=1):
        exists = await session.scalar(
            select(Group.id).where(
                Group.name_th == demo.name_th, Group.subdistrict_code == demo.subdistrict
            )
        )
        if exists is not None:
            continue
        group = await groups.create(
            DEMO_PRINCIPAL,
            GroupCreate(
                name_th=demo.name_th,
                name_en=demo.name_en,
                subdistrict_code=demo.subdistrict,
                occupation=demo.occupation,
            ),
        )
        for stage in demo.journey:
            # The 2024 (FY2567) prototypes; later steps in FY2568.
            year = 2567 if stage == Stage.prototype else 2568
            await groups.change_stage(group, StageChangeCreate(stage=stage, fiscal_year=year))
        for person, (first, last, born, social) in enumerate(PEOPLE, start=1):
            nid = demo_national_id(number, person)
            found = await workers.repository.get_by_hmac(protector.lookup_hash(nid))
            worker = found or await workers.create(
                DEMO_PRINCIPAL,
                WorkerCreate.model_validate(
                    {
                        "national_id": nid,
                        "first_name_th": first,
                        "last_name_th": last,
                        "birth_date": born,
                        "subdistrict_code": demo.subdistrict,
                        "social_security": social,
                    }
                ),
            )
            role = Role.leader if person == 1 else Role.member
            await members.add(DEMO_PRINCIPAL, group, MemberCreate(worker_id=worker.id, role=role))
        for product_data in demo.products:
            product = await products.create(group, product_data)
            for standard, number_text in ((Standard.fda, demo.fda), (Standard.tcps, demo.tcps)):
                if number_text:
                    await products.certify(
                        product,
                        group,
                        CertificationCreate.model_validate(
                            {
                                "standard": standard,
                                "number": number_text,
                                "issued_on": "2024-06-01",
                                "expires_on": "2027-05-31",
                            }
                        ),
                    )
        if demo.journey:
            await visits.record(
                group,
                VisitCreate.model_validate(
                    {
                        "visited_on": "2025-04-10",
                        "officer": "คณะทำงานโครงการหนึ่งตำบล หนึ่งกลุ่มอาชีพอิสระ",
                        "progress": "กลุ่มดำเนินงานตามแผน ผลิตสินค้าได้ต่อเนื่อง",
                        "progress_percent": 20 * len(demo.journey),
                        "problems": ["ขาดเงินทุนหมุนเวียน", "ช่องทางการตลาดมีจำกัด"],
                        "follow_up_actions": ["แนะนำยื่นขอกู้กองทุน", "ประสานพาณิชย์จังหวัด"],
                    }
                ),
            )
        if Stage.marketing in demo.journey or Stage.funding in demo.journey:
            await market.record(
                group,
                MarketLinkCreate.model_validate(
                    {
                        "partner": Partner.commerce,
                        "channel": "trade_fair",
                        "event": "OTOP City 2025",
                        "occurred_on": "2025-03-15",
                        "sales_satang": 4_520_000,
                    }
                ),
                None,
            )
