"""Outbox statuses and origins in words, for the pages and the refusals the actions explain."""

from flask_babel import lazy_gettext as _l

from .statuses import CANCELLED, DEFERRED, FAILED, HELD, QUEUED, SENDING, SENT

STATUS_LABELS = {
    QUEUED: _l("Queued"),
    SENDING: _l("Sending"),
    SENT: _l("Sent"),
    DEFERRED: _l("Deferred"),
    HELD: _l("Held"),
    FAILED: _l("Failed"),
    CANCELLED: _l("Cancelled"),
}
STATUS_MEANINGS = {
    QUEUED: _l("Waiting for the worker to send it."),
    SENDING: _l("A worker is delivering it now."),
    SENT: _l("The email server accepted it."),
    DEFERRED: _l("The email server failed temporarily: the worker tries again at the next attempt."),
    HELD: _l("Waiting for an administrator to authorize again or configure the email server; Retry now tries it "
             "at once."),
    FAILED: _l("Refused for good, or too old to try again."),
    CANCELLED: _l("An administrator withdrew it: it will not be sent."),
}
ORIGIN_LABELS = {"api": _l("API"), "relay": _l("SMTP relay"), "alert": _l("Console alert")}
