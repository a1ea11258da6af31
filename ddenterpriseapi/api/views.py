"""POST /v2/mail: send mail as JSON, authenticated by an API key."""

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..auth.guard import login_exempt
from ..console_error import ConsoleError
from ..extensions import csrf, current_runtime
from ..mail.sending import send_drafts
from . import bp
from .keys import find_active_key
from .payload import parse_request


def error(status: int, message: str, **details):
    return jsonify({"error": message, **details}), status


def presented_key() -> str | None:
    """The key from "Authorization: Bearer KEY" or "X-API-Key: KEY"."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


@bp.errorhandler(ConsoleError)
def console_error(problem: ConsoleError):
    """A failure explained as JSON, with the status and details its kind calls for."""
    return error(problem.api_status, problem.message, **problem.api_details())


@bp.errorhandler(HTTPException)
def http_error(exception: HTTPException):
    """JSON, not HTML, for the API's errors (413 too large, 405, ...)."""
    return error(exception.code or 500, exception.description or exception.name)


@bp.route("/mail", methods=["POST"])
@login_exempt
@csrf.exempt
def send_mail():
    key = presented_key()
    if key is None:
        return error(401, "Missing API key: send it as 'Authorization: Bearer <key>'.")
    if find_active_key(key) is None:
        return error(401, "Unknown or revoked API key.")
    body = request.get_json(silent=True)
    if body is None:
        return error(400, "The request body must be JSON (Content-Type: application/json).")
    message_ids = send_drafts(current_runtime(), parse_request(body, current_app.config["MAX_ATTACHMENTS"]))
    if len(message_ids) == 1 and "messages" not in body:
        return jsonify({"message_id": message_ids[0]})
    return jsonify({"message_ids": message_ids})
