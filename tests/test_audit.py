"""The audit log keeps details as a wording code and its values, worded in the language of whoever reads it."""

import html
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale, format_timedelta, gettext

from ddenterpriseapi import audit
from ddenterpriseapi.auth.setup_code import announce_setup
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent
from tests.helpers import age_access_token, age_events, create_api_key, submit

AUDIT = "/ddenterpriseapi/audit"


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def test_details_are_stored_as_a_wording_and_its_values(admin_client, oauth_app):
    with oauth_app.app_context():
        audit.record("test_email_failed", audit.COMMAND_LINE, "550 No such user", "sent_to", recipient="a@example.org")
    (event,) = events(oauth_app, "test_email_failed")
    assert (event.wording, event.params, event.detail) == ("sent_to", {"recipient": "a@example.org"},
                                                           "550 No such user")
    assert "to a@example.org: 550 No such user" in admin_client.get(AUDIT).get_data(as_text=True)


def test_events_written_before_show_their_text_as_it_was(admin_client, oauth_app):
    with oauth_app.app_context():
        db.session.add(AuditEvent(action="test_email_sent", actor="admin", detail="to boss@example.org"))
        db.session.commit()
    assert "to boss@example.org" in admin_client.get(AUDIT).get_data(as_text=True)


def test_a_failed_login_is_worded_when_read(auth, client, app):
    client.get("/ddenterpriseapi/login?lang=fr")
    auth.login(password="not the password")
    (event,) = events(app, "login_failed")
    assert (event.wording, event.detail) == ("wrong_credentials", None)  # no words of the visitor's language
    auth.login()
    assert "wrong username or password" in client.get(AUDIT + "?lang=en").get_data(as_text=True)


# Each event below is recorded while the console speaks one language, then read in the other: the reader sees it in
# theirs, with what the provider or the server said kept as received.

def said_in(app, language: str, msgid: str, **values) -> str:
    with app.test_request_context(), force_locale(language):
        return gettext(msgid, **values)


def read_in_each_language(app, client, recorded_in: str, msgid: str, **values) -> dict[str, str]:
    """The audit page in the other language than the event's shows its words in that language only."""
    reader = "en" if recorded_in == "fr" else "fr"
    theirs, recorded = said_in(app, reader, msgid, **values), said_in(app, recorded_in, msgid, **values)
    assert theirs != recorded
    page = html.unescape(client.get(f"{AUDIT}?lang={reader}").get_data(as_text=True))
    assert theirs in page and recorded not in page
    return page


def speak(client, language: str) -> None:
    client.get(f"/ddenterpriseapi/?lang={language}")


@pytest.mark.parametrize("recorded_in", ["fr", "en"])
def test_a_failed_authorization_reads_in_the_readers_language(google, admin_client, oauth_app, recorded_in):
    speak(admin_client, recorded_in)
    google.come_back(google.consent(google.authorize(), accept=False))
    page = read_in_each_language(oauth_app, admin_client, recorded_in,
                                 "Consent was refused. Authorize again and accept the requested permissions.")
    assert "access_denied" in page  # the provider's own words, as received
    (event,) = events(oauth_app, "authorization_failed")
    assert (event.wording, event.params["error"], event.detail) == ("provider_answered", "access_denied", None)


@pytest.mark.parametrize("recorded_in", ["fr", "en"])
def test_a_dead_refresh_token_and_the_failed_test_email_read_in_the_readers_language(
        google, mail, make_smtp, oauth_app, admin_client, recorded_in):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp)
    google.server.revoke_all()
    age_access_token(oauth_app)
    speak(admin_client, recorded_in)
    mail.send_test(smtp)
    page = read_in_each_language(oauth_app, admin_client, recorded_in,
                                 "The provider refused to refresh the access token.")
    assert "Token has been expired or revoked" in page  # the provider's description, as received
    (required,) = events(oauth_app, "reauthorization_required")
    (failed,) = events(oauth_app, "test_email_failed")
    assert (required.wording, failed.wording, failed.params["recipient"]) == (
        "refresh_refused", "failed_to", "boss@example.org")


