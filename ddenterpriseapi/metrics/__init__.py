"""GET /metrics for Prometheus: answered from this machine, or to a scraper sending the METRICS_TOKEN."""

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..auth.guard import login_exempt
from ..extensions import db
from .access import may_scrape
from .collector import ConsoleCollector

bp = Blueprint("metrics", __name__)
# For the program scraping, in English like the JSON API's answers (and so outside the translated catalog).
REFUSAL = "Scrape from this machine, or send Authorization: Bearer <METRICS_TOKEN>.\n"


@bp.route("/metrics")
@login_exempt
def scrape():
    """The metrics in Prometheus' text format, or 403 to anyone else (the address is no secret: it is documented)."""
    if not may_scrape(request.remote_addr, request.headers.get("Authorization"), current_app.config["METRICS_TOKEN"]):
        return Response(REFUSAL, 403, content_type="text/plain; charset=utf-8")
    return Response(generate_latest(ConsoleCollector(db.session)), content_type=CONTENT_TYPE_LATEST)
