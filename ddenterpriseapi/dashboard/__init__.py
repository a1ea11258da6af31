"""The dashboard: the state of the connection at a glance."""

from flask import Blueprint, render_template

from ..oauth.connection import get_connection
from ..oauth.settings import get_settings, providers

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    settings = get_settings()
    return render_template(
        "dashboard/index.html",
        settings=settings,
        provider=providers()[settings.provider],
        connection=get_connection(),
    )
