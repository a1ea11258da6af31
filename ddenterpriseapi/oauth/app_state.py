"""What the pages say about app-only sign-in in place of a delegated authorization: who signs in, as which
mailboxes, until when the cached token is good, and a refusal of the credentials the token endpoint gave."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import AppToken, OAuthSettings
from ..providers import APPLICATION
from .app_tokens import recorded_rejection
from .settings import is_app_only, mailbox_list
from .source import app_token_keys

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
    keys = app_token_keys(settings)
    expiries = db.session.scalars(select(AppToken.expires_at).where(
        AppToken.key.in_(keys), AppToken.access_token.is_not(None), AppToken.expires_at.is_not(None))).all()
    return AppOnlyState(str(SIGNED_IN_BY[settings.sign_in]), mailbox_list(settings), min(expiries, default=None),
                        recorded_rejection(keys))
