"""The one writer of tokens: a valid access token on demand, refreshed single-flight across threads and processes."""

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _

from .. import audit
from ..database import locked
from ..extensions import db
from ..models import OAuthConnection
from . import flow
from .connection import get_connection
from .errors import GOOGLE_TESTING_HINT, OAuthError
from .settings import client_parameters, get_settings


class NotAuthorized(OAuthError):
    """OAuth is chosen but nobody has authorized yet."""


class ReauthorizationRequired(OAuthError):
    """The refresh token is dead: only an administrator clicking Authorize can revive sending."""


def _usable(connection: OAuthConnection, rejected: str | None) -> bool:
    """The stored access token is good for a while yet, and is not the one the SMTP server just refused."""
    if not connection.access_token or connection.access_token == rejected:
        return False
    if connection.access_token_expires_at is None:
        return True
    margin = timedelta(seconds=current_app.config["ACCESS_TOKEN_MARGIN"])
    issued = connection.last_refresh_at or connection.authorized_at
    margin = min(margin, (connection.access_token_expires_at - issued) / 2)  # short-lived tokens get used too
    return connection.access_token_expires_at - margin > datetime.now(UTC)


def _check(connection: OAuthConnection | None) -> OAuthConnection:
    if connection is None:
        raise NotAuthorized(_("OAuth is not authorized yet: open the OAuth page and click Authorize."))
    if connection.needs_reauthorization:
        raise ReauthorizationRequired(connection.reauthorization_error)
    return connection


def get_access_token(rejected: str | None = None) -> tuple[str, str | None]:
    """A valid access token and the account it belongs to; refreshes when needed, one refresher at a time."""
    connection = _check(get_connection())
    if _usable(connection, rejected):
        return connection.access_token, connection.account_email
    connection = _check(locked(OAuthConnection, id=1))
    if _usable(connection, rejected):  # another thread or process refreshed while we waited for the lock
        token, account = connection.access_token, connection.account_email
        db.session.commit()
        return token, account
    return _refresh_locked(connection)


def _refresh_locked(connection: OAuthConnection) -> tuple[str, str | None]:
    """Refresh while holding the row lock; store the rotated refresh token with the access token, atomically."""
    try:
        grant = flow.refresh(client_parameters(get_settings()), connection.refresh_token)
    except OAuthError as error:
        if error.code != "invalid_grant":  # e.g. an expired client secret: fixed on the OAuth page, no re-consent
            db.session.rollback()
            raise
        message = _("The provider refused to refresh the access token.") + " " + error.message
        if connection.provider == "google" and error.code == "invalid_grant":
            message += " " + GOOGLE_TESTING_HINT
        connection.reauthorization_error = message
        db.session.commit()
        audit.record("reauthorization_required", message, actor="system")
        raise ReauthorizationRequired(message, code=error.code) from None
    connection.access_token = grant.access_token
    connection.access_token_expires_at = grant.expires_at
    if grant.refresh_token:  # a response without one never erases the one we have
        connection.refresh_token = grant.refresh_token
    connection.last_refresh_at = datetime.now(UTC)
    token, account = connection.access_token, connection.account_email
    db.session.commit()
    return token, account


def refresh_now() -> tuple[str | None, datetime | None]:
    """Refresh whatever the expiry: proves the refresh token is alive and keeps it from ageing out unused."""
    connection = _check(get_connection())
    get_access_token(rejected=connection.access_token)
    connection = get_connection()
    return connection.account_email, connection.access_token_expires_at
