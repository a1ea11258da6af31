"""app_token: the cached access tokens of app-only sign-in, with their leases and the credentials' rejection

Revision ID: c9e4a2b7d1f3
Revises: b3c8e1f7a2d9
Create Date: 2026-12-02 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9e4a2b7d1f3'
down_revision = 'b3c8e1f7a2d9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'app_token',
        sa.Column('key', sa.String(length=320), nullable=False),
        sa.Column('access_token', sa.Text(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('obtained_at', sa.DateTime(), nullable=True),
        sa.Column('rejection', sa.Text(), nullable=True),
        sa.Column('rejected_at', sa.DateTime(), nullable=True),
        sa.Column('lease_owner', sa.String(length=32), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade():
    op.drop_table('app_token')
