"""POST /v2/mail: messages accepted into the outbox as JSON; GET /v2/mail/<id>: where one stands. Both
authenticated by an API key."""

import hashlib
import time

from flask import current_app, g, jsonify, request, url_for

from ..auth.guard import login_exempt
from ..console_error import ConsoleError
from ..extensions import csrf, current_runtime, db
from ..models import OutboxMessage
from ..outbox.statuses import FINAL
from . import bp
from .errors import error
from .keys import find_active_key
from .payload import parse_request
from .submission import status_of, submit, submitter

MAX_WAIT_SECONDS = 60
WAIT_POLL_SECONDS = 0.25


def presented_key() -> str | None:
    """The key from "Authorization: Bearer KEY" or "X-API-Key: KEY"."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


@bp.before_request
def require_api_key():
    """Every API call names an active key allowed on the API; who submits with it is kept in g for the view."""
    presented = presented_key()
    if presented is None:
        return error(401, "Missing API key: send it as 'Authorization: Bearer <key>'.")
    key = find_active_key(presented)
    if key is None:
        return error(401, "Unknown or revoked API key.")
    g.submitter = submitter(key)
    if not key.allows("api"):
        return error(403, "This key is limited to the SMTP relay: use a key made for the API.")
    return None


@bp.errorhandler(ConsoleError)
def console_error(problem: ConsoleError):
    """A failure explained as JSON, with the status and details its kind calls for."""
    return error(problem.api_status, problem.message, **problem.api_details())


@bp.route("/mail", methods=["POST"])
@login_exempt
@csrf.exempt
def send_mail():
    body = request.get_json(silent=True)
    if body is None:
        return error(400, "The request body must be JSON (Content-Type: application/json).")
    drafts = parse_request(body, current_app.config["MAX_ATTACHMENTS"])
    answer = submit(current_runtime(), drafts, g.submitter, batch="messages" in body,
                    idempotency_key=request.headers.get("Idempotency-Key"),
                    request_hash=hashlib.sha256(request.get_data()).hexdigest())
    response = jsonify(answer)
    if isinstance(answer, dict):
        response.headers["Location"] = url_for(".mail_status", message_id=answer["id"])
    return response, 202


@bp.route("/mail/<int:message_id>")
@login_exempt
def mail_status(message_id: int):
    """The message's status; ?wait=N waits up to N seconds (60 at most) for a final one."""
    deadline = time.monotonic() + min(max(request.args.get("wait", 0, type=float), 0), MAX_WAIT_SECONDS)
    while True:
        row = db.session.get(OutboxMessage, message_id)
        if row is None or row.api_key_id != g.submitter.api_key_id:
            return error(404, "No message with this id was submitted with this API key.")
        if row.status in FINAL or time.monotonic() >= deadline:
            return jsonify(status_of(row))
        db.session.rollback()  # the next look sees what the worker committed
        time.sleep(WAIT_POLL_SECONDS)
