"""The dashboard (the state at a glance) and the audit log."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, render_template, request

from ..audit import recent_events
from ..audit_wording import action_label, describe
from ..extensions import current_runtime
from ..mail.server import get_mail_server, where_mail_goes
from ..mail.status import get_delivery_status
from ..oauth.app_state import app_only_state
from ..oauth.settings import get_settings, provider_of, redirect_uri
from ..oauth.tokens import get_connection
from ..oauth.views import seen_from
from ..outbox.stats import daily_outcomes, queue_state
from .sending import sending_stopped

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    settings, runtime, now, status = get_settings(), current_runtime(), datetime.now(UTC), get_delivery_status()
    mail, provider = get_mail_server(), provider_of(settings, runtime.providers)
    return render_template(
        "dashboard/index.html",
        now=now,
        settings=settings,
        provider=provider,
        connection=get_connection(),
        app_state=app_only_state(settings),
        mail=mail,
        server=where_mail_goes(mail, provider),
        status=status,
        stopped=sending_stopped(runtime, status),
        redirect_uri=redirect_uri(settings, runtime, seen_from()),
        queue=queue_state(now, float(current_app.config["WORKER_STALE_AFTER"])),
        days=daily_outcomes(now.date()),
    )


@bp.route("/audit")
def audit():
    page = request.args.get("page", 1, type=int) or 1
    events, pages = recent_events(max(1, page))
    return render_template("dashboard/audit.html", events=events, page=page, pages=pages, action_label=action_label,
                           describe=describe)
