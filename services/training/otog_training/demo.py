"""Demo data: the programme's three courses (with ETDA) and a session of each in the
training areas named in the programme's announcement. Safe to run on every start:
courses are matched by code and sessions by course, area and mode. The caller
commits (services only flush)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from otog_shared.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.models import Course
from otog_training.courses.repository import CourseRepository
from otog_training.courses.schemas import CourseCreate
from otog_training.courses.service import CourseService
from otog_training.enrollments.repository import EnrollmentRepository
from otog_training.sessions.models import CancelReason, SessionMode, SessionStatus
from otog_training.sessions.repository import SessionRepository
from otog_training.sessions.schemas import SessionCancel, SessionCreate, SessionUpdate
from otog_training.sessions.service import SessionService
from otog_training.timeutil import BANGKOK, utcnow

DEMO_PRINCIPAL = Principal(client_id="demo-loader", scopes=frozenset({"admin"}))

PROVIDER = (
    "DSD with ETDA (Department of Skill Development with the Electronic Transactions "
    "Development Agency)"
)

COURSES = [
    CourseCreate(
        code="SCB",
        title_th="Social Commerce For Business",
        title_en="Social Commerce For Business",
        provider=PROVIDER,
        hours=12,
        modes=[SessionMode.ONSITE, SessionMode.ONLINE],
        description=(
            "Selling a group's products through social media, chat commerce and online "
            "marketplaces: shop set-up, pricing, payment and delivery."
        ),
    ),
    CourseCreate(
        code="OMC-PRO",
        title_th="การสร้างคอนเทนต์ทางการตลาดบนสื่อออนไลน์แบบมือโปร",
        title_en="Professional online marketing content creation",
        provider=PROVIDER,
        hours=12,
        modes=[SessionMode.ONSITE, SessionMode.ONLINE],
        description=(
            "Photographing and filming products with a phone, writing posts, short video "
            "and live selling, and measuring what works."
        ),
    ),
    CourseCreate(
        code="EDC-PLUS",
        title_th="ETDA Digital Citizen Plus (EDC Plus)",
        title_en="ETDA Digital Citizen Plus (EDC Plus)",
        provider=PROVIDER,
        hours=6,
        modes=[SessionMode.ONSITE, SessionMode.ONLINE],
        description=(
            "Safe use of digital services: online fraud, personal data, e-payments and "
            "digital government services."
        ),
    ),
]


@dataclass(frozen=True)
class Area:
    province_code: str
    name_en: str
    name_th: str


# Training areas of the programme's training with ETDA (January to July 2025).
AREAS = [
    Area("55", "Nan", "น่าน"),
    Area("71", "Kanchanaburi", "กาญจนบุรี"),
    Area("21", "Rayong", "ระยอง"),
    Area("40", "Khon Kaen", "ขอนแก่น"),
    Area("34", "Ubon Ratchathani", "อุบลราชธานี"),
    Area("30", "Nakhon Ratchasima", "นครราชสีมา"),
    Area("65", "Phitsanulok", "พิษณุโลก"),
    Area("73", "Nakhon Pathom", "นครปฐม"),
    Area("84", "Surat Thani", "สุราษฎร์ธานี"),
    Area("83", "Phuket", "ภูเก็ต"),
]


def _first_monday_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


async def load_demo(session: AsyncSession, today: date | None = None) -> None:
    """Seed the catalogue and one bookable session per area (at least 100 and at
    most 500 people each), a week apart, starting a month from ``today``."""
    courses_repo = CourseRepository(session)
    sessions_repo = SessionRepository(session)
    course_service = CourseService(courses_repo)
    session_service = SessionService(sessions_repo, EnrollmentRepository(session), courses_repo)

    courses: list[Course] = []
    for data in COURSES:
        existing = await courses_repo.get_by_code(data.code)
        courses.append(existing or await course_service.create(DEMO_PRINCIPAL, data))

    today = today or datetime.now(BANGKOK).date()
    first = _first_monday_after(today + timedelta(days=30))
    for index, area in enumerate(AREAS):
        course = courses[index % len(courses)]
        # Every third area trains online; the rest meet at the provincial office.
        mode = SessionMode.ONLINE if index % 3 == 2 else SessionMode.ONSITE
        if await sessions_repo.find_any(course.id, area.province_code, str(mode)) is not None:
            continue
        starts_on = first + timedelta(weeks=index)
        await session_service.create(
            DEMO_PRINCIPAL,
            SessionCreate(
                course_id=course.id,
                province_code=area.province_code,
                mode=mode,
                starts_on=starts_on,
                ends_on=starts_on + timedelta(days=1),
                venue=(
                    f"สำนักงานพัฒนาฝีมือแรงงาน{area.name_th} "
                    f"({area.name_en} Provincial Skill Development Office)"
                    if mode == SessionMode.ONSITE
                    else None
                ),
                online_url=(
                    f"https://learn.otog.example/{course.code.lower()}/{area.province_code}"
                    if mode == SessionMode.ONLINE
                    else None
                ),
                capacity=500,
                minimum=100,
                enrollment_closes_at=datetime.combine(
                    starts_on - timedelta(days=7), time(17, 0), tzinfo=BANGKOK
                ),
            ),
        )


# The programme console's figures: each area's session resized to (seats) and booked
# by (people) of the registry's demo trainees, from over-full (a waitlist) to half
# empty (below the minimum of 100) and empty, cancelled by its organiser.
CONSOLE_BOOKINGS = (
    (120, 130),
    (150, 150),
    (200, 172),
    (150, 105),
    (200, 104),
    (120, 60),
    (150, 45),
    (200, 40),
    (120, 12),
    (150, 0),
)


async def load_console_demo(
    session: AsyncSession, trainees: Sequence[uuid.UUID], today: date | None = None
) -> None:
    """The sessions of :func:`load_demo` booked by ``trainees`` (workers the
    registry's demo data made). Safe to run again: only a session nobody has booked
    yet is booked, and a cancelled one stays as it is."""
    await load_demo(session, today)
    courses_repo = CourseRepository(session)
    sessions_repo = SessionRepository(session)
    enrollments = EnrollmentRepository(session)
    session_service = SessionService(sessions_repo, enrollments, courses_repo)
    now = utcnow()
    for index, (area, (seats, bookings)) in enumerate(zip(AREAS, CONSOLE_BOOKINGS, strict=True)):
        course = await courses_repo.get_by_code(COURSES[index % len(COURSES)].code)
        assert course is not None  # load_demo made it
        mode = SessionMode.ONLINE if index % 3 == 2 else SessionMode.ONSITE
        found = await sessions_repo.find_any(course.id, area.province_code, str(mode))
        assert found is not None  # load_demo made it
        if found.status != SessionStatus.OPEN or found.confirmed_count or found.waitlist_count:
            continue
        locked = await sessions_repo.lock(found.id)
        await session_service.update(locked, SessionUpdate(capacity=seats))
        # The repository's booking statement: seats and queue places under the
        # session's lock, as a booking through the API takes them (the registry
        # has just made these workers, so it is not asked again).
        for worker_id in trainees[:bookings]:
            await enrollments.book(
                enrollment_id=uuid.uuid4(),
                session_id=found.id,
                worker_id=worker_id,
                group_id=None,
                now=now,
            )
        if bookings == 0:
            await session_service.cancel(
                DEMO_PRINCIPAL,
                found.id,
                SessionCancel(
                    reason=CancelReason.ORGANISER, note="รวมกับรอบถัดไป (merged with the next run)"
                ),
            )
