"""GET /healthz for the proxy, orchestrator or monitoring: is the database reachable, does a worker deliver, does
the queue move? 200 while the database answers (degraded or not), 503 when it does not. No secret in the answer."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ..auth.guard import login_exempt
from ..extensions import db
from .checks import StaleAfter, assess

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@login_exempt
def healthz():
    """The health report; a degraded console still answers 200, so that a load balancer keeps sending to it."""
    config = current_app.config
    try:
        report = assess(db.session, StaleAfter(worker=float(config["WORKER_STALE_AFTER"]),
                                               queue=float(config["QUEUE_STALE_AFTER"])))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify(report)
