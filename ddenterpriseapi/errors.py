"""Error pages that say what happened in words, never a stack trace."""

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "The request could not be understood. If you submitted a form, reload the page and try again "
         "(its security token may have expired).",
    404: "There is no page at this address.",
    405: "This page cannot be used that way.",
    413: "What you sent is too large.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on the server. The error is logged; try again, and tell your administrator if "
         "it persists.",
}


def render_error(error: HTTPException):
    """An HTML page for people (the API answers JSON through its own handler)."""
    code = error.code or 500
    message = MESSAGES.get(code, error.description)
    if code == 413:
        limit = request.max_content_length
        message += f" The limit is {limit // (1024 * 1024)} MiB." if limit and limit >= 1024 * 1024 else ""
    return render_template("error.html", code=code, title=error.name, message=message), code


def init(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
