"""The OAuth parameters page: presets, validation, and secrets that never come back."""

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent, OAuthSettings
from ddenterpriseapi.oauth.settings import LOCAL_REDIRECT_URI, default_redirect_uri
from tests.helpers import ADMIN, CALLBACK, CLIENT, AuthActions, csrf_from, flashes, reconfigure, submit

PAGE = "/ddenterpriseapi/configuration/oauth"


@pytest.fixture
def page(client, auth):
    auth.login()

    def save(**fields):
        data = {"provider": "google", "client_id": CLIENT[0], "client_secret": CLIENT[1],
                "current_password": ADMIN[1], "save": "1"}
        data.update(fields)
        return submit(client, PAGE, {k: v for k, v in data.items() if v is not None})

    save.client = client
    return save


def stored(app):
    with app.app_context():
        return db.session.get(OAuthSettings, 1)


def test_google_preset_is_shown_greyed(page):
    html = page.client.get(PAGE).get_data(as_text=True)
    assert 'readonly type="text" value="https://accounts.google.com/o/oauth2/v2/auth"' in html
    assert 'value="https://oauth2.googleapis.com/token"' in html
    assert 'value="https://mail.google.com/ openid email"' in html
    assert 'value="http://localhost/ddenterpriseapi/v2/oauth/redirect"' in html
    for label in ("OAuth Provider", "Tenant", "Authorization URL", "Token URL", "Client ID", "Client Secret",
                  "Authorized redirect URI", "Refresh token"):
        assert f">{label}</label>" in html


def test_save_keeps_secret_write_only(page, app):
    assert page().status_code == 302
    html = page.client.get(PAGE).get_data(as_text=True)
    assert CLIENT[1] not in html and "A client secret is stored" in html
    assert page(client_secret="", redirect_uri="https://console.example.com/v2/oauth/redirect").status_code == 302
    assert stored(app).client_secret == CLIENT[1]


@pytest.mark.parametrize("change", [
    {"client_id": "other-id"},
    {"provider": "microsoft", "tenant": "contoso.onmicrosoft.com"},
    {"provider": "custom", "authorization_url": "https://idp.example.com/authorize",
     "token_url": "https://idp.example.com/token", "scopes": "smtp", "smtp_hosts": "smtp.example.com"},
])
def test_secret_never_follows_a_changed_client_or_endpoint(page, app, change):
    """A blank secret field keeps the stored secret only for the provider, tenant, token URL and client it was
    entered for: otherwise it would be sent to a token URL typed in later."""
    page()
    answer = page(client_secret="", **change)
    assert answer.status_code == 302 and stored(app).client_secret is None
    html = page.client.get(PAGE).get_data(as_text=True)
    assert "The stored client secret was forgotten" in html and "Not set yet." in html
    page(client_secret="a new secret", **change)
    assert stored(app).client_secret == "a new secret"


def test_preset_endpoints_cannot_be_changed_from_the_form(page, app):
    page(authorization_url="https://attacker.example/auth")
    assert stored(app).authorization_url is None
    html = page.client.get(PAGE).get_data(as_text=True)
    assert "attacker.example" not in html


def test_microsoft_endpoints_follow_the_tenant(page, app):
    page(provider="microsoft", tenant="contoso.com")
    html = page.client.get(PAGE).get_data(as_text=True)
    assert "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize" in html
    assert "https://outlook.office.com/SMTP.Send offline_access openid email" in html
    assert stored(app).tenant == "contoso.com"


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers",
                                    "72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.onmicrosoft.com"])
def test_accepted_tenants(page, tenant):
    assert page(provider="microsoft", tenant=tenant).status_code == 302


@pytest.mark.parametrize("tenant", ["", "not a tenant", "../evil", "72f988bf-86f1", "contoso"])
def test_refused_tenants_keep_saved_settings(page, app, tenant):
    page(provider="microsoft", tenant="contoso.com")
    response = page(provider="microsoft", tenant=tenant, client_id="changed")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("common, organizations or consumers") == 1 and 'id="tenant-error"' in html
    assert stored(app).tenant == "contoso.com" and stored(app).client_id == CLIENT[0]


def test_custom_provider_endpoints_are_editable_and_required(page, app):
    response = page(provider="custom", authorization_url="", token_url="https://idp.example/token", scopes="smtp")
    assert "Enter the Authorization URL of your provider" in response.get_data(as_text=True)
    response = page(provider="custom", authorization_url="https://idp.example/auth",
                    token_url="https://idp.example/token", scopes="smtp offline", smtp_hosts="SMTP.idp.example, mx2")
    assert response.status_code == 302
    settings = stored(app)
    assert (settings.authorization_url, settings.token_url, settings.scopes, settings.smtp_hosts) == (
        "https://idp.example/auth", "https://idp.example/token", "smtp offline", "smtp.idp.example mx2")


