"""Dependencies the routers share: the caller by scope, and services wired per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Security
from otog_shared.auth import Principal, authenticate, authenticate_any
from sqlalchemy.ext.asyncio import AsyncSession

from otog_training.courses.repository import CourseRepository
from otog_training.enrollments.repository import EnrollmentRepository
from otog_training.enrollments.service import EnrollmentService
from otog_training.sessions.repository import SessionRepository
from otog_training.sessions.service import SessionService

Reader = Annotated[Principal, Security(authenticate, scopes=["training:read"])]
Writer = Annotated[Principal, Security(authenticate, scopes=["training:write"])]
# Booking and cancelling a seat: an officer's `training:write`, or a worker's own `self`.
SEAT_SCOPES = ("training:write", "self")
SeatHolder = Annotated[Principal, Depends(authenticate_any(*SEAT_SCOPES))]


def session_service(db: AsyncSession) -> SessionService:
    return SessionService(SessionRepository(db), EnrollmentRepository(db), CourseRepository(db))


def enrollment_service(db: AsyncSession) -> EnrollmentService:
    return EnrollmentService(EnrollmentRepository(db), SessionRepository(db), CourseRepository(db))
