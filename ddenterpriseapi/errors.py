"""Error pages that say what happened in words, never a stack trace."""

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .api import errors as api_errors
from .crypto import SecretUnreadable
from .database import is_lock_timeout
from .extensions import db

MESSAGES = {
    400: _l("The request could not be understood. If you submitted a form, reload the page and try again "
            "(its security token may have expired)."),
    404: _l("There is no page at this address."),
    405: _l("This page cannot be used that way."),
    413: _l("What you sent is too large."),
    429: _l("Too many attempts. Wait a minute and try again."),
    503: _l("The database is busy with another change. Wait a few seconds and try again; nothing was saved."),
    500: _l("Something went wrong on the server. The error is logged; try again, and tell your administrator if "
            "it persists."),
}
TITLES = {  # werkzeug's names of the errors above
    400: _l("Bad Request"),
    404: _l("Not Found"),
    405: _l("Method Not Allowed"),
    413: _l("Request Entity Too Large"),
    429: _l("Too Many Requests"),
    500: _l("Internal Server Error"),
    503: _l("Service Unavailable"),
}


def render_error(error: HTTPException):
    """An HTML page for people; JSON for programs, anywhere under the API's path (unknown paths too)."""
    if api_errors.is_api_path(request.path):
        return api_errors.http_error(error)
    code = error.code or 500
    if code >= 500:
        db.session.rollback()  # a failed transaction would break rendering the page (the current user) too
    message = str(MESSAGES.get(code, error.description))
    if code == 413:
        limit = request.max_content_length
        if limit and limit >= 1024 * 1024:
            message += " " + _("The limit is %(size)s MiB.", size=limit // (1024 * 1024))
    # A provider's answer sent to a redirect URI the console does not serve: it can still be pasted back.
    oauth_answer = code == 404 and {"code", "state"} <= request.args.keys()
    return render_template("error.html", code=code, title=TITLES.get(code, error.name), message=message,
                           oauth_answer=oauth_answer), code


def database_busy(error: OperationalError):
    """A lock held by another writer past DATABASE_LOCK_TIMEOUT is explained (503, retry), never a 500."""
    if not is_lock_timeout(error):
        raise error
    db.session.rollback()
    retry = {"Retry-After": "5"}
    if api_errors.is_api_path(request.path):
        return *api_errors.error(503, "The database is busy with another change: retry in a few seconds."), retry
    page = render_template("error.html", code=503, title=TITLES[503], message=str(MESSAGES[503]))
    return page, 503, retry


def secret_unreadable(error: SecretUnreadable):
    """A missing encryption key is said in words, on the page and in the log, never taken for "not configured"."""
    db.session.rollback()
    current_app.logger.error(error.message)
    if api_errors.is_api_path(request.path):
        return api_errors.error(500, error.message)
    return render_template("error.html", code=500, title=TITLES[500], message=error.message), 500


def init(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OperationalError, database_busy)
    app.register_error_handler(SecretUnreadable, secret_unreadable)
