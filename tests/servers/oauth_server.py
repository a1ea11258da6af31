"""A real OAuth 2.0 authorization server for tests, shaped like Google's or Microsoft's.

Built on Authlib's server side (authorization code grant with mandatory PKCE S256, refresh token
grant, RFC 7009 revocation for the Google shape), with in-memory storage, served by werkzeug on
127.0.0.1 in a background thread. The login and consent pages are plain labelled HTML so both
`requests` (see OAuthTestServer.consent) and a real browser can walk them.

Provider behaviours follow /work/shared/PROTOCOL.md:
- google: refresh token only with access_type=offline AND prompt=consent; refreshing never rotates;
  "email" is granted back as https://www.googleapis.com/auth/userinfo.email; /revoke and
  /v1/userinfo exist.
- microsoft: tenant in the first path segment; refresh token only with offline_access; every refresh
  rotates it and the used one dies at once; errors carry AADSTS codes and error_codes. Access tokens are per
  resource: consent may cover several, the code gives the first one's token, a refresh with a scope the others'.

Plain http is fine here: Authlib accepts http for loopback hosts, so no transport override is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from authlib.common.urls import add_params_to_uri
from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, redirect, render_template_string, request, session
from joserfc import jws
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.servers.serving import Serving

SHAPES = ("google", "microsoft")
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
SMTP_SCOPES = {
    "google": {"https://mail.google.com/"},
    "microsoft": {
        "https://outlook.office.com/SMTP.Send",
        "https://outlook.office365.com/SMTP.Send",
    },
}
GOOGLE_SCOPE_NAMES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
FALLBACK_AADSTS = "AADSTS9002313: Invalid request. Request is malformed or invalid."

# key (ProviderError key or Authlib error name) -> {shape: (error, HTTP status, description)}.
# Microsoft descriptions start with "AADSTS<code>:"; the code also goes into "error_codes".
ERRORS = {
    "access_denied": {
        "google": ("access_denied", 400, ""),
        "microsoft": ("access_denied", 400,
                      "AADSTS65004: User declined to consent to access the app."),
    },
    "unsupported_response_type": {
        "google": ("unsupported_response_type", 400, "Only response_type=code is supported."),
        "microsoft": ("unsupported_response_type", 400,
                      f"{FALLBACK_AADSTS} Only response_type=code is supported."),
    },
    "invalid_client": {
        "google": ("invalid_client", 401, "Unauthorized"),
        "microsoft": ("invalid_client", 401, "AADSTS7000218: The request body must contain the "
                      "following parameter: 'client_assertion' or 'client_secret'."),
    },
    "bad_secret": {
        "google": ("invalid_client", 401, "Unauthorized"),
        "microsoft": ("invalid_client", 401, "AADSTS7000215: Invalid client secret provided. "
                      "Ensure the secret being sent in the request is the client secret value, "
                      "not the client secret ID, for a secret added to app '{client_id}'."),
    },
    "unknown_client": {
        "google": ("invalid_client", 401, "The OAuth client was not found."),
        "microsoft": ("unauthorized_client", 400, "AADSTS700016: Application with identifier "
                      "'{client_id}' was not found in the directory. You may have sent your "
                      "authentication request to the wrong tenant."),
    },
    "redirect_mismatch": {
        "google": ("redirect_uri_mismatch", 400, "The redirect URI in the request, {redirect_uri}, "
                   "does not match the ones authorized for the OAuth client."),
        "microsoft": ("invalid_request", 400, "AADSTS50011: The redirect URI '{redirect_uri}' "
                      "specified in the request does not match the redirect URIs configured for "
                      "the application '{client_id}'."),
    },
    "code_unknown": {
        "google": ("invalid_grant", 400, "Malformed auth code."),
        "microsoft": ("invalid_grant", 400, FALLBACK_AADSTS),
    },
    "code_used": {
        "google": ("invalid_grant", 400, "Bad Request"),
        "microsoft": ("invalid_grant", 400, "AADSTS54005: OAuth2 Authorization code was already "
                      "redeemed, please retry with a new valid code or use an existing refresh "
                      "token."),
    },
    "pkce_failed": {
        "google": ("invalid_grant", 400, "Invalid code verifier."),
        "microsoft": ("invalid_grant", 400, "AADSTS50148: The code_verifier does not match the "
                      "code_challenge supplied in the authorization request for PKCE."),
    },
    "refresh_revoked": {
        "google": ("invalid_grant", 400, "Token has been expired or revoked."),
        "microsoft": ("invalid_grant", 400, "AADSTS70000: The provided grant has expired due to it "
                      "being revoked, a fresh auth token is needed. The user might have changed or "
                      "reset their password."),
    },
    "revoke_unknown": {
        "google": ("invalid_token", 400, "Token expired or revoked"),
        "microsoft": ("invalid_request", 400, FALLBACK_AADSTS),
    },
    # App-only sign-in: Microsoft's client credentials, Google's service accounts (JWT bearer grant).
    "secret_expired": {
        "google": ("invalid_client", 401, "Unauthorized"),
        "microsoft": ("invalid_client", 401, "AADSTS7000222: The provided client secret keys for app "
                      "'{client_id}' are expired. Visit the Azure portal to create new keys for your app."),
    },
    "unknown_certificate": {
        "google": ("invalid_client", 401, "Unauthorized"),
        "microsoft": ("invalid_client", 401, "AADSTS700027: The certificate with identifier used to sign the "
                      "client assertion is not registered on application. [Reason - The key was not found.]"),
    },
    "assertion_time": {
        "google": ("invalid_client", 401, "Unauthorized"),
        "microsoft": ("invalid_client", 401, "AADSTS700024: Client assertion is not within its valid time range."),
    },
    "assertion_invalid": {
        "google": ("invalid_client", 401, "Unauthorized"),
        "microsoft": ("invalid_client", 401, "AADSTS50027: JWT token is invalid or malformed."),
    },
    "scope_not_default": {
        "google": ("invalid_scope", 400, "Invalid scope."),
        "microsoft": ("invalid_scope", 400, "AADSTS1002012: The provided value for scope {scope} is not valid. "
                      "Client credential flows must have a scope value with /.default suffixed to the resource "
                      "identifier (application ID URI)."),
    },
    "unknown_resource": {
        "google": ("invalid_scope", 400, "Invalid scope."),
        "microsoft": ("invalid_resource", 400, "AADSTS500011: The resource principal named {resource} was not "
                      "found in the tenant named {tenant}."),
    },
    "jwt_time": {
        "google": ("invalid_grant", 400, "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                   "reasonable timeframe. Check your iat and exp values in the JWT claim."),
        "microsoft": ("invalid_grant", 400, FALLBACK_AADSTS),
    },
    "jwt_audience": {
        "google": ("invalid_grant", 400, "Invalid JWT: Failed audience check. The right audience is {audience}"),
        "microsoft": ("invalid_grant", 400, FALLBACK_AADSTS),
    },
    "jwt_signature": {
        "google": ("invalid_grant", 400, "Invalid JWT Signature."),
        "microsoft": ("invalid_grant", 400, FALLBACK_AADSTS),
    },
    "jwt_subject": {
        "google": ("invalid_grant", 400, "Invalid email or User ID"),
        "microsoft": ("invalid_grant", 400, FALLBACK_AADSTS),
    },
    "jwt_account": {
        "google": ("invalid_grant", 400, "Invalid grant: account not found"),
        "microsoft": ("invalid_grant", 400, FALLBACK_AADSTS),
    },
    "jwt_scope": {
        "google": ("invalid_scope", 400, "Invalid OAuth scope or ID token audience provided."),
        "microsoft": ("invalid_scope", 400, FALLBACK_AADSTS),
    },
    "scope_several_resources": {
        "google": ("invalid_scope", 400, "Invalid scope."),
        "microsoft": ("invalid_scope", 400, "AADSTS28000: Provided value for the input parameter scope is not valid "
                      "because it contains more than one resource. Scope {scope} is not valid."),
    },
    "consent_missing": {
        "google": ("invalid_scope", 400, "Invalid scope."),
        "microsoft": ("invalid_grant", 400, "AADSTS65001: The user or administrator has not consented to use the "
                      "application with ID '{client_id}'. Send an interactive authorization request for this user "
                      "and resource."),
    },
    "delegation_missing": {
        "google": ("unauthorized_client", 401, "Client is unauthorized to retrieve access tokens using this "
                   "method, or client not authorized for any of the scopes requested."),
        "microsoft": ("unauthorized_client", 400, FALLBACK_AADSTS),
    },
}
APP_RESOURCE = {"microsoft": "https://outlook.office365.com"}  # what client credentials may ask a token for
GRAPH_RESOURCE = "https://graph.microsoft.com"
APP_GRANT_TYPES = ("client_credentials", JWTBearerGrant.GRANT_TYPE)
APP_SMTP_SCOPES = {  # the scopes an app-only token must carry for SMTP, on a server of each shape
    "google": lambda server: {"https://mail.google.com/"},
    "microsoft": lambda server: {f"{server.app_resource}/.default"},
}
ASSERTION_ALGORITHMS = ["PS256", "RS256"]  # Microsoft's client assertions

HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} - {{ brand }}</title></head>
<body><main><p>{{ brand }}</p><h1>{{ title }}</h1>
"""
FOOT = "</main></body></html>\n"
LOGIN_PAGE = HEAD + """{% if error %}<p role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{ next_url }}">
<p><label for="email">Email</label>
<input id="email" name="email" type="email" value="{{ email }}" autocomplete="username"
 required></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
""" + FOOT
CONSENT_PAGE = HEAD + """<p>Signed in as <strong>{{ email }}</strong>
(<a href="/logout?next={{ action | urlencode }}">Use another account</a>)</p>
<p>The application <strong>{{ client_id }}</strong> asks for these permissions:</p>
<ul>{% for scope in scopes %}<li>{{ scope }}</li>{% endfor %}</ul>
<form method="post" action="{{ action }}">
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
""" + FOOT
ERROR_PAGE = HEAD + """<p role="alert">Error {{ status }}: {{ error }}</p>
<p>{{ description }}</p>
""" + FOOT


