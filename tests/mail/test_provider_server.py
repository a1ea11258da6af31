"""With OAuth, a blank SMTP host, port or security is the provider's and follows it when the provider changes; a
typed one stays, and the page says when it no longer fits the provider and offers the provider's instead."""

import html
import json
import re
import time

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import MailServer
from tests.helpers import AuthActions, MailActions, OAuthActions, csrf_from, flashes, save_oauth_settings

PROVIDER_SERVER = {"host": "", "port": "", "security": ""}


def saved(app) -> MailServer:
    with app.app_context():
        return db.session.get(MailServer, 1)


@pytest.fixture
def two_providers(make_app, make_smtp, pki, google_server, microsoft_server):
    """A console whose Google and Microsoft presets send to their own test SMTP servers: (client, gmail, outlook)."""
    gmail = make_smtp(google_server, style="google")
    outlook = make_smtp(microsoft_server, style="microsoft")
    overrides = {
        "google": {**google_server.provider_override(), "smtp_host": gmail.host, "smtp_port": gmail.port},
        "microsoft": {**microsoft_server.provider_override(), "smtp_host": outlook.host, "smtp_port": outlook.port},
    }
    app = make_app(OAUTH_PROVIDER_OVERRIDES=overrides, SMTP_CA_BUNDLE=pki.ca_cert_path, SMTP_TIMEOUT=3)
    client = app.test_client()
    AuthActions(app, client).create()
    AuthActions(app, client).login()
    return app, client, gmail, outlook


def test_blank_server_follows_a_change_of_provider(two_providers, google_server, microsoft_server):
    app, client, gmail, outlook = two_providers
    mail = MailActions(client)
    OAuthActions(client, microsoft_server).connect("microsoft")
    assert "Test email accepted" in mail.send_test(**PROVIDER_SERVER)
    assert len(outlook.wait_for_messages(1)) == 1
    OAuthActions(client, google_server).connect("google")
    page = mail.send_test(**PROVIDER_SERVER)
    assert "Test email accepted" in page, page
    assert f"Mail goes to 127.0.0.1:{gmail.port}, security STARTTLS." in page
    assert len(gmail.wait_for_messages(1)) == 1 and len(outlook.messages) == 1
    row = saved(app)
    assert (row.host, row.port, row.security) == (None, None, None)


def test_page_shows_the_provider_server_in_blank_fields(mail, oauth_app):
    mail.save(**PROVIDER_SERVER)
    page = flashes(mail.client.get(mail.PAGE))
    assert 'placeholder="smtp.gmail.com"' in page and 'placeholder="587"' in page
    assert '<option selected value="">As Google says (STARTTLS)</option>' in page
    assert "Mail goes to smtp.gmail.com:587, security STARTTLS." in page


def test_page_and_its_script_show_the_server_of_the_chosen_cloud(mail, oauth_app):
    save_oauth_settings(oauth_app, provider="microsoft", cloud="usgov", tenant="contoso.onmicrosoft.us")
    mail.save(**PROVIDER_SERVER)
    page = flashes(mail.client.get(mail.PAGE))
    assert 'placeholder="smtp.office365.us"' in page and "smtp.office365.com" not in page.split("data-presets")[0]
    assert "Mail goes to smtp.office365.us:587, security STARTTLS." in page
    presets = json.loads(html.unescape(re.search(r"data-presets='([^']*)'", page).group(1)))
    assert presets["microsoft"]["host"] == "smtp.office365.us"  # what the script fills in, not the global server's
    assert "smtp.office365.com" in presets["microsoft"]["hosts"]  # still known as the provider's own


def test_typed_port_and_security_are_kept_and_shown(mail, oauth_app):
    assert mail.save(host="", port="465", security="ssl").status_code == 302
    row = saved(oauth_app)
    assert (row.host, row.port, row.security) == (None, 465, "ssl")
    assert "Mail goes to smtp.gmail.com:465, security SSL/TLS." in flashes(mail.client.get(mail.PAGE))


@pytest.mark.parametrize("authentication", ["password", "none"])
def test_blank_fields_need_a_value_without_oauth(mail, authentication):
    page = flashes(mail.save(authentication=authentication, username="relay@example.com", **PROVIDER_SERVER))
    assert "Enter the SMTP host, such as smtp.gmail.com." in page and "Enter a port, such as 587." in page
    assert "Choose the security: STARTTLS for port 587, SSL/TLS for port 465." in page


def test_typed_host_of_the_previous_provider_is_offered_the_new_ones(google, mail, oauth_app):
    google.save("microsoft")
    assert mail.save(host="smtp.office365.com", port="587", security="starttls").status_code == 302
    google.connect()  # the provider becomes Google
    page = flashes(mail.client.get(mail.PAGE))
    assert "An OAuth access token for Google is sent only to its SMTP servers" in page
    assert "not to smtp.office365.com" in page
    assert "Use Google's server (smtp.gmail.com:587, STARTTLS)" in page
    token = csrf_from(mail.client.get(mail.PAGE))
    answer = mail.client.post(mail.PAGE + "/provider-server", data={"csrf_token": token}, follow_redirects=True)
    page = flashes(answer)
    assert "The email server now follows the provider on the OAuth page." in page
    assert "Mail goes to smtp.gmail.com:587, security STARTTLS." in page and "Use Google's server" not in page
    row = saved(oauth_app)
    assert (row.host, row.port, row.security) == (None, None, None)


def test_smtp_timeout_bounds_the_whole_test_send(google, mail, make_smtp):
    """Every reply comes well within SMTP_TIMEOUT (3 s), but the whole conversation would take longer."""
    google.connect()
    smtp = make_smtp(google.server, style="google")
    smtp.answer_slowly(0.5)
    started = time.monotonic()
    page = mail.send_test(smtp)
    assert time.monotonic() - started < 7  # one reply after another, the conversation would take some 10 s
    assert "Test email accepted" not in page and "did not answer within 3 s" in page
