"""outbox totals: sent and failed messages removed by the retention purge

Revision ID: 97405a77a9a5
Revises: d48d2eebab3c
Create Date: 2026-12-01 12:19:43.178131

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '97405a77a9a5'
down_revision = 'd48d2eebab3c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_totals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sent_purged', sa.Integer(), nullable=False),
    sa.Column('failed_purged', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('outbox_totals')
