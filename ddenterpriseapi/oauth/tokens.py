"""The one writer of tokens: storing a grant, a valid access token on demand (refreshed single-flight across threads
and processes), re-authorization and disconnection."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import delete, select

from .. import audit
from ..database import locked, locked_or_new, locked_singleton
from ..extensions import db
from ..models import AppToken, OAuthConnection
from ..providers import Provider
from ..runtime import Runtime
from ..said import Said, read_stored, said, stored
from . import flow
from .errors import OAuthError, refresh_refused
from .flow import ClientParameters, TokenGrant
from .lease import LeaseColumns, fresh, single_flight
from .settings import client_parameters, get_settings

REFRESH_LEASE = LeaseColumns("refresh_lease_owner", "refresh_lease_until")


@dataclass(frozen=True)
class AccessToken:
    """A bearer token, the mailbox it acts for, and the provider that issued it (whose servers alone may see it)."""

    value: str
    mailbox: str
    provider: str
    app_only: bool = False  # the application's own token: it signs in as the mailbox it was asked for


class NotAuthorized(OAuthError):
    """OAuth is chosen but nobody has authorized yet."""

    api_status = 503

    def api_details(self) -> dict:
        return {"reauthorization_required": True}


class ReauthorizationRequired(NotAuthorized):
    """The refresh token is dead: only an administrator clicking Authorize can revive sending."""


class ConsentRequired(NotAuthorized):
    """The authorized account never consented to the permission the HTTPS API needs: Authorize again, asking for it."""

    def api_details(self) -> dict:
        return {"consent_required": True}


def resource_key(scope: str) -> str:
    """The cache row of a person's token for another resource than the authorization's own."""
    return f"delegated {scope}"


def _usable(token: str | None, expires_at: datetime | None, issued_at: datetime | None, rejected: str | None,
            runtime: Runtime) -> bool:
    """The token is good for a while yet, and is not the one a server just refused."""
    return bool(token) and token != rejected and fresh(expires_at, issued_at, runtime)


def _usable_own(connection: OAuthConnection, rejected: str | None, runtime: Runtime) -> bool:
    return _usable(connection.access_token, connection.access_token_expires_at,
                   connection.last_refresh_at or connection.authorized_at, rejected, runtime)


def _check(connection: OAuthConnection | None) -> OAuthConnection:
    """The connection if it can yield tokens; NotAuthorized or ReauthorizationRequired if not."""
    if connection is None:
        raise NotAuthorized(said("not_authorized"))
    if connection.needs_reauthorization:
        raise ReauthorizationRequired(connection.reauthorization_reason)
    return connection


def check_consented(connection: OAuthConnection, scope: str) -> None:
    """ConsentRequired unless the authorization asked for this scope and the provider did not refuse a token for it
    since (the refusal is kept on the resource's row until the next authorization)."""
    consented = (connection.consented_scopes or connection.granted_scopes or "").split()
    if scope not in consented:
        raise ConsentRequired(said("api_consent_required", scope=scope))
    refusal = db.session.scalar(select(AppToken.rejection).filter_by(key=resource_key(scope)))
    if refusal:
        raise ConsentRequired(read_stored(refusal))


def _token(connection: OAuthConnection, value: str | None = None) -> AccessToken:
    return AccessToken(value or connection.access_token, connection.account_email or "", connection.provider)


def get_access_token(runtime: Runtime, rejected: str | None = None, resource: str | None = None) -> AccessToken:
    """A valid access token, for the authorization's own resource or (Microsoft) for the one of scope `resource`;
    refreshes when needed, one refresher at a time across threads and processes, without holding a database lock
    while the provider answers."""
    return single_flight(lambda: _stored(rejected, runtime, resource), lambda: _take_lease(rejected, runtime, resource),
                         lambda lease: _refresh_under_lease(runtime, *lease, resource))


def _resource_row(resource: str) -> AppToken | None:
    return db.session.execute(select(AppToken).filter_by(key=resource_key(resource))
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def _usable_for(connection: OAuthConnection, rejected: str | None, runtime: Runtime,
                resource: str | None) -> AccessToken | None:
    """The cached token for the resource when it is usable, else None."""
    if resource is None:
        return _token(connection) if _usable_own(connection, rejected, runtime) else None
    check_consented(connection, resource)
    row = _resource_row(resource)
    if row is None or not _usable(row.access_token, row.expires_at, row.obtained_at, rejected, runtime):
        return None
    return _token(connection, row.access_token)


def _stored(rejected: str | None, runtime: Runtime, resource: str | None) -> AccessToken | None:
    return _usable_for(authorized_connection(), rejected, runtime, resource)


def _take_lease(rejected: str | None, runtime: Runtime, resource: str | None) -> tuple[str, str] | None:
    """Become the one refresher until the lease ends: (lease owner, refresh token used), or None while another
    refresher's lease runs or its token has arrived. One lease for every resource: a refresh may rotate the one
    refresh token they share."""
    connection = _check(locked(OAuthConnection, id=1))
    try:
        usable = _usable_for(connection, rejected, runtime, resource)
    except ConsentRequired:
        db.session.rollback()
        raise
    owner = None if usable else REFRESH_LEASE.take(connection, runtime)
    refresh_token = connection.refresh_token
    db.session.commit()
    return None if owner is None else (owner, refresh_token)


def _refresh_under_lease(runtime: Runtime, owner: str, refresh_token: str, resource: str | None) -> AccessToken | None:
    """Call the token endpoint with no lock held, then store the answer if the refresh token is still the one
    used (compare-and-set); None when the connection changed meanwhile and must be looked at again."""
    params = client_parameters(get_settings(), runtime)
    if resource is not None:  # a token serves one resource: ask for the other's alone
        params = replace(params, scopes=f"{resource} offline_access", refresh_with_scopes=True)
    db.session.rollback()  # no transaction open while the provider answers
    try:
        grant = flow.refresh(params, refresh_token)
    except OAuthError as error:
        raise _recorded_failure(owner, refresh_token, error, runtime.providers, resource) from None
    connection = _unchanged(refresh_token)
    if connection is None:
        return None
    if resource is None:
        connection.access_token = grant.access_token
        connection.access_token_expires_at = grant.expires_at
        connection.last_refresh_at = datetime.now(UTC)
    else:
        row = locked_or_new(AppToken, key=resource_key(resource))
        row.access_token, row.expires_at, row.obtained_at = grant.access_token, grant.expires_at, datetime.now(UTC)
    if grant.refresh_token:  # a response without one never erases the one we have
        connection.refresh_token = grant.refresh_token
    REFRESH_LEASE.end(connection, owner)
    token = _token(connection, grant.access_token)
    db.session.commit()
    return token


def _unchanged(refresh_token: str) -> OAuthConnection | None:
    """The locked row if it still holds this refresh token: not disconnected or re-authorized meanwhile."""
    connection = locked(OAuthConnection, id=1)
    if connection is None or connection.refresh_token != refresh_token:
        db.session.rollback()
        return None
    return connection


def _recorded_failure(owner: str, refresh_token: str, error: OAuthError, registry: dict[str, Provider],
                      resource: str | None) -> OAuthError:
    """End the lease; a refused refresh token (invalid_grant) means only a new authorization can help; so does a
    refusal to consent to another resource, which leaves the authorization's own resource working."""
    connection = _unchanged(refresh_token)
    if connection is None:
        return error
    REFRESH_LEASE.end(connection, owner)
    if error.code != "invalid_grant":  # e.g. an expired client secret: fixed on the OAuth page, no re-consent
        db.session.commit()
        return error
    provider = registry[connection.provider]
    if resource is not None and provider.consent_refused_marker and provider.consent_refused_marker in error.message:
        message = said("api_consent_refused", scope=resource, error=error.message)
        locked_or_new(AppToken, key=resource_key(resource)).rejection = stored(message)
        db.session.commit()
        return ConsentRequired(message, code=error.code)
    message = refresh_refused(error, provider)
    connection.reauthorization_error = stored(message)
    db.session.commit()
    audit.record("reauthorization_required", audit.SYSTEM, wording=message)
    return ReauthorizationRequired(message, code=error.code)


def refresh_now(runtime: Runtime) -> tuple[str | None, datetime | None]:
    """Refresh whatever the expiry: proves the refresh token is alive and keeps it from ageing out unused."""
    connection = authorized_connection()
    get_access_token(runtime, rejected=connection.access_token)
    connection = get_connection()
    return connection.account_email, connection.access_token_expires_at


def authorized_connection() -> OAuthConnection:
    """The connection, checked without asking the provider: NotAuthorized or ReauthorizationRequired if unusable."""
    return _check(get_connection())


def get_connection() -> OAuthConnection | None:
    return db.session.get(OAuthConnection, 1)


def authorized_account() -> str | None:
    """The authorized account's address, read without decrypting a token: accepting a message needs only that."""
    return db.session.scalar(select(OAuthConnection.account_email).where(OAuthConnection.id == 1))


def masked(token: str | None) -> str:
    """A token shown as its first and last four characters."""
    if not token:
        return ""
    return f"{token[:4]}…{token[-4:]}" if len(token) > 12 else "…"


def store_grant(grant: TokenGrant, provider: Provider, consented: str | None = None) -> OAuthConnection:
    """Replace the connection with the new tokens (and forget the previous one's tokens for other resources)."""
    connection = locked_singleton(OAuthConnection)
    connection.provider = provider.key
    connection.account_email = grant.account_email
    connection.refresh_token = grant.refresh_token
    connection.access_token = grant.access_token
    connection.access_token_expires_at = grant.expires_at
    connection.granted_scopes = grant.scopes
    connection.consented_scopes = consented
    connection.authorized_at = datetime.now(UTC)
    connection.last_refresh_at = None
    connection.reauthorization_error = None
    forget_resource_tokens()
    db.session.commit()
    return connection


GRANT_FIELDS = ("provider", "tenant", "client_id", "authorization_url", "token_url", "scopes")


def require_reauthorization_after(changed: list[str]) -> bool:
    """Tokens won under other parameters (provider, tenant, client, endpoints, scopes) cannot be refreshed with
    these: say so now rather than at the next send. A new client secret alone changes nothing."""
    fields = [name for name in changed if name in GRANT_FIELDS]
    connection = locked(OAuthConnection, id=1) if fields else None
    if connection is None:
        db.session.rollback()
        return False
    connection.reauthorization_error = stored(said("grant_parameters_changed", fields=", ".join(fields)))
    db.session.commit()
    return True


def disconnect(params: ClientParameters | None) -> Said | None:
    """Forget the tokens, revoking the refresh token where the provider allows; a warning if revocation failed."""
    connection = get_connection()
    if connection is None:
        return None
    warning = None
    if params is not None and connection.refresh_token:
        try:
            flow.revoke(params, connection.refresh_token)
        except OAuthError as error:
            warning = error.said
    db.session.delete(connection)
    forget_resource_tokens()
    db.session.commit()
    return warning


def forget_resource_tokens() -> None:
    """Drop a person's cached tokens for other resources, and any refusal to consent to them."""
    db.session.execute(delete(AppToken).where(AppToken.key.startswith(resource_key(""))))
