"""The email server page and sending mail."""

from flask import Blueprint

bp = Blueprint("mail", __name__)

from . import views  # noqa: E402,F401  (routes register on import)
