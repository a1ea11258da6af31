"""The Notifications page, and the services that tell someone when the console needs attention."""

from flask import Blueprint

bp = Blueprint("notify", __name__)

from . import views  # noqa: E402,F401  (routes register on import)
