"""oauth_settings: app-only sign-in (who signs in, the cloud, a certificate or a service account key, mailboxes)

Revision ID: b3c8e1f7a2d9
Revises: a7d3f9c2e614
Create Date: 2026-12-01 18:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3c8e1f7a2d9'
down_revision = 'a7d3f9c2e614'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oauth_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in', sa.String(length=20), server_default='delegated', nullable=False))
        batch_op.add_column(sa.Column('cloud', sa.String(length=20), server_default='global', nullable=False))
        batch_op.add_column(sa.Column('client_certificate', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('service_account_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('mailboxes', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('unlisted_sender', sa.String(length=20), server_default='refuse',
                                      nullable=False))
        batch_op.add_column(sa.Column('enterprise_object_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('oauth_settings', schema=None) as batch_op:
        for column in ('enterprise_object_id', 'unlisted_sender', 'mailboxes', 'service_account_key',
                       'client_certificate', 'cloud', 'sign_in'):
            batch_op.drop_column(column)
