"""The migrations build the schema the models describe, on a fresh database; nothing runs on one they have not."""

import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from tests.helpers import NO_TABLES, AuthActions

OLDER = 'The database schema is older than this console: run "flask --app ddenterpriseapi db upgrade" first.'
PASSWORD = "a very long password\n"


def flask(tmp_path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """`flask --app ddenterpriseapi ARGS` on the instance folder in tmp_path."""
    env = {**os.environ, "DDE_INSTANCE_PATH": str(tmp_path / "instance")}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "ddenterpriseapi", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=60)


def test_db_upgrade_builds_the_models_schema(tmp_path):
    upgrade = flask(tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    check = flask(tmp_path, "db", "check")
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr
    database = tmp_path / "instance" / "ddenterpriseapi.db"
    assert stat.S_IMODE(os.stat(database.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    for secret_file in ("secret-key", "encryption-keys"):
        assert stat.S_IMODE(os.stat(Path(tmp_path, "instance", secret_file)).st_mode) == 0o600


@pytest.mark.parametrize("command", [("create-admin", "ops", "--password-stdin"), ("send-test-email", "a@example.org"),
                                     ("refresh-token",), ("rotate-key",)])
def test_commands_on_an_unmigrated_database_say_to_upgrade(tmp_path, command):
    result = flask(tmp_path, *command, input=PASSWORD)
    assert result.returncode != 0
    assert result.stderr.strip() == f"Error: {NO_TABLES}" and "Traceback" not in result.stdout + result.stderr


def test_commands_on_an_older_schema_say_to_upgrade_then_work(tmp_path):
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    assert flask(tmp_path, "db", "downgrade")  # one revision back.returncode == 0
    older = flask(tmp_path, "create-admin", "ops", "--password-stdin", input=PASSWORD)
    assert older.returncode != 0 and older.stderr.strip() == f"Error: {OLDER}"
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    created = flask(tmp_path, "create-admin", "ops", "--password-stdin", input=PASSWORD)
    assert created.returncode == 0 and "Administrator ops created." in created.stdout, created.stderr


def test_commands_on_a_newer_schema_say_so(tmp_path):
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    database = sqlite3.connect(tmp_path / "instance" / "ddenterpriseapi.db")
    with database:
        database.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")  # a later console's migration
    database.close()
    newer = flask(tmp_path, "send-test-email", "a@example.org")
    assert newer.returncode != 0 and "The database schema is newer than this console" in newer.stderr


def test_keys_made_before_the_relay_serve_both_and_relayed_mail_keeps_its_sender(tmp_path):
    assert flask(tmp_path, "db", "upgrade", "97405a77a9a5").returncode == 0  # the schema before the relay
    database = sqlite3.connect(tmp_path / "instance" / "ddenterpriseapi.db")
    with database:
        database.execute("INSERT INTO api_key (name, prefix, key_hash, created_at) "
                         "VALUES ('reporting', 'dde_abc', 'hash', '2026-01-01 00:00:00')")
        database.execute("INSERT INTO mail_server (id, host, port, security, authentication) "
                         "VALUES (1, 'smtp.gmail.com', 587, 'starttls', 'oauth')")
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    with database:
        assert database.execute("SELECT scope FROM api_key").fetchall() == [("both",)]
        assert database.execute("SELECT relay_sender FROM mail_server").fetchall() == [("keep",)]
    database.close()


def test_accounts_differing_only_in_case_survive_the_upgrade(tmp_path, make_env_app):
    assert flask(tmp_path, "db", "upgrade", "c5e7a1f3b9d2").returncode == 0  # usernames still told apart by case
    database = sqlite3.connect(tmp_path / "instance" / "ddenterpriseapi.db")
    with database:
        for username in ("Ops", "ops", "Other"):
            database.execute("INSERT INTO admin (username, password_hash, created_at) VALUES (?, ?, ?)",
                             (username, generate_password_hash(f"{username} password"), "2026-01-01 00:00:00"))
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    with database:
        keys = database.execute("SELECT username, username_key FROM admin ORDER BY id").fetchall()
    database.close()
    assert keys == [("Ops", "ops"), ("ops", None), ("Other", "other")]
    app = make_env_app()
    for typed, password in (("OPS", "Ops password"), ("ops", "ops password"), ("other", "Other password")):
        assert AuthActions(app, app.test_client()).login(typed, password).status_code == 302, typed


def test_email_servers_saved_with_a_presets_server_follow_the_provider_after_upgrade(tmp_path):
    """Saving a blank host with OAuth used to write the provider's server into the row, which then stayed when the
    provider changed; the upgrade blanks those, and keeps servers an administrator typed."""
    assert flask(tmp_path, "db", "upgrade", "c5e7a1f3b9d2").returncode == 0
    path = tmp_path / "instance" / "ddenterpriseapi.db"
    rows = [(1, "smtp.office365.com", 587, "starttls", "oauth"), (2, "smtp.office365.com", 465, "ssl", "oauth"),
            (3, "smtp.gmail.com", 587, "starttls", "password")]
    with closing(sqlite3.connect(path)) as database, database:
        database.executemany("INSERT INTO mail_server (id, host, port, security, authentication, relay_sender) "
                             "VALUES (?, ?, ?, ?, ?, 'keep')", rows)
    assert flask(tmp_path, "db", "upgrade").returncode == 0
    with closing(sqlite3.connect(path)) as database:
        upgraded = database.execute("SELECT id, host, port, security FROM mail_server ORDER BY id").fetchall()
    assert upgraded == [(1, None, None, None), (2, "smtp.office365.com", 465, "ssl"), (3, "smtp.gmail.com", 587,
                                                                                        "starttls")]
