"""The JSON API through which other programs send mail."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/v2")
