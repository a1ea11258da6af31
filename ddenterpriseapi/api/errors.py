"""The API's errors as JSON: every answer under /v2/ is for a program, except the browser's OAuth callback."""

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ..oauth.settings import CALLBACK_PATH

PREFIX = "/v2"


def error(status: int, message: str, **details):
    """{"error": message, ...} with this status."""
    return jsonify({"error": message, **details}), status


def is_api_path(path: str) -> bool:
    """Whether a path (below the console's prefix) belongs to the API, routed or not (404, 405)."""
    inside = path == PREFIX or path.startswith(PREFIX + "/")
    return inside and path.rstrip("/") != CALLBACK_PATH


def http_error(exception: HTTPException):
    """An HTTP error (404, 405 with its Allow header, 413, ...) as JSON."""
    body, status = error(exception.code or 500, exception.description or exception.name)
    allowed = {name: value for name, value in exception.get_headers() if name == "Allow"}
    return body, status, allowed
