"""The web process's part: a banner on every page while no delivery worker runs, and the worker check, run after
the response has gone so no page waits for a webhook."""

import time
from datetime import UTC, datetime

from flask import Flask, Response, current_app, request
from flask_login import current_user

from .checks import worker_down
from .watch import check_worker, guarded

LOCAL_CHECK_SECONDS = 60  # each process looks at most this often; the database turn spaces the processes out


def banner() -> dict:
    """For the pages: that no worker runs, when that needs saying (administrators only)."""
    if not current_user.is_authenticated:
        return {}
    return {"worker_down": worker_down(datetime.now(UTC))}


def check_after_response(response: Response) -> Response:
    """About once a minute per process, look for a dead worker once this response is sent."""
    app = current_app._get_current_object()
    due = app.extensions.setdefault("dde_worker_check_due", [0.0])
    if request.endpoint == "static" or time.monotonic() < due[0]:
        return response
    due[0] = time.monotonic() + LOCAL_CHECK_SECONDS
    response.call_on_close(lambda: check_in_context(app))
    return response


def check_in_context(app: Flask) -> None:
    """The worker check in a context of its own: the request's is gone by the time the response closes."""
    with app.app_context():
        guarded(check_worker, app.extensions["dde_runtime"], datetime.now(UTC))


def init(app: Flask) -> None:
    """Every page gets the banner, every process the worker check."""
    app.context_processor(banner)
    app.after_request(check_after_response)
