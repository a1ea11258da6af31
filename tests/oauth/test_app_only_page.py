"""The OAuth parameters page for app-only sign-in: Microsoft's application (a secret or a certificate) in each cloud,
Google's service account, their mailboxes, and key material that never comes back."""

import html
import io
import json
import re

import pytest
from sqlalchemy import select

from ddenterpriseapi.extensions import db
from ddenterpriseapi.mail.server import save_mail_server
from ddenterpriseapi.models import AuditEvent, OAuthSettings
from tests.helpers import ADMIN, CLIENT, csrf_from, flashes
from tests.servers.app_credentials import app_certificate, service_account

PAGE = "/ddenterpriseapi/configuration/oauth"
TENANT = "contoso.onmicrosoft.com"
OBJECT_ID = "6a1f4d2c-3b5e-4f70-8a9b-0c1d2e3f4a5b"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


@pytest.fixture
def page(client, auth):
    """Submit the OAuth page as a browser does (multipart, with the page's CSRF token); files as (name, text)."""
    auth.login()

    def save(files=None, **fields):
        data = {"provider": "microsoft", "sign_in": "application", "cloud": "global", "tenant": TENANT,
                "client_id": CLIENT[0], "mailboxes": "reports@contoso.com", "unlisted_sender": "refuse",
                "current_password": ADMIN[1], "save": "1"}
        data.update(fields)
        data = {name: value for name, value in data.items() if value is not None}
        for name, (filename, text) in (files or {}).items():
            data[name] = (io.BytesIO(text.encode()), filename)
        data["csrf_token"] = csrf_from(client.get(PAGE))
        return client.post(PAGE, data=data, content_type="multipart/form-data")

    save.client = client
    save.html = lambda: client.get(PAGE).get_data(as_text=True)
    return save


@pytest.fixture
def certificate():
    return app_certificate(days=200)


@pytest.fixture
def key_file():
    return service_account(GOOGLE_TOKEN_URI)


def stored(app) -> OAuthSettings:
    with app.app_context():
        return db.session.get(OAuthSettings, 1)


