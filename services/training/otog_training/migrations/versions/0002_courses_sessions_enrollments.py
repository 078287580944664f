"""Courses, training sessions with seat counters, enrolments, attendance, event outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("title_th", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("modes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("hours > 0", name=op.f("ck_courses_hours_positive")),
        sa.CheckConstraint(
            "cardinality(modes) > 0 AND modes <@ ARRAY['onsite', 'online']::text[]",
            name=op.f("ck_courses_modes"),
        ),
        sa.CheckConstraint(
            "code ~ '^[A-Z0-9][A-Z0-9-]{0,31}$'", name=op.f("ck_courses_code_format")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_courses_code")),
    )

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("venue", sa.Text(), nullable=True),
        sa.Column("online_url", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("enrollment_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confirmed_count", sa.Integer(), nullable=False),
        sa.Column("waitlist_count", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(32), nullable=True),
        sa.Column("cancel_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "province_code ~ '^[0-9]{2}$'", name=op.f("ck_training_sessions_province_code")
        ),
        sa.CheckConstraint("mode IN ('onsite', 'online')", name=op.f("ck_training_sessions_mode")),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'running', 'completed', 'cancelled')",
            name=op.f("ck_training_sessions_status"),
        ),
        sa.CheckConstraint(
            "capacity BETWEEN 1 AND 500", name=op.f("ck_training_sessions_capacity")
        ),
        sa.CheckConstraint(
            "minimum BETWEEN 1 AND capacity", name=op.f("ck_training_sessions_minimum")
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_training_sessions_dates")),
        sa.CheckConstraint(
            "confirmed_count BETWEEN 0 AND capacity",
            name=op.f("ck_training_sessions_confirmed_count"),
        ),
        sa.CheckConstraint("waitlist_count >= 0", name=op.f("ck_training_sessions_waitlist_count")),
        sa.CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL)",
            name=op.f("ck_training_sessions_cancelled_at"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_training_sessions_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    op.create_index("ix_training_sessions_starts_on_id", "training_sessions", ["starts_on", "id"])
    op.create_index(
        "ix_training_sessions_province_code_starts_on",
        "training_sessions",
        ["province_code", "starts_on"],
    )

    op.execute("CREATE SEQUENCE certificate_number_seq")
    op.create_table(
        "enrollments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("worker_id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("waitlist_position", sa.Integer(), nullable=True),
        sa.Column(
            "enrolled_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(32), nullable=True),
        sa.Column("cancel_note", sa.Text(), nullable=True),
        sa.Column("days_present", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("certificate_number", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "status IN ('confirmed', 'waitlisted', 'cancelled', 'completed')",
            name=op.f("ck_enrollments_status"),
        ),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)"
            " AND (waitlist_position IS NULL OR waitlist_position >= 1)",
            name=op.f("ck_enrollments_waitlist_position"),
        ),
        sa.CheckConstraint(
            "(status = 'completed') = (completed_at IS NOT NULL)",
            name=op.f("ck_enrollments_completed"),
        ),
        sa.CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL)",
            name=op.f("ck_enrollments_cancelled"),
        ),
        sa.CheckConstraint("days_present >= 0", name=op.f("ck_enrollments_days_present")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name=op.f("fk_enrollments_session_id_training_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "session_id",
            "waitlist_position",
            name="uq_enrollments_session_id_waitlist_position",
            deferrable=True,
            initially="IMMEDIATE",
        ),
        sa.UniqueConstraint("certificate_number", name=op.f("uq_enrollments_certificate_number")),
    )
    op.create_index(
        "uq_enrollments_live_worker",
        "enrollments",
        ["session_id", "worker_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_index(
        "ix_enrollments_session_id_enrolled_at", "enrollments", ["session_id", "enrolled_at", "id"]
    )
    op.create_index("ix_enrollments_worker_id", "enrollments", ["worker_id"])
    op.create_index("ix_enrollments_group_id", "enrollments", ["group_id"])

    op.create_table(
        "attendance_records",
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("attended_on", sa.Date(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_attendance_records_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", "attended_on", name=op.f("pk_attendance_records")),
    )

    op.create_table(
        "enrollment_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("worker_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("waitlist_position", sa.Integer(), nullable=True),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_events_enrollment_id_enrollments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name=op.f("fk_enrollment_events_session_id_training_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_events")),
    )
    op.create_index(
        "ix_enrollment_events_unpublished",
        "enrollment_events",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index("ix_enrollment_events_session_id_id", "enrollment_events", ["session_id", "id"])


def downgrade() -> None:
    op.drop_table("enrollment_events")
    op.drop_table("attendance_records")
    op.drop_table("enrollments")
    op.execute("DROP SEQUENCE certificate_number_seq")
    op.drop_table("training_sessions")
    op.drop_table("courses")
