"""The dashboard's Outbox tile and its chart of delivered and failed messages per day."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import add_outbox_message, add_rows, flashes, worker_heartbeat

DASHBOARD = "/ddenterpriseapi/"


@pytest.fixture
def admin(client, auth):
    auth.login()
    return client


def test_without_a_worker_the_dashboard_says_how_to_start_one(app, admin):
    add_outbox_message(app, "held", created_at=datetime.now(UTC) - timedelta(minutes=20))
    add_outbox_message(app, "queued")
    add_outbox_message(app, "sent")
    page = flashes(admin.get(DASHBOARD))
    assert "No worker running: start it with <code class=\"nowrap\">flask --app ddenterpriseapi worker</code>" in page
    assert "2 messages" in page and "20 minutes old" in page


def test_a_running_worker_is_seen_seconds_ago(app, admin):
    add_rows(app, worker_heartbeat(timedelta(seconds=3)))
    page = flashes(admin.get(DASHBOARD))
    assert re.search(r"Worker last seen \d+ s ago", page) and "No worker running" not in page
    assert "0 messages" in page and "none yet" in page


def test_the_chart_draws_fourteen_days_scaled_to_the_busiest(app, admin):
    now = datetime.now(UTC)
    for _ in range(4):
        add_outbox_message(app, "sent")
    add_outbox_message(app, "failed", finished_at=now - timedelta(days=2))
    add_outbox_message(app, "sent", finished_at=now - timedelta(days=20), sent_at=now - timedelta(days=20))
    page = admin.get(DASHBOARD).get_data(as_text=True)
    chart = page[page.index("<svg"):page.index("</svg>")]
    days = re.findall(r'<g class="day" data-day="([\d-]+)">(.*?)</g>', chart, re.S)
    assert [day for day, _ in days] == [(now.date() - timedelta(days=n)).isoformat() for n in range(13, -1, -1)]
    assert re.search(r'class="bar-delivered"[^>]* height="180.0"', days[-1][1])  # the busiest day fills the plot
    assert re.search(r'class="bar-failed"[^>]* height="45.0"', days[-3][1])  # a quarter of it
    assert sum("<rect" in drawn for _, drawn in days) == 2  # days without mail are left empty
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in chart and "<desc" in chart
    assert "4 delivered and 1 failed in all" in chart
    assert '<table class="sr-only">' in page and page.count('<th scope="row">') == 14