class ProviderError(OAuth2Error):
    """An OAuth error whose wire format, per provider shape, is looked up in ERRORS."""

    def __init__(self, key: str, **context: str):
        """Remember the ERRORS key and the values its description template needs."""
        super().__init__()
        self.key = key
        self.context = context
        self.error = ERRORS[key]["google"][0]


def granted_scope(shape: str, requested: str) -> str:
    """The scope string the provider reports as granted for a requested scope string."""
    granted: list[str] = []
    for scope in scope_to_list(requested):
        scope = GOOGLE_SCOPE_NAMES.get(scope, scope) if shape == "google" else scope
        if scope != "offline_access" and scope not in granted:
            granted.append(scope)
    return " ".join(granted)


def scope_resource(scope: str) -> str | None:
    """The resource a Microsoft scope belongs to (its URL before the last "/"); None for openid, email and the like."""
    return scope.rsplit("/", 1)[0] if "://" in scope else None


def resources_of(scope: str) -> list[str]:
    """The resources a scope string names, in order of first appearance."""
    return list(dict.fromkeys(filter(None, map(scope_resource, scope_to_list(scope) or []))))


def first_resource_scope(scope: str) -> str:
    """What Microsoft's code redemption grants: the first resource's scopes, with the resource-less ones."""
    first = next(iter(resources_of(scope)), None)
    return " ".join(item for item in scope_to_list(scope) if scope_resource(item) in (None, first))


def _b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_jwt(claims: dict, key: bytes) -> str:
    """A compact JWT signed with HMAC-SHA256."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass
class User:
    """An account that can sign in on the login page."""

    email: str
    password: str
    sub: str = field(default_factory=lambda: str(10**20 + secrets.randbelow(9 * 10**20)))
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Client(ClientMixin):
    """A registered confidential client."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]
    shape: str
    certificate: RegisteredCertificate | None = None  # Microsoft: the certificate uploaded to the app registration
    secret_expired: bool = False

    def get_client_id(self):
        """The client identifier."""
        return self.client_id

    def get_default_redirect_uri(self):
        """The first registered redirect URI."""
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        """The granted scope string for a requested one; None (invalid_scope) when none asked."""
        return granted_scope(self.shape, scope) if scope else None

    def check_redirect_uri(self, redirect_uri):
        """Exact match against the registered redirect URIs."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        """Constant-time secret check."""
        return _same_secret(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        """Secret basic/post everywhere, a client assertion at the token endpoint; revocation may also go by the
        token alone."""
        return (method in CLIENT_AUTH_METHODS or (method, endpoint) == ("token_owner", "revocation")
                or (method, endpoint) == (CertificateAssertion.CLIENT_AUTH_METHOD, "token"))

    def check_response_type(self, response_type):
        """Only the code flow."""
        return response_type == "code"

    def check_grant_type(self, grant_type):
        """Authorization code and refresh token grants; Microsoft's apps also sign in as themselves."""
        return grant_type in ("authorization_code", "refresh_token") or (
            grant_type == "client_credentials" and self.shape == "microsoft")