@pytest.mark.parametrize("url, message", [
    ("not a url", "Enter a full URL"),
    ("ftp://idp.example/auth", "Enter a full URL"),
    ("http://idp.example/auth", "plain http is accepted only for localhost"),
    ("https://user:pw@idp.example/auth", "must not contain a user name"),
    ("https://idp.example:99999/auth", "not a valid URL"),
])
def test_bad_urls_are_explained_next_to_the_field(page, url, message):
    response = page(provider="custom", authorization_url=url, token_url="https://idp.example/t", scopes="s")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html and 'id="authorization_url-error"' in html


@pytest.mark.parametrize("url", ["http://localhost:9000/auth", "http://127.0.0.1/auth", "http://[::1]:8/a"])
def test_http_is_accepted_on_loopback(page, url):
    assert page(provider="custom", authorization_url=url, token_url=url, scopes="s").status_code == 302


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "192.168.1.1", "[fd00::1]"])
def test_private_provider_urls_are_refused_when_blocked(page, app, host):
    urls = {"provider": "custom", "authorization_url": "http://127.0.0.1:9000/auth", "scopes": "s",
            "token_url": f"https://{host}/token"}
    reconfigure(app, BLOCK_PRIVATE_NETWORKS=True)
    response = page(**urls)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="token_url-error"' in html and 'id="authorization_url-error"' not in html
    assert "a private, link-local, reserved or multicast address" in html
    reconfigure(app, BLOCK_PRIVATE_NETWORKS=False)
    assert page(**urls).status_code == 302 and stored(app).token_url == f"https://{host}/token"


def test_redirect_uri_rules(page, app):
    response = page(redirect_uri="http://console.example.com/ddenterpriseapi/v2/oauth/redirect")
    assert "plain http is accepted only" in response.get_data(as_text=True)
    page(redirect_uri="https://console.example.com/ddenterpriseapi/v2/oauth/redirect")
    assert stored(app).redirect_uri == "https://console.example.com/ddenterpriseapi/v2/oauth/redirect"


def test_redirect_uri_stays_as_saved_wherever_the_page_is_opened(page, app):
    page(redirect_uri="")
    assert stored(app).redirect_uri == CALLBACK  # the address the page was saved at, from now on
    assert "You opened this page" not in page.client.get(PAGE).get_data(as_text=True)
    elsewhere = "http://127.0.0.1:8080/ddenterpriseapi/v2/oauth/redirect"
    page(redirect_uri=elsewhere)
    html = page.client.get(PAGE).get_data(as_text=True)
    assert f'value="{elsewhere}"' in html
    assert "You opened this page at localhost, but the saved redirect URI is at 127.0.0.1:8080" in html


def test_redirect_uri_follows_public_url(page, app):
    reconfigure(app, PUBLIC_URL="https://mail.example.com/ddenterpriseapi")
    page(redirect_uri="https://mail.example.com/ddenterpriseapi/v2/oauth/redirect")
    assert stored(app).redirect_uri is None


def test_authorizing_fixes_the_redirect_uri(page, app):
    reconfigure(app, PUBLIC_URL="https://mail.example.com/ddenterpriseapi")
    page()
    reconfigure(app, PUBLIC_URL=None)
    token = csrf_from(page.client.get(PAGE))
    assert page.client.post(PAGE + "/authorize", data={"csrf_token": token}).status_code == 302
    assert stored(app).redirect_uri == CALLBACK


def test_redirect_uri_off_the_callback_path_is_saved_with_a_warning(page, app):
    answer = page(redirect_uri="https://console.example.com/oauth/callback")
    assert answer.status_code == 302 and stored(app).redirect_uri == "https://console.example.com/oauth/callback"
    html = flashes(page.client.get(PAGE))
    assert "not on this console's callback path, /ddenterpriseapi/v2/oauth/redirect" in html
    page(redirect_uri="https://console.example.com/ddenterpriseapi/v2/oauth/redirect")
    assert "callback path" not in flashes(page.client.get(PAGE))


def test_a_provider_answer_on_a_missing_page_points_to_the_paste_box(client, auth):
    auth.login()
    page = client.get("/ddenterpriseapi/oauth/callback?code=abc&state=xyz")
    html = flashes(page)
    assert page.status_code == 404 and "copy the whole address from the browser's address bar" in html
    assert 'href="/ddenterpriseapi/configuration/oauth?paste=1#paste-answer"' in html
    assert "paste it in the box" not in flashes(client.get("/ddenterpriseapi/oauth/callback?code=abc"))


def test_typed_client_secret_is_asked_again_after_an_error(page):
    html = page(provider="microsoft", tenant="contoso").get_data(as_text=True)
    assert "The client secret you typed was not saved" in html and 'id="client_secret-hint"' in html
    assert CLIENT[1] not in html


def test_public_url_sets_the_default_redirect_uri():
    seen = "http://127.0.0.1:8080/ddenterpriseapi/v2/oauth/redirect"
    assert default_redirect_uri("https://mail.example.com/ddenterpriseapi/", seen) == (
        "https://mail.example.com/ddenterpriseapi/v2/oauth/redirect")
    assert default_redirect_uri(None, seen) == seen
    assert default_redirect_uri(None) == LOCAL_REDIRECT_URI  # the command line, where no request saw an address


