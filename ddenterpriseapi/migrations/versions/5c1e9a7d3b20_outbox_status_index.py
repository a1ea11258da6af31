"""outbox: index on status and id, for the Outbox page's status filter

Revision ID: 5c1e9a7d3b20
Revises: 97405a77a9a5
Create Date: 2026-12-02 09:40:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5c1e9a7d3b20'
down_revision = '97405a77a9a5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_status_id', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_status_id')
