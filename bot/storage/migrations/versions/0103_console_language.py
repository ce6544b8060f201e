"""operators choose the console's language

Revision ID: 0103_console_language
Revises: 0104_voice_operators
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0103_console_language"
down_revision = "0104_voice_operators"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the deployment's CONSOLE_LANGUAGE (English unless set)
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("console_language", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("console_language")
