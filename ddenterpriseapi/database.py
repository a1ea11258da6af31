"""Engine set-up, and the row lock that makes token refresh single-flight on SQLite and PostgreSQL."""

from pathlib import Path

from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from .crypto import write_private_file
from .extensions import db

SQLITE_BUSY_TIMEOUT = 30  # seconds a writer waits for another one


def configure(app: Flask) -> None:
    """Statement errors without their parameters (decrypted secrets); SQLite: an owner-only file that waits for locks."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options["hide_parameters"] = True  # else a failed INSERT logs the plaintext tokens it was given
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT})
        path = uri.removeprefix("sqlite:///")
        if path != uri and ":memory:" not in path and Path(path).parent.is_dir():
            write_private_file(Path(path), "")  # SQLite takes an empty file as a new database


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
    row = locked(model, id=1)
    if row is None and db.session.get_bind().dialect.name == "postgresql":
        # FOR UPDATE locks no missing row: serialize the first creation, or two instances both insert it.
        db.session.execute(text(f"LOCK TABLE {model.__table__.name} IN SHARE ROW EXCLUSIVE MODE"))
        row = db.session.execute(select(model).filter_by(id=1).with_for_update()).scalar_one_or_none()
    if row is None:
        row = model(id=1)
        db.session.add(row)
    return row


def apply_changes(row, values: dict, secrets: tuple[str, ...] = ()) -> list[str]:
    """Set the values on a row; a blank secret keeps the stored one. The names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if name in secrets and not value:
            continue
        if name in secrets or getattr(row, name) != value:
            changed.append(name)
            setattr(row, name, value)
    return changed


def render_migration_type(type_, obj, autogen_context):
    """Migrations store encrypted and UTC columns as their plain SQL types, free of application imports."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False
