"""The life of an outbox message, as the API, the Outbox page and the metrics name it."""

QUEUED = "queued"  # waiting for its first attempt, or released to be tried now
SENDING = "sending"  # claimed by a worker (under a lease: a killed worker's messages come back)
SENT = "sent"  # the server accepted it (some recipients may have been refused: see refused_recipients)
DEFERRED = "deferred"  # a temporary failure: tried again at next_attempt_at, until OUTBOX_MAX_AGE
HELD = "held"  # waiting for an administrator: re-authorization needed, email server not configured
FAILED = "failed"  # refused for good, or too old
CANCELLED = "cancelled"  # an administrator withdrew it

ALL = (QUEUED, SENDING, SENT, DEFERRED, HELD, FAILED, CANCELLED)
FINAL = frozenset({SENT, FAILED, CANCELLED})
PENDING = frozenset({QUEUED, SENDING, DEFERRED, HELD})  # what the queue depth counts
