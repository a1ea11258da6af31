"""What the pages say about app-only sign-in in place of a delegated authorization: who signs in, as which
mailboxes, until when the cached token is good, and a refusal of the credentials the token endpoint gave."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import AppToken, OAuthSettings
from ..providers import APPLICATION
from .app_tokens import APPLICATION_KEY
from .settings import is_app_only, mailbox_list

SIGNED_IN_BY = {APPLICATION: _l("Application"), "service_account": _l("Service account")}


@dataclass(frozen=True)
class AppOnlyState:
    """App-only sign-in as the pages show it."""

    by: str  # Application or Service account
    mailboxes: list[str]
    expires_at: datetime | None  # the cached token's (the soonest, one per mailbox for a service account)
    rejection: str | None  # why the token endpoint refused the credentials, with the fix


def app_only_state(settings: OAuthSettings) -> AppOnlyState | None:
    """The state of the saved app-only sign-in; None under delegated sign-in."""
    if not is_app_only(settings):
        return None
    mailboxes = mailbox_list(settings)
    keys = [APPLICATION_KEY] if settings.sign_in == APPLICATION else [mailbox.lower() for mailbox in mailboxes]
    rows = db.session.execute(select(AppToken.access_token, AppToken.expires_at, AppToken.rejection)
                              .where(AppToken.key.in_(keys))).all()
    expiries = [expires_at for token, expires_at, _rejection in rows if token and expires_at]
    rejection = next((rejection for _token, _expiry, rejection in rows if rejection), None)
    return AppOnlyState(str(SIGNED_IN_BY[settings.sign_in]), mailboxes, min(expiries, default=None), rejection)
