"""mail_server: a blank port or security follows the OAuth provider, like a blank host

Revision ID: a7d3f9c2e614
Revises: a9d3f27c4e61
Create Date: 2026-12-01 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7d3f9c2e614'
down_revision = 'a9d3f27c4e61'
branch_labels = None
depends_on = None

# What saving a blank host with OAuth used to write: the presets' own servers, which now follow the provider.
PRESET_SERVERS = "host IN ('smtp.gmail.com', 'smtp.office365.com') AND port = 587 AND security = 'starttls'"


def upgrade():
    with op.batch_alter_table('mail_server', schema=None) as batch_op:
        batch_op.alter_column('port', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('security', existing_type=sa.String(length=10), nullable=True)
    op.execute("UPDATE mail_server SET host = NULL, port = NULL, security = NULL "
               f"WHERE authentication = 'oauth' AND {PRESET_SERVERS}")


def downgrade():
    op.execute("UPDATE mail_server SET port = 587 WHERE port IS NULL")
    op.execute("UPDATE mail_server SET security = 'starttls' WHERE security IS NULL")
    with op.batch_alter_table('mail_server', schema=None) as batch_op:
        batch_op.alter_column('security', existing_type=sa.String(length=10), nullable=False)
        batch_op.alter_column('port', existing_type=sa.Integer(), nullable=False)