@dataclass(frozen=True)
class RegisteredCertificate:
    """An application certificate as Entra ID keeps it: its SHA-256 thumbprint and its public key."""

    x5t_s256: str
    public_key: RSAKey

    @classmethod
    def from_pem(cls, certificate_pem: str) -> RegisteredCertificate:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        der = certificate.public_bytes(serialization.Encoding.DER)
        public_pem = certificate.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(_b64url(hashlib.sha256(der).digest()), RSAKey.import_key(public_pem))


@dataclass
class ServiceAccount(ClientMixin):
    """A Google service account: its key's public half, and the Workspace domain whose users it may act as once
    an administrator grants it domain-wide delegation."""

    client_email: str
    client_id: str
    key_id: str
    public_key: RSAKey
    domain: str

    def get_client_id(self):
        return self.client_email

    def get_allowed_scope(self, scope):
        return scope

    def check_grant_type(self, grant_type):
        return grant_type == JWTBearerGrant.GRANT_TYPE

    def check_endpoint_auth_method(self, method, endpoint):
        return False  # the assertion is the grant: no client authentication at all


@dataclass
class AppToken:
    """An access token of app-only sign-in: an application's (Microsoft) or a service account's acting as one
    mailbox (Google: the subject)."""

    access_token: str
    client_id: str
    subject: str | None
    scope: str
    expires_at: float
    roles: frozenset[str] = frozenset()  # Microsoft Graph: the application permissions admin-consented at issue
    revoked: bool = False

    def is_usable(self) -> bool:
        return not self.revoked and time.time() < self.expires_at


@dataclass(frozen=True)
class AppIdentity:
    """Whom an app-only token lets sign in to SMTP: the mailboxes the application was granted, or the one mailbox
    the service account acts as."""

    client_id: str
    mailboxes: frozenset[str]

    def may_send_as(self, mailbox: str) -> bool:
        return mailbox.lower() in self.mailboxes


@dataclass(frozen=True)
class TokenInfo:
    """What a resource server (the Graph or Gmail API stand-in) learns from a live access token."""

    user: str | None  # the person's email; None for app-only tokens
    client_id: str
    app_only: bool
    scopes: frozenset[str]
    resource: str | None  # Microsoft: the audience; Google: None
    roles: frozenset[str] = frozenset()  # Microsoft app tokens for Graph
    subject: str | None = None  # Google: the mailbox a service account's token acts as
    mailboxes: frozenset[str] = frozenset()  # what an app token may act as


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """An issued authorization code; used codes are kept to tell "reused" from "unknown"."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str  # what the code's access token gets
    consented: str  # every scope the user consented to, of every resource
    user: User
    code_challenge: str
    code_challenge_method: str
    offline: bool
    nonce: str | None
    used: bool = False

    def get_redirect_uri(self):
        """The redirect URI of the authorization request."""
        return self.redirect_uri

    def get_scope(self):
        """The granted scope."""
        return self.scope


@dataclass
class Token(TokenMixin):
    """One token response: an access token and maybe a refresh token, in a revocation family."""

    access_token: str
    refresh_token: str | None
    client_id: str
    user: User
    scope: str
    expires_at: float
    family: str
    consented: str  # what refreshes may ask for (Microsoft: a token for any consented resource)
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client):
        """Whether this token was issued to client."""
        return self.client_id == client.get_client_id()

    def get_scope(self):
        """The granted scope."""
        return self.scope

    def get_expires_in(self):
        """Seconds left for the access token."""
        return max(0, int(self.expires_at - time.time()))

    def is_expired(self):
        """Whether the access token has expired."""
        return time.time() >= self.expires_at

    def is_revoked(self):
        """Whether the access token was revoked."""
        return self.access_revoked

    def get_user(self):
        """The account the token acts for."""
        return self.user

    def is_usable(self) -> bool:
        """Whether the access token may be used right now."""
        return not self.access_revoked and not self.is_expired()


class _TokenShaping:
    """Grant mixin: decide on the refresh token and add the provider's extras to the response."""

    issued_refresh_token = False

    def wants_refresh_token(self) -> bool:
        """Whether the provider would issue a refresh token for this request."""
        raise NotImplementedError

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        """Authlib's token with the provider's refresh-token rule, id_token and extras applied."""
        fixture = self.server.fixture
        include = self.wants_refresh_token() and not fixture.omit_refresh_token
        token = super().generate_token(user=user, scope=scope, grant_type=grant_type,
                                       expires_in=expires_in, include_refresh_token=include)
        self.issued_refresh_token = "refresh_token" in token
        fixture._decorate_token(token, user, self.request)
        return token


class CodeGrant(_TokenShaping, grants.AuthorizationCodeGrant):
    """Authorization code grant over the fixture's storage; codes are single use."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def wants_refresh_token(self):
        """As decided when the code was issued (offline access requested)."""
        return self.request.authorization_code.offline

    def save_authorization_code(self, code, request):
        """Store a new code."""
        self.server.fixture._save_code(code, request)

    def query_authorization_code(self, code, client):
        """The stored code, or a provider error for unknown and reused codes."""
        return self.server.fixture._find_code(code, client)

    def delete_authorization_code(self, authorization_code):
        """Mark the code used (kept, so that a reuse gets the reuse error)."""
        authorization_code.used = True

    def authenticate_user(self, authorization_code):
        """The account that consented."""
        return authorization_code.user


class RefreshGrant(_TokenShaping, grants.RefreshTokenGrant):
    """Refresh grant: Google keeps the refresh token, Microsoft rotates it."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def wants_refresh_token(self):
        """Microsoft returns a new refresh token on every refresh; Google never does."""
        return self.server.fixture.shape == "microsoft"

    def authenticate_refresh_token(self, refresh_token):
        """The live token record holding refresh_token, else the provider's invalid_grant."""
        token = self.server.fixture.refresh_index.get(refresh_token)
        if token is None or token.refresh_revoked:
            raise ProviderError("refresh_revoked")
        return token

    def authenticate_user(self, refresh_token):
        """The account of the refresh token."""
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        """Rotation: once a new refresh token went out, the used one dies."""
        if self.issued_refresh_token:
            refresh_token.refresh_revoked = True

    def _validate_token_scope(self, token):
        """Compare granted forms, so "email" or "offline_access" in a refresh request are fine; Microsoft gives a token
        for one consented resource at a time."""
        requested = self.request.payload.scope
        if not requested:
            return
        asked = self.request.client.get_allowed_scope(requested)
        if self.server.fixture.shape == "google":
            if not set(scope_to_list(asked)) <= set(scope_to_list(token.get_scope())):
                raise InvalidScopeError()
            return
        if len(resources_of(asked)) > 1:
            raise ProviderError("scope_several_resources", scope=requested)
        if not set(scope_to_list(asked)) <= set(scope_to_list(token.consented)):
            raise ProviderError("consent_missing", client_id=token.client_id)

    def issue_token(self, user, refresh_token):
        """A token for the scope asked, in its granted form, else for the refreshed token's scope."""
        requested = self.request.payload.scope
        scope = self.request.client.get_allowed_scope(requested) if requested else refresh_token.get_scope()
        return self.generate_token(user=user, scope=scope, include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN)


