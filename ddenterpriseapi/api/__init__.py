"""The JSON API through which other programs send mail, and the page where its keys are managed."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/v2")
keys_bp = Blueprint("keys", __name__)

from . import pages, views  # noqa: E402,F401  (routes register on import)
