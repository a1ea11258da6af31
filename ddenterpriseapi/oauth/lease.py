"""One token call at a time across threads and processes: a caller takes a lease on the token's database row, asks
the provider with no lock held, and stores the answer only while the lease is still its own; the others wait for
that answer, or for the lease to run out."""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ..extensions import db
from ..runtime import Runtime

LEASE_POLL_SECONDS = 0.05  # how often a caller waiting for another one's token looks at the row
LEASE_SPARE_SECONDS = 5  # a lease outlives the token call's deadline by this much

Token = TypeVar("Token")
Lease = TypeVar("Lease")


@dataclass(frozen=True)
class LeaseColumns:
    """The columns of a row that say who is fetching its token, until when."""

    owner: str
    until: str

    def running(self, row, now: datetime) -> bool:
        until = getattr(row, self.until)
        return until is not None and until > now

    def take(self, row, runtime: Runtime) -> str | None:
        """On a row the caller has locked: a new lease's owner, lasting the token call's whole deadline and some;
        None while another caller's lease runs."""
        now = datetime.now(UTC)
        if self.running(row, now):
            return None
        owner = secrets.token_hex(16)
        setattr(row, self.owner, owner)
        setattr(row, self.until, now + timedelta(seconds=runtime.http_timeout + LEASE_SPARE_SECONDS))
        return owner

    def end(self, row, owner: str) -> None:
        if getattr(row, self.owner) == owner:
            setattr(row, self.owner, None)
            setattr(row, self.until, None)


def single_flight(ready: Callable[[], Token | None], lease: Callable[[], Lease | None],
                  obtain: Callable[[Lease], Token | None]) -> Token:
    """The stored token when `ready` finds one usable; else the lease and a token obtained under it; else (another
    caller holds the lease) what that caller stores, looked for again and again. `obtain` answers None when the row
    changed meanwhile (credentials replaced, lease lost): everything is looked at again."""
    while True:
        token = ready()
        if token is not None:
            return token
        taken = lease()
        if taken is None:
            db.session.rollback()  # the next look sees what the other caller stored
            time.sleep(LEASE_POLL_SECONDS)
            continue
        token = obtain(taken)
        if token is not None:
            return token


def fresh(expires_at: datetime | None, issued_at: datetime | None, runtime: Runtime) -> bool:
    """An access token good for a while yet: ACCESS_TOKEN_MARGIN before it expires, or half its lifetime for a
    short-lived one (which gets used too). No expiry known: good until a server refuses it."""
    if expires_at is None:
        return True
    margin = timedelta(seconds=runtime.access_token_margin)
    if issued_at is not None:
        margin = min(margin, (expires_at - issued_at) / 2)
    return expires_at - margin > datetime.now(UTC)
