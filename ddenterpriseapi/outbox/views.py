"""The Outbox pages: every message and what happened to it, and the actions an administrator takes on one."""

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit
from ..auth.guard import requester
from ..extensions import db
from .actions import CANCELLABLE, RESENDABLE, RETRYABLE, ActionRefused, MessageNotFound, cancel, retry_now, send_again
from .forms import MessageActionForm, SearchForm
from .labels import ORIGIN_LABELS, STATUS_LABELS, STATUS_MEANINGS
from .listing import find_messages, get_message
from .monitoring import read_queue

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


@bp.context_processor
def words() -> dict:
    """The statuses and origins in words, for every Outbox template."""
    return {"status_labels": STATUS_LABELS, "status_meanings": STATUS_MEANINGS, "origin_labels": ORIGIN_LABELS}


@bp.route("")
def index():
    """The list, narrowed by the address's status and search, one page at a time."""
    form = SearchForm(formdata=request.args)
    where = form.filter()
    page = find_messages(where, before=request.args.get("before", type=int), after=request.args.get("after", type=int))
    return render_template("outbox/index.html", form=form, where=where, page=page, counts=read_queue(db.session).counts)


@bp.route("/<int:message_id>")
def message(message_id: int):
    """One message in full (never its content), with the buttons its status allows."""
    shown = get_message(message_id)
    if shown is None:
        abort(404)
    return render_template("outbox/message.html", message=shown, can_retry=shown.status in RETRYABLE,
                           can_cancel=shown.status in CANCELLABLE, can_send_again=shown.status in RESENDABLE)


@bp.post("/<int:message_id>/retry")
def retry(message_id: int):
    """A deferred or held message goes now, without waiting for its next attempt or a fix."""
    return act(message_id, lambda: retry_now(message_id), "outbox_message_retried",
               _("Message %(id)s is queued again: the worker tries it now.", id=message_id))


@bp.post("/<int:message_id>/cancel")
def cancel_message(message_id: int):
    """A message that must not go out after all is withdrawn."""
    return act(message_id, lambda: cancel(message_id), "outbox_message_cancelled",
               _("Message %(id)s is cancelled: it will not be sent, and its content is deleted.", id=message_id))


@bp.post("/<int:message_id>/send-again")
def resend(message_id: int):
    """A failed message is tried again as a new one, once the cause (an address, a limit) is fixed."""
    return act(message_id, lambda: send_again(message_id, f"Administrator {requester().name}"),
               "outbox_message_sent_again",
               _("This new message is a copy of message %(id)s, queued for delivery.", id=message_id))


def act(message_id: int, action: Callable[[], int | None], audited_as: str, done: str):
    """Run an action on a message, audit it and say so, or say why it does not apply; show the resulting message."""
    if not MessageActionForm().validate_on_submit():
        return redirect(url_for(".message", message_id=message_id))
    try:
        shown = action() or message_id
    except MessageNotFound:
        abort(404)
    except ActionRefused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for(".message", message_id=message_id))
    audit.record(audited_as, requester(), wording="message" if shown == message_id else "message_copied",
                 id=message_id, copy=shown)
    flash(done, "success")
    return redirect(url_for(".message", message_id=shown))
