"""relay: API key scope, sender policy of relayed messages

Revision ID: c5e7a1f3b9d2
Revises: 4309b905a039
Create Date: 2026-12-08 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e7a1f3b9d2'
down_revision = '4309b905a039'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), server_default='both', nullable=False))

    with op.batch_alter_table('mail_server', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relay_sender', sa.String(length=10), server_default='keep', nullable=False))


def downgrade():
    with op.batch_alter_table('mail_server', schema=None) as batch_op:
        batch_op.drop_column('relay_sender')

    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('scope')
