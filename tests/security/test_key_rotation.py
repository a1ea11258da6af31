"""flask rotate-key re-encrypts every secret under a new key while a running console keeps working."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import MailServer, OAuthSettings
from tests.helpers import CLIENT, age_access_token, connection_row, refreshes


def raw_secrets(app) -> list[str]:
    with sqlite3.connect(Path(app.instance_path, "ddenterpriseapi.db")) as connection:
        rows = connection.execute("select client_secret from oauth_settings union all "
                                  "select refresh_token from oauth_connection union all "
                                  "select access_token from oauth_connection union all "
                                  "select password from mail_server").fetchall()
    return [value for (value,) in rows if value]


def test_rotation_while_running(google, mail, make_smtp, oauth_app):
    google.connect()
    smtp = make_smtp(passwords={"relay@example.com": "relay password"})
    mail.save(smtp, authentication="password", username="relay@example.com", password="relay password")
    key_file = Path(oauth_app.instance_path, "encryption-keys")
    old_key = key_file.read_text().strip()
    before = connection_row(oauth_app)

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "ddenterpriseapi", "rotate-key"],
        env={**os.environ, "DDE_INSTANCE_PATH": oauth_app.instance_path}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "4 secrets re-encrypted" in result.stdout

    keys = key_file.read_text().split()
    assert len(keys) == 2 and keys[1] == old_key and keys[0] != old_key
    for ciphertext in raw_secrets(oauth_app):
        Fernet(keys[0]).decrypt(ciphertext.encode())  # all under the new key
        try:
            Fernet(old_key).decrypt(ciphertext.encode())
            raise AssertionError("a secret is still under the old key")
        except InvalidToken:
            pass

    # The running console (which loaded only the old key) reads everything and keeps sending.
    with oauth_app.app_context():
        assert db.session.get(OAuthSettings, 1).client_secret == CLIENT[1]
        assert db.session.get(MailServer, 1).password == "relay password"
    assert connection_row(oauth_app) == before
    assert "Test email accepted" in mail.send_test(smtp, authentication="password", username="relay@example.com")
    mail.save(smtp, authentication="oauth", username="")
    age_access_token(oauth_app)
    google_smtp = make_smtp(google.server)
    assert "Test email accepted" in mail.send_test(google_smtp)
    assert len(refreshes(google.server)) == 1


def test_configured_keys_explain_the_manual_procedure(runner, make_app):
    app = make_app(ENCRYPTION_KEYS=Fernet.generate_key().decode())
    result = app.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code != 0 and "ENCRYPTION_KEYS" in result.output


def test_a_missing_key_is_an_error_that_says_so(google, oauth_app):
    """Secrets that no configured key opens must not pass for "not authorized": the page and the command say a key
    is missing, and where the keys come from."""
    google.connect()
    key_file = Path(oauth_app.instance_path) / "encryption-keys"
    key_file.write_text(Fernet.generate_key().decode() + "\n")  # the key the secrets were encrypted with is gone
    oauth_app.extensions["dde_runtime"].vault.reload()  # as the console reads the file at a restart
    page = google.client.get(google.PAGE)
    text = page.get_data(as_text=True)
    assert page.status_code == 500 and "A stored secret cannot be decrypted" in text and str(key_file) in text
    assert "Not authorized yet" not in text
    result = oauth_app.test_cli_runner().invoke(args=["refresh-token"])
    assert result.exit_code == 1 and "A stored secret cannot be decrypted" in result.output
