"""Self-tests of the OAuth test server over real HTTP, with PKCE computed by hand."""

import base64
import hashlib
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from ddenterpriseapi.oauth.credentials import read_certificate, read_service_account_key
from tests.servers.app_credentials import app_certificate, service_account
from tests.servers.oauth_server import OAuthTestServer, TokenInfo

CLIENT_ID, SECRET = "client-1", "s3cret-value"
REDIRECT_URI = "http://127.0.0.1:5999/oauth/callback"
EMAIL, PASSWORD = "mailer@example.com", "correct horse"
GOOGLE_SCOPE = "https://mail.google.com/ openid email"
MICROSOFT_SCOPE = "https://outlook.office.com/SMTP.Send offline_access openid email"


def make_server(shape: str) -> OAuthTestServer:
    """A started server with one client and one user."""
    server = OAuthTestServer(shape).start()
    server.register_client(CLIENT_ID, SECRET, [REDIRECT_URI])
    server.add_user(EMAIL, PASSWORD)
    return server


@pytest.fixture
def google():
    """Google-shaped server."""
    server = make_server("google")
    yield server
    server.stop()


@pytest.fixture
def microsoft():
    """Microsoft-shaped server."""
    server = make_server("microsoft")
    yield server
    server.stop()


@pytest.fixture
def http():
    """A requests session closed after the test."""
    with requests.Session() as session:
        yield session


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def urls(server: OAuthTestServer, tenant: str = "common") -> dict:
    """The server's endpoints with the tenant filled in."""
    override = server.provider_override()
    return {key: url.replace("{tenant}", tenant) if url else url for key, url in override.items()}


def authorization_url(server, challenge, state="st-1", tenant="common", **extra) -> str:
    """An authorization request URL for the test client."""
    scope = GOOGLE_SCOPE if server.shape == "google" else MICROSOFT_SCOPE
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
              "scope": scope, "state": state, "code_challenge": challenge,
              "code_challenge_method": "S256", **extra}
    return f"{urls(server, tenant)['authorization_url']}?{urlencode(params)}"


def query(location: str) -> dict:
    """The query parameters of a redirect Location, single-valued."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(server, tenant="common", **extra) -> tuple[str, str]:
    """Consent as the test user; return (code, verifier)."""
    verifier, challenge = pkce_pair()
    location = server.consent(authorization_url(server, challenge, tenant=tenant, **extra),
                              EMAIL, PASSWORD)
    params = query(location)
    assert location.startswith(REDIRECT_URI) and params["state"] == "st-1"
    return params["code"], verifier


def redeem(http, server, code, verifier, tenant="common", secret=SECRET):
    """Exchange a code with client_secret_post."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier, "client_id": CLIENT_ID, "client_secret": secret}
    return http.post(urls(server, tenant)["token_url"], data=data, timeout=5)


