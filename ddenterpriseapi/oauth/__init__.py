"""The OAuth parameters page and the authorization-code flow."""

from flask import Blueprint

bp = Blueprint("oauth", __name__)

from . import views  # noqa: E402,F401  (routes register on import)
