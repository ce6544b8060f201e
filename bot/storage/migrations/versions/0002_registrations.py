"""registrations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("reference_keypad", sa.String(length=16), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("collected_by_id", sa.Integer(), nullable=True),
        sa.Column("dedup_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("city", sa.String(length=32), nullable=True),
        sa.Column("detained", sa.Boolean(), nullable=False),
        sa.Column("detention_place", sa.Text(), nullable=True),
        sa.Column("document", sa.String(length=16), nullable=True),
        sa.Column("passport_number", sa.Text(), nullable=True),
        sa.Column("family", sa.Text(), nullable=False),
        sa.Column("vulnerabilities", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("flight_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collected_by_id"], ["contacts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index("ix_registrations_dedup", ["dedup_hash"], unique=False)
        batch_op.create_index("ix_registrations_keypad", ["reference_keypad"], unique=False)
        batch_op.create_index("ix_registrations_phone", ["phone_hash"], unique=False)
        batch_op.create_index("ix_registrations_stage", ["stage", "country"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_registrations_stage")
        batch_op.drop_index("ix_registrations_phone")
        batch_op.drop_index("ix_registrations_keypad")
        batch_op.drop_index("ix_registrations_dedup")

    op.drop_table("registrations")
