"""GET /healthz for the proxy or orchestrator: is the database reachable? No secret in the answer."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..auth.guard import login_exempt
from ..extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@login_exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"})
