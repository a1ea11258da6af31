"""HTTPS transports: the email server's transport, and the scopes an authorization consented to

Revision ID: d5f1b8a3c6e2
Revises: c9e4a2b7d1f3
Create Date: 2026-12-01 21:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd5f1b8a3c6e2'
down_revision = 'c9e4a2b7d1f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_server') as batch_op:
        batch_op.add_column(sa.Column('transport', sa.String(length=10), server_default='smtp', nullable=False))
    with op.batch_alter_table('oauth_connection') as batch_op:
        batch_op.add_column(sa.Column('consented_scopes', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('oauth_connection') as batch_op:
        batch_op.drop_column('consented_scopes')
    with op.batch_alter_table('mail_server') as batch_op:
        batch_op.drop_column('transport')
