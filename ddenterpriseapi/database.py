"""Engine set-up, the schema check, and the row lock that makes token refresh single-flight on SQLite and
PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator

from .crypto import write_private_file
from .extensions import db

WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE = 'run "flask --app ddenterpriseapi db upgrade" first.'


def configure(app: Flask) -> None:
    """Statement errors without their parameters (decrypted secrets); lock waits bounded by DATABASE_LOCK_TIMEOUT;
    SQLite: a database file only its owner reads."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options["hide_parameters"] = True  # else a failed INSERT logs the plaintext tokens it was given
    lock_timeout = app.config["DATABASE_LOCK_TIMEOUT"]
    if uri.startswith("postgresql"):
        options.setdefault("connect_args", {"options": f"-c lock_timeout={int(lock_timeout * 1000)}"})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": lock_timeout})
        path = uri.removeprefix("sqlite:///")
        if path != uri and ":memory:" not in path and Path(path).parent.is_dir():
            write_private_file(Path(path), "")  # SQLite takes an empty file as a new database


def schema_problem() -> str | None:
    """Why the console cannot use its database (never migrated, or by another version), or None: said in one line
    before anything queries it, instead of a traceback about a missing table."""
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    scripts = migration_scripts()
    if not current:
        return f"The database has no tables yet: {UPGRADE}"
    if current - {script.revision for script in scripts.walk_revisions()}:
        return "The database schema is newer than this console: run the version of the console that migrated it."
    if current != set(scripts.get_heads()):
        return f"The database schema is older than this console: {UPGRADE}"
    return None


def migration_scripts() -> ScriptDirectory:
    """The console's migrations, read without running their env.py (which would reconfigure logging)."""
    return ScriptDirectory(str(MIGRATIONS))


@event.listens_for(Engine, "connect")
def _sqlite_manual_transactions(dbapi_connection, connection_record):
    """Hand BEGIN to SQLAlchemy (pysqlite's own handling cannot BEGIN IMMEDIATE)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """Start SQLite transactions, taking the write lock at once when the caller asked for it."""
    if conn.dialect.name == "sqlite":
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        conn.info["sqlite_write_lock"] = immediate


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_lock_before_first_write(conn, cursor, statement, parameters, context, executemany):
    """Take SQLite's write lock before a transaction's first write, waiting for it (bounded by the busy timeout).

    A transaction that read first and then writes would otherwise fail at once with "database is locked"
    whenever another connection wrote since its first read: SQLite cannot upgrade a stale read snapshot.
    Until its first write, a transaction has changed nothing, so ending its reads and starting over with the
    write lock loses nothing.
    """
    if conn.dialect.name != "sqlite" or conn.info.get("sqlite_write_lock", True) or not conn.in_transaction():
        return
    if statement.lstrip()[:7].upper().startswith(WRITE_STATEMENTS):
        dbapi_connection = conn.connection.dbapi_connection
        dbapi_connection.execute("COMMIT")
        dbapi_connection.execute("BEGIN IMMEDIATE")
        conn.info["sqlite_write_lock"] = True


@contextmanager
def commits_without_waiting_for_the_disk() -> Iterator[Connection]:
    """A connection whose commits return before the disk has them: they survive the process being killed, not a
    power cut. SQLite (WAL): no sync at each commit, the pages reaching the disk with the next commit that syncs;
    PostgreSQL: synchronous_commit off. The setting is undone before the connection goes back to the pool."""
    connection = db.engine.connect().execution_options(sqlite_immediate=True)
    try:
        relax_durability(connection, relaxed=True)
        yield connection
        relax_durability(connection, relaxed=False)
    finally:
        connection.close()


def relax_durability(connection: Connection, relaxed: bool) -> None:
    """Outside any transaction (SQLite refuses the change inside one)."""
    if connection.dialect.name == "sqlite":
        connection.connection.dbapi_connection.execute(f"PRAGMA synchronous={'NORMAL' if relaxed else 'FULL'}")
    elif connection.dialect.name == "postgresql":
        with connection.begin():
            connection.exec_driver_sql("SET synchronous_commit TO OFF" if relaxed else "RESET synchronous_commit")


def is_lock_timeout(error: OperationalError) -> bool:
    """The database stayed locked by another writer for longer than DATABASE_LOCK_TIMEOUT."""
    return "database is locked" in str(error.orig) or "lock timeout" in str(error.orig)


def locked(model, **where):
    """In a new transaction, load a row for update, holding the lock until the transaction ends.

    On SQLite this also keeps a read-then-write transaction from failing with "database is locked"
    when another process wrote since it began: the write lock is taken before the first read.
    """
    db.session.rollback()
    db.session.connection(execution_options={"sqlite_immediate": True})
    return db.session.execute(select(model).filter_by(**where).with_for_update()).scalar_one_or_none()


def locked_singleton(model):
    """The single row (id 1) of a table, locked as by locked(), or a new one added to the session."""
    return locked_or_new(model, id=1)


def locked_or_new(model, **key):
    """The row with this primary key, locked as by locked(), or a new one added to the session."""
    row = locked(model, **key)
    if row is None and db.session.get_bind().dialect.name == "postgresql":
        # FOR UPDATE locks no missing row: serialize the first creation, or two instances both insert it.
        db.session.execute(text(f"LOCK TABLE {model.__table__.name} IN SHARE ROW EXCLUSIVE MODE"))
        row = db.session.execute(select(model).filter_by(**key).with_for_update()).scalar_one_or_none()
    if row is None:
        row = model(**key)
        db.session.add(row)
    return row


def apply_changes(row, values: dict, secrets: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Set the values on a row; the names of the fields that changed.

    secrets maps each secret field to the fields it belongs with: a blank secret keeps the stored one, unless
    one of those changed (a client secret is sent to the token URL, a password to the SMTP host), which forgets
    it, so a saved secret never follows a changed endpoint.
    """
    secrets = secrets or {}
    changed = [name for name, value in values.items()
               if (value if name in secrets else getattr(row, name) != value)]
    for name in changed:
        setattr(row, name, values[name])
    forgotten = [name for name, bound_to in secrets.items() if _forgotten(row, values, changed, name, bound_to)]
    for name in forgotten:
        setattr(row, name, None)
    return changed + forgotten


def _forgotten(row, values: dict, changed: list[str], name: str, bound_to: tuple[str, ...]) -> bool:
    """A stored secret that no new value replaces, while something it belongs with changed."""
    return not values.get(name) and bool(getattr(row, name)) and any(field in changed for field in bound_to)


def forgotten_secrets(values: dict, changed: list[str], secrets: dict[str, tuple[str, ...]]) -> list[str]:
    """The secrets apply_changes forgot because what they belong with changed."""
    return [name for name in secrets if name in changed and not values.get(name)]


def render_migration_type(type_, obj, autogen_context):
    """Migrations store encrypted and UTC columns as their plain SQL types, free of application imports."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False
