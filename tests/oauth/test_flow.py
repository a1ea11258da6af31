"""The authorization-code flow against real test authorization servers, over real HTTP."""

import sqlite3
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection, OAuthSettings, PendingAuthorization
from tests.helpers import CLIENT, MAILBOX, AuthActions, OAuthActions, flashes, stored_connection


def test_google_authorization_request_asks_for_offline_access_with_pkce(google):
    query = parse_qs(urlsplit(google.authorize()).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["scope"] == ["https://mail.google.com/ openid email"]
    assert query["redirect_uri"] == ["http://localhost/ddenterpriseapi/v2/oauth/redirect"]
    assert len(query["state"][0]) >= 32


def test_google_flow_stores_refresh_token_and_account(google, oauth_app):
    page = google.connect()
    text = flashes(page)
    assert f"Authorized as {MAILBOX[0]}" in text
    stored = stored_connection(oauth_app)
    assert stored["account"] == MAILBOX[0]
    assert google.server.check_access_token(stored["access_token"]) == MAILBOX[0]
    assert stored["refresh_token"] and stored["expires_at"] is not None
    masked = f"{stored['refresh_token'][:4]}…{stored['refresh_token'][-4:]}"
    assert masked in text and stored["refresh_token"] not in text
    assert stored["access_token"] not in text


def test_microsoft_flow_uses_the_tenant_in_the_endpoints(microsoft, oauth_app):
    url = microsoft.authorize("microsoft", tenant="72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize" in url
    assert "offline_access" in parse_qs(urlsplit(url).query)["scope"][0]
    page = microsoft.come_back(microsoft.consent(url))
    assert f"Authorized as {MAILBOX[0]}" in flashes(page)
    assert stored_connection(oauth_app)["refresh_token"]


def test_secrets_are_encrypted_at_rest(google, oauth_app):
    google.connect()
    stored = stored_connection(oauth_app)
    raw = b"".join(
        Path(oauth_app.instance_path, name).read_bytes()
        for name in ("ddenterpriseapi.db", "ddenterpriseapi.db-wal") if Path(oauth_app.instance_path, name).exists()
    )
    for secret in (stored["refresh_token"], stored["access_token"], CLIENT[1]):
        assert secret.encode() not in raw
    with sqlite3.connect(Path(oauth_app.instance_path, "ddenterpriseapi.db")) as connection:
        (secret_column,) = connection.execute("select client_secret from oauth_settings").fetchone()
    assert secret_column.startswith("gAAAA")  # a Fernet token


def test_consent_refused(google, oauth_app):
    page = google.come_back(google.consent(google.authorize(), accept=False))
    assert "Consent was refused" in flashes(page)
    assert stored_connection(oauth_app) is None
    with oauth_app.app_context():
        assert db.session.get(OAuthSettings, 1).client_id == CLIENT[0]


def test_microsoft_declined_consent_shows_the_aadsts_fix(microsoft):
    page = microsoft.come_back(microsoft.consent(microsoft.authorize("microsoft"), accept=False))
    assert "AADSTS65004" in flashes(page) and "authorize again and accept" in flashes(page)


def test_provider_error_with_description(google):
    url = google.authorize()
    state = parse_qs(urlsplit(url).query)["state"][0]
    page = google.come_back(
        f"http://localhost/ddenterpriseapi/v2/oauth/redirect?error=invalid_scope&error_description=Bad+scope"
        f"&state={state}"
    )
    assert "invalid_scope: Bad scope" in flashes(page)


def test_wrong_client_secret_is_explained(microsoft, oauth_app):
    url = microsoft.authorize("microsoft", client_secret="not-the-secret")
    page = microsoft.come_back(microsoft.consent(url))
    text = flashes(page)
    assert "AADSTS7000215" in text and "paste the secret's Value" in text
    assert text.index("paste the secret's Value") < text.index("AADSTS7000215")  # the fix, before trace ids
    assert stored_connection(oauth_app) is None


def test_state_missing(google):
    location = google.consent(google.authorize())
    query = parse_qs(urlsplit(location).query)
    page = google.come_back(f"http://localhost/ddenterpriseapi/v2/oauth/redirect?code={query['code'][0]}")
    assert "carries no state" in flashes(page)


def test_state_mismatched(google):
    location = google.consent(google.authorize())
    page = google.come_back(location.replace("state=", "state=forged"))
    assert "unknown or was already used" in flashes(page)


def test_state_replayed(google, oauth_app):
    location = google.consent(google.authorize())
    google.come_back(location)
    first = stored_connection(oauth_app)
    page = google.come_back(location)
    assert "unknown or was already used" in flashes(page)
    assert stored_connection(oauth_app) == first


def test_state_expired(google, oauth_app):
    location = google.consent(google.authorize())
    with oauth_app.app_context():
        pending = db.session.scalars(db.select(PendingAuthorization)).one()
        pending.created_at -= timedelta(minutes=11)
        db.session.commit()
    page = google.come_back(location)
    assert "took too long and expired" in flashes(page)
    assert stored_connection(oauth_app) is None


def test_state_from_another_browser_session(google, oauth_app):
    location = google.consent(google.authorize())
    other = oauth_app.test_client()
    AuthActions(oauth_app, other).login()
    google.client = other
    assert "No authorization was started in this browser session" in flashes(google.come_back(location))
    google.authorize()  # the other session's own authorization does not make the first one its own
    assert "started in another browser session" in flashes(google.come_back(location))
    with oauth_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PendingAuthorization)) == 2


