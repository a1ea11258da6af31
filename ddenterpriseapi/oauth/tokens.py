"""The one writer of tokens: storing a grant, a valid access token on demand (refreshed single-flight across threads
and processes), re-authorization and disconnection."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from .. import audit
from ..database import locked, locked_singleton
from ..extensions import db
from ..models import OAuthConnection
from ..providers import Provider
from ..runtime import Runtime
from ..said import Said, said, stored
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


def _usable(connection: OAuthConnection, rejected: str | None, runtime: Runtime) -> bool:
    """The stored access token is good for a while yet, and is not the one the SMTP server just refused."""
    if not connection.access_token or connection.access_token == rejected:
        return False
    issued = connection.last_refresh_at or connection.authorized_at
    return fresh(connection.access_token_expires_at, issued, runtime)


def _check(connection: OAuthConnection | None) -> OAuthConnection:
    """The connection if it can yield tokens; NotAuthorized or ReauthorizationRequired if not."""
    if connection is None:
        raise NotAuthorized(said("not_authorized"))
    if connection.needs_reauthorization:
        raise ReauthorizationRequired(connection.reauthorization_reason)
    return connection


def _token(connection: OAuthConnection) -> AccessToken:
    return AccessToken(connection.access_token, connection.account_email or "", connection.provider)


def get_access_token(runtime: Runtime, rejected: str | None = None) -> AccessToken:
    """A valid access token; refreshes when needed, one refresher at a time across threads and processes,
    without holding a database lock while the provider answers."""
    return single_flight(lambda: _stored(rejected, runtime), lambda: _take_lease(rejected, runtime),
                         lambda lease: _refresh_under_lease(runtime, *lease))


def _stored(rejected: str | None, runtime: Runtime) -> AccessToken | None:
    connection = authorized_connection()
    return _token(connection) if _usable(connection, rejected, runtime) else None


def _take_lease(rejected: str | None, runtime: Runtime) -> tuple[str, str] | None:
    """Become the one refresher until the lease ends: (lease owner, refresh token used), or None while another
    refresher's lease runs or its token has arrived."""
    connection = _check(locked(OAuthConnection, id=1))
    owner = None if _usable(connection, rejected, runtime) else REFRESH_LEASE.take(connection, runtime)
    refresh_token = connection.refresh_token
    db.session.commit()
    return None if owner is None else (owner, refresh_token)


def _refresh_under_lease(runtime: Runtime, owner: str, refresh_token: str) -> AccessToken | None:
    """Call the token endpoint with no lock held, then store the answer if the refresh token is still the one
    used (compare-and-set); None when the connection changed meanwhile and must be looked at again."""
    params = client_parameters(get_settings(), runtime)
    db.session.rollback()  # no transaction open while the provider answers
    try:
        grant = flow.refresh(params, refresh_token)
    except OAuthError as error:
        raise _recorded_failure(owner, refresh_token, error, runtime.providers) from None
    connection = _unchanged(refresh_token)
    if connection is None:
        return None
    connection.access_token = grant.access_token
    connection.access_token_expires_at = grant.expires_at
    if grant.refresh_token:  # a response without one never erases the one we have
        connection.refresh_token = grant.refresh_token
    connection.last_refresh_at = datetime.now(UTC)
    REFRESH_LEASE.end(connection, owner)
    token = _token(connection)
    db.session.commit()
    return token


def _unchanged(refresh_token: str) -> OAuthConnection | None:
    """The locked row if it still holds this refresh token: not disconnected or re-authorized meanwhile."""
    connection = locked(OAuthConnection, id=1)
    if connection is None or connection.refresh_token != refresh_token:
        db.session.rollback()
        return None
    return connection


def _recorded_failure(owner: str, refresh_token: str, error: OAuthError,
                      registry: dict[str, Provider]) -> OAuthError:
    """End the lease; a refused refresh token (invalid_grant) means only a new authorization can help."""
    connection = _unchanged(refresh_token)
    if connection is None:
        return error
    REFRESH_LEASE.end(connection, owner)
    if error.code != "invalid_grant":  # e.g. an expired client secret: fixed on the OAuth page, no re-consent
        db.session.commit()
        return error
    message = refresh_refused(error, registry[connection.provider])
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


def store_grant(grant: TokenGrant, provider: Provider) -> OAuthConnection:
    """Replace the connection with the new tokens."""
    connection = locked_singleton(OAuthConnection)
    connection.provider = provider.key
    connection.account_email = grant.account_email
    connection.refresh_token = grant.refresh_token
    connection.access_token = grant.access_token
    connection.access_token_expires_at = grant.expires_at
    connection.granted_scopes = grant.scopes
    connection.authorized_at = datetime.now(UTC)
    connection.last_refresh_at = None
    connection.reauthorization_error = None
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
    db.session.commit()
    return warning