@pytest.mark.parametrize("recorded_in", ["fr", "en"])
def test_why_a_new_authorization_is_needed_reads_in_the_readers_language(
        google, mail, make_smtp, oauth_app, admin_client, recorded_in):
    """The reason kept on the connection, shown by the OAuth page and the dashboard, is worded when read too."""
    google.connect()
    google.server.revoke_all()
    age_access_token(oauth_app)
    speak(admin_client, recorded_in)
    mail.send_test(make_smtp(google.server, style="google"))
    reader = "en" if recorded_in == "fr" else "fr"
    msgid = "The provider refused to refresh the access token."
    for page in ("/ddenterpriseapi/configuration/oauth", "/ddenterpriseapi/"):
        shown = html.unescape(admin_client.get(f"{page}?lang={reader}").get_data(as_text=True))
        assert said_in(oauth_app, reader, msgid) in shown and said_in(oauth_app, recorded_in, msgid) not in shown
        assert "Token has been expired or revoked" in shown


@pytest.mark.parametrize("recorded_in", ["fr", "en"])
def test_a_test_email_refused_by_the_server_reads_in_the_readers_language(
        google, mail, make_smtp, oauth_app, admin_client, recorded_in):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    speak(admin_client, recorded_in)
    mail.send_test(smtp, username="someone-else@example.com")
    page = read_in_each_language(oauth_app, admin_client, recorded_in, (
        "Google refused the credentials: check that the authorized account is the mailbox in Username and that the "
        "https://mail.google.com/ scope was granted; for Password mode use an app password."))
    (event,) = events(oauth_app, "test_email_failed")
    refused, fix = event.params["reason"]["values"]["parts"]
    assert (refused["said"], fix) == ("auth_refused", {"said": "reply_fix", "values": {"marker": "5.7.8"}})
    reply = refused["values"]["reply"]
    assert reply.startswith("535 5.7.8") and reply in page  # the server's reply, as received
    read_in_each_language(oauth_app, admin_client, recorded_in, "The server refused authentication: %(reply)s.",
                          reply=reply)


@pytest.mark.parametrize("recorded_in", ["fr", "en"])
def test_a_revocation_that_failed_reads_in_the_readers_language(google, oauth_app, admin_client, recorded_in):
    google.connect()
    google.server.stop()
    speak(admin_client, recorded_in)
    google.post(google.PAGE + "/disconnect", confirm="y")
    read_in_each_language(oauth_app, admin_client, recorded_in, "The provider could not be reached: check the URL "
                          "and this server's network access (proxy, firewall, DNS).")
    (event,) = events(oauth_app, "disconnected")
    assert event.wording == "provider_unreachable"


@pytest.mark.parametrize("recorded_in", ["fr", "en"])
def test_a_throttled_login_reads_in_the_readers_language(auth, client, app, recorded_in):
    speak(client, recorded_in)
    for _attempt in range(4):
        auth.login(password="not the password")
    (event,) = events(app, "login_refused")
    assert event.wording == "account_throttled" and event.detail is None
    age_events(app, timedelta(hours=1))  # the administrator reads the log once the wait is over
    auth.login()
    with app.test_request_context(), force_locale("en" if recorded_in == "fr" else "fr"):
        wait = format_timedelta(timedelta(seconds=event.params["seconds"]))
    read_in_each_language(app, client, recorded_in, "Too many wrong passwords for this account from your address. "
                          "Wait %(wait)s and try again.", wait=wait)


def test_an_api_keys_scope_reads_as_its_label(admin_client, oauth_app):
    create_api_key(admin_client)
    page = read_in_each_language(oauth_app, admin_client, "fr", "The API and the SMTP relay")
    assert "reporting-server (" in page and ", both" not in page
    assert ", both" not in read_in_each_language(oauth_app, admin_client, "en", "The API and the SMTP relay")
    (event,) = events(oauth_app, "api_key_created")
    assert (event.wording, event.params["scope"]) == ("api_key", "both")


def test_the_first_administrator_is_worded_when_read(app, client):
    announce_setup(app, "127.0.0.1:8080")
    code = Path(app.instance_path, "setup-code").read_text().strip()
    speak(client, "fr")
    submit(client, "/ddenterpriseapi/setup", {"setup_code": code, "username": "root",
                                              "password": "long enough password", "confirm": "long enough password"})
    (event,) = events(app, "admin_created")
    assert (event.wording, event.detail) == ("first_administrator", "root")  # no words of the moment's language
    assert "the first administrator: root" in client.get(AUDIT + "?lang=en").get_data(as_text=True)
