"""The OAuth 2.0 authorization-code flow with requests-oauthlib: authorization URL, code exchange, refresh."""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

from ..said import said
from ..validation import is_loopback, url_problem
from .errors import OAuthError, explain
from .http import ProviderAdapter, bounded
from .token_fields import invalid_field

MAX_EMAIL_CHARS = 320  # the account_email column's size


@dataclass(frozen=True)
class ClientParameters:
    """Everything needed to talk to one provider for one client, with the tenant already filled in."""

    authorization_url: str
    token_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str
    revocation_url: str | None = None
    userinfo_url: str | None = None
    extra_authorization_params: dict = field(default_factory=dict)
    refresh_with_scopes: bool = False
    timeout: float = 10


@dataclass(frozen=True)
class TokenGrant:
    """What a token endpoint granted."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: str | None
    account_email: str | None


class LoopbackHTTPAdapter(ProviderAdapter):
    """Sends requests addressed to https://<loopback host> over plain http.

    oauthlib refuses http endpoints outright; the console allows them on loopback hosts only (a local
    test or proxy server), where nothing can be overheard. The session addresses them as https so
    oauthlib's check passes, and this adapter, mounted for that origin only, speaks http to them.
    """

    def send(self, request, **kwargs):
        request.url = "http" + request.url.removeprefix("https")
        return super().send(request, **kwargs)


def secure_alias(session: requests.Session, url: str) -> str:
    """The URL oauthlib accepts; for http on a loopback host, an https alias served by LoopbackHTTPAdapter."""
    problem = url_problem(url)
    if problem:  # forms and settings check too; a URL changed behind their back must still not carry secrets
        raise OAuthError(said("provider_url_unusable", problem=problem))
    parts = urlsplit(url)
    if parts.scheme != "http" or not is_loopback(parts.hostname):
        return url
    alias = urlunsplit(("https", parts.netloc, "", "", ""))
    session.mount(alias + "/", LoopbackHTTPAdapter())
    return urlunsplit(("https",) + tuple(parts[1:]))


def _session(params: ClientParameters, **kwargs) -> OAuth2Session:
    return checked_session(OAuth2Session(params.client_id, redirect_uri=params.redirect_uri, **kwargs))


def checked_session(session: OAuth2Session) -> OAuth2Session:
    """The session bounded (deadline, size cap, no redirects), refusing token answers that are not well-formed."""
    session = bounded(session)
    for hook in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(hook, _require_json)
    return session


def _require_json(response: requests.Response) -> requests.Response:
    """Refuse an answer that is not a well-formed token response before oauthlib guesses at it."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type", "").split(";")[0]
        raise OAuthError(said("token_answer_not_json", status=response.status_code, kind=kind or None))
    if response.status_code >= 400 and "error" not in body:
        raise OAuthError(said("token_answer_unexplained", status=response.status_code))
    invalid = None if "error" in body else invalid_field(body)
    if invalid:  # named, never quoted: the value may be a token
        raise OAuthError(said("token_answer_invalid", field=invalid[0]))
    return response


def authorization_request(params: ClientParameters, state: str) -> tuple[str, str]:
    """The provider URL to send the browser to (with PKCE S256), and the verifier to keep for the exchange."""
    client = WebApplicationClient(params.client_id)
    verifier = client.create_code_verifier(64)
    session = _session(params, client=client, scope=params.scopes.split())
    endpoint = secure_alias(session, params.authorization_url)
    url, _state = session.authorization_url(
        endpoint,
        state=state,
        code_challenge=client.create_code_challenge(verifier, "S256"),
        code_challenge_method="S256",
        **params.extra_authorization_params,
    )
    if endpoint != params.authorization_url:  # loopback http: the browser goes there over http
        url = "http" + url.removeprefix("https")
    return url, verifier


def exchange_code(params: ClientParameters, code: str, code_verifier: str) -> TokenGrant:
    """Trade an authorization code for tokens, and learn which account granted them."""
    session = _session(params)
    token = provider_call(
        lambda: session.fetch_token(
            secure_alias(session, params.token_url),
            code=code,
            code_verifier=code_verifier,
            client_secret=params.client_secret,
            include_client_id=True,
            timeout=params.timeout,
        )
    )
    return token_grant(token, _account_email(session, params, token))


def refresh(params: ClientParameters, refresh_token: str) -> TokenGrant:
    """A fresh access token; the refresh token is the rotated one when the provider rotates, else the same."""
    session = _session(params)
    token = provider_call(
        lambda: session.refresh_token(
            secure_alias(session, params.token_url),
            # In the body, so that oauthlib does not compare them with the scopes the answer names.
            body=urlencode({"scope": params.scopes}) if params.refresh_with_scopes else "",
            refresh_token=refresh_token,
            client_id=params.client_id,
            client_secret=params.client_secret,
            timeout=params.timeout,
        )
    )
    return token_grant(token, None)


def revoke(params: ClientParameters, token: str) -> None:
    """Ask the provider to forget a token, where it offers revocation."""
    if not params.revocation_url:
        return
    session = bounded(requests.Session())
    with session:
        url = secure_alias(session, params.revocation_url)
        response = provider_call(lambda: session.post(url, data={"token": token}, timeout=params.timeout))
    if response.status_code not in (200, 400):  # 400: the token was already invalid, which is the goal
        raise OAuthError(said("revocation_refused", status=response.status_code))


def provider_call(operation, app_only: bool = False):
    """Run a provider call, turning every way it can fail into an OAuthError with a message (an application's or
    a service account's refusal explained as theirs)."""
    try:
        return operation()
    except OAuthError:
        raise
    except OAuth2Error as error:
        raise OAuthError(explain(error.error, error.description, app_only), code=error.error) from None
    except requests.Timeout:
        raise OAuthError(said("provider_timeout")) from None
    except requests.ConnectionError:
        raise OAuthError(said("provider_unreachable")) from None
    except (requests.RequestException, ValueError) as error:
        raise OAuthError(said("provider_answer_unusable", error=type(error).__name__)) from None


def token_grant(token: dict, account_email: str | None) -> TokenGrant:
    expires_at = None
    if token.get("expires_in"):
        expires_at = datetime.now(UTC) + timedelta(seconds=int(token["expires_in"]))
    scope = token.get("scope")
    scopes = " ".join(scope) if isinstance(scope, list) else scope
    return TokenGrant(token["access_token"], token.get("refresh_token"), expires_at, scopes, account_email)


def _account_email(session: OAuth2Session, params: ClientParameters, token: dict) -> str | None:
    """The signed-in account, from the ID token (received straight from the token endpoint) or userinfo."""
    email = _email(id_token_claims(token.get("id_token")), "email", "preferred_username", "upn")
    if email or not params.userinfo_url:
        return email
    try:
        response = session.get(secure_alias(session, params.userinfo_url), timeout=params.timeout)
        return _email(response.json(), "email") if response.ok else None
    except (requests.RequestException, ValueError, OAuth2Error):
        return None


def _email(answer, *names: str) -> str | None:
    """The first named field holding an address-sized text: a provider's list or number must not reach the database."""
    values = [answer.get(name) for name in names] if isinstance(answer, dict) else []
    return next((value for value in values if isinstance(value, str) and 0 < len(value) <= MAX_EMAIL_CHARS), None)


def id_token_claims(id_token: str | None) -> dict:
    """The claims of an ID token; its signature is not needed because it came directly over TLS (OIDC 3.1.3.7)."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (AttributeError, IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
