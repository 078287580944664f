"""Typed problems of the training service (their slugs are part of the contract)."""

from __future__ import annotations

from otog_shared.errors import Conflict, DependencyUnavailable, UnprocessableEntity


class DuplicateCourseCode(Conflict):
    slug, title = "duplicate-course-code", "Course code already used"


class AlreadyEnrolled(Conflict):
    slug, title = "already-enrolled", "Already enrolled"


class EnrollmentClosed(Conflict):
    slug, title = "enrollment-closed", "Enrolment closed"


class WrongState(Conflict):
    """The object's lifecycle state does not allow the operation."""

    slug, title = "wrong-state", "Wrong lifecycle state"


class DuplicateCertificateNumber(Conflict):
    slug, title = "duplicate-certificate-number", "Certificate number already used"


class CapacityBelowConfirmed(Conflict):
    """A capacity smaller than the number of people already holding a seat."""

    slug, title = "capacity-below-confirmed", "Capacity below the confirmed count"


class CourseModeInUse(Conflict):
    """A mode taken off a course while sessions of it still run in that mode."""

    slug, title = "course-mode-in-use", "Mode in use by sessions"


class UnknownWorker(UnprocessableEntity):
    slug, title = "unknown-worker", "Unknown worker"


class UnknownGroup(UnprocessableEntity):
    slug, title = "unknown-group", "Unknown group"


class GroupNotEligible(UnprocessableEntity):
    slug, title = "group-not-eligible", "Group not eligible"


class NotAGroupMember(UnprocessableEntity):
    slug, title = "not-a-group-member", "Not a member of the group"


class RegistryUnavailable(DependencyUnavailable):
    """The registry answered in a way this service cannot use (e.g. refused our token)."""
