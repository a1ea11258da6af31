"""The dashboard: the state at a glance, including what stops sending and an access token past its time."""

import html
from datetime import UTC, datetime, timedelta

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection
from tests.helpers import OAuthActions, post_mail

DASHBOARD = "/ddenterpriseapi/"


def dashboard(client) -> str:
    return html.unescape(client.get(DASHBOARD).get_data(as_text=True))


def test_after_disconnecting_the_dashboard_says_sending_stopped(sending, google, mail, admin_client):
    smtp, key = sending
    assert "OK" in mail.send_test(smtp)
    assert "Sending stopped" not in dashboard(admin_client)
    google.post(OAuthActions.PAGE + "/disconnect", confirm="y")
    page = dashboard(admin_client)
    assert "Sending stopped" in page and "sending has stopped since" in page
    assert "OAuth is not authorized yet: open the OAuth page and click Authorize." in page


def test_messages_accepted_while_nothing_can_be_sent_count_in_the_last_error(sending, google, admin_client):
    _, key = sending
    google.post(OAuthActions.PAGE + "/disconnect", confirm="y")
    body = {"from": "reports@example.com", "to": ["a@example.org"], "subject": "s", "text": "t"}
    assert post_mail(admin_client, key, body).status_code == 202  # accepted, held by the worker until the fix
    assert "1 message accepted from the API or the relay waits for this." in dashboard(admin_client)


def test_a_console_being_set_up_shows_no_error(admin_client):
    assert "Last error" not in dashboard(admin_client)


def test_an_expired_access_token_is_called_usual(google, oauth_app, admin_client):
    google.connect()
    assert "expired, as usual between sends" not in dashboard(admin_client)
    with oauth_app.app_context():
        db.session.get(OAuthConnection, 1).access_token_expires_at = datetime.now(UTC) - timedelta(hours=2)
        db.session.commit()
    assert "expired, as usual between sends: a new one is fetched at the next send" in dashboard(admin_client)


def test_the_oauth_page_calls_an_expired_access_token_usual_too(google, oauth_app):
    google.connect()
    assert "It has expired, as usual between sends" not in google.client.get(google.PAGE).get_data(as_text=True)
    with oauth_app.app_context():
        db.session.get(OAuthConnection, 1).access_token_expires_at = datetime.now(UTC) - timedelta(hours=2)
        db.session.commit()
    assert "It has expired, as usual between sends: a new one is fetched at the next send." in google.client.get(
        google.PAGE).get_data(as_text=True)
