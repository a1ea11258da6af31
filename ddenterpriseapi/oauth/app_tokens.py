"""The access tokens of app-only sign-in: cached in the database for every process, obtained one token call at a time
(the lease of oauth/lease.py), asked for again by the same grant as their expiry nears (no refresh token comes with
them), and a refusal of the credentials recorded, so that mail waits for an administrator instead of asking the
provider again and again."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .. import audit
from ..database import locked, locked_or_new
from ..extensions import db
from ..models import AppToken, OAuthSettings
from ..runtime import Runtime
from .errors import OAuthError
from .flow import TokenGrant
from .lease import LeaseColumns, fresh, single_flight
from .tokens import AccessToken, NotAuthorized

APP_LEASE = LeaseColumns("lease_owner", "lease_until")
APPLICATION_KEY = ""  # Microsoft: the application's one token serves every mailbox it was granted
REJECTION_RECHECK = timedelta(minutes=15)  # a refusal fixed at the provider alone (delegation granted) is seen then
REFUSING_CODES = {"invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope"}  # the credentials' fault
CREDENTIAL_FIELDS = ("provider", "sign_in", "cloud", "tenant", "token_url", "client_id", "client_secret",
                     "client_certificate", "service_account_key")


class AppNotConfigured(NotAuthorized):
    """App-only sign-in lacks what only the OAuth page can give: a client ID, a secret or certificate, a key file, a
    tenant, a mailbox."""

    def api_details(self) -> dict:
        return {"configuration_required": True}


class CredentialsRejected(NotAuthorized):
    """The token endpoint refused the application's or the service account's credentials: mail is held until an
    administrator saves working ones."""

    def api_details(self) -> dict:
        return {"credentials_rejected": True}


class CredentialsChanged(OAuthError):
    """New credentials were saved while a token was requested with the old ones: that token is dropped, and the
    next attempt (the message deferred a moment) asks with the new ones."""


@dataclass(frozen=True)
class AppTokenRequest:
    """Which cached token (key), for which mailbox and provider, and the grant that obtains a new one."""

    key: str
    mailbox: str
    provider: str
    obtain: Callable[[], TokenGrant]
    saved_at: datetime | None = None  # when the OAuth parameters it was built from were saved


def app_access_token(request: AppTokenRequest, runtime: Runtime, rejected: str | None = None) -> AccessToken:
    """The cached token while it is good for a while yet and not `rejected`; else a new one, one token call at a time
    across threads and processes, no database lock held while the provider answers."""
    return single_flight(lambda: _cached(request, rejected, runtime), lambda: _take_lease(request, rejected, runtime),
                         lambda owner: _obtain_under_lease(request, owner))


def check_not_rejected(key: str) -> None:
    """CredentialsRejected while a refusal of the credentials stands, found without asking the provider."""
    found = db.session.execute(select(AppToken.rejection, AppToken.rejected_at).filter_by(key=key)).one_or_none()
    if found is not None:
        _refuse_if_rejected(*found)


def recorded_rejection(keys: tuple[str, ...], session=None) -> str | None:
    """The newest refusal of the credentials recorded on these rows (it stands until new credentials are saved or a
    token comes), however long ago: what an administrator must fix; None when there is none."""
    session = session or db.session
    return session.scalar(select(AppToken.rejection).where(AppToken.key.in_(keys), AppToken.rejection.is_not(None))
                          .order_by(AppToken.rejected_at.desc()).limit(1))


def forget_app_tokens(changed: list[str] | None = None) -> bool:
    """Forget the cached tokens and any refusal when the credentials changed (all of them for None): the next token
    comes from the new ones. Whether anything was forgotten."""
    if changed is not None and not any(name in CREDENTIAL_FIELDS for name in changed):
        return False
    forgotten = db.session.execute(delete(AppToken)).rowcount
    db.session.commit()
    return bool(forgotten)


def _refuse_if_rejected(rejection: str | None, rejected_at: datetime | None) -> None:
    if rejection and rejected_at and rejected_at + REJECTION_RECHECK > datetime.now(UTC):
        raise CredentialsRejected(rejection)


def _usable(row: AppToken, rejected: str | None, runtime: Runtime) -> bool:
    return bool(row.access_token) and row.access_token != rejected and fresh(row.expires_at, row.obtained_at, runtime)


def _token(row: AppToken, request: AppTokenRequest) -> AccessToken:
    return AccessToken(row.access_token, request.mailbox, request.provider, app_only=True)


def _cached(request: AppTokenRequest, rejected: str | None, runtime: Runtime) -> AccessToken | None:
    row = db.session.execute(select(AppToken).filter_by(key=request.key)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        return None
    _refuse_if_rejected(row.rejection, row.rejected_at)
    return _token(row, request) if _usable(row, rejected, runtime) else None


def _take_lease(request: AppTokenRequest, rejected: str | None, runtime: Runtime) -> str | None:
    """Become the one caller of the token endpoint until the lease ends (its owner), or None while another caller's
    lease runs or its token has arrived."""
    row = locked_or_new(AppToken, key=request.key)
    try:
        _refuse_if_rejected(row.rejection, row.rejected_at)
    except CredentialsRejected:
        db.session.rollback()
        raise
    owner = None if _usable(row, rejected, runtime) else APP_LEASE.take(row, runtime)
    db.session.commit()
    return owner


def _obtain_under_lease(request: AppTokenRequest, owner: str) -> AccessToken | None:
    """Ask the provider with no transaction open, then store the token if the lease is still ours (compare-and-set:
    new credentials saved meanwhile forgot the row); None when it is not, to look again."""
    db.session.rollback()
    try:
        grant = request.obtain()
    except OAuthError as error:
        raise _recorded_failure(request, owner, error) from None
    row = locked(AppToken, key=request.key)
    if row is None or _saved_since(request):  # new parameters were saved meanwhile: this token is the old ones'
        db.session.rollback()
        raise CredentialsChanged(_("The OAuth parameters changed while a token was being requested: the next "
                                   "attempt uses the new ones."))
    if row.lease_owner != owner:  # the lease ran out and another caller took it
        db.session.rollback()
        return None
    row.access_token, row.expires_at, row.obtained_at = grant.access_token, grant.expires_at, datetime.now(UTC)
    row.rejection = row.rejected_at = None
    APP_LEASE.end(row, owner)
    token = _token(row, request)
    db.session.commit()
    return token


def _saved_since(request: AppTokenRequest) -> bool:
    """Whether the OAuth parameters were saved again since the request was built (the row locked until the caller's
    commit, so a save waits for the token to be stored, and then forgets it)."""
    saved_at = db.session.scalar(select(OAuthSettings.updated_at).where(OAuthSettings.id == 1).with_for_update())
    return saved_at != request.saved_at


def _still_leased(key: str, owner: str) -> AppToken | None:
    """The locked row while this lease is its own."""
    row = locked(AppToken, key=key)
    if row is None or row.lease_owner != owner:
        db.session.rollback()
        return None
    return row


def _recorded_failure(request: AppTokenRequest, owner: str, error: OAuthError) -> OAuthError:
    """End the lease; a refusal of the credentials is recorded (mail waits for an administrator), anything else
    (a timeout, an unreachable or failing endpoint) is left to be tried again."""
    row = _still_leased(request.key, owner)
    if row is None:
        return error
    APP_LEASE.end(row, owner)
    if error.code not in REFUSING_CODES:
        db.session.commit()
        return error
    message = _("The provider refused the application's credentials.") + " " + error.message
    row.rejection, row.rejected_at = message, datetime.now(UTC)
    db.session.commit()
    audit.record("credentials_rejected", audit.SYSTEM, message)
    return CredentialsRejected(message, code=error.code)


def reopen(key: str) -> str | None:
    """Set a standing refusal of the credentials aside, so that they are asked again (a check after a fix at the
    provider; a new refusal is recorded again); the cached token, for the caller to pass as rejected: the next token
    is a new one, and cached in its place. The cached token stays until then, good for sending meanwhile."""
    row = locked(AppToken, key=key)
    if row is None:
        db.session.rollback()
        return None
    row.rejection = row.rejected_at = None
    token = row.access_token
    db.session.commit()
    return token
