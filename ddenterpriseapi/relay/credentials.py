"""Who may hand mail to the relay: a client that authenticates with an API key allowed on the relay (the user name
is the program's, for the record), or one on a trusted network. Failed attempts are audited and slow their
address down. Runs in a worker thread, inside an application context."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .. import audit
from ..api.keys import find_active_key
from ..auth.throttle import rounded_up, wait_left
from ..outbox.accept import Submitter

FAILED = "relay_auth_failed"
ADDRESS_WINDOW = timedelta(minutes=15)  # failures from one address older than this are forgotten
NAME_CHARS = 40  # of the client's user name kept in the record


@dataclass(frozen=True)
class RelayClient:
    """A client the relay accepts mail from, as the outbox records it."""

    label: str
    api_key_id: int | None = None

    def submitter(self) -> Submitter:
        """The client as the outbox records who handed a message in."""
        return Submitter("relay", self.label, self.api_key_id)


@dataclass(frozen=True)
class Verdict:
    """The answer to an AUTH: the client; else how long its address must wait (zero: the credentials were wrong)."""

    client: RelayClient | None = None
    wait: timedelta = timedelta(0)


def printable(name: str) -> str:
    """A client-chosen name as it may appear on a page or in a log line."""
    return "".join(char for char in name if char.isprintable())[:NAME_CHARS] or "?"


def check_credentials(username: str, secret: str, ip: str | None) -> Verdict:
    """The client for an API key allowed on the relay; a failure is audited, and an address that failed too often
    lately waits before any key is even looked at."""
    now = datetime.now(UTC)
    failures = audit.tally((FAILED,), now - ADDRESS_WINDOW, ip=ip)
    wait = wait_left(failures.count, failures.last_at, now)
    if wait > timedelta(0):
        return Verdict(wait=rounded_up(wait))
    name = printable(username)
    key = find_active_key(secret)
    if key is None or not key.allows("relay"):
        wording = "unknown_key" if key is None else "key_for_api_only"
        audit.record(FAILED, audit.Actor(f"relay user {name}", ip), wording=wording, key=key and key.name)
        return Verdict()
    return Verdict(RelayClient(f"relay: {name}, key {key.name} ({key.prefix}…)", key.id))


def trusted_client(ip: str | None) -> RelayClient:
    """A client on a trusted network, sending without AUTH."""
    return RelayClient(f"relay: {ip} (trusted network)")
