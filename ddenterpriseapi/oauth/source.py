"""Credential sources: where the access token for a mailbox comes from. Delegated sign-in: the refresh token an
administrator's authorization left. App-only sign-in: the application's own credentials (Microsoft's client
credentials, with a secret or a certificate) or a Google service account acting as the mailbox."""

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import MailServer, OAuthSettings
from ..providers import APPLICATION, SERVICE_ACCOUNT, SMTP, Provider
from ..runtime import Runtime
from ..validation import TENANT_ALIASES, url_problem
from .app_grants import AppClient, ServiceAccountClient, client_credentials, service_account_token
from .app_tokens import (
    APPLICATION_KEY,
    AppNotConfigured,
    AppTokenRequest,
    CredentialsChanged,
    app_access_token,
    check_not_rejected,
)
from .credentials import CredentialProblem, ServiceAccountKey, read_certificate, read_service_account_key
from .settings import get_settings, mailbox_list, provider_of
from .tokens import AccessToken, authorized_connection, check_consented, get_access_token


class CredentialSource(Protocol):
    """Yields an access token for the mailbox that sends."""

    def check_ready(self, mailbox: str | None = None) -> None:
        """Raise NotAuthorized (or a kind of it) when only an administrator can make tokens possible; asks no
        server anything."""

    def access_token(self, rejected: str | None = None, mailbox: str | None = None) -> AccessToken:
        """A valid token for the mailbox (None: the source's own), other than `rejected` (one a server has just
        refused)."""


@dataclass(frozen=True)
class RefreshTokenSource:
    """Delegated sign-in: a person authorized once; their refresh token yields access tokens, refreshed as needed.
    The token is the person's whatever the mailbox (a shared mailbox goes by the SMTP username)."""

    runtime: Runtime
    resource: str | None = None  # another resource's scope than the authorization's own (Microsoft Graph's)

    def check_ready(self, mailbox: str | None = None) -> None:
        connection = authorized_connection()
        if self.resource is not None:
            check_consented(connection, self.resource)

    def access_token(self, rejected: str | None = None, mailbox: str | None = None) -> AccessToken:
        return get_access_token(self.runtime, rejected, self.resource)


@dataclass(frozen=True)
class AppOnlySource:
    """App-only sign-in: no person, no refresh token; a token by the same grant whenever the cached one nears its
    expiry. Sends as a listed mailbox (the first, unless another is asked for)."""

    runtime: Runtime
    provider: str
    mailboxes: tuple[str, ...]
    saved_at: datetime | None  # when the parameters it was built from were saved: tokens store only if still so
    transport: str  # what the tokens are for: the SMTP server's resource, or the HTTPS API's
    problem: str | None  # what the OAuth page lacks, when it lacks something

    def request(self, mailbox: str) -> AppTokenRequest:
        raise NotImplementedError

    def check_ready(self, mailbox: str | None = None) -> None:
        check_not_rejected(self.request(self.mailbox(mailbox)).key)

    def access_token(self, rejected: str | None = None, mailbox: str | None = None) -> AccessToken:
        try:
            return app_access_token(self.request(self.mailbox(mailbox)), self.runtime, rejected)
        except CredentialsChanged:  # saved again while the token was asked for: ask with what is saved now
            db.session.rollback()
            return credential_source(get_settings(), self.runtime, self.transport).access_token(rejected, mailbox)

    def mailbox(self, asked: str | None) -> str:
        """The mailbox asked for when it is listed (addresses compare without regard to case), else the default."""
        if self.problem:
            raise AppNotConfigured(self.problem)
        if not self.mailboxes:
            raise AppNotConfigured(_("App-only sign-in sends as the mailboxes listed on the OAuth page: list at "
                                     "least one under Mailboxes and save."))
        if asked is None:
            return self.mailboxes[0]
        if asked.casefold() not in {mailbox.casefold() for mailbox in self.mailboxes}:
            raise AppNotConfigured(_("%(mailbox)s is not among the mailboxes listed on the OAuth page any more: list "
                                     "it again, and the messages it sends go out.", mailbox=asked))
        return asked


@dataclass(frozen=True)
class ClientCredentialsSource(AppOnlySource):
    """Application sign-in (Microsoft): the application's own token, one for every mailbox it was granted."""

    app: AppClient | None = None
    key: str = APPLICATION_KEY  # the cached token's row: one per resource

    def request(self, mailbox: str) -> AppTokenRequest:
        return AppTokenRequest(self.key, mailbox, self.provider, partial(client_credentials, self.app), self.saved_at)


@dataclass(frozen=True)
class ServiceAccountSource(AppOnlySource):
    """Service account sign-in (Google Workspace): a token per mailbox, the service account acting as it
    (domain-wide delegation)."""

    key: ServiceAccountKey | None = None
    scope: str = ""

    def request(self, mailbox: str) -> AppTokenRequest:
        account = ServiceAccountClient(self.key, mailbox, self.scope, self.runtime.http_timeout)
        return AppTokenRequest(mailbox.lower(), mailbox, self.provider, partial(service_account_token, account),
                               self.saved_at)


