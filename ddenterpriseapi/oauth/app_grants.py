"""The token calls of app-only sign-in, with requests-oauthlib: the client credentials grant (Microsoft: the
application authenticated by its client secret, or by a client assertion signed with its certificate) and the JWT
bearer grant (RFC 7523; Google: a service account acting as a mailbox of its domain). PyJWT signs the assertions;
nothing here logs or quotes a secret, a key or an assertion."""

import time
import uuid
from dataclasses import dataclass, field

import jwt
from oauthlib.oauth2 import BackendApplicationClient, ServiceApplicationClient
from oauthlib.oauth2.rfc6749.parameters import prepare_token_request
from requests_oauthlib import OAuth2Session

from .credentials import Certificate, ServiceAccountKey
from .flow import TokenGrant, checked_session, provider_call, secure_alias, token_grant

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ASSERTION_SECONDS = 600  # Microsoft: "5-10 minutes after nbf"
CLIENT_ASSERTION_ALGORITHM = "PS256"  # what Microsoft asks for beside the x5t#S256 header
SERVICE_ASSERTION_SECONDS = 3600  # Google's longest


@dataclass(frozen=True)
class AppClient:
    """An application signing in as itself: its tenant's token URL, its client ID and its secret or certificate."""

    token_url: str
    client_id: str
    scope: str
    timeout: float
    client_secret: str | None = field(default=None, repr=False)  # a traceback's locals never show it
    certificate: Certificate | None = None


@dataclass(frozen=True)
class ServiceAccountClient:
    """A service account acting as one mailbox (domain-wide delegation)."""

    key: ServiceAccountKey
    mailbox: str
    scope: str
    timeout: float


def client_credentials(app: AppClient) -> TokenGrant:
    """The application's own access token (client credentials grant)."""
    session = checked_session(OAuth2Session(client=BackendApplicationClient(app.client_id)))
    url = secure_alias(session, app.token_url)
    if app.certificate is None:
        authentication = {"client_secret": app.client_secret}
    else:
        authentication = {"client_assertion_type": CLIENT_ASSERTION_TYPE,
                          "client_assertion": client_assertion(app.certificate, app.client_id, app.token_url)}
    token = provider_call(lambda: session.fetch_token(url, scope=app.scope, include_client_id=True,
                                                      timeout=app.timeout, **authentication), app_only=True)
    return token_grant(token, None)


def client_assertion(certificate: Certificate, client_id: str, token_url: str) -> str:
    """private_key_jwt: a short-lived JWT naming the application, for the token URL, signed with its certificate's
    key, the certificate named by its SHA-256 thumbprint."""
    now = int(time.time())
    claims = {"aud": token_url, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
              "nbf": now, "iat": now, "exp": now + CLIENT_ASSERTION_SECONDS}
    return jwt.encode(claims, certificate.private_key_pem, algorithm=CLIENT_ASSERTION_ALGORITHM,
                      headers={"x5t#S256": certificate.x5t_s256})


class KeyedServiceClient(ServiceApplicationClient):
    """oauthlib's JWT bearer client, its assertion as Google's own libraries write it: the header names the key
    that signed it (kid), the claims carry the scope."""

    def __init__(self, key: ServiceAccountKey, mailbox: str):
        super().__init__(None, private_key=key.private_key_pem, subject=mailbox, issuer=key.client_email,
                         audience=key.token_uri)
        self.key_id = key.private_key_id

    def prepare_request_body(self, body="", scope=None, **kwargs):
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.subject, "aud": self.audience, "scope": scope, "iat": now,
                  "exp": now + SERVICE_ASSERTION_SECONDS}
        assertion = jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.key_id})
        return prepare_token_request(self.grant_type, body=body, assertion=assertion)


def service_account_token(account: ServiceAccountClient) -> TokenGrant:
    """An access token for the mailbox (JWT bearer grant at the key file's token_uri)."""
    session = checked_session(OAuth2Session(client=KeyedServiceClient(account.key, account.mailbox)))
    url = secure_alias(session, account.key.token_uri)
    token = provider_call(lambda: session.fetch_token(url, scope=account.scope, timeout=account.timeout),
                          app_only=True)
    return token_grant(token, None)