@pytest.mark.parametrize("field", ["client_id", "tenant", "client_secret", "redirect_uri"])
def test_overlong_values_are_refused(page, app, field):
    response = page(**{"provider": "microsoft", "tenant": "contoso.com", field: "a" * 5000})
    assert response.status_code == 200
    assert "Field cannot be longer than" in response.get_data(as_text=True)
    assert stored(app) is None


def test_authorize_without_client_id_says_what_is_missing(page):
    response = page(client_id="", client_secret="", save=None, authorize="1")
    html = page.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Enter the Client ID and Client Secret" in html


def test_provider_overrides_from_the_environment(make_env_app):
    app = make_env_app(
        DDE_OAUTH_PROVIDER_OVERRIDES='{"microsoft": {"token_url": "http://127.0.0.1:9000/{tenant}/token"}}')
    assert app.extensions["dde_runtime"].providers["microsoft"].token_url == "http://127.0.0.1:9000/{tenant}/token"


def test_unknown_override_fields_are_refused(make_app):
    with pytest.raises(ValueError, match="unknown fields"):
        make_app(OAUTH_PROVIDER_OVERRIDES={"google": {"tokenurl": "x"}})


@pytest.mark.parametrize("field", ["authorization_url", "token_url", "revocation_url", "userinfo_url"])
def test_override_urls_in_plain_http_to_another_host_are_refused(make_app, field):
    with pytest.raises(ValueError, match=rf"OAUTH_PROVIDER_OVERRIDES\['google'\]\.{field}: Use https://"):
        make_app(OAUTH_PROVIDER_OVERRIDES={"google": {field: "http://accounts.example.com/endpoint"}})


def test_override_urls_on_loopback_or_https_are_accepted(make_app):
    app = make_app(OAUTH_PROVIDER_OVERRIDES={"google": {"token_url": "https://oauth2.example.com/token",
                                                       "revocation_url": "http://[::1]:9000/revoke",
                                                       "userinfo_url": None}})
    assert app.extensions["dde_runtime"].providers["google"].revocation_url == "http://[::1]:9000/revoke"


def test_microsoft_admin_consent_link(page):
    page(provider="microsoft", tenant="contoso.com")
    html = page.client.get(PAGE).get_data(as_text=True)
    assert ("https://login.microsoftonline.com/contoso.com/v2.0/adminconsent?client_id=console-client&amp;"
            "redirect_uri=http%3A%2F%2Flocalhost%2Fddenterpriseapi%2Fv2%2Foauth%2Fredirect&amp;"
            "scope=https%3A%2F%2Foutlook.office365.com%2F.default") in html


def test_admin_consent_url_override(make_app):
    app = make_app(OAUTH_PROVIDER_OVERRIDES={"microsoft": {
        "admin_consent_url": "https://login.microsoftonline.us/{tenant}/v2.0/adminconsent",
        "admin_consent_scope": "https://outlook.office365.us/.default"}})
    client = app.test_client()
    AuthActions(app, client).create()
    AuthActions(app, client).login()
    submit(client, PAGE, {"provider": "microsoft", "tenant": "contoso.com", "client_id": CLIENT[0], "save": "1"})
    html = client.get(PAGE).get_data(as_text=True)
    assert "https://login.microsoftonline.us/contoso.com/v2.0/adminconsent?client_id=console-client" in html
    assert "scope=https%3A%2F%2Foutlook.office365.us%2F.default" in html


def test_state_lifetime_from_the_environment(make_env_app):
    from datetime import timedelta
    assert make_env_app(DDE_OAUTH_STATE_LIFETIME="300").config["OAUTH_STATE_LIFETIME"] == timedelta(minutes=5)


def test_changing_the_client_secret_asks_for_your_password(page, app):
    page()
    for typed, message in ((None, "Enter your password to change the client secret"),
                           ("not my password!", "The current password is wrong")):
        answer = page(client_secret="a secret typed by someone else", current_password=typed)
        assert answer.status_code == 200 and message in answer.get_data(as_text=True)
        assert stored(app).client_secret == CLIENT[1]
    with app.app_context():
        assert db.session.scalar(db.select(AuditEvent).filter_by(action="password_check_failed")) is not None
    assert page(client_secret="the new secret").status_code == 302
    assert stored(app).client_secret == "the new secret"
    assert page(client_secret="", current_password=None).status_code == 302  # nothing sensitive changes


def test_changing_the_token_url_asks_for_your_password(page, app):
    custom = {"provider": "custom", "authorization_url": "https://idp.example/auth",
              "token_url": "https://idp.example/token", "scopes": "smtp"}
    assert page(**custom).status_code == 302
    answer = page(**custom | {"token_url": "https://elsewhere.example/token"}, client_secret="", current_password=None)
    assert answer.status_code == 200 and "Enter your password" in answer.get_data(as_text=True)
    assert stored(app).token_url == "https://idp.example/token"
    assert page(**custom, client_secret="", current_password=None).status_code == 302
