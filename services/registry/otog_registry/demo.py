"""Demo data (`make run demo=1`): groups from the programme's announcements with their
place, journey, members, products, certifications, a field visit and market links; and,
for the programme console, groups of the current fiscal year in every stage across the
regions, workers for the training sessions, the console's officers and its app client.

Safe to run on every start: groups are matched by Thai name and subdistrict,
workers by national ID, and nothing is added to a group that already exists.
The national IDs are made up (valid check digits, fixed so that reruns match).
The caller commits (services only flush).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from otog_shared.auth import Principal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.audit.service import AuditLog
from otog_registry.fiscal import (
    BUDDHIST_ERA_OFFSET,
    current_fiscal_year,
    fiscal_year_bounds,
    today_in_bangkok,
)
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
from otog_registry.oauth.models import ApiClient
from otog_registry.oauth.redirects import redirect_uri_problem
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.pii.crypto import NationalIdProtector, PiiKeys
from otog_registry.pii.national_id import checksum_digit
from otog_registry.products.repository import ProductRepository
from otog_registry.products.schemas import CertificationCreate, ProductCreate, Standard
from otog_registry.products.service import ProductService
from otog_registry.settings import RegistrySettings
from otog_registry.stats.models import ProgrammeTarget
from otog_registry.users.passwords import Passwords
from otog_registry.users.repository import SignInAddressRepository, UserRepository
from otog_registry.users.service import SignInPolicy, UserService
from otog_registry.visits.repository import VisitRepository
from otog_registry.visits.schemas import VisitCreate
from otog_registry.visits.service import VisitService
from otog_registry.workers.importer import WorkerImporter, WriteLane
from otog_registry.workers.models import Worker
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


async def _new_group(
    session: AsyncSession, groups: GroupService, demo: DemoGroup | ConsoleGroup
) -> Group | None:
    """The demo group created, or None when an earlier load made it (loads repeat)."""
    exists = await session.scalar(
        select(Group.id).where(
            Group.name_th == demo.name_th, Group.subdistrict_code == demo.subdistrict
        )
    )
    if exists is not None:
        return None
    return await groups.create(
        DEMO_PRINCIPAL,
        GroupCreate(
            name_th=demo.name_th,
            name_en=demo.name_en,
            subdistrict_code=demo.subdistrict,
            occupation=demo.occupation,
        ),
    )


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
        group = await _new_group(session, groups, demo)
        if group is None:
            continue
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


# --- the programme console -------------------------------------------------------

J = Stage
FULL_JOURNEY = [J.prototype, J.training, J.product_development, J.funding, J.marketing]


@dataclass(frozen=True)
class ConsoleGroup:
    name_th: str
    name_en: str
    subdistrict: str
    occupation: Occupation
    # Steps taken under the current fiscal year (registered: none).
    journey: tuple[Stage, ...]
    product: tuple[str, str, int, str] | None = None  # Thai, English, price (satang), unit


# Groups of the current fiscal year in every stage, in every region, among them the
# provinces the programme's announcements name (Ang Thong, Kamphaeng Phet, Phayao …).
CONSOLE_GROUPS = [
    ConsoleGroup(
        "กลุ่มจักสานผักตบชวาตลาดหลวง",
        "Talat Luang water-hyacinth basketry group",
        "150101",
        Occupation.handicraft,
        tuple(FULL_JOURNEY),
        ("กระเป๋าผักตบชวา", "Water-hyacinth bag", 45_000, "ใบ"),
    ),
    ConsoleGroup(
        "กลุ่มขนมไทยบ้านแห",
        "Ban Hae Thai desserts group",
        "150102",
        Occupation.food_processing,
        (J.prototype, J.training),
    ),
    ConsoleGroup(
        "กลุ่มตุ๊กตาชาววังโพสะ",
        "Pho Sa palace dolls group",
        "150103",
        Occupation.handicraft,
        (),
    ),
    ConsoleGroup(
        "กลุ่มกล้วยไข่ในเมืองกำแพงเพชร",
        "Nai Mueang kluai khai banana group",
        "620101",
        Occupation.food_processing,
        (J.prototype, J.training, J.product_development, J.funding),
        ("กล้วยไข่ฉาบ", "Kluai khai banana chips", 6_000, "ถุง"),
    ),
    ConsoleGroup(
        "กลุ่มผ้าทอไตรตรึงษ์",
        "Trai Trueng weaving group",
        "620102",
        Occupation.textiles_weaving,
        (J.prototype, J.suspended),
    ),
    ConsoleGroup(
        "กลุ่มจักสานกระติบข้าวพะเยา",
        "Phayao rice-box basketry group",
        "560102",
        Occupation.handicraft,
        (J.prototype, J.training, J.product_development),
        ("กระติบข้าวไม้ไผ่", "Bamboo rice box", 25_000, "ใบ"),
    ),
    ConsoleGroup(
        "กลุ่มจานใบไม้ตองตึง",
        "Tong Tueng leaf plates group",
        "560104",
        Occupation.handicraft,
        (J.prototype,),
    ),
    ConsoleGroup(
        "กลุ่มชาอู่หลงเวียงเชียงราย",
        "Wiang Chiang Rai oolong tea group",
        "570101",
        Occupation.agriculture,
        tuple(FULL_JOURNEY),
        ("ชาอู่หลงอบแห้ง", "Dried oolong tea", 18_000, "กล่อง"),
    ),
    ConsoleGroup(
        "กลุ่มหัตถกรรมล้านนาช้างม่อย",
        "Chang Moi Lanna handicraft group",
        "500102",
        Occupation.handicraft,
        (J.prototype, J.training),
    ),
    ConsoleGroup(
        "กลุ่มผ้าทอลายน้ำไหลในเวียง",
        "Nai Wiang nam lai weaving group",
        "550101",
        Occupation.textiles_weaving,
        (J.prototype, J.training, J.product_development),
        ("ผ้าซิ่นลายน้ำไหล", "Nam lai sarong", 150_000, "ผืน"),
    ),
    ConsoleGroup(
        "กลุ่มแม่บ้านเย็บผ้าวังบูรพาภิรมย์",
        "Wang Burapha Phirom sewing group",
        "100102",
        Occupation.sewing,
        (J.prototype, J.training, J.product_development, J.funding),
        ("กระเป๋าผ้าเย็บมือ", "Hand-sewn cloth bag", 35_000, "ใบ"),
    ),
    ConsoleGroup(
        "กลุ่มผ้าไหมมัดหมี่ในเมืองขอนแก่น",
        "Nai Mueang Khon Kaen mudmee silk group",
        "400101",
        Occupation.textiles_weaving,
        tuple(FULL_JOURNEY),
        ("ผ้าไหมมัดหมี่", "Mudmee silk", 250_000, "ผืน"),
    ),
    ConsoleGroup(
        "กลุ่มผักปลอดสารพิษโพธิ์กลาง",
        "Pho Klang pesticide-free vegetables group",
        "300102",
        Occupation.agriculture,
        (J.prototype, J.training),
    ),
    ConsoleGroup(
        "กลุ่มเลี้ยงปลานิลในเมืองอุบล",
        "Nai Mueang Ubon tilapia group",
        "340101",
        Occupation.livestock_fishery,
        (J.dissolved,),
    ),
    ConsoleGroup(
        "กลุ่มกล้วยตากในเมืองพิษณุโลก",
        "Nai Mueang Phitsanulok dried banana group",
        "650101",
        Occupation.food_processing,
        (J.prototype, J.training, J.product_development, J.funding),
        ("กล้วยตาก", "Sun-dried banana", 8_000, "กล่อง"),
    ),
    ConsoleGroup(
        "กลุ่มท่องเที่ยวชุมชนบ้านเหนือ",
        "Ban Nuea community tourism group",
        "710101",
        Occupation.community_tourism,
        tuple(FULL_JOURNEY),
        ("แพ็กเกจล่องแพแม่น้ำแคว", "Khwae river raft trip", 120_000, "ท่าน"),
    ),
    ConsoleGroup(
        "กลุ่มผ้าบาติกตลาดใหญ่",
        "Talat Yai batik group",
        "830101",
        Occupation.handicraft,
        (J.prototype, J.training, J.suspended),
    ),
    ConsoleGroup(
        "กลุ่มไข่เค็มตลาดสุราษฎร์",
        "Talat Surat salted egg group",
        "840102",
        Occupation.food_processing,
        (J.prototype, J.training, J.product_development),
        ("ไข่เค็มไชยา", "Chaiya salted eggs", 5_000, "ฟอง"),
    ),
    ConsoleGroup(
        "กลุ่มน้ำปลาท่าประดู่",
        "Tha Pradu fish sauce group",
        "210101",
        Occupation.food_processing,
        (J.prototype,),
    ),
    ConsoleGroup(
        "กลุ่มผ้าย้อมครามในเมืองนครพนม",
        "Nai Mueang Nakhon Phanom indigo group",
        "480102",
        Occupation.textiles_weaving,
        (J.prototype, J.training),
    ),
    ConsoleGroup(
        "กลุ่มส้มโอพระปฐมเจดีย์",
        "Phra Pathom Chedi pomelo group",
        "730101",
        Occupation.agriculture,
        (J.prototype, J.training, J.product_development, J.funding),
        ("ส้มโอขาวน้ำผึ้ง", "Khao nam phueng pomelo", 12_000, "ลูก"),
    ),
    ConsoleGroup(
        "กลุ่มเย็บผ้าบ่อยาง",
        "Bo Yang sewing group",
        "900101",
        Occupation.sewing,
        (),
    ),
]

PARTNER_CHANNELS = {
    Partner.interior: ("otop_shop", "OTOP Mid Year"),
    Partner.commerce: ("ecommerce", "Thaitrade.com"),
    Partner.tourism: ("tourist_market", "Amazing Thailand Fair"),
    Partner.labour: ("retail_outlet", "Labour market day"),
    Partner.overseas: ("export", "Thai products week abroad"),
}

# Workers who book the demo training sessions (the fullest takes 172 bookings).
TRAINEES = 200
TRAINEE_SERIES = 9000
TRAINEE_SUBDISTRICTS = ("550101", "400101", "710101", "840102", "300102")


def _since_year_start(today: date, days_ago: int) -> date:
    """A day ``days_ago`` before today, but inside the current fiscal year."""
    first, _ = fiscal_year_bounds(current_fiscal_year())
    return max(first, today - timedelta(days=days_ago))


async def load_console_demo(session: AsyncSession, today: date | None = None) -> None:
    """The console's groups, products, visits, market links and trainees. Safe to run
    again: groups are matched by Thai name and subdistrict, workers by national ID."""
    today = today or today_in_bangkok()
    year = current_fiscal_year()
    protector = _protector()
    audit = AuditLog(session)
    geography = GeographyRepository(session)
    groups = GroupService(GroupRepository(session), geography, audit)
    workers = WorkerService(WorkerRepository(session), geography, audit, protector)
    members = MemberService(MemberRepository(session), WorkerRepository(session), audit, protector)
    products = ProductService(ProductRepository(session), GroupRepository(session), audit)
    visits = VisitService(VisitRepository(session), audit)
    market = MarketService(MarketLinkRepository(session), ProductRepository(session), audit)

    if await session.get(ProgrammeTarget, year) is None:
        # The announced year's targets carried over, so the console's default year
        # shows targets beside the demo's counts.
        announced = await session.get(ProgrammeTarget, 2568)
        if announced is not None:
            session.add(
                ProgrammeTarget(
                    fiscal_year=year,
                    prototype_groups=announced.prototype_groups,
                    full_cycle_groups=announced.full_cycle_groups,
                    finish_by=date(year - BUDDHIST_ERA_OFFSET, 3, 31),
                    finish_by_groups=announced.finish_by_groups,
                    source="Demo data: the FY2568 targets carried over",
                )
            )

    async def worker(nid: str, subdistrict: str, person: int) -> Worker:
        found = await workers.repository.get_by_hmac(protector.lookup_hash(nid))
        if found is not None:
            return found
        first, last, born, social = PEOPLE[person % len(PEOPLE)]
        return await workers.create(
            DEMO_PRINCIPAL,
            WorkerCreate.model_validate(
                {
                    "national_id": nid,
                    "first_name_th": first,
                    "last_name_th": last,
                    "birth_date": born,
                    "subdistrict_code": subdistrict,
                    "social_security": social,
                }
            ),
        )

    partners = list(Partner)
    sold = 0
    for number, demo in enumerate(CONSOLE_GROUPS, start=len(GROUPS) + 1):
        group = await _new_group(session, groups, demo)
        if group is None:
            continue
        # Members first: a dissolved group takes none.
        for person in range(1, 4 + number % 4):
            member = await worker(demo_national_id(number, person), demo.subdistrict, person)
            role = Role.leader if person == 1 else Role.member
            await members.add(DEMO_PRINCIPAL, group, MemberCreate(worker_id=member.id, role=role))
        for stage in demo.journey:
            await groups.change_stage(group, StageChangeCreate(stage=stage, fiscal_year=year))
        product = None
        if demo.product is not None:
            name_th, name_en, price, unit = demo.product
            product = await products.create(
                group,
                ProductCreate(
                    name_th=name_th,
                    name_en=name_en,
                    price_satang=price,
                    unit=unit,
                    is_premium=number % 3 == 0,
                ),
            )
            # Every other product's certificate runs out within 30 days: the
            # console's expiry badges and the expiry notices have something to show.
            expires = today + timedelta(days=12 + number) if number % 2 else date(2028, 9, 30)
            await products.certify(
                product,
                group,
                CertificationCreate.model_validate(
                    {
                        "standard": Standard.tcps if number % 2 else Standard.fda,
                        "number": f"{'มผช.' if number % 2 else 'อย.'} {number:03d}/{year}",
                        "issued_on": (expires - timedelta(days=3 * 365)).isoformat(),
                        "expires_on": expires.isoformat(),
                    }
                ),
            )
        if demo.journey:
            for visit, days_ago in enumerate((60, 20)[: 1 + len(demo.journey) // 3]):
                await visits.record(
                    group,
                    VisitCreate.model_validate(
                        {
                            "visited_on": _since_year_start(today, days_ago + number).isoformat(),
                            "officer": "คณะทำงานโครงการหนึ่งตำบล หนึ่งกลุ่มอาชีพอิสระ",
                            "progress": "กลุ่มดำเนินงานตามแผน"
                            if visit
                            else "กลุ่มเริ่มดำเนินงาน จัดทำแผนการผลิต",
                            "progress_percent": min(100, 20 * len(demo.journey) + 10 * visit),
                            "problems": ["ขาดเงินทุนหมุนเวียน", "ช่องทางการตลาดมีจำกัด"][: 2 - visit],
                            "follow_up_actions": ["แนะนำยื่นขอกู้กองทุน"],
                        }
                    ),
                )
        if Stage.funding in demo.journey or Stage.marketing in demo.journey:
            # Sales through two partners per group, round the five partners in turn.
            for k in range(2):
                partner = partners[(sold + k) % len(partners)]
                channel, event = PARTNER_CHANNELS[partner]
                await market.record(
                    group,
                    MarketLinkCreate.model_validate(
                        {
                            "partner": partner,
                            "channel": channel,
                            "event": event,
                            "occurred_on": _since_year_start(today, 7 * (k + 1) + number),
                            "sales_satang": 1_250_000 * (number % 7 + 1) + 310_000 * k,
                            "product_id": product.id if product else None,
                        }
                    ),
                    None,
                )
            sold += 2

    await _load_trainees(session, protector)


def trainee_national_ids() -> list[str]:
    return [demo_national_id(TRAINEE_SERIES, k) for k in range(1, TRAINEES + 1)]


async def _load_trainees(session: AsyncSession, protector: NationalIdProtector) -> None:
    """The trainees through the bulk import (one COPY rather than hundreds of
    INSERTs); on a second run every row is a duplicate and nothing changes."""
    settings = RegistrySettings()
    rows = ["national_id,first_name_th,last_name_th,birth_date,subdistrict_code,social_security"]
    for k, nid in enumerate(trainee_national_ids(), start=1):
        first, last, born, social = PEOPLE[k % len(PEOPLE)]
        place = TRAINEE_SUBDISTRICTS[k % len(TRAINEE_SUBDISTRICTS)]
        rows.append(f"{nid},{first},{last},{born},{place},{social.value}")

    async def chunks() -> AsyncIterator[bytes]:
        yield ("\n".join(rows) + "\n").encode()

    importer = WorkerImporter(
        # One lane in the caller's transaction: the caller commits.
        [WriteLane(WorkerRepository(session), AuditLog(session), session.flush)],
        GeographyRepository(session),
        protector,
        batch_size=settings.import_batch_size,
        report_limit=settings.import_report_limit,
        max_record_chars=settings.import_max_record_bytes,
    )
    report = await importer.run(DEMO_PRINCIPAL, chunks())
    if report.rejected:
        raise RuntimeError(f"demo trainees rejected: {report.rejected[:3]}")


async def demo_manifest(session: AsyncSession) -> dict[str, Any]:
    """What the other services' demo data refers to: the console's groups (as the
    registry's API describes them) and the trainees' worker ids."""
    protector = _protector()
    rows = (
        await session.execute(
            select(Group).where(
                Group.name_th.in_([g.name_th for g in GROUPS] + [g.name_th for g in CONSOLE_GROUPS])
            )
        )
    ).scalars()
    digests = [protector.lookup_hash(nid) for nid in trainee_national_ids()]
    found = await session.execute(
        select(Worker.national_id_hmac, Worker.id).where(Worker.national_id_hmac.in_(digests))
    )
    ids = {digest: worker_id for digest, worker_id in found}
    trainees = [ids[d] for d in digests if d in ids]
    return {
        "groups": [
            {
                "id": g.id,
                "name_th": g.name_th,
                "name_en": g.name_en,
                "status": g.status,
                "province_code": g.province_code,
                "district_code": g.district_code,
                "subdistrict_code": g.subdistrict_code,
            }
            for g in sorted(rows, key=lambda g: (g.province_code, g.name_th))
        ],
        "trainees": trainees,
    }


# --- the console's officers and app ---------------------------------------------

CONSOLE_CLIENT_ID = "otog-console"
CONSOLE_SCOPES = ["registry:read", "training:read", "loans:read"]


@dataclass(frozen=True)
class DemoOfficer:
    username: str
    password: str
    display_name: str
    province: str | None


CONSOLE_OFFICERS = (
    DemoOfficer("console-national", "otog-demo-national", "National working group (demo)", None),
    DemoOfficer("console-ang-thong", "otog-demo-ang-thong", "Ang Thong labour office (demo)", "15"),
)


async def register_console_client(session: AsyncSession, redirect_uris: list[str]) -> ApiClient:
    """The console's public client (`otog-console`, PKCE, no secret). Run again with
    other redirect URIs (another gateway port), it adds them."""
    problems = [why for uri in redirect_uris if (why := redirect_uri_problem(uri))]
    if problems:
        raise ValueError(f"redirect URIs that cannot be registered: {problems}")
    repository = ApiClientRepository(session)
    client = await repository.get_by_client_id(CONSOLE_CLIENT_ID)
    if client is None:
        return await repository.add(
            ApiClient(
                id=uuid.uuid4(),
                client_id=CONSOLE_CLIENT_ID,
                name="OTOG programme console",
                client_type="public",
                secret_hash=None,
                scopes=CONSOLE_SCOPES,
                redirect_uris=list(dict.fromkeys(redirect_uris)),
                province_code=None,
            )
        )
    client.redirect_uris = list(dict.fromkeys([*client.redirect_uris, *redirect_uris]))
    await session.flush()
    return client


async def load_console_access(session: AsyncSession, redirect_uris: list[str]) -> dict[str, Any]:
    """The console's app client and its two demo officers (a national one and Ang
    Thong's); returns what `make run demo=1` prints."""
    client = await register_console_client(session, redirect_uris)
    settings = RegistrySettings()
    users = UserService(
        UserRepository(session),
        SignInAddressRepository(session),
        AuditLog(session),
        Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=1,
        ),
        SignInPolicy.from_settings(settings),
    )
    for officer in CONSOLE_OFFICERS:
        if await users.get_by_username(officer.username) is None:
            await users.create(
                None,
                username=officer.username,
                display_name=officer.display_name,
                scopes=CONSOLE_SCOPES,
                province=officer.province,
                password=officer.password,
            )
    return {
        "client_id": client.client_id,
        "redirect_uris": list(client.redirect_uris),
        "officers": [
            {"username": o.username, "password": o.password, "province": o.province}
            for o in CONSOLE_OFFICERS
        ],
    }