class RequiredS256(CodeChallenge):
    """PKCE extension requiring an S256 challenge from every client, confidential ones included."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        """Refuse authorization requests without an S256 code_challenge."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        """Authlib's check, with the provider's wording for a wrong verifier."""
        try:
            super().validate_code_verifier(grant, result)
        except InvalidGrantError:
            raise ProviderError("pkce_failed") from None


class GoogleRevocation(RevocationEndpoint):
    """Google's /revoke: the token alone says what to revoke; unknown tokens get invalid_token."""

    CLIENT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "token_owner"]

    def query_token(self, token_string, token_type_hint):
        """The live token record for an access or refresh token string."""
        return self.server.fixture._find_live_token(token_string)

    def authenticate_token(self, request, client):
        """Authlib's lookup, but an unknown token is an error as at Google."""
        token = super().authenticate_token(request, client)
        if token is None:
            raise ProviderError("revoke_unknown")
        return token

    def revoke_token(self, token, request):
        """Revoke the access token, or the whole grant for a refresh token."""
        self.server.fixture._revoke(token, request.form["token"])


class ClientCredentials(grants.ClientCredentialsGrant):
    """Microsoft's client credentials grant: the application signs in as itself, with its secret or a certificate's
    client assertion, for <resource>/.default only (Exchange Online or Graph of this server's cloud)."""

    TOKEN_ENDPOINT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "private_key_jwt"]

    def validate_requested_scope(self):
        """Entra ID's AADSTS1002012 for a scope without /.default, AADSTS500011 for another cloud's resource."""
        scope = self.request.payload.scope or ""
        if not scope.endswith("/.default") or " " in scope:
            raise ProviderError("scope_not_default", scope=scope)
        resource = scope.removesuffix("/.default")
        if resource not in (self.server.fixture.app_resource, self.server.fixture.graph_resource):
            raise ProviderError("unknown_resource", resource=resource, tenant=request.view_args.get("tenant", ""))


class CertificateAssertion(JWTBearerClientAssertion):
    """private_key_jwt as Entra ID checks it: a JWT signed with a certificate registered on the application and named
    by its SHA-256 thumbprint (x5t#S256), for this token URL, iss = sub = the client ID, in its time range, its jti
    used once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, fixture: OAuthTestServer):
        super().__init__(validate_jti=True)
        self.fixture = fixture

    def __call__(self, query_client, oauth_request):
        """The authenticated client; None when the request carries no client assertion."""
        form = oauth_request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE or not assertion:
            return None
        headers, claims = self.extract_assertion(assertion)
        client_id = claims.get("sub") if isinstance(claims.get("sub"), str) else ""
        client = self.fixture.clients.get(client_id)
        if client is None:
            raise ProviderError("unknown_client", client_id=client_id)
        registered = client.certificate
        if registered is None or headers.get("x5t#S256") != registered.x5t_s256:
            raise ProviderError("unknown_certificate")
        try:
            token = jose_jwt.decode(assertion, registered.public_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError):
            raise ProviderError("assertion_invalid") from None
        if not _in_time(token.claims, "nbf", self.leeway, self.fixture.now()):
            raise ProviderError("assertion_time")
        try:
            self.verify_claims(token.claims)
        except InvalidClientError:
            raise ProviderError("assertion_invalid") from None
        oauth_request.client = client
        return self.authenticate_client(client)

    def get_audiences(self):
        """This tenant's token URL, as the request addressed it."""
        return [request.base_url]

    def validate_jti(self, claims, jti):
        with self.fixture._lock:
            seen = (claims["sub"], jti) in self.fixture.used_assertions
            self.fixture.used_assertions.add((claims["sub"], jti))
        return not seen


def _in_time(claims: dict, start: str, leeway: int, now: float, longest: int | None = None) -> bool:
    """Whether the claims' exp and their start (nbf or iat) are whole numbers around now, `longest` seconds apart at
    most."""
    expires, begins = claims.get("exp"), claims.get(start, claims.get("iat"))
    if type(expires) is not int or expires <= now - leeway:
        return False
    if begins is None and longest is None:
        return True
    return type(begins) is int and begins <= now + leeway and (longest is None or expires - begins <= longest)


