"""What an administrator does to an outbox message: try it now, withdraw it, or send a failed one again.

Retry and cancel are one conditional UPDATE each, so they never override a worker that claimed the message
between the page being shown and the button being pressed."""

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..console_error import ConsoleError
from ..extensions import db
from ..models import OutboxMessage
from .labels import STATUS_LABELS
from .statuses import CANCELLED, DEFERRED, FAILED, HELD, QUEUED

RETRYABLE = (DEFERRED, HELD)
CANCELLABLE = (QUEUED, DEFERRED, HELD)
RESENDABLE = (FAILED,)


class MessageNotFound(ConsoleError):
    """No outbox message has this id."""

    def __init__(self, message_id: int):
        super().__init__(_("There is no message %(id)s in the outbox.", id=message_id))


class ActionRefused(ConsoleError):
    """The message's status does not allow the action (it may have moved on since the page was shown)."""


def retry_now(message_id: int) -> None:
    """Release a deferred or held message to the worker at once."""
    if not _change(message_id, RETRYABLE, status=QUEUED, next_attempt_at=datetime.now(UTC)):
        raise ActionRefused(_("Only a deferred or held message can be retried; this one is “%(status)s”.",
                              status=_current_label(message_id)))


def retry_all_now() -> int:
    """The way mail goes changed (another transport): every deferred message, and every held one waiting to be
    looked at again, is tried at once with it; how many."""
    waiting = (OutboxMessage.status == DEFERRED) | ((OutboxMessage.status == HELD)
                                                    & OutboxMessage.next_attempt_at.is_not(None))
    count = db.session.execute(update(OutboxMessage).where(waiting)
                               .values(status=QUEUED, next_attempt_at=datetime.now(UTC))).rowcount
    db.session.commit()
    return count


def cancel(message_id: int) -> None:
    """Withdraw a message not yet sent: it is never delivered, and its content is deleted."""
    if not _change(message_id, CANCELLABLE, status=CANCELLED, finished_at=datetime.now(UTC), next_attempt_at=None,
                   body=None):
        raise ActionRefused(_("Only a queued, deferred or held message can be cancelled; this one is “%(status)s”.",
                              status=_current_label(message_id)))


def send_again(message_id: int, submitted_by: str) -> int:
    """Queue a new copy of a failed message (same content, sender and recipients); the failed one stays as it is.
    Returns the copy's id."""
    original = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if original is None:
        raise MessageNotFound(message_id)
    if original.status not in RESENDABLE:
        raise ActionRefused(_("Only a failed message can be sent again; this one is “%(status)s”.",
                              status=STATUS_LABELS[original.status]))
    if original.body is None:
        raise ActionRefused(_("The content of this message is no longer kept: it cannot be sent again."))
    copy = OutboxMessage(status=QUEUED, origin=original.origin, submitted_by=submitted_by,
                         message_id=original.message_id, sender=original.sender, recipients=list(original.recipients),
                         subject=original.subject, size=original.size, body=original.body,
                         next_attempt_at=datetime.now(UTC))
    db.session.add(copy)
    db.session.commit()
    return copy.id


def _change(message_id: int, allowed: tuple[str, ...], **values) -> bool:
    """Apply the values if the message is still in one of the allowed statuses; whether it was."""
    changed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status.in_(allowed)).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed > 0


def _current_label(message_id: int) -> str:
    """The status the message has now, in words, for a refusal; raises MessageNotFound if there is none."""
    status = db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message_id))
    if status is None:
        raise MessageNotFound(message_id)
    return str(STATUS_LABELS[status])
