"""Slowing down password guessing without locking out the real administrator.

Each (account, address) pair gets growing delays, so guesses from elsewhere never block the administrator's
own address; each address also has a limit across accounts. Failures are counted in the audit log.
"""

import math
from datetime import UTC, datetime, timedelta

from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _

from ..audit import tally
from ..models import Admin
from ..said import Said, said, sentences

FAILURES = ("login_failed", "password_check_failed")  # both are guesses at the account's password
FAILURES_WITHOUT_DELAY = 2
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
# An (account, address) pair's failures count for this long, unless a login from there succeeded since.
ACCOUNT_WINDOW = timedelta(hours=24)
ADDRESS_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 20


def delay_after(failures: int) -> timedelta:
    """How long the next attempt waits after this many failures: none at first, then doubling up to a cap."""
    if failures <= FAILURES_WITHOUT_DELAY:
        return timedelta(0)
    doublings = failures - FAILURES_WITHOUT_DELAY - 1
    return FIRST_DELAY * min(2 ** doublings, MAX_DELAY // FIRST_DELAY)


def wait_left(failures: int, last_failure_at: datetime | None, now: datetime) -> timedelta:
    """How much longer the next attempt must wait after these failures (zero or less: it may go ahead)."""
    if last_failure_at is None:
        return timedelta(0)
    return last_failure_at + delay_after(failures) - now


def rounded_up(wait: timedelta) -> timedelta:
    """A wait as people read it: whole seconds under a minute, else whole minutes, never shorter than the real one."""
    seconds = math.ceil(wait.total_seconds())
    return timedelta(seconds=seconds) if seconds < 60 else timedelta(minutes=math.ceil(seconds / 60))


def refusal(username: str, ip: str | None) -> Said | None:
    """Why an attempt at this account's password from this address must wait, or None."""
    now = datetime.now(UTC)
    address = tally(FAILURES, now - ADDRESS_WINDOW, ip=ip)
    if address.count >= MAX_FAILURES_PER_ADDRESS:
        return said("address_throttled", seconds=seconds(address.first_at + ADDRESS_WINDOW - now))
    wait = _account_wait(username.strip()[:100], ip, now)
    if wait > timedelta(0):
        return said("account_throttled", seconds=seconds(wait))
    return None


def seconds(wait: timedelta) -> int:
    """A wait as a refusal keeps it: rounded up as people read it."""
    return int(rounded_up(wait).total_seconds())


def waited(seconds: int) -> str:
    return format_timedelta(timedelta(seconds=seconds))


sentences({  # so the audit log words a refusal in its reader's language
    "address_throttled": lambda seconds: _("Too many failed logins from your address. Wait %(wait)s and try again.",
                                           wait=waited(seconds)),
    "account_throttled": lambda seconds: _(
        "Too many wrong passwords for this account from your address. Wait %(wait)s and try again.",
        wait=waited(seconds)),
})


def _account_wait(actor: str, ip: str | None, now: datetime) -> timedelta:
    """The wait the failures of this (account, address) pair impose: a login from there wipes the slate."""
    since = now - ACCOUNT_WINDOW
    last_login = tally(("login",), since, actor=actor, ip=ip).last_at
    failures = tally(FAILURES, last_login or since, actor=actor, ip=ip)
    return wait_left(failures.count, failures.last_at, now)


def failed_logins_notice(admin: Admin) -> str | None:
    """What others tried on this account since the administrator's previous login, shown at this one."""
    previous = tally(("login",), actor=admin.username).last_at or admin.created_at
    failed = tally(("login_failed",), previous, actor=admin.username)
    if not failed.count:
        return None
    if failed.addresses <= 1:
        return ngettext("%(num)s failed login on your account since your previous login. If it was not you, "
                        "see the audit log.", "%(num)s failed logins on your account since your previous login, "
                        "from one address. If they were not you, see the audit log.", failed.count)
    return _("%(num)s failed logins on your account since your previous login, from %(addresses)s addresses. "
             "If they were not you, see the audit log.", num=failed.count, addresses=failed.addresses)