class ServiceAccountGrant(JWTBearerGrant):
    """Google's service account grant (RFC 7523): an assertion signed with the account's key and naming it (kid),
    for the token URL, at most an hour long, asking a scope for a mailbox (sub). The mailbox must belong to the
    account's domain, and domain-wide delegation must grant the scope to the account's client ID."""

    LONGEST = 3600

    def process_assertion_claims(self, assertion):
        """The verified claims, with Google's wording for what is wrong."""
        headers, claims = self.extract_assertion(assertion)
        account = self.resolve_issuer_client(claims.get("iss"))
        if headers.get("kid") != account.key_id or headers.get("alg") != "RS256":
            raise ProviderError("jwt_signature")
        try:
            token = jose_jwt.decode(assertion, account.public_key)
        except (JoseError, ValueError):
            raise ProviderError("jwt_signature") from None
        if not _in_time(token.claims, "iat", self.LEEWAY, self.server.fixture.now(), self.LONGEST):
            raise ProviderError("jwt_time")
        try:
            self.verify_claims(token.claims)
        except InvalidGrantError:
            raise ProviderError("jwt_audience", audience=request.base_url) from None
        self.claims = token.claims
        return token.claims

    def resolve_issuer_client(self, issuer):
        account = self.server.fixture.service_accounts.get(issuer) if isinstance(issuer, str) else None
        if account is None:
            raise ProviderError("jwt_account")
        return account

    def get_audiences(self):
        return [request.base_url]

    def authenticate_user(self, subject):
        """The mailbox, when it belongs to the account's Workspace domain."""
        if not isinstance(subject, str) or not subject.lower().endswith("@" + self.request.client.domain):
            raise ProviderError("jwt_subject")
        return subject

    def has_granted_permission(self, client, user):
        """Domain-wide delegation of every scope asked for (the assertion's scope claim)."""
        asked = set(scope_to_list(self.claims.get("scope") or ""))
        if not asked:
            raise ProviderError("jwt_scope")
        if not asked <= self.server.fixture.delegations.get(client.client_id, set()):
            raise ProviderError("delegation_missing")
        return True

    def create_token_response(self):
        token = self.generate_token(scope=self.claims.get("scope"), user=self.request.user,
                                    include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class _Authorization(AuthorizationServer):
    """Authlib's Flask authorization server answering errors in the provider's format."""

    def __init__(self, fixture: OAuthTestServer):
        """Bind to the fixture's Flask app and storage."""
        self.fixture = fixture
        super().__init__(fixture.app, fixture._query_client, fixture._save_token)

    def handle_error_response(self, request, error):
        """Provider-shaped JSON body or error redirect."""
        return self.handle_response(*self.fixture._error_triplet(error))


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request to stderr."""

    def log_request(self, code="-", size="-"):
        """Stay quiet."""


class OAuthTestServer:
    """An OAuth 2.0 authorization server on 127.0.0.1, shaped like Google ("google") or Microsoft.

    Knobs tests may set at any time: token_delay, token_garbage, omit_refresh_token, token_overrides
    (fields merged into successful token responses, after the tokens were issued and stored), clock_offset. A delayed
    token request is still processed after the delay even if its client gave up (a real provider
    would too: a Microsoft refresh token may rotate unseen); stop() answers pending delays with 503
    without processing them.
    Records: token_requests (one dict per token endpoint call), revoked (tokens posted to /revoke),
    tenants (tenant path segments seen, Microsoft shape).
    """

    def __init__(self, shape: str = "google", access_token_lifetime: int = 3600,
                 app_resource: str | None = None, graph_resource: str = GRAPH_RESOURCE):
        """An unstarted server; call start(). app_resource and graph_resource: what Microsoft's client credentials may
        ask a token for (another cloud's Exchange Online and Graph: their resources)."""
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
        self.shape = shape
        self.access_token_lifetime = access_token_lifetime
        self.token_delay = 0.0
        self.token_garbage = False
        self.omit_refresh_token = False
        self.token_overrides: dict = {}
        self.clock_offset = 0.0  # seconds this server's clock is ahead: app-only assertions look that much older
        self.token_requests: list[dict] = []
        self.revoked: list[str] = []
        self.tenants: list[str] = []
        self.base_url = ""
        self.tenant_id = str(uuid.uuid4())
        self.id_token_key = secrets.token_bytes(32)
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_index: dict[str, Token] = {}
        self.app_resource = app_resource or APP_RESOURCE.get(shape, "")
        self.graph_resource = graph_resource
        self.app_permissions: dict[str, set[str]] = {}  # Microsoft: client ID -> Graph application permissions
        self.app_tokens: dict[str, AppToken] = {}
        self.mailbox_permissions: dict[str, set[str]] = {}  # Microsoft: client ID -> mailboxes (Exchange)
        self.service_accounts: dict[str, ServiceAccount] = {}  # Google: client_email -> account
        self.delegations: dict[str, set[str]] = {}  # Google: service account client ID -> scopes delegated
        self.used_assertions: set[tuple[str, str]] = set()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._serving: Serving | None = None
        self.app = self._create_app()
        self.authorization = self._create_authorization_server()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> OAuthTestServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        httpd = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        port = httpd.server_port
        self.base_url = f"http://127.0.0.1:{port}"
        self.app.config["SESSION_COOKIE_NAME"] = f"oauth_test_{self.shape}_{port}"
        self._serving = Serving(httpd, self._stopping, name=f"oauth-test-{self.shape}-{port}")
        return self

    def stop(self) -> None:
        """Shut down, wake delayed token requests, join the thread and close the socket."""
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def __enter__(self) -> OAuthTestServer:
        """Start (unless already started) on entering a with block."""
        return self if self._serving is not None else self.start()

    def __exit__(self, *exc_info) -> None:
        """Stop on leaving a with block."""
        self.stop()

    # -- test API --------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        """Register a confidential client with its exact redirect URIs."""
        with self._lock:
            client = Client(client_id, client_secret, list(redirect_uris), self.shape)
            self.clients[client_id] = client

    def now(self) -> float:
        """This server's time, which checks app-only assertions (clock_offset: another clock than the client's)."""
        return time.time() + self.clock_offset

    def register_app_certificate(self, client_id: str, certificate_pem: str) -> None:
        """Upload a certificate to a registered application (Certificates & secrets): it may then sign in as itself
        with a client assertion signed by the certificate's key."""
        with self._lock:
            self.clients[client_id].certificate = RegisteredCertificate.from_pem(certificate_pem)

    def expire_client_secret(self, client_id: str) -> None:
        """The application's client secret reaches its expiry date."""
        with self._lock:
            self.clients[client_id].secret_expired = True

    def grant_mailbox(self, client_id: str, mailbox: str) -> None:
        """Exchange Online's New-ServicePrincipal and Add-MailboxPermission: the application's own token may sign in
        to SMTP as this mailbox."""
        with self._lock:
            self.mailbox_permissions.setdefault(client_id, set()).add(mailbox.lower())

    def grant_app_permission(self, client_id: str, permission: str) -> None:
        """API permissions > Add a permission > Microsoft Graph > Application permissions (Mail.Send, say), with admin
        consent: the application's Graph tokens issued from now on carry it as a role."""
        with self._lock:
            self.app_permissions.setdefault(client_id, set()).add(permission)

    def register_service_account(self, client_email: str, client_id: str, key_id: str, public_key_pem: str,
                                 domain: str) -> None:
        """A service account with one key, in the Workspace of `domain` (whose users it may act as once delegated)."""
        with self._lock:
            self.service_accounts[client_email] = ServiceAccount(client_email, client_id, key_id,
                                                                 RSAKey.import_key(public_key_pem), domain.lower())

    def grant_domain_wide_delegation(self, client_id: str, scopes: str) -> None:
        """Google Admin console, API controls > Domain-wide delegation: the service account's client ID may act as the
        domain's users for these scopes."""
        with self._lock:
            self.delegations.setdefault(client_id, set()).update(scope_to_list(scopes))

    def revoke_domain_wide_delegation(self, client_id: str) -> None:
        """The service account's client ID removed from the domain-wide delegation list."""
        with self._lock:
            self.delegations.pop(client_id, None)

    def add_user(self, email: str, password: str) -> None:
        """Add an account that can sign in."""
        with self._lock:
            self.users[email.lower()] = User(email, password)

    def provider_override(self) -> dict:
        """Endpoint URLs in the app's per-provider override format."""
        if self.shape == "microsoft":
            base = f"{self.base_url}/{{tenant}}/oauth2/v2.0"
            return {"authorization_url": f"{base}/authorize", "token_url": f"{base}/token",
                    "revocation_url": None, "userinfo_url": None, "issuer": f"{self.base_url}/{{tenant}}/v2.0"}
        return {"authorization_url": f"{self.base_url}/o/oauth2/v2/auth",
                "token_url": f"{self.base_url}/token", "revocation_url": f"{self.base_url}/revoke",
                "userinfo_url": f"{self.base_url}/v1/userinfo", "issuer": self.base_url}

    def check_access_token(self, token: str) -> str | AppIdentity | None:
        """For a live access token granted the SMTP scope: the account email (a person's token), or whom an app-only
        token may sign in as (AppIdentity); else None."""
        with self._lock:
            if token in self.app_tokens:
                return self._app_identity(self.app_tokens[token])
            record = self.tokens.get(token)
            if record is None or not record.is_usable():
                return None
            if not SMTP_SCOPES[self.shape] & set(record.scope.split()):
                return None
            return record.user.email

    def token_info(self, token: str) -> TokenInfo | None:
        """What a live access token stands for (its audience, scopes, roles and whom it acts as); None when it is
        unknown, expired or revoked."""
        with self._lock:
            if token in self.app_tokens:
                return self._app_token_info(self.app_tokens[token])
            record = self.tokens.get(token)
            if record is None or not record.is_usable():
                return None
            return TokenInfo(user=record.user.email, client_id=record.client_id, app_only=False,
                             scopes=frozenset(scope_to_list(record.scope)), resource=self._resource(record.scope))

    def revoke_all(self, email: str | None = None) -> None:
        """Invalidate every access and refresh token, of one account or of everyone (app-only tokens included)."""
        with self._lock:
            for token in self.tokens.values():
                if email is None or token.user.email.lower() == email.lower():
                    token.access_revoked = token.refresh_revoked = True
            for app_token in self.app_tokens.values():
                app_token.revoked = app_token.revoked or email is None

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired now."""
        now = time.time()
        with self._lock:
            for token in [*self.tokens.values(), *self.app_tokens.values()]:
                token.expires_at = min(token.expires_at, now)

    def app_token_requests(self) -> list[dict]:
        """The token endpoint calls of app-only sign-in (client credentials, JWT bearer)."""
        with self._lock:
            return [call for call in self.token_requests if call["grant_type"] in APP_GRANT_TYPES]

    def consent(self, authorization_url: str, email: str, password: str,
                accept: bool = True) -> str:
        """Walk login and consent over HTTP; return the redirect Location meant for the client.

        An authorization request the server answers with an error redirect returns that Location
        at once; an error page or a failed sign-in raises RuntimeError.
        """
        with requests.Session() as http:
            page = http.get(authorization_url, timeout=5, allow_redirects=False)
            if page.is_redirect:
                return page.headers["Location"]
            _expect_page(page, "Sign in")
            parts = urlsplit(authorization_url)
            next_url = f"{parts.path}?{parts.query}" if parts.query else parts.path
            form = {"email": email, "password": password, "next": next_url}
            login = http.post(urljoin(authorization_url, "/login"), data=form,
                              timeout=5, allow_redirects=False)
            if not login.is_redirect:
                raise RuntimeError(f"sign-in as {email} failed ({login.status_code})")
            consent_url = urljoin(authorization_url, login.headers["Location"])
            _expect_page(http.get(consent_url, timeout=5, allow_redirects=False), "Accept")
            answer = http.post(consent_url, data={"decision": "accept" if accept else "deny"},
                               timeout=5, allow_redirects=False)
            if not answer.is_redirect:
                raise RuntimeError(f"consent was not answered with a redirect: {answer.text[:500]}")
            return answer.headers["Location"]

    # -- wiring ----------------------------------------------------------------------------

    def _create_app(self) -> Flask:
        """The Flask app with the shape's routes."""
        app = Flask(f"oauth_test_server_{self.shape}")
        app.secret_key = secrets.token_bytes(32)
        if self.shape == "google":
            app.add_url_rule("/o/oauth2/v2/auth", "authorize", self._authorize,
                             methods=["GET", "POST"])
            app.add_url_rule("/token", "token", self._token, methods=["POST"])
            app.add_url_rule("/revoke", "revoke", self._revoke_view, methods=["POST"])
            app.add_url_rule("/v1/userinfo", "userinfo", self._userinfo)
        else:
            app.add_url_rule("/<tenant>/oauth2/v2.0/authorize", "authorize", self._authorize,
                             methods=["GET", "POST"])
            app.add_url_rule("/<tenant>/oauth2/v2.0/token", "token", self._token, methods=["POST"])
        app.add_url_rule("/login", "login", self._login, methods=["POST"])
        app.add_url_rule("/logout", "logout", self._logout)
        return app

    def _create_authorization_server(self) -> _Authorization:
        """Authlib's server with our grants, client authentication and token generator."""
        server = _Authorization(self)
        server.register_token_generator("default", BearerTokenGenerator(
            lambda **_: secrets.token_urlsafe(32),
            lambda **_: secrets.token_urlsafe(48),
            lambda client, grant_type: self.access_token_lifetime,
        ))
        server.register_client_auth_method("client_secret_basic", self._auth_basic)
        server.register_client_auth_method("client_secret_post", self._auth_post)
        server.register_grant(CodeGrant, [RequiredS256()])
        server.register_grant(RefreshGrant)
        if self.shape == "google":
            server.register_client_auth_method("token_owner", self._auth_token_owner)
            server.register_endpoint(GoogleRevocation)
            server.register_grant(ServiceAccountGrant)
        else:
            server.register_client_auth_method(CertificateAssertion.CLIENT_AUTH_METHOD, CertificateAssertion(self))
            server.register_grant(ClientCredentials)
        return server

    # -- views -----------------------------------------------------------------------------

    def _authorize(self, tenant: str | None = None):
        """Authorization endpoint: login page, consent page, then the redirect to the client."""
        self._note_tenant(tenant)
        user = self._signed_in_user()
        try:
            self._check_client_and_redirect_uri()
            grant = self.authorization.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            if error.redirect_uri:
                return self.authorization.handle_error_response(None, error)
            return self._error_page(error)
        if user is None:
            return self._page(LOGIN_PAGE, "Sign in", next_url=request.full_path,
                              email=request.args.get("login_hint", ""))
        if request.method == "GET":
            return self._page(CONSENT_PAGE, "Review permissions", email=user.email,
                              client_id=grant.client.client_id, action=request.full_path,
                              scopes=scope_to_list(request.args.get("scope", "")))
        granted = user if request.form.get("decision") == "accept" else None
        with self._lock:
            return self.authorization.create_authorization_response(grant=grant, grant_user=granted)

    def _login(self):
        """Check the password; on success remember the account in the session and go on."""
        next_url = _local_path(request.form.get("next", "/"))
        email = request.form.get("email", "").strip()
        user = self.users.get(email.lower())
        if user is None or not _same_secret(user.password, request.form.get("password", "")):
            return self._page(LOGIN_PAGE, "Sign in", next_url=next_url, email=email,
                              error="Wrong email or password. Try again.")
        session["email"] = user.email.lower()
        return redirect(next_url)

    def _logout(self):
        """Forget the signed-in account, then go back to where the user was."""
        session.clear()
        return redirect(_local_path(request.args.get("next", "/")))

    def _token(self, tenant: str | None = None):
        """Token endpoint, with the delay and garbage knobs; every call is recorded."""
        self._note_tenant(tenant)
        if self.token_delay and self._stopping.wait(self.token_delay):
            return Response("server stopping", status=503)
        garbage = self.token_garbage
        if garbage:
            response = Response("<html>not json</html>", status=200, content_type="text/html")
        else:
            with self._lock:
                response = self.authorization.create_token_response()
        self._record_token_request(ok=response.status_code == 200 and not garbage)
        if self.token_overrides and response.status_code == 200 and not garbage:
            response.set_data(json.dumps({**json.loads(response.get_data()), **self.token_overrides}))
        return response

    def _revoke_view(self):
        """Google's revocation endpoint; every posted token is recorded."""
        with self._lock:
            self.revoked.append(request.form.get("token", ""))
            return self.authorization.create_endpoint_response("revocation")

    def _userinfo(self):
        """Google's OpenID Connect userinfo for a live bearer token."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
            if token is None or not token.is_usable():
                challenge = 'Bearer realm="userinfo", error="invalid_token"'
                body = {"error": "invalid_token", "error_description": "Invalid Credentials"}
                return body, 401, {"WWW-Authenticate": challenge}
            return {"sub": token.user.sub, "email": token.user.email, "email_verified": True}

    # -- helpers for the views -------------------------------------------------------------

    def _page(self, template: str, title: str, **context):
        """Render one of the HTML pages (autoescaped)."""
        brand = "Google" if self.shape == "google" else "Microsoft"
        return render_template_string(template, title=title, brand=f"{brand} (test server)",
                                      **context)

    def _error_page(self, error: OAuth2Error):
        """The page shown instead of redirecting when the client or redirect URI is not trusted."""
        name, status, description = self._describe(error)
        return self._page(ERROR_PAGE, "Sign-in error", error=name, status=status,
                          description=description), status

    def _check_client_and_redirect_uri(self) -> None:
        """Unknown client or unregistered redirect URI: provider errors shown as a page."""
        client_id = request.args.get("client_id", "")
        client = self.clients.get(client_id)
        if client is None:
            raise ProviderError("unknown_client", client_id=client_id)
        redirect_uri = request.args.get("redirect_uri", "")
        if not client.check_redirect_uri(redirect_uri):
            raise ProviderError("redirect_mismatch", redirect_uri=redirect_uri, client_id=client_id)

    def _signed_in_user(self) -> User | None:
        """The account signed in through this server's session cookie."""
        return self.users.get(session.get("email", ""))

    def _note_tenant(self, tenant: str | None) -> None:
        """Record the tenant path segment of a Microsoft-shaped request."""
        if tenant is not None:
            with self._lock:
                self.tenants.append(tenant)

    def _record_token_request(self, ok: bool) -> None:
        """Append one token_requests entry for the current request."""
        basic_client_id, basic_secret = extract_basic_authorization(request.headers)
        entry = {"grant_type": request.form.get("grant_type"), "scope": request.form.get("scope"),
                 "client_id": request.form.get("client_id") or basic_client_id, "ok": ok,
                 "client_authentication": "private_key_jwt" if request.form.get("client_assertion") else
                 "client_secret" if request.form.get("client_secret") or basic_secret else None}
        if request.form.get("assertion"):  # a JWT bearer grant: the mailbox it asks a token for
            entry["subject"] = _unverified_claims(request.form["assertion"]).get("sub")
        with self._lock:
            self.token_requests.append(entry)

    # -- storage and Authlib callbacks ---------------------------------------------------

    def _query_client(self, client_id: str) -> Client | None:
        """Authlib's client lookup."""
        return self.clients.get(client_id)

    def _auth_basic(self, query_client, oauth_request) -> Client | None:
        """client_secret_basic with provider-shaped failures."""
        client_id, secret = extract_basic_authorization(oauth_request.headers)
        return self._auth_client(client_id, secret)

    def _auth_post(self, query_client, oauth_request) -> Client | None:
        """client_secret_post with provider-shaped failures."""
        form = oauth_request.form
        return self._auth_client(form.get("client_id"), form.get("client_secret"))

    def _auth_client(self, client_id: str | None, secret: str | None) -> Client | None:
        """None when no credentials came this way; a provider error when they are wrong."""
        if not client_id or not secret:
            return None
        client = self.clients.get(client_id)
        if client is None:
            raise ProviderError("unknown_client", client_id=client_id)
        if not client.check_client_secret(secret):
            raise ProviderError("bad_secret", client_id=client_id)
        if client.secret_expired:
            raise ProviderError("secret_expired", client_id=client_id)
        return client

    def _auth_token_owner(self, query_client, oauth_request) -> Client | None:
        """Google's /revoke needs no client credentials: the token names its client."""
        token = self._find_live_token(oauth_request.form.get("token", ""))
        if token is None:
            raise ProviderError("revoke_unknown")
        return query_client(token.client_id)

    def _save_code(self, code: str, oauth_request) -> None:
        """Store an authorization code with what the token request will need."""
        data = oauth_request.payload.data
        consented = oauth_request.scope
        self.codes[code] = AuthorizationCode(
            code=code, client_id=oauth_request.client.client_id,
            redirect_uri=oauth_request.payload.redirect_uri,
            scope=first_resource_scope(consented) if self.shape == "microsoft" else consented, consented=consented,
            user=oauth_request.user, code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            offline=self._offline_requested(data), nonce=data.get("nonce"))

    def _offline_requested(self, data) -> bool:
        """Google: access_type=offline AND prompt=consent; Microsoft: the offline_access scope."""
        if self.shape == "google":
            prompts = (data.get("prompt") or "").split()
            return data.get("access_type") == "offline" and "consent" in prompts
        return "offline_access" in (data.get("scope") or "").split()

    def _find_code(self, code: str, client: Client) -> AuthorizationCode:
        """A redeemable code of client, else the provider's invalid_grant."""
        record = self.codes.get(code)
        if record is None or record.client_id != client.client_id:
            raise ProviderError("code_unknown")
        if record.used:
            raise ProviderError("code_used")
        return record

    def _save_token(self, token: dict, oauth_request) -> None:
        """Store a token response; refreshed tokens stay in their grant's revocation family."""
        if oauth_request.payload.grant_type in APP_GRANT_TYPES:
            self._save_app_token(token, oauth_request)
            return
        parent = oauth_request.refresh_token
        record = Token(
            access_token=token["access_token"], refresh_token=token.get("refresh_token"),
            client_id=oauth_request.client.client_id, user=oauth_request.user,
            scope=token.get("scope", ""), expires_at=time.time() + token["expires_in"],
            family=parent.family if parent else secrets.token_hex(8),
            consented=parent.consented if parent else oauth_request.authorization_code.consented)
        self.tokens[record.access_token] = record
        if record.refresh_token:
            self.refresh_index[record.refresh_token] = record

    def _save_app_token(self, token: dict, oauth_request) -> None:
        """An application's token (Microsoft, with ext_expires_in as Entra ID adds it), or a service account's for the
        mailbox it acts as (Google)."""
        if self.shape == "microsoft":
            token["ext_expires_in"] = token["expires_in"]
        subject = oauth_request.user if isinstance(oauth_request.user, str) else None
        client_id = oauth_request.client.get_client_id()
        scope = token.get("scope", "")
        roles = self.app_permissions.get(client_id, set()) if scope == f"{self.graph_resource}/.default" else set()
        self.app_tokens[token["access_token"]] = AppToken(
            token["access_token"], client_id, subject, scope, time.time() + token["expires_in"], frozenset(roles))

    def _app_identity(self, token: AppToken) -> AppIdentity | None:
        """Whom a live app-only token granted the SMTP scope may sign in as, at this moment's permissions."""
        if not token.is_usable() or not APP_SMTP_SCOPES[self.shape](self) & set(token.scope.split()):
            return None
        if token.subject is not None:
            return AppIdentity(token.client_id, frozenset({token.subject.lower()}))
        return AppIdentity(token.client_id, frozenset(self.mailbox_permissions.get(token.client_id, ())))

    def _app_token_info(self, token: AppToken) -> TokenInfo | None:
        """token_info of an app-only token: the mailboxes it may act as at this moment's permissions."""
        if not token.is_usable():
            return None
        if token.subject is not None:
            mailboxes = frozenset({token.subject.lower()})
        else:
            mailboxes = frozenset(self.mailbox_permissions.get(token.client_id, ()))
        return TokenInfo(user=None, client_id=token.client_id, app_only=True, scopes=frozenset(token.scope.split()),
                         resource=self._resource(token.scope), roles=token.roles, subject=token.subject,
                         mailboxes=mailboxes)

    def _resource(self, scope: str) -> str | None:
        """The audience of a token granted scope: Microsoft's one resource; None at Google (not per resource)."""
        return next(iter(resources_of(scope)), None) if self.shape == "microsoft" else None

    def _find_live_token(self, token_string: str) -> Token | None:
        """The record of a not-yet-revoked refresh or access token."""
        with self._lock:
            token = self.refresh_index.get(token_string)
            if token is not None and not token.refresh_revoked:
                return token
            token = self.tokens.get(token_string)
            return token if token is not None and not token.access_revoked else None

    def _revoke(self, token: Token, token_string: str) -> None:
        """Revoke one access token, or for a refresh token its whole grant."""
        with self._lock:
            if token_string != token.refresh_token:
                token.access_revoked = True
                return
            for other in self.tokens.values():
                if other.family == token.family:
                    other.access_revoked = other.refresh_revoked = True

    def _decorate_token(self, token: dict, user: User, oauth_request) -> None:
        """Add id_token (when openid was granted) and Microsoft's ext_expires_in."""
        if self.shape == "microsoft":
            token["ext_expires_in"] = token["expires_in"]
        if "openid" in token.get("scope", "").split():
            nonce = getattr(oauth_request.authorization_code, "nonce", None)
            token["id_token"] = self._id_token(user, oauth_request.client.client_id, nonce)

    def _id_token(self, user: User, client_id: str, nonce: str | None) -> str:
        """An HS256 ID token with the provider's usual claims."""
        now = int(time.time())
        claims = {"aud": client_id, "iat": now, "exp": now + 3600, "sub": user.sub,
                  "email": user.email}
        if self.shape == "google":
            claims.update(iss=self.base_url, azp=client_id, email_verified=True)
        else:
            claims.update(iss=f"{self.base_url}/{self.tenant_id}/v2.0", ver="2.0", nbf=now,
                          tid=self.tenant_id, oid=user.oid, preferred_username=user.email)
        if nonce:
            claims["nonce"] = nonce
        return hs256_jwt(claims, self.id_token_key)

    # -- errors ----------------------------------------------------------------------------

    def _describe(self, error: OAuth2Error) -> tuple[str, int, str]:
        """(error, HTTP status, description) as this provider would word them."""
        key = getattr(error, "key", error.error)
        if key in ERRORS:
            name, status, template = ERRORS[key][self.shape]
            return name, status, template.format(**getattr(error, "context", {}))
        description = error.get_error_description() or ""
        if self.shape == "microsoft":
            description = f"{FALLBACK_AADSTS} {description}".strip()
        return error.error, error.status_code, description

    def _error_triplet(self, error: OAuth2Error) -> tuple[int, object, list]:
        """Authlib's (status, body, headers) for an error: a redirect to the client, or JSON."""
        name, status, description = self._describe(error)
        if error.redirect_uri:
            params = [("error", name)]
            if description:
                params.append(("error_description", description))
            if error.state:
                params.append(("state", error.state))
            return 302, "", [("Location", add_params_to_uri(error.redirect_uri, params))]
        body = {"error": name}
        if self.shape == "microsoft":
            body.update(_microsoft_error_fields(description))
        elif description:
            body["error_description"] = description
        return status, body, list(default_json_headers)


def _microsoft_error_fields(description: str) -> dict:
    """error_description with the trace lines Entra ID appends, error_codes and trace ids."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    code = re.match(r"AADSTS(\d+)", description)
    return {
        "error_description": f"{description}\r\nTrace ID: {trace_id}\r\n"
                             f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}",
        "error_codes": [int(code.group(1))] if code else [],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
    }


def _unverified_claims(assertion: str | None) -> dict:
    """The claims of a JWT bearer assertion, read without checking anything (for the records)."""
    try:
        claims = json.loads(jws.extract_compact(assertion.encode()).payload)
    except (AttributeError, JoseError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _local_path(url: str) -> str:
    """url if it is a path on this server, else "/" (no open redirects)."""
    return url if url.startswith("/") and not url.startswith("//") else "/"


def _expect_page(response: requests.Response, marker: str) -> None:
    """Raise RuntimeError unless response is a 200 page containing marker."""
    if response.status_code != 200 or marker not in response.text:
        raise RuntimeError(f"unexpected page ({response.status_code}): {response.text[:500]}")