def chosen_transport(session=None) -> str:
    """The transport saved on the Email server page (SMTP before it is saved): whose resource tokens are for."""
    return (session or db.session).scalar(select(MailServer.transport).where(MailServer.id == 1)) or SMTP


def app_token_keys(settings: OAuthSettings, session=None) -> tuple[str, ...] | None:
    """The app_token rows the saved sign-in uses for the saved transport, the default mailbox's first (Microsoft: the
    application's one row per resource; Google: a row per listed mailbox); None under delegated sign-in."""
    if settings.sign_in == APPLICATION:
        return (application_key(chosen_transport(session)),)
    if settings.sign_in == SERVICE_ACCOUNT:
        return tuple(mailbox.lower() for mailbox in mailbox_list(settings))
    return None


def credential_source(settings: OAuthSettings, runtime: Runtime, transport: str = SMTP) -> CredentialSource:
    """The source the saved OAuth parameters call for, with tokens for the transport: who signs in decides."""
    if settings.sign_in == APPLICATION:
        return application_source(settings, runtime, transport)
    if settings.sign_in == SERVICE_ACCOUNT:
        return service_account_source(settings, runtime, transport)
    provider = provider_of(settings, runtime.providers)
    return RefreshTokenSource(runtime, provider.api_resource() if transport == provider.mail_api else None)


def application_key(transport: str) -> str:
    """The row of the application's token for the transport's resource: "" for SMTP's, the API's name for its own."""
    return APPLICATION_KEY if transport == SMTP else transport


def application_source(settings: OAuthSettings, runtime: Runtime, transport: str) -> ClientCredentialsSource:
    """The application's client credentials as saved, or what is missing from them."""
    provider = provider_of(settings, runtime.providers)
    source = partial(ClientCredentialsSource, runtime, settings.provider, tuple(mailbox_list(settings)),
                     settings.updated_at, transport)
    problem = sign_in_problem(settings, provider) or tenant_problem(settings.tenant)
    missing = [label for label, value in ((_("Client ID"), settings.client_id), (
        _("Client Secret or certificate"), settings.client_secret or settings.client_certificate)) if not value]
    if problem or missing:
        return source(problem or _("Application sign-in needs the %(fields)s: enter them on the OAuth page and save.",
                                   fields=_(" and ").join(missing)))
    try:
        certificate = read_certificate(settings.client_certificate) if settings.client_certificate else None
    except CredentialProblem as unusable:
        return source(_("The stored certificate cannot be used: %(problem)s", problem=unusable))
    scope = provider.api_app_scope if transport == provider.mail_api else provider.app_scope
    client = AppClient(provider.endpoint(provider.token_url, settings.tenant), settings.client_id, scope,
                       runtime.http_timeout, settings.client_secret, certificate)
    return source(None, client, application_key(transport))


def service_account_source(settings: OAuthSettings, runtime: Runtime, transport: str) -> ServiceAccountSource:
    """The service account's key file as saved, or why it cannot be used (its token serves SMTP and the Gmail API
    alike)."""
    provider = provider_of(settings, runtime.providers)
    source = partial(ServiceAccountSource, runtime, settings.provider, tuple(mailbox_list(settings)),
                     settings.updated_at, transport)
    problem = sign_in_problem(settings, provider)
    if problem or not settings.service_account_key:
        return source(problem or _("Service account sign-in needs the service account's JSON key file: choose it "
                                   "on the OAuth page and save."))
    try:
        key = read_service_account_key(settings.service_account_key)
    except CredentialProblem as unusable:
        return source(_("The stored key file cannot be used: %(problem)s", problem=unusable))
    problem = url_problem(key.token_uri)  # checked like every provider URL, before an assertion goes there
    if problem:
        return source(_("The key file's token_uri cannot be used: %(problem)s Download a new JSON key.",
                        problem=problem))
    return source(None, key, provider.app_scope or "")


def sign_in_problem(settings: OAuthSettings, provider: Provider) -> str | None:
    """Why the saved provider cannot sign in this way (the provider changed after the sign-in was chosen), or None."""
    if settings.sign_in in provider.sign_ins and provider.app_scope:
        return None
    return _("%(provider)s does not offer this sign-in: choose another one on the OAuth page and save.",
             provider=provider.label)


def tenant_problem(tenant: str | None) -> str | None:
    """Application sign-in gets its token from one tenant's endpoint, never from common, organizations or consumers."""
    if tenant and tenant.lower() not in TENANT_ALIASES:
        return None
    return _("Application sign-in needs your tenant: enter the Directory (tenant) ID or a verified domain on the "
             "OAuth page (not common, organizations or consumers) and save.")