def refresh(http, server, refresh_token, tenant="common"):
    """Refresh with client_secret_basic."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    token_url = urls(server, tenant)["token_url"]
    return http.post(token_url, data=data, auth=(CLIENT_ID, SECRET), timeout=5)


def test_google_offline_consent_gives_refresh_token_without_rotation(google, http):
    code, verifier = authorize(google, access_type="offline", prompt="consent")
    first = redeem(http, google, code, verifier)
    assert first.status_code == 200, first.text
    token = first.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["id_token"]
    assert token["scope"] == ("https://mail.google.com/ openid "
                              "https://www.googleapis.com/auth/userinfo.email")
    assert google.check_access_token(token["access_token"]) == EMAIL
    for _ in range(2):
        again = refresh(http, google, token["refresh_token"])
        assert again.status_code == 200 and "refresh_token" not in again.json()
        assert google.check_access_token(again.json()["access_token"]) == EMAIL
    userinfo = http.get(urls(google)["userinfo_url"], timeout=5,
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.json()["email"] == EMAIL and userinfo.json()["email_verified"] is True
    reused = redeem(http, google, code, verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert [r["ok"] for r in google.token_requests] == [True, True, True, False]
    first_call = {"grant_type": "authorization_code", "scope": None, "client_id": CLIENT_ID, "ok": True,
                  "client_authentication": "client_secret"}
    assert google.token_requests[0] == first_call


def test_google_without_prompt_consent_gives_no_refresh_token(google, http):
    code, verifier = authorize(google, access_type="offline")
    token = redeem(http, google, code, verifier).json()
    assert "refresh_token" not in token and token["access_token"]


def test_microsoft_rotation_invalidates_the_used_refresh_token(microsoft, http):
    tenant = "contoso.onmicrosoft.com"
    code, verifier = authorize(microsoft, tenant=tenant)
    token = redeem(http, microsoft, code, verifier, tenant=tenant).json()
    granted = set(token["scope"].split())
    assert granted == {"https://outlook.office.com/SMTP.Send", "openid", "email"}
    rotated = refresh(http, microsoft, token["refresh_token"], tenant=tenant).json()
    assert rotated["refresh_token"] != token["refresh_token"]
    stale = refresh(http, microsoft, token["refresh_token"], tenant=tenant)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    assert stale.json()["error_description"].startswith("AADSTS70000:")
    assert stale.json()["error_codes"] == [70000]
    reused = redeem(http, microsoft, code, verifier, tenant=tenant).json()
    assert reused["error_description"].startswith("AADSTS54005:")
    assert set(microsoft.tenants) == {tenant}


def test_microsoft_concurrent_refreshes_exactly_one_wins(microsoft):
    code, verifier = authorize(microsoft)
    with requests.Session() as http:
        refresh_token = redeem(http, microsoft, code, verifier).json()["refresh_token"]
    statuses = []

    def attempt():
        with requests.Session() as session:
            statuses.append(refresh(session, microsoft, refresh_token).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7


@pytest.mark.parametrize("shape, description", [
    ("google", "Unauthorized"), ("microsoft", "AADSTS7000215: Invalid client secret provided."),
])
def test_wrong_client_secret_is_401(shape, description, http):
    with make_server(shape) as server:
        code, verifier = authorize(server)
        answer = redeem(http, server, code, verifier, secret="the-secret-id")
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert answer.json()["error_description"].startswith(description)
        if shape == "microsoft":
            assert answer.json()["error_codes"] == [7000215]


@pytest.mark.parametrize("shape", ["google", "microsoft"])
def test_deny_redirects_with_access_denied(shape):
    with make_server(shape) as server:
        url = authorization_url(server, pkce_pair()[1])
        location = server.consent(url, EMAIL, PASSWORD, accept=False)
    params = query(location)
    assert params["error"] == "access_denied" and params["state"] == "st-1"
    if shape == "microsoft":
        declined = "AADSTS65004: User declined to consent to access the app."
        assert params["error_description"] == declined


def test_revoke_all_then_refresh_is_invalid_grant(google, http):
    code, verifier = authorize(google, access_type="offline", prompt="consent")
    token = redeem(http, google, code, verifier).json()
    google.revoke_all(EMAIL)
    assert google.check_access_token(token["access_token"]) is None
    answer = refresh(http, google, token["refresh_token"])
    assert answer.status_code == 400
    expected = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    assert answer.json() == expected


def test_expire_access_tokens(microsoft, http):
    code, verifier = authorize(microsoft)
    token = redeem(http, microsoft, code, verifier).json()
    assert microsoft.check_access_token(token["access_token"]) == EMAIL
    assert microsoft.check_access_token("not-a-token") is None
    microsoft.expire_access_tokens()
    assert microsoft.check_access_token(token["access_token"]) is None


def test_revocation_endpoint(google, http):
    code, verifier = authorize(google, access_type="offline", prompt="consent")
    token = redeem(http, google, code, verifier).json()
    revocation_url = urls(google)["revocation_url"]
    assert http.post(revocation_url, data={"token": token["refresh_token"]}, timeout=5).ok
    assert google.check_access_token(token["access_token"]) is None
    assert refresh(http, google, token["refresh_token"]).json()["error"] == "invalid_grant"
    unknown = http.post(revocation_url, data={"token": "nope"}, timeout=5)
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_token"
    assert google.revoked == [token["refresh_token"], "nope"]


def test_bad_requests_get_provider_errors(microsoft, http):
    verifier, challenge = pkce_pair()
    mismatch = authorization_url(microsoft, challenge).replace("5999", "6000")
    page = http.get(mismatch, timeout=5, allow_redirects=False)
    assert page.status_code == 400 and "AADSTS50011" in page.text
    no_pkce = authorization_url(microsoft, challenge, code_challenge_method="plain")
    assert query(microsoft.consent(no_pkce, EMAIL, PASSWORD))["error"] == "invalid_request"
    with pytest.raises(RuntimeError, match="sign-in"):
        microsoft.consent(authorization_url(microsoft, challenge), EMAIL, "wrong")


def test_login_page_is_labelled_and_shows_wrong_password(google, http):
    page = http.get(authorization_url(google, pkce_pair()[1]), timeout=5)
    assert '<label for="email">Email</label>' in page.text and ">Sign in</button>" in page.text
    wrong = http.post(f"{google.base_url}/login", data={"email": EMAIL, "password": "x"},
                      timeout=5, allow_redirects=False)
    assert wrong.status_code == 200 and "Wrong email or password" in wrong.text


def test_token_knobs(google, http):
    code, verifier = authorize(google)
    google.token_garbage = True
    assert redeem(http, google, code, verifier).text == "<html>not json</html>"
    google.token_garbage, google.token_delay = False, 2.0
    with pytest.raises(requests.ReadTimeout):
        http.post(urls(google)["token_url"], data={"grant_type": "refresh_token"}, timeout=0.2)
    google.token_delay, google.omit_refresh_token = 0.0, True
    code, verifier = authorize(google, access_type="offline", prompt="consent")
    assert "refresh_token" not in redeem(http, google, code, verifier).json()


# -- app-only sign-in: Microsoft's client credentials, Google's service accounts ------------------------------------

APP_SCOPE = "https://outlook.office365.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAILBOX = "reports@example.com"


def app_token(http, server, tenant="contoso.com", scope=APP_SCOPE, **credentials):
    """A client credentials call: the secret by default, else the credentials given (an assertion, say)."""
    data = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "scope": scope,
            **(credentials or {"client_secret": SECRET})}
    return http.post(urls(server, tenant)["token_url"], data=data, timeout=5)


def client_assertion(server, certificate_pem, tenant="contoso.com", algorithm="PS256", **changes) -> str:
    """A private_key_jwt assertion for the test client, as Microsoft documents it."""
    certificate = read_certificate(certificate_pem)
    now = int(time.time())
    claims = {"aud": urls(server, tenant)["token_url"], "iss": CLIENT_ID, "sub": CLIENT_ID,
              "jti": secrets.token_hex(8), "nbf": now, "iat": now, "exp": now + 600, **changes}
    return jwt.encode(claims, certificate.private_key_pem, algorithm=algorithm,
                      headers={"x5t#S256": certificate.x5t_s256})


def hmac_signed(material) -> str:
    """An assertion naming the certificate but signed with a shared secret, not with the certificate's key."""
    now = int(time.time())
    claims = {"sub": CLIENT_ID, "iss": CLIENT_ID, "jti": "j", "nbf": now, "exp": now + 600}
    return jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256",
                      headers={"x5t#S256": read_certificate(material.pem).x5t_s256})


