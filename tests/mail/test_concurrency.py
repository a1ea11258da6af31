"""Single-flight refresh: threads and processes sending at once share one refresh, and rotation loses nothing."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Thread

from ddenterpriseapi.extensions import current_runtime, db
from ddenterpriseapi.mail.message import Draft
from ddenterpriseapi.mail.sending import send_drafts
from ddenterpriseapi.models import OAuthConnection
from ddenterpriseapi.oauth.tokens import get_access_token
from tests.helpers import AuthActions, age_access_token, connection_row, refreshes


def send_in_thread(app, index: int) -> str:
    with app.app_context():
        draft = Draft(to=[f"user{index}@example.org"], subject=f"n{index}", text="hello")
        return send_drafts(current_runtime(), [draft])[0]


def assert_refresh_token_still_works(oauth, app, mail, smtp):
    """The stored refresh token is the valid one: the next refresh succeeds."""
    age_access_token(app)
    assert "Test email accepted" in mail.send_test(smtp)
    assert refreshes(oauth)[-1]["ok"]


def test_threads_share_one_refresh(microsoft, mail, make_smtp, oauth_app):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    mail.save(smtp)
    age_access_token(oauth_app)
    with ThreadPoolExecutor(max_workers=8) as pool:
        message_ids = list(pool.map(lambda i: send_in_thread(oauth_app, i), range(16)))
    assert len(set(message_ids)) == 16
    assert len(smtp.wait_for_messages(16)) == 16
    assert len(refreshes(microsoft.server)) == 1
    assert_refresh_token_still_works(microsoft.server, oauth_app, mail, smtp)


def test_processes_share_one_refresh(microsoft, mail, make_smtp, oauth_app, pki):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    mail.save(smtp)
    age_access_token(oauth_app)
    env = {
        **os.environ,
        "DDE_INSTANCE_PATH": oauth_app.instance_path,
        "DDE_OAUTH_PROVIDER_OVERRIDES": json.dumps({"microsoft": microsoft.server.provider_override()}),
        "DDE_SMTP_CA_BUNDLE": pki.ca_cert_path,
    }
    command = [sys.executable, "-m", "flask", "--app", "ddenterpriseapi", "send-test-email"]
    processes = [subprocess.Popen([*command, f"p{i}@example.org"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for i in range(4)]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    assert all("Sent: <" in output for output in outputs)
    assert len(smtp.wait_for_messages(4)) == 4
    assert len(refreshes(microsoft.server)) == 1
    assert connection_row(oauth_app)["last_refresh_at"] is not None
    assert_refresh_token_still_works(microsoft.server, oauth_app, mail, smtp)


def test_cli_send_test_email_reports_failure(runner, make_app):
    result = runner.invoke(args=["send-test-email", "a@example.org"])
    assert result.exit_code != 0 and "Configure the email server first" in result.output


def test_refresh_token_command_for_a_daily_timer(microsoft, oauth_app):
    microsoft.connect("microsoft")
    before = connection_row(oauth_app)
    runner = oauth_app.test_cli_runner()
    result = runner.invoke(args=["refresh-token"])
    assert result.exit_code == 0 and "Refreshed for reports@example.com" in result.output
    after = connection_row(oauth_app)
    assert after["refresh_token"] != before["refresh_token"]  # rotated and stored
    microsoft.server.revoke_all()
    result = runner.invoke(args=["refresh-token"])
    assert result.exit_code == 1 and "AADSTS70000" in result.output
    assert connection_row(oauth_app)["error"] is not None


def test_refresh_holds_no_database_lock_while_the_provider_answers(microsoft, oauth_app):
    """A slow token endpoint delays the refresh, never the other writers: an administrator logs in meanwhile."""
    microsoft.connect("microsoft")
    age_access_token(oauth_app)
    microsoft.server.token_delay = 2
    tokens = []

    def refresh():
        with oauth_app.app_context():
            tokens.append(get_access_token(current_runtime()))

    refresher = Thread(target=refresh)
    refresher.start()
    while not refreshing(oauth_app):  # the refresher is waiting for the provider
        refresher.join(0.05)
    login = AuthActions(oauth_app, oauth_app.test_client()).login()
    assert login.status_code == 302 and refresher.is_alive()
    refresher.join()
    assert tokens and len(refreshes(microsoft.server)) == 1
    with oauth_app.app_context():
        assert connection_row(oauth_app)["access_token"] == tokens[0].value


def refreshing(app) -> bool:
    with app.app_context():
        return db.session.get(OAuthConnection, 1).refresh_lease_owner is not None


def test_waiting_refresher_takes_over_an_abandoned_lease(microsoft, oauth_app):
    """A refresher that died mid-call (its process killed) leaves a lease: the next one waits it out, then refreshes."""
    microsoft.connect("microsoft")
    age_access_token(oauth_app)
    with oauth_app.app_context():
        row = db.session.get(OAuthConnection, 1)
        row.refresh_lease_owner, row.refresh_lease_until = "dead", datetime.now(UTC) + timedelta(seconds=1)
        db.session.commit()
        token = get_access_token(current_runtime())
        row = db.session.get(OAuthConnection, 1)
        assert token.value == row.access_token and row.refresh_lease_owner is None
    assert len(refreshes(microsoft.server)) == 1
