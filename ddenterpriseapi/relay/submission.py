"""What the relay asks of the outbox: how many recipients a message may have, and a received message committed
before the client hears "queued". Runs in a worker thread, inside an application context."""

from ..extensions import db
from ..mail.server import get_mail_server
from ..outbox.accept import Submitter, accept_raw, sending_limits
from ..runtime import Runtime


def recipient_limit(runtime: Runtime) -> int:
    """The most recipients the provider takes in one message."""
    limit = sending_limits(runtime, get_mail_server()).max_recipients
    db.session.rollback()  # no transaction left open between commands
    return limit


def queue_message(runtime: Runtime, data: bytes, envelope_from: str, recipients: list[str],
                  submitter: Submitter) -> int:
    """Accept the message into the outbox and commit; its outbox id."""
    receipt = accept_raw(runtime, data, envelope_from, recipients, submitter)
    db.session.commit()
    return receipt.id