def test_token_endpoint_unreachable(make_app, google_server, admin_client):
    google_server.stop()
    actions = OAuthActions(admin_client, google_server)
    url = actions.authorize()
    state = parse_qs(urlsplit(url).query)["state"][0]
    page = actions.come_back(f"http://localhost/ddenterpriseapi/v2/oauth/redirect?code=abc&state={state}")
    assert "could not be reached" in flashes(page)


def test_token_endpoint_too_slow(google, oauth_app):
    google.server.token_delay = 5  # the console waits HTTP_TIMEOUT = 3 s
    page = google.come_back(google.consent(google.authorize()))
    assert "did not answer in time" in flashes(page)
    assert stored_connection(oauth_app) is None


def test_token_endpoint_answers_garbage(google, oauth_app):
    google.server.token_garbage = True
    page = google.come_back(google.consent(google.authorize()))
    assert "instead of a token response" in flashes(page)
    assert stored_connection(oauth_app) is None


def refused_without_refresh_token(actions, provider, oauth_app) -> str:
    actions.server.omit_refresh_token = True
    page = actions.come_back(actions.consent(actions.authorize(provider)))
    assert stored_connection(oauth_app) is None
    return flashes(page)


def test_google_without_refresh_token_is_refused(google, oauth_app):
    assert "fresh consent" in refused_without_refresh_token(google, "google", oauth_app)


def test_microsoft_without_refresh_token_is_refused(microsoft, oauth_app):
    assert "offline_access permission" in refused_without_refresh_token(microsoft, "microsoft", oauth_app)


def test_custom_without_refresh_token_says_so_once(microsoft, oauth_app):
    base = microsoft.server.base_url
    microsoft.server.omit_refresh_token = True
    page = flashes(microsoft.come_back(microsoft.consent(microsoft.authorize(
        "custom", authorization_url=f"{base}/consumers/oauth2/v2.0/authorize",
        token_url=f"{base}/consumers/oauth2/v2.0/token", scopes="https://outlook.office.com/SMTP.Send openid email",
        smtp_hosts="smtp.example.net"))))
    assert page.count("returned no refresh token") == 1 and "often an offline_access scope" in page


def test_new_authorization_without_refresh_token_keeps_the_old_one(google, oauth_app):
    google.connect()
    before = stored_connection(oauth_app)
    google.server.omit_refresh_token = True
    google.connect()
    assert stored_connection(oauth_app)["refresh_token"] == before["refresh_token"]


def test_pasted_address_completes_the_authorization(google, oauth_app):
    location = google.consent(google.authorize())
    page = google.post(google.PAGE + "/complete", address=location)
    assert f"Authorized as {MAILBOX[0]}" in flashes(page)
    assert stored_connection(oauth_app)["account"] == MAILBOX[0]


def test_pasting_only_the_code_asks_for_the_whole_address(google):
    location = google.consent(google.authorize())
    code = parse_qs(urlsplit(location).query)["code"][0]
    page = google.post(google.PAGE + "/complete", address=code)
    assert "Paste the whole address from the browser's address bar" in flashes(page)


def test_pasted_address_is_checked_like_the_redirect(google):
    location = google.consent(google.authorize())
    google.come_back(location)
    page = google.post(google.PAGE + "/complete", address=location)
    assert "unknown or was already used" in flashes(page)


def test_disconnect_asks_for_confirmation(google, oauth_app):
    google.connect()
    page = google.post(google.PAGE + "/disconnect")
    assert "Tick the box to confirm: removing the authorization stops all sending with OAuth." in flashes(page)
    assert stored_connection(oauth_app) is not None and not google.server.revoked


def test_disconnect_revokes_and_forgets(google, oauth_app):
    google.connect()
    refresh_token = stored_connection(oauth_app)["refresh_token"]
    assert 'value="Remove authorization"' in google.client.get(google.PAGE).get_data(as_text=True)
    page = google.post(google.PAGE + "/disconnect", confirm="y")
    assert "sending with OAuth is stopped. The provider revoked the refresh token." in flashes(page)
    assert refresh_token in google.server.revoked
    assert stored_connection(oauth_app) is None
    with oauth_app.app_context():
        assert db.session.get(OAuthSettings, 1).client_secret == CLIENT[1]


def test_disconnect_says_when_the_provider_was_not_asked_to_revoke(microsoft, oauth_app):
    microsoft.connect("microsoft")
    page = microsoft.post(microsoft.PAGE + "/disconnect", confirm="y")
    assert "The provider was not asked to revoke the refresh token (it offers no revocation" in flashes(page)
    assert stored_connection(oauth_app) is None


def test_custom_provider_end_to_end(microsoft, oauth_app):
    """Custom: any standards-compliant provider, with every URL typed in by the administrator."""
    base = microsoft.server.base_url
    page = microsoft.connect("custom", authorization_url=f"{base}/consumers/oauth2/v2.0/authorize",
                             token_url=f"{base}/consumers/oauth2/v2.0/token",
                             scopes="https://outlook.office.com/SMTP.Send offline_access openid email",
                             smtp_hosts="smtp.example.net")
    assert f"Authorized as {MAILBOX[0]}" in flashes(page)
    assert stored_connection(oauth_app)["refresh_token"]


def test_changing_the_provider_requires_a_new_authorization(google, oauth_app):
    google.connect()
    google.save(client_secret="a rotated secret")  # a new secret alone keeps the connection
    assert stored_connection(oauth_app) is not None
    with oauth_app.app_context():
        assert db.session.get(OAuthConnection, 1).reauthorization_error is None
    google.save("microsoft")
    page = flashes(google.client.get(google.PAGE))
    assert "Re-authorization required" in page and "The OAuth parameters changed (provider, tenant)" in page
    assert "Issued by Google, the previous provider, for reports@example.com" in page
