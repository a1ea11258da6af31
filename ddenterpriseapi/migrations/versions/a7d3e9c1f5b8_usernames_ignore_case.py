"""usernames ignore case: a case-folded key, unique

Revision ID: a7d3e9c1f5b8
Revises: c5e7a1f3b9d2
Create Date: 2026-12-01 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7d3e9c1f5b8'
down_revision = 'c5e7a1f3b9d2'
branch_labels = None
depends_on = None

admin = sa.table('admin', sa.column('id', sa.Integer), sa.column('username', sa.String),
                 sa.column('username_key', sa.String))


def fill_keys():
    # Accounts that differ only in case keep working: the oldest gets the key (any case reaches it), the others
    # keep none and log in with their exact name until an administrator removes them.
    bind = op.get_bind()
    taken = set()
    for admin_id, username in bind.execute(sa.select(admin.c.id, admin.c.username).order_by(admin.c.id)).all():
        key = username.strip().casefold()
        if key not in taken:
            taken.add(key)
            bind.execute(admin.update().where(admin.c.id == admin_id).values(username_key=key))


def upgrade():
    # Adding a column and an index: SQLite does both in place, without recreating the table (and cascading to
    # admin_session).
    with op.batch_alter_table('admin', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=192), nullable=True))
    fill_keys()
    with op.batch_alter_table('admin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_username_key'), ['username_key'], unique=True)


def downgrade():
    with op.batch_alter_table('admin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_username_key'))
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch would recreate the table, deleting the sessions.
    op.drop_column('admin', 'username_key')
