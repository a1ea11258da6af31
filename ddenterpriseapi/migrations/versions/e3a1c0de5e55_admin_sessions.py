"""admin sessions kept in the database; administrator ids never reused

Revision ID: e3a1c0de5e55
Revises: b76f82794a43
Create Date: 2026-12-01 09:38:57.399719

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e3a1c0de5e55'
down_revision = 'b76f82794a43'
branch_labels = None
depends_on = None


def recreate_on_sqlite():
    # SQLite gives a deleted row's id to the next row unless the table was created with AUTOINCREMENT;
    # PostgreSQL sequences never reuse ids, and recreating the table there would restart its sequence at 1.
    return 'always' if op.get_bind().dialect.name == 'sqlite' else 'auto'


def upgrade():
    # The admin table first: recreating it while admin_session points at it would cascade-delete sessions.
    with op.batch_alter_table('admin', schema=None, recreate=recreate_on_sqlite(),
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('session_version')

    op.create_table('admin_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['admin_id'], ['admin.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('admin_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_session_admin_id'), ['admin_id'], unique=False)


def downgrade():
    with op.batch_alter_table('admin_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_session_admin_id'))

    op.drop_table('admin_session')

    with op.batch_alter_table('admin', schema=None, recreate=recreate_on_sqlite()) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
