"""fault cases editable and retirable

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:05:59.018641
"""

import sqlalchemy as sa
from alembic import op

import service_api.tables

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = ('updated_by', 'updated_at', 'retired_at', 'retired_reason', 'version')


def upgrade() -> None:
    # plain ALTER TABLE ... ADD COLUMN: a batch copy of the table on SQLite would drop the
    # triggers that keep fault_cases_fts in step (migration 0010)
    op.add_column('fault_cases', sa.Column('updated_by', sa.String(length=64),
                                           server_default='', nullable=False))
    op.add_column('fault_cases', sa.Column('updated_at',
                                           service_api.tables.UtcDateTime(timezone=True),
                                           nullable=True))
    op.add_column('fault_cases', sa.Column('retired_at',
                                           service_api.tables.UtcDateTime(timezone=True),
                                           nullable=True))
    op.add_column('fault_cases', sa.Column('retired_reason', sa.Text(), server_default='',
                                           nullable=False))
    op.add_column('fault_cases', sa.Column('version', sa.Integer(), server_default='1',
                                           nullable=False))


def downgrade() -> None:
    for name in reversed(COLUMNS):  # ALTER TABLE ... DROP COLUMN (SQLite 3.35+)
        op.drop_column('fault_cases', name)
