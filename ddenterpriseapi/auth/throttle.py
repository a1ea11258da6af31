"""Slowing down password guessing: failed logins per account and per address, counted in the audit log."""

from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _

from ..audit import failures_since

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


def login_refusal(username: str, ip: str | None) -> str | None:
    """Why a login attempt is refused before checking the password, or None."""
    since = datetime.now(UTC) - WINDOW
    minutes = int(WINDOW.total_seconds() // 60)
    if failures_since("login_failed", since, actor=username.strip()[:100]) >= MAX_FAILURES_PER_ACCOUNT:
        return _("Too many failed logins for this account. Wait %(minutes)s minutes and try again, or ask another "
                 "administrator.", minutes=minutes)
    if ip and failures_since("login_failed", since, ip=ip) >= MAX_FAILURES_PER_ADDRESS:
        return _("Too many failed logins from your address. Wait %(minutes)s minutes and try again.", minutes=minutes)
    return None
