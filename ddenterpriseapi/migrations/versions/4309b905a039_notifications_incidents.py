"""notifications: settings, incidents, what was sent; client secret expiry, Google app in Testing

Revision ID: 4309b905a039
Revises: 5c1e9a7d3b20
Create Date: 2026-12-01 12:36:15.650113

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '4309b905a039'
down_revision = '5c1e9a7d3b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('open_key', sa.String(length=40), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_notified_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_opened_at'), ['opened_at'], unique=False)

    op.create_table('notification_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_urls', sa.Text(), nullable=True),
    sa.Column('recipients', sa.Text(), nullable=True),
    sa.Column('fallback_host', sa.String(length=255), nullable=True),
    sa.Column('fallback_port', sa.Integer(), nullable=False),
    sa.Column('fallback_security', sa.String(length=10), nullable=False),
    sa.Column('fallback_username', sa.String(length=320), nullable=True),
    sa.Column('fallback_password', sa.Text(), nullable=True),
    sa.Column('fallback_sender', sa.String(length=320), nullable=True),
    sa.Column('failures_seen_until', sa.DateTime(), nullable=True),
    sa.Column('worker_checked_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('destination', sa.String(length=2048), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_incident_id'), ['incident_id'], unique=False)

    with op.batch_alter_table('oauth_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_secret_expires_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('app_in_testing', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('oauth_settings', schema=None) as batch_op:
        batch_op.drop_column('app_in_testing')
        batch_op.drop_column('client_secret_expires_on')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_incident_id'))
        batch_op.drop_index(batch_op.f('ix_notification_at'))

    op.drop_table('notification')
    op.drop_table('notification_settings')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_opened_at'))
        batch_op.drop_index(batch_op.f('ix_incident_kind'))

    op.drop_table('incident')
