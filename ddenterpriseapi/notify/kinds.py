"""The kinds of incident as data: how bad, where the console fixes them, and whether they concern the email channel
itself (then an alert email cannot go through it)."""

from dataclasses import dataclass
from datetime import timedelta

REAUTHORIZATION = "reauthorization_required"
CREDENTIALS_REJECTED = "credentials_rejected"
DEFERRED = "messages_deferred"
HELD = "messages_held"
FAILED = "messages_failed"
WORKER_DOWN = "worker_down"
SECRET_EXPIRES_30 = "client_secret_expires_30"
SECRET_EXPIRES_7 = "client_secret_expires_7"
CERTIFICATE_EXPIRES_30 = "client_certificate_expires_30"
CERTIFICATE_EXPIRES_7 = "client_certificate_expires_7"
TESTING_TOKEN = "testing_token_expires"
TEST = "test"  # the test notification, not an incident


@dataclass(frozen=True)
class Kind:
    """What an incident of one kind means for telling it."""

    severity: str  # critical or warning
    page: str  # the console page that fixes it, for console_url
    about_email: bool = False  # the main email channel is what is broken: alert emails take the fallback server
    settle: timedelta = timedelta(0)  # how long the condition must stay gone before the incident ends


KINDS = {
    REAUTHORIZATION: Kind("critical", "/configuration/oauth", about_email=True),
    CREDENTIALS_REJECTED: Kind("critical", "/configuration/oauth", about_email=True),
    DEFERRED: Kind("warning", "/", about_email=True),
    HELD: Kind("critical", "/configuration/email-server", about_email=True),
    FAILED: Kind("critical", "/", about_email=True, settle=timedelta(hours=1)),  # one event, not a state: quiet 1 h
    WORKER_DOWN: Kind("critical", "/", about_email=True),
    SECRET_EXPIRES_30: Kind("warning", "/configuration/oauth"),
    SECRET_EXPIRES_7: Kind("critical", "/configuration/oauth"),
    CERTIFICATE_EXPIRES_30: Kind("warning", "/configuration/oauth"),
    CERTIFICATE_EXPIRES_7: Kind("critical", "/configuration/oauth"),
    TESTING_TOKEN: Kind("critical", "/configuration/oauth"),
    TEST: Kind("info", "/configuration/notifications"),
}