def microsoft_error(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"].splitlines()[0]


def test_microsoft_client_credentials_with_a_secret(microsoft, http):
    response = app_token(http, microsoft)
    assert response.status_code == 200, response.text
    token = response.json()
    assert "refresh_token" not in token and token["ext_expires_in"] == token["expires_in"] == 3600
    identity = microsoft.check_access_token(token["access_token"])
    assert identity.client_id == CLIENT_ID and not identity.may_send_as(MAILBOX)
    microsoft.grant_mailbox(CLIENT_ID, MAILBOX)  # Add-MailboxPermission, after the token was issued
    assert microsoft.check_access_token(token["access_token"]).may_send_as(MAILBOX.upper())
    assert microsoft.app_token_requests() == [{"grant_type": "client_credentials", "scope": APP_SCOPE,
                                               "client_id": CLIENT_ID, "ok": True,
                                               "client_authentication": "client_secret"}]
    assert microsoft.tenants == ["contoso.com"]


@pytest.mark.parametrize("change, status, error, description", [
    (dict(client_secret="the secret's ID"), 401, "invalid_client", "AADSTS7000215: Invalid client secret provided."),
    (dict(client_id="unknown"), 400, "unauthorized_client", "AADSTS700016: Application with identifier 'unknown'"),
    (dict(scope="https://outlook.office365.com/SMTP.SendAsApp"), 400, "invalid_scope", "AADSTS1002012:"),
    (dict(scope="https://outlook.office365.us/.default"), 400, "invalid_resource",
     "AADSTS500011: The resource principal named https://outlook.office365.us was not found in the tenant named "
     "contoso.com."),
])
def test_microsoft_client_credentials_errors(microsoft, http, change, status, error, description):
    data = {"client_id": CLIENT_ID, "client_secret": SECRET, "scope": APP_SCOPE, **change}
    response = http.post(urls(microsoft, "contoso.com")["token_url"], timeout=5,
                         data={"grant_type": "client_credentials", **data})
    assert microsoft_error(response)[:2] == (status, error)
    assert microsoft_error(response)[2].startswith(description)


def test_an_expired_client_secret(microsoft, http):
    microsoft.expire_client_secret(CLIENT_ID)
    assert microsoft_error(app_token(http, microsoft))[1:] == ("invalid_client", (
        f"AADSTS7000222: The provided client secret keys for app '{CLIENT_ID}' are expired. Visit the Azure portal "
        "to create new keys for your app."))


def test_another_clouds_server_issues_its_own_resources_tokens(http):
    server = OAuthTestServer("microsoft", app_resource="https://outlook.office365.us").start()
    try:
        server.register_client(CLIENT_ID, SECRET, [])
        assert app_token(http, server).status_code == 400
        token = app_token(http, server, scope="https://outlook.office365.us/.default").json()["access_token"]
        assert server.check_access_token(token) is not None
    finally:
        server.stop()


def test_microsoft_certificate_assertion(microsoft, http):
    material = app_certificate()
    microsoft.register_app_certificate(CLIENT_ID, material.certificate_pem)
    assertion = client_assertion(microsoft, material.pem)
    response = app_token(http, microsoft, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    assert response.status_code == 200, response.text
    assert microsoft.check_access_token(response.json()["access_token"]).client_id == CLIENT_ID
    again = app_token(http, microsoft, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    assert microsoft_error(again) == (401, "invalid_client", "AADSTS50027: JWT token is invalid or malformed.")


@pytest.mark.parametrize("make, description", [
    (lambda server, material: client_assertion(server, app_certificate().pem), "AADSTS700027:"),  # not uploaded
    (lambda server, material: client_assertion(server, material.pem, exp=int(time.time()) - 120), "AADSTS700024:"),
    (lambda server, material: client_assertion(server, material.pem, nbf=int(time.time()) + 600), "AADSTS700024:"),
    (lambda server, material: client_assertion(server, material.pem, tenant="fabrikam.com"), "AADSTS50027:"),  # aud
    (lambda server, material: client_assertion(server, material.pem, iss="someone-else"), "AADSTS50027:"),
    (lambda server, material: hmac_signed(material), "AADSTS50027:"),
])
def test_microsoft_refuses_bad_assertions(microsoft, http, make, description):
    material = app_certificate()
    microsoft.register_app_certificate(CLIENT_ID, material.certificate_pem)
    assertion = make(microsoft, material)
    response = app_token(http, microsoft, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    status, error, said = microsoft_error(response)
    assert (status, error) == (401, "invalid_client") and said.startswith(description)


@pytest.fixture
def account(google):
    """A service account of the example.com Workspace, its key file's token_uri this server's."""
    material = service_account(f"{google.base_url}/token")
    google.register_service_account(material.client_email, material.client_id, material.private_key_id,
                                    material.public_key_pem, "example.com")
    return material


def jwt_bearer(http, google, account, sub=MAILBOX, scope="https://mail.google.com/", kid=None, iat=None,
               lifetime=3600):
    """A service account's assertion as Google's libraries write it, sent as a JWT bearer grant."""
    key = read_service_account_key(account.key_file)
    now = int(time.time()) if iat is None else iat
    claims = {"iss": key.client_email, "sub": sub, "aud": key.token_uri, "scope": scope, "iat": now,
              "exp": now + lifetime}
    assertion = jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": kid or key.private_key_id})
    return http.post(key.token_uri, data={"grant_type": JWT_BEARER, "assertion": assertion}, timeout=5)


def test_google_service_account_acts_as_a_mailbox_once_delegated(google, account, http):
    refused = jwt_bearer(http, google, account)
    assert (refused.status_code, refused.json()) == (401, {
        "error": "unauthorized_client",
        "error_description": "Client is unauthorized to retrieve access tokens using this method, or client not "
                             "authorized for any of the scopes requested."})
    google.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    response = jwt_bearer(http, google, account)
    assert response.status_code == 200, response.text
    identity = google.check_access_token(response.json()["access_token"])
    assert identity.may_send_as(MAILBOX) and not identity.may_send_as("boss@example.com")
    assert "refresh_token" not in response.json()
    assert [call["subject"] for call in google.app_token_requests()] == [MAILBOX, MAILBOX]


@pytest.mark.parametrize("change, description", [
    (dict(sub="someone@elsewhere.org"), "Invalid email or User ID"),
    (dict(iat=int(time.time()) - 7200), "Invalid JWT: Token must be a short-lived token (60 minutes)"),
    (dict(lifetime=7200), "Invalid JWT: Token must be a short-lived token (60 minutes)"),
    (dict(kid="0" * 40), "Invalid JWT Signature."),
])
def test_google_refuses_bad_assertions_with_invalid_grant(google, account, http, change, description):
    google.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    response = jwt_bearer(http, google, account, **change)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert response.json()["error_description"].startswith(description)


def test_delegation_of_another_scope_is_not_enough(google, account, http):
    google.grant_domain_wide_delegation(account.client_id, "https://www.googleapis.com/auth/gmail.send")
    assert jwt_bearer(http, google, account).json()["error"] == "unauthorized_client"


# -- per-resource tokens and token_info: what the Graph and Gmail API stand-ins check ------------------------------

GRAPH_SEND = "https://graph.microsoft.com/Mail.Send"
SMTP_SEND = "https://outlook.office.com/SMTP.Send"
TWO_RESOURCES = f"{GRAPH_SEND} {SMTP_SEND} offline_access openid email"


def refresh_for(http, server, refresh_token, scope):
    """A refresh asking a token for scope."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": scope}
    return http.post(urls(server)["token_url"], data=data, auth=(CLIENT_ID, SECRET), timeout=5)


def test_consent_covers_several_resources_and_the_code_gives_the_first(microsoft, http):
    verifier, challenge = pkce_pair()
    url = authorization_url(microsoft, challenge, scope=TWO_RESOURCES)
    code = query(microsoft.consent(url, EMAIL, PASSWORD))["code"]
    token = redeem(http, microsoft, code, verifier).json()
    assert set(token["scope"].split()) == {GRAPH_SEND, "openid", "email"}
    assert microsoft.check_access_token(token["access_token"]) is None  # a Graph token is no SMTP token
    info = microsoft.token_info(token["access_token"])
    assert info == TokenInfo(user=EMAIL, client_id=CLIENT_ID, app_only=False, resource="https://graph.microsoft.com",
                             scopes=frozenset({GRAPH_SEND, "openid", "email"}))
    smtp = refresh_for(http, microsoft, token["refresh_token"], f"{SMTP_SEND} offline_access")
    assert smtp.status_code == 200, smtp.text
    assert smtp.json()["scope"] == SMTP_SEND and microsoft.check_access_token(smtp.json()["access_token"]) == EMAIL
    assert microsoft.token_info(smtp.json()["access_token"]).resource == "https://outlook.office.com"
    graph_again = refresh_for(http, microsoft, smtp.json()["refresh_token"], GRAPH_SEND)  # consent carried over
    assert graph_again.json()["scope"] == GRAPH_SEND
    same = refresh(http, microsoft, graph_again.json()["refresh_token"]).json()
    assert same["scope"] == GRAPH_SEND


def test_the_consent_page_lists_every_resources_scopes(microsoft):
    url = authorization_url(microsoft, pkce_pair()[1], scope=TWO_RESOURCES)
    parts = urlsplit(url)
    with requests.Session() as browser:
        login = browser.post(f"{microsoft.base_url}/login", timeout=5, data={
            "email": EMAIL, "password": PASSWORD, "next": f"{parts.path}?{parts.query}"})
    assert f"<li>{GRAPH_SEND}</li>" in login.text and f"<li>{SMTP_SEND}</li>" in login.text


def test_a_refresh_for_two_resources_is_aadsts28000(microsoft, http):
    code, verifier = authorize(microsoft, scope=TWO_RESOURCES)
    token = redeem(http, microsoft, code, verifier).json()
    asked = f"{GRAPH_SEND} {SMTP_SEND}"
    answer = refresh_for(http, microsoft, token["refresh_token"], asked)
    assert microsoft_error(answer) == (400, "invalid_scope", (
        "AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one "
        f"resource. Scope {asked} is not valid."))
    assert answer.json()["error_codes"] == [28000]


def test_a_refresh_for_a_resource_not_consented_is_aadsts65001(microsoft, http):
    code, verifier = authorize(microsoft)
    token = redeem(http, microsoft, code, verifier).json()
    answer = refresh_for(http, microsoft, token["refresh_token"], GRAPH_SEND)
    assert microsoft_error(answer) == (400, "invalid_grant", (
        f"AADSTS65001: The user or administrator has not consented to use the application with ID '{CLIENT_ID}'. "
        "Send an interactive authorization request for this user and resource."))


def test_a_graph_app_token_carries_the_roles_granted_when_issued(microsoft, http):
    bare = app_token(http, microsoft, scope="https://graph.microsoft.com/.default")
    assert bare.status_code == 200, bare.text
    microsoft.grant_app_permission(CLIENT_ID, "Mail.Send")
    microsoft.grant_mailbox(CLIENT_ID, MAILBOX)
    granted = app_token(http, microsoft, scope="https://graph.microsoft.com/.default").json()["access_token"]
    assert microsoft.token_info(bare.json()["access_token"]).roles == frozenset()
    assert microsoft.token_info(granted) == TokenInfo(
        user=None, client_id=CLIENT_ID, app_only=True, scopes=frozenset({"https://graph.microsoft.com/.default"}),
        resource="https://graph.microsoft.com", roles=frozenset({"Mail.Send"}), mailboxes=frozenset({MAILBOX}))
    assert microsoft.check_access_token(granted) is None  # SMTP refuses a Graph token
    exchange = app_token(http, microsoft).json()["access_token"]
    assert microsoft.token_info(exchange).resource == "https://outlook.office365.com"
    assert microsoft.token_info(exchange).roles == frozenset()
    microsoft.expire_access_tokens()
    assert microsoft.token_info(granted) is None and microsoft.token_info("unknown") is None


def test_a_national_clouds_graph_resource(http):
    with OAuthTestServer("microsoft", graph_resource="https://graph.microsoft.us") as server:
        server.register_client(CLIENT_ID, SECRET, [])
        assert app_token(http, server, scope="https://graph.microsoft.com/.default").status_code == 400
        token = app_token(http, server, scope="https://graph.microsoft.us/.default").json()["access_token"]
        assert server.token_info(token).resource == "https://graph.microsoft.us"


def test_google_token_info(google, account, http):
    code, verifier = authorize(google, access_type="offline", prompt="consent")
    token = redeem(http, google, code, verifier).json()
    info = google.token_info(token["access_token"])
    assert (info.user, info.app_only, info.resource) == (EMAIL, False, None)
    assert "https://mail.google.com/" in info.scopes
    google.grant_domain_wide_delegation(account.client_id, "https://www.googleapis.com/auth/gmail.send")
    answer = jwt_bearer(http, google, account, scope="https://www.googleapis.com/auth/gmail.send")
    assert google.token_info(answer.json()["access_token"]) == TokenInfo(
        user=None, client_id=account.client_email, app_only=True, resource=None,
        scopes=frozenset({"https://www.googleapis.com/auth/gmail.send"}), subject=MAILBOX,
        mailboxes=frozenset({MAILBOX}))
    google.revoke_all(EMAIL)
    assert google.token_info(token["access_token"]) is None
