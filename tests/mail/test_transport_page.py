"""The email server page's transport: SMTP or the provider's HTTPS API, chosen on the form or in one click when SMTP
turns out closed (SMTP AUTH off for the mailbox, the SMTP server out of reach), through real test servers."""

import html
from urllib.parse import parse_qs, urlsplit

import pytest

from ddenterpriseapi.extensions import current_runtime, db
from ddenterpriseapi.mail.errors import MailError
from ddenterpriseapi.mail.message import Draft
from ddenterpriseapi.mail.sending import send_drafts
from ddenterpriseapi.models import AuditEvent, MailServer
from tests.helpers import MAILBOX, csrf_from

PAGE = "/ddenterpriseapi/configuration/email-server"
USE_API = PAGE + "/use-api"
GRAPH_SEND = "https://graph.microsoft.com/Mail.Send"


def saved_transport(app) -> str:
    with app.app_context():
        return db.session.get(MailServer, 1).transport


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def use_api(client):
    """Click the suggestion's button: the answer, not followed, and the form the browser sent."""
    form = {"csrf_token": csrf_from(client.get(PAGE))}
    return client.post(USE_API, data=form), form


def test_graph_is_refused_with_google(mail, oauth_app):
    page = text(mail.save(transport="graph"))
    assert "Microsoft Graph is offered for Microsoft only: choose SMTP, or choose Microsoft on the OAuth page." in page
    assert db_row_missing(oauth_app)


def test_https_transport_is_refused_with_password_authentication(google, mail, oauth_app, gmail_api):
    google.save()
    page = text(mail.save(transport="gmail_api", authentication="password", username=MAILBOX[0], password="x"))
    assert "Gmail API sends with OAuth only: set Authentication to OAuth, or choose SMTP." in page
    assert db_row_missing(oauth_app)


def db_row_missing(app) -> bool:
    with app.app_context():
        return db.session.get(MailServer, 1) is None


def test_graph_with_a_blank_host_is_saved_and_shown(microsoft, mail, oauth_app, graph_api):
    microsoft.connect("microsoft")
    response = mail.save(transport="graph", host="", port="not a port", security="")
    assert response.status_code == 302
    assert saved_transport(oauth_app) == "graph"
    page = text(mail.client.get(PAGE))
    assert f"Mail goes to Microsoft Graph ({graph_api.base_url}/v1.0), as {MAILBOX[0]}." in page
    assert 'class="smtp-settings not-in-use"' in page and '<option selected value="graph">' in page
    # Authorized before Graph was chosen: the page says so, with Authorize.
    assert f"{GRAPH_SEND}" in page and 'id="missing-consent"' in page


def test_the_transport_survives_a_failed_save(microsoft, mail, oauth_app, graph_api):
    microsoft.save("microsoft")
    page = text(mail.save(transport="graph", sender_address="not an address"))
    assert "Enter an email address, such as reports@example.com." in page
    assert '<option selected value="graph">' in page and 'class="smtp-settings not-in-use"' in page
    assert db_row_missing(oauth_app)


def test_graph_suggested_after_smtp_auth_disabled(microsoft, mail, make_smtp, oauth_app, graph_api):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    smtp.disable_smtp_auth()
    page = mail.send_test(smtp)
    assert "SMTP is closed for this mailbox, but Microsoft Graph answers over HTTPS: send through it instead." in page
    assert graph_api.requests  # probed
    answer, form = use_api(mail.client)
    assert answer.status_code == 307  # on to Authorize: the browser posts the same form there
    authorization = mail.client.post(answer.headers["Location"], data=form)
    url = authorization.headers["Location"]
    assert url.startswith(microsoft.server.base_url)
    assert GRAPH_SEND in parse_qs(urlsplit(url).query)["scope"][0].split()
    landed = text(microsoft.come_back(microsoft.consent(url)))
    assert "Mail now goes through Microsoft Graph." in landed and "Authorized as" in landed
    assert saved_transport(oauth_app) == "graph"
    page = mail.send_test()
    assert "Test email accepted" in page and 'id="missing-consent"' not in page
    (received,) = graph_api.wait_for_messages(1)
    assert received.recipients == ["boss@example.org"]
    assert "<strong>TOKEN</strong>" in page and "<strong>REQUEST</strong>" in page
    assert "<strong>CONNECT</strong>" not in page and 'id="suggestion"' not in page


def test_gmail_api_suggested_when_smtp_is_out_of_reach(google, mail, make_smtp, oauth_app, gmail_api):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp)
    smtp.stop_listening()
    page = mail.send_test(smtp)
    assert "SMTP is closed for this host, but Gmail API answers over HTTPS: send through it instead." in page
    answer, _ = use_api(mail.client)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(PAGE)  # no new consent for Gmail
    assert "Mail now goes through Gmail API." in text(mail.client.get(PAGE))
    assert saved_transport(oauth_app) == "gmail_api"
    with oauth_app.app_context():
        last = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.action, last.detail, last.actor) == ("email_server_changed", "transport", "admin")
    assert "Test email accepted" in mail.send_test()
    (received,) = gmail_api.wait_for_messages(1)
    assert received.recipients == ["boss@example.org"]


def test_no_suggestion_when_the_api_does_not_answer_either(google, mail, make_smtp, oauth_app, gmail_api):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp)
    smtp.stop_listening()
    gmail_api.stop_listening()
    page = mail.send_test(smtp)
    assert "The test email was not sent." in page and 'id="suggestion"' not in page
    assert saved_transport(oauth_app) == "smtp"


def test_graph_suggested_from_the_latest_delivery_failure(microsoft, mail, make_smtp, oauth_app, graph_api):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    mail.save(smtp)
    smtp.disable_smtp_auth()
    with oauth_app.app_context(), pytest.raises(MailError):  # as a delivery of the outbox would fail
        send_drafts(current_runtime(), [Draft(to=["boss@example.org"], subject="Report", text="Hello")])
    probes = len(graph_api.requests)
    page = text(mail.client.get(PAGE))
    assert "SMTP is closed for this mailbox, but Microsoft Graph answers" in page
    assert len(graph_api.requests) == probes  # a page view never probes
    smtp.heal()
    assert "Test email accepted" in mail.send_test(smtp)
    assert 'id="suggestion"' not in text(mail.client.get(PAGE))  # mail went out since
