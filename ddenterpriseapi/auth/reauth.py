"""Asking for the current password again before a sensitive change, throttled and audited like a login."""

from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from .. import audit
from ..models import Admin
from .accounts import AccountError
from .throttle import refusal


def confirm_password(admin: Admin, password: str, ip: str | None) -> None:
    """Raise AccountError unless this is the administrator's password (and guessing it is not being slowed down)."""
    refused = refusal(admin.username, ip)
    if refused:
        audit.record("password_check_refused", audit.Actor(admin.username, ip), wording=refused)
        raise AccountError(refused)
    if not check_password_hash(admin.password_hash, password):
        audit.record("password_check_failed", audit.Actor(admin.username, ip))
        raise AccountError(_("The current password is wrong."))