def pem_bodies(pem: str) -> list[str]:
    """The base64 lines of each PEM block: none may show on a page."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def shown_for(page_html: str, element_id: str) -> bool:
    """Whether the block of that id is shown (not rendered hidden)."""
    match = re.search(rf'id="{element_id}" class="([^"]*)"', page_html)
    assert match, element_id
    return "is-hidden" not in match.group(1)


def test_application_with_a_certificate_saves_and_shows_what_azure_lists(page, app, certificate):
    answer = page(client_certificate=certificate.pem, enterprise_object_id=OBJECT_ID,
                  mailboxes="reports@contoso.com\nalerts@contoso.com\nREPORTS@contoso.com",
                  unlisted_sender="default_mailbox")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    settings = stored(app)
    assert (settings.sign_in, settings.cloud, settings.tenant, settings.unlisted_sender) == (
        "application", "global", TENANT, "default_mailbox")
    assert settings.client_certificate == certificate.pem.strip()
    assert settings.mailboxes == "reports@contoso.com\nalerts@contoso.com"  # each once, in the order typed
    assert settings.enterprise_object_id == OBJECT_ID
    page_html = page.html()
    thumbprint = re.search(r"<code>([0-9A-F]{40})</code>", page_html)
    assert thumbprint and "CN=ddenterpriseapi test app" in page_html
    assert "Leave blank to keep the stored certificate" in page_html
    assert "App-only sign-in (Application) as reports@contoso.com, alerts@contoso.com." in page_html
    assert "Tokens are requested by the console itself; no one signs in." in page_html
    assert "The default mailbox is reports@contoso.com." in page_html
    for hidden in ("delegated-authorization", "service-account"):
        assert not shown_for(page_html, hidden)
    assert shown_for(page_html, "certificate") and shown_for(page_html, "mailboxes-choice")
    assert re.search(r'class="is-hidden" data-shown-for="delegated" id="authorize"', page_html)
    assert "https://outlook.office365.com/.default" in page_html  # the greyed scope: the application's


def test_a_certificate_may_come_as_a_file_or_in_two_parts(page, app, certificate):
    assert page(files={"client_certificate_file": ("app.pem", certificate.pem)}).status_code == 302
    assert stored(app).client_certificate == certificate.pem.strip()
    other = app_certificate(name="second app")
    key_part = other.pem.removesuffix(other.certificate_pem)
    answer = page(client_certificate=key_part, files={"client_certificate_file": ("app.crt", other.certificate_pem)})
    assert answer.status_code == 302
    assert "CN=second app" in page.html()


@pytest.mark.parametrize("given, message", [
    ({"client_certificate": "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----"},
     "No private key was found"),
    ({"files": {"client_certificate_file": ("app.pfx", "\x00\x01binary")}}, "No private key was found"),
])
def test_a_bad_certificate_is_explained_beside_its_input_and_nothing_saved_is_lost(page, app, certificate, given,
                                                                                  message):
    page(client_certificate=certificate.pem)
    answer = page(client_id="another-client", mailboxes="other@contoso.com", **given)
    page_html = answer.get_data(as_text=True)
    field = "client_certificate_file" if "files" in given else "client_certificate"
    assert answer.status_code == 200 and message in page_html
    assert re.search(rf'<p class="error" id="{field}-error">[^<]*{message}', page_html)
    assert "The certificate you gave was not saved" in page_html
    settings = stored(app)
    assert (settings.client_certificate, settings.client_id, settings.mailboxes) == (
        certificate.pem.strip(), CLIENT[0], "reports@contoso.com")


@pytest.mark.parametrize("tenant", ["common", "organizations", "Consumers"])
def test_application_sign_in_needs_a_tenant_of_its_own(page, app, tenant):
    page(client_secret="a secret")
    answer = page(tenant=tenant, client_secret="")
    page_html = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert re.search(r'id="tenant-error">Application sign-in gets its tokens from the tenant.s own endpoint',
                     page_html)
    assert stored(app).tenant == TENANT
    assert page(provider="microsoft", sign_in="delegated", tenant=tenant, client_secret="").status_code == 302


@pytest.mark.parametrize("mailboxes, message", [
    ("", "Enter at least one mailbox"),
    ("  \n ", "Enter at least one mailbox"),
    ("reports@contoso.com\nnot-an-address", "not-an-address is not an email address"),
    ("reports@contoso.com, alerts@contoso.com", "is not an email address"),
])
def test_mailboxes_are_required_and_checked(page, app, mailboxes, message):
    page(client_secret="a secret")
    answer = page(mailboxes=mailboxes, client_id="changed-client")
    page_html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and re.search(rf'id="mailboxes-error">[^<]*{message}', page_html)
    assert stored(app).mailboxes == "reports@contoso.com" and stored(app).client_id == CLIENT[0]


def test_mailboxes_are_not_asked_for_delegated_sign_in(page, app):
    assert page(sign_in="delegated", mailboxes="").status_code == 302
    assert stored(app).sign_in == "delegated" and stored(app).mailboxes is None


def test_an_enterprise_object_id_is_a_guid(page, app):
    answer = page(client_secret="s", enterprise_object_id="the app registration's")
    assert answer.status_code == 200 and 'id="enterprise_object_id-error"' in answer.get_data(as_text=True)
    assert stored(app) is None


def test_client_id_is_required_for_application_sign_in(page, app):
    answer = page(client_id="", client_secret="s")
    assert answer.status_code == 200 and 'id="client_id-error"' in answer.get_data(as_text=True)


def test_key_material_never_shows_in_a_page_or_the_audit_log(page, app, certificate, key_file):
    secrets = pem_bodies(certificate.pem) + pem_bodies(json.loads(key_file.key_file)["private_key"])
    google = {"provider": "google", "sign_in": "service_account"}
    for saved in ({"client_certificate": certificate.pem},
                  {**google, "files": {"service_account_key_file": ("key.json", key_file.key_file)}}):
        assert page(**saved).status_code == 302
        for sign_in in ("application", "service_account", "delegated"):
            provider = "google" if sign_in == "service_account" else "microsoft"
            refused = page(provider=provider, sign_in=sign_in, client_id="x" * 600,
                           client_certificate=certificate.pem, service_account_key=key_file.key_file)
            assert refused.status_code == 200
            for path in (PAGE, "/ddenterpriseapi/", "/ddenterpriseapi/audit"):
                text = page.client.get(path).get_data(as_text=True) + refused.get_data(as_text=True)
                assert not [line for line in secrets if line[:40] in text], (sign_in, path)
                assert "-----BEGIN PRIVATE KEY-----" not in text
    assert stored(app).service_account_key == key_file.key_file.strip()
    with app.app_context():
        details = " ".join(f"{event.detail} {event.params}" for event in db.session.scalars(select(AuditEvent)))
    assert "client_certificate" in details and "service_account_key" in details  # the names, never the values
    assert not [line for line in secrets if line[:40] in details] and "BEGIN PRIVATE KEY" not in details


@pytest.mark.parametrize("given", ["certificate", "key file"])
def test_changing_the_certificate_or_key_asks_for_your_password(page, app, certificate, key_file, given):
    if given == "certificate":
        fields = {"client_certificate": certificate.pem}
        column, expected = "client_certificate", certificate.pem.strip()
    else:
        fields = {"provider": "google", "sign_in": "service_account",
                  "files": {"service_account_key_file": ("key.json", key_file.key_file)}}
        column, expected = "service_account_key", key_file.key_file.strip()
    for typed, message in ((None, "Enter your password to change the client secret, the certificate"),
                           ("not my password!", "The current password is wrong")):
        answer = page(current_password=typed, **fields)
        assert answer.status_code == 200 and message in answer.get_data(as_text=True)
        assert stored(app) is None
    assert page(**fields).status_code == 302 and getattr(stored(app), column) == expected
    rest = {name: value for name, value in fields.items() if name != "files" and "certificate" not in name}
    assert page(current_password=None, mailboxes="alerts@contoso.com", **rest).status_code == 302
    assert getattr(stored(app), column) == expected and stored(app).mailboxes == "alerts@contoso.com"


def test_a_changed_client_forgets_the_certificate(page, app, certificate):
    page(client_certificate=certificate.pem)
    assert page(client_id="another-client").status_code == 302
    assert stored(app).client_certificate is None
    assert "The stored certificate was forgotten" in flashes(page.client.get(PAGE))


def test_a_secret_and_a_certificate_replace_each_other(page, app, certificate):
    """The application signs in with one or the other: the one saved last is the one used."""
    page(client_certificate=certificate.pem)
    assert page(client_secret="new-secret-value").status_code == 302
    assert stored(app).client_certificate is None and stored(app).client_secret == "new-secret-value"
    assert page(client_certificate=certificate.pem).status_code == 302
    assert stored(app).client_secret is None and stored(app).client_certificate


def test_application_without_a_secret_or_certificate_is_told_what_it_lacks(page):
    page()
    assert "Application sign-in needs a client secret or a certificate" in flashes(page.client.get(PAGE))


def test_service_account_saves_from_a_file_or_pasted_text_and_shows_who_it_is(page, app, key_file):
    answer = page(provider="google", sign_in="service_account", mailboxes="reports@example.com",
                  files={"service_account_key_file": ("reports-project-1234.json", key_file.key_file)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    settings = stored(app)
    assert (settings.sign_in, settings.provider, settings.cloud) == ("service_account", "google", "global")
    page_html = page.html()
    for shown in (key_file.client_email, key_file.private_key_id, "reports-project"):
        assert shown in page_html
    assert f'id="delegation-client-id" type="text" readonly value="{key_file.client_id}"' in page_html
    assert 'id="delegation-scopes" type="text" readonly value="https://mail.google.com/"' in page_html
    assert "Manage Domain Wide Delegation" in page_html and "a few minutes, sometimes hours" in page_html
    assert shown_for(page_html, "service-account") and not shown_for(page_html, "certificate")
    other = service_account(GOOGLE_TOKEN_URI, client_email="sender@other-project.iam.gserviceaccount.com")
    assert page(provider="google", sign_in="service_account", service_account_key=other.key_file).status_code == 302
    assert "sender@other-project.iam.gserviceaccount.com" in page.html()


@pytest.mark.parametrize("text, message", [
    ("{not json", "This file is not JSON"),
    ('{"type": "authorized_user"}', "is not a service account key"),
    ('{"type": "service_account", "client_email": "x@y"}', "The key file lacks"),
])
def test_a_bad_key_file_is_explained_beside_its_input_and_nothing_saved_is_lost(page, app, key_file, text, message):
    google = {"provider": "google", "sign_in": "service_account"}
    page(**google, files={"service_account_key_file": ("key.json", key_file.key_file)})
    answer = page(**google, mailboxes="other@example.com", files={"service_account_key_file": ("bad.json", text)})
    page_html = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert re.search(rf'id="service_account_key_file-error">[^<]*{re.escape(message)}', page_html)
    assert "The key file you gave was not saved" in page_html
    assert stored(app).service_account_key == key_file.key_file.strip()
    assert stored(app).mailboxes == "reports@contoso.com"


def test_a_provider_changed_without_the_script_falls_back_to_delegated_sign_in(page, app, key_file):
    page(provider="google", sign_in="service_account", files={"service_account_key_file": ("k.json",
                                                                                          key_file.key_file)})
    answer = page(provider="microsoft", sign_in="service_account", client_secret="s")
    assert answer.status_code == 302
    assert stored(app).sign_in == "delegated" and stored(app).provider == "microsoft"
    page_html = page.html()
    assert shown_for(page_html, "delegated-authorization") and not shown_for(page_html, "service-account")
    assert re.search(r'class="option is-hidden" data-option="service_account"', page_html)
    assert re.search(r'checked[^>]*value="delegated"|value="delegated"[^>]*checked', page_html)


def test_the_cloud_is_for_microsoft_only(page, app):
    assert page(cloud="usgov", client_secret="s").status_code == 302 and stored(app).cloud == "usgov"
    assert page(provider="google", sign_in="delegated", cloud="usgov").status_code == 302
    assert stored(app).cloud == "global"
    assert 'id="field-cloud"' in page.html() and re.search(r'class="field is-hidden" id="field-cloud"', page.html())


CLOUDS = {
    "global": ("https://login.microsoftonline.com", "https://outlook.office365.com/.default", None),
    "usgov": ("https://login.microsoftonline.us", "https://outlook.office365.us/.default", "O365USGovGCCHigh"),
    "china": ("https://login.chinacloudapi.cn", "https://partner.outlook.cn/.default", "O365China"),
}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_exchange_setup_and_admin_consent_follow_the_cloud(page, cloud):
    login, scope, environment = CLOUDS[cloud]
    mailboxes = "o'brien@contoso.com\nalerts@contoso.com"
    assert page(cloud=cloud, client_secret="s", mailboxes=mailboxes).status_code == 302
    raw = page.html()
    assert "Replace &lt;Object ID of the Enterprise application&gt; with the Object ID" in raw  # text, not a tag
    page_html = html.unescape(raw)
    consent = re.search(r'id="app-consent" type="text" readonly value="([^"]+)"', page_html).group(1)
    assert consent == (f"{login}/{TENANT}/v2.0/adminconsent?client_id={CLIENT[0]}&redirect_uri="
                       f"http%3A%2F%2Flocalhost%2Fddenterpriseapi%2Fv2%2Foauth%2Fredirect&scope="
                       + scope.replace(":", "%3A").replace("/", "%2F"))
    script = re.search(r'<pre id="exchange-powershell"[^>]*><code>(.*?)</code></pre>', page_html, re.S).group(1)
    commands = [line for line in script.splitlines() if not line.startswith("#")]
    assert commands[:3] == [
        "Install-Module -Name ExchangeOnlineManagement",
        f"Connect-ExchangeOnline -Organization '{TENANT}'"
        + (f" -ExchangeEnvironmentName {environment}" if environment else ""),
        f"New-ServicePrincipal -AppId '{CLIENT[0]}' -ObjectId <Object ID of the Enterprise application>",
    ]
    assert ("Add-MailboxPermission -Identity 'o''brien@contoso.com' -User <Object ID of the Enterprise application> "
            "-AccessRights FullAccess") in commands
    assert "Set-CASMailbox -Identity 'alerts@contoso.com' -SmtpClientAuthenticationDisabled $false" in commands
    assert len(script.splitlines()) == 2 * len(commands)  # each command said what it does, the line above it
    assert "Enterprise applications > your application > Object ID (not the Object ID of the app registration" in (
        page_html)
    greyed = re.search(r'<input[^>]*id="token_url"[^>]*value="([^"]+)"', page_html).group(1)
    assert greyed == f"{login}/{TENANT}/oauth2/v2.0/token"


def test_the_object_id_fills_the_powershell(page):
    page(client_secret="s", enterprise_object_id=OBJECT_ID)
    page_html = html.unescape(page.html())
    assert f"New-ServicePrincipal -AppId '{CLIENT[0]}' -ObjectId '{OBJECT_ID}'" in page_html
    assert f"-User '{OBJECT_ID}' -AccessRights FullAccess" in page_html
    assert 'id="object-id-note"' not in page_html


def test_delegated_sign_in_keeps_its_page(page, app):
    assert page(sign_in="delegated", client_secret="s").status_code == 302
    page_html = page.html()
    assert shown_for(page_html, "delegated-authorization") and not shown_for(page_html, "certificate")
    assert 'id="exchange-setup"' not in page_html and 'id="app-only-status"' not in page_html
    assert "Not authorized yet" in page_html
    assert "https://outlook.office.com/SMTP.Send offline_access openid email" in page_html


def test_app_only_sign_in_is_not_authorized(page):
    page(client_secret="s")
    token = csrf_from(page.client.get(PAGE))
    answer = page.client.post(PAGE + "/authorize", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/configuration/oauth")
    assert "App-only sign-in needs no authorization" in flashes(page.client.get(PAGE))


def test_the_admin_consent_answer_is_told(page):
    """Microsoft sends the administrator back to the redirect URI with admin_consent=True and no code."""
    back = page.client.get("/ddenterpriseapi/v2/oauth/redirect?admin_consent=True&tenant=72f988bf-86f1-41af-91ab-"
                           "2d7cd011db47&scope=https%3A%2F%2Foutlook.office365.com%2F.default")
    assert back.status_code == 302
    page_html = flashes(page.client.get(PAGE))
    assert "Admin consent granted for the tenant 72f988bf-86f1-41af-91ab-2d7cd011db47." in page_html
    assert "Authorization failed" not in page_html


def test_a_post_without_the_secret_field_keeps_the_secret_without_resending_it(page, app):
    page(client_secret="the secret")
    assert page(client_secret=None, current_password=None, mailboxes="alerts@contoso.com").status_code == 302
    assert stored(app).client_secret == "the secret"
    assert page(client_secret=None, current_password=None, client_id="another-client").status_code == 302
    assert stored(app).client_secret is None  # what it was entered for changed: forgotten, not carried over


def test_another_cloud_forgets_the_secret_and_the_certificate(page, app, certificate):
    """Both were entered for the global cloud's token endpoint; another cloud's would be another server."""
    page(client_secret="the secret", client_certificate=certificate.pem)
    assert page(cloud="usgov").status_code == 302
    assert (stored(app).client_secret, stored(app).client_certificate) == (None, None)
    page_html = flashes(page.client.get(PAGE))
    assert "The stored client secret was forgotten" in page_html and "The stored certificate was forgotten" in page_html


@pytest.mark.parametrize("cloud, graph", [("global", "https://graph.microsoft.com"),
                                          ("usgov", "https://graph.microsoft.us")])
def test_through_graph_the_setup_grants_mail_send_and_confines_the_application(page, app, cloud, graph):
    assert page(cloud=cloud, client_secret="s", mailboxes="a@contoso.com\nb@contoso.com").status_code == 302
    with app.app_context():
        save_mail_server({"transport": "graph"})
    page_html = html.unescape(page.html())
    consent = re.search(r'id="app-consent" type="text" readonly value="([^"]+)"', page_html).group(1)
    assert consent.endswith("&scope=" + f"{graph}/.default".replace(":", "%3A").replace("/", "%2F"))
    assert "Microsoft Graph > Application permissions > Mail.Send" in page_html
    script = re.search(r'<pre id="exchange-powershell"[^>]*><code>(.*?)</code></pre>', page_html, re.S).group(1)
    commands = [line for line in script.splitlines() if not line.startswith("#")]
    assert commands[2:] == [
        "New-DistributionGroup -Name 'ddenterpriseapi mailboxes' -Type Security -Members 'a@contoso.com',"
        "'b@contoso.com'",
        f"New-ApplicationAccessPolicy -AppId '{CLIENT[0]}' -PolicyScopeGroupId 'ddenterpriseapi mailboxes' "
        "-AccessRight RestrictAccess -Description 'ddenterpriseapi sends as these mailboxes only'",
        f"Test-ApplicationAccessPolicy -Identity 'a@contoso.com' -AppId '{CLIENT[0]}'",
        f"Test-ApplicationAccessPolicy -Identity 'b@contoso.com' -AppId '{CLIENT[0]}'",
    ]
    assert "New-ServicePrincipal" not in script
