"""What a failed attempt means for the message: tried again later (deferred), waiting for an administrator (held),
or refused for good (failed); and for the connection: still usable, or over, or asking us to slow down."""

from dataclasses import dataclass, field

from ..console_error import ConsoleError
from ..mail.api_errors import LATER, MESSAGE, ApiError
from ..mail.errors import MailError, MailNotConfigured
from ..oauth.errors import OAuthError
from ..oauth.tokens import NotAuthorized
from .statuses import DEFERRED, FAILED, HELD

MESSAGE_STEPS = ("mail", "rcpt", "data")  # a 5xx here refuses this message; elsewhere it refuses the session


@dataclass(frozen=True)
class Outcome:
    """The status a failure leaves the message in, and what it says about the session."""

    status: str
    detail: str
    reply: str | None = None
    refused: dict[str, str] = field(default_factory=dict)
    throttled: bool = False  # the server asks for fewer messages per minute (4.7.x, 421)
    session_over: bool = False  # the next message needs a new connection
    waits_for_fix: bool = False  # held until an administrator fixes the settings or authorizes again
    retry_after: float | None = None  # seconds the server asked us to wait (HTTP Retry-After): tried again then


def outcome_of(error: ConsoleError) -> Outcome:
    """Classify a failure of delivery or of signing in."""
    if isinstance(error, (NotAuthorized, MailNotConfigured)):
        return Outcome(HELD, error.message, session_over=True, waits_for_fix=True)
    if isinstance(error, OAuthError):  # no code: the token endpoint was unreachable or failed; a code: a refusal
        return Outcome(DEFERRED if error.code is None else HELD, error.message, session_over=True)
    if isinstance(error, ApiError):
        return api_outcome(error)
    if not isinstance(error, MailError):
        return Outcome(DEFERRED, error.message, session_over=True)
    return smtp_outcome(error)


def api_outcome(error: ApiError) -> Outcome:
    """An HTTPS API's refusal: of this message for good, of the credentials or permissions (an administrator must act;
    looked at again with backoff, the fix being at the provider), or for now (waiting as long as it asked)."""
    if error.kind == MESSAGE:
        return Outcome(FAILED, error.message, error.reply)
    if error.kind == LATER:
        return Outcome(DEFERRED, error.message, error.reply, throttled=error.reply.startswith("429"),
                       session_over=error.retry_after is not None, retry_after=error.retry_after)
    return Outcome(HELD, error.message, error.reply, session_over=True)


def smtp_outcome(error: MailError) -> Outcome:
    """Temporary (4xx, no answer at all) or permanent (5xx to a message; 5xx to AUTH waits for an administrator)."""
    reply = error.reply or ""
    if error.refused:  # every recipient refused: for good only if every refusal is permanent
        permanent = all(answer.startswith("5") for answer in error.refused.values())
        return Outcome(FAILED if permanent else DEFERRED, error.message, reply, error.refused)
    if reply.startswith("5"):
        return permanent_outcome(error, reply)
    if reply.startswith("4"):
        throttled = reply.startswith("421") or " 4.7." in f" {reply[4:]}"
        return Outcome(DEFERRED, error.message, reply, throttled=throttled,
                       session_over=reply.startswith("421") or error.step not in MESSAGE_STEPS)
    return Outcome(DEFERRED, error.message, reply or None, session_over=True)  # timeouts, resets, TLS failures


def permanent_outcome(error: MailError, reply: str) -> Outcome:
    """A 5xx: to MAIL, RCPT or DATA the message fails; to AUTH it waits for an administrator; elsewhere (a
    greeting, TLS) the server may come round, so it is tried again."""
    if error.step in MESSAGE_STEPS:
        return Outcome(FAILED, error.message, reply)
    return Outcome(HELD if error.step == "auth" else DEFERRED, error.message, reply, session_over=True)
