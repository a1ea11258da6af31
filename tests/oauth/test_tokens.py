"""The token manager and the two sending seams, called as services: no request, no page, the Runtime given by the
caller (as the command line, the API and a delivery worker call them)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import has_request_context

from ddenterpriseapi.extensions import db
from ddenterpriseapi.mail.errors import MailNotConfigured
from ddenterpriseapi.mail.smtp import ServerSettings, Trace
from ddenterpriseapi.mail.smtp_transport import SmtpLogin, SmtpTransport
from ddenterpriseapi.mail.transport import Envelope, deliver_all
from ddenterpriseapi.models import AuditEvent, OAuthConnection
from ddenterpriseapi.oauth.source import RefreshTokenSource
from ddenterpriseapi.oauth.tokens import ReauthorizationRequired, get_access_token, refresh_now
from tests.helpers import MAILBOX, refreshes


@pytest.fixture
def runtime(google, oauth_app):
    """An authorized console (through its pages), then the Runtime its services are handed."""
    google.connect()
    return oauth_app.extensions["dde_runtime"]


@pytest.fixture
def context(oauth_app):
    """An application context with no request in it, as a command or a worker has."""
    with oauth_app.app_context():
        assert not has_request_context()
        yield


def expiring_in(seconds: float) -> None:
    """The stored hour-long access token now expires this many seconds from now."""
    row = db.session.get(OAuthConnection, 1)
    row.access_token_expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
    row.authorized_at = row.last_refresh_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()


def test_a_refresh_runs_without_a_request(runtime, context, google_server):
    stored = db.session.get(OAuthConnection, 1).access_token
    expiring_in(10)
    token = get_access_token(runtime)
    assert token.value != stored and google_server.check_access_token(token.value) == MAILBOX[0]
    assert (token.mailbox, token.provider) == (MAILBOX[0], "google")
    assert len(refreshes(google_server)) == 1


def test_the_refresh_margin_is_the_one_the_caller_gives(runtime, context, google_server):
    expiring_in(200)
    stored = db.session.get(OAuthConnection, 1).access_token
    assert get_access_token(replace(runtime, access_token_margin=100)).value == stored
    assert refreshes(google_server) == []
    assert get_access_token(replace(runtime, access_token_margin=300)).value != stored
    assert len(refreshes(google_server)) == 1


def test_a_rejected_token_is_never_handed_out_again(runtime, context, google_server):
    stored = db.session.get(OAuthConnection, 1).access_token
    assert get_access_token(runtime, rejected=stored).value != stored
    assert len(refreshes(google_server)) == 1


def test_refresh_now_proves_the_refresh_token_alive(runtime, context, google_server):
    account, expires_at = refresh_now(runtime)
    assert account == MAILBOX[0] and expires_at > datetime.now(UTC) + timedelta(minutes=50)
    assert len(refreshes(google_server)) == 1


def test_a_dead_refresh_token_needs_reauthorization_and_the_system_says_so(runtime, context, google_server):
    google_server.revoke_all()
    expiring_in(10)
    with pytest.raises(ReauthorizationRequired) as raised:
        get_access_token(runtime)
    assert "refused to refresh" in raised.value.message
    assert str(db.session.get(OAuthConnection, 1).reauthorization_reason) == raised.value.message
    event = db.session.query(AuditEvent).filter_by(action="reauthorization_required").one()
    assert (event.actor, event.ip) == ("system", None)
    with pytest.raises(ReauthorizationRequired):  # and without asking the provider again
        get_access_token(runtime)
    assert len(refreshes(google_server)) == 1


def message(subject: str) -> Envelope:
    data = (f"From: {MAILBOX[0]}\r\nTo: boss@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.com>\r\n\r\nReport attached.\r\n").encode()
    return Envelope(data, MAILBOX[0], ["boss@example.org"], f"<{subject}@example.com>")


def oauth_transport(runtime, smtp, **login) -> SmtpTransport:
    server = ServerSettings(smtp.host, smtp.port, "starttls", runtime.smtp_timeout, runtime.smtp_ca_bundle)
    return SmtpTransport(server, SmtpLogin("oauth", source=RefreshTokenSource(runtime), host=smtp.host,
                                           registry=runtime.providers, **login))


def test_the_smtp_transport_delivers_a_batch_over_one_connection(runtime, context, make_smtp, google_server):
    smtp = make_smtp(google_server, style="google")
    transport = oauth_transport(runtime, smtp)
    assert transport.mailbox() == MAILBOX[0]
    deliver_all(transport, [message("one"), message("two")], Trace())
    received = smtp.wait_for_messages(2)
    assert [m.message["Subject"] for m in received] == ["one", "two"]
    assert smtp.connections == 1 and [a["mechanism"] for a in smtp.auth_attempts] == ["XOAUTH2"]


def test_a_refused_token_is_refreshed_once_and_tried_again(runtime, context, make_smtp, google_server):
    smtp = make_smtp(google_server, style="google")
    google_server.expire_access_tokens()  # the stored token looks fresh to the console, the server refuses it
    trace = Trace()
    deliver_all(oauth_transport(runtime, smtp), [message("after refresh")], trace)
    assert [a["ok"] for a in smtp.auth_attempts] == [False, True]
    assert len(refreshes(google_server)) == 1 and smtp.connections == 2
    assert [step["step"] for step in trace.steps if not step["ok"]] == ["auth"]


def test_a_token_goes_only_to_its_providers_servers(runtime, context):
    login = SmtpLogin("oauth", source=RefreshTokenSource(runtime), host="smtp.office365.com",
                      registry=runtime.providers)
    with pytest.raises(MailNotConfigured, match="sent only to its SMTP servers"):
        login.credentials()
