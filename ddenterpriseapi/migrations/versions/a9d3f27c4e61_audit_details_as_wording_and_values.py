"""audit: details as a wording code and its values, worded in the reader's language

Revision ID: a9d3f27c4e61
Revises: a7d3e9c1f5b8
Create Date: 2026-12-01 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9d3f27c4e61'
down_revision = 'a7d3e9c1f5b8'
branch_labels = None
depends_on = None


def upgrade():
    # Both nullable: the events written before keep their plain-text detail and are shown as they are.
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wording', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('wording')
