"""The dashboard's numbers: the queue, the last delivery, the worker's sign of life, and outcomes per day."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from ddenterpriseapi.outbox.stats import DayOutcome, daily_outcomes, queue_state
from tests.helpers import add_outbox_message, add_rows, worker_heartbeat

NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
STALE_AFTER = 300.0


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def finished(app, status: str, day: date, hour: int = 12) -> None:
    at = datetime.combine(day, time(hour), UTC)
    add_outbox_message(app, status, finished_at=at, sent_at=at if status == "sent" else None)


def test_outcomes_per_day_over_fourteen_days_with_the_empty_ones(app, ctx):
    today = NOW.date()
    for _ in range(3):
        finished(app, "sent", today)
    finished(app, "failed", today, hour=0)
    finished(app, "sent", today - timedelta(days=13), hour=0)  # the first day of the chart, its first hour
    finished(app, "failed", today - timedelta(days=5), hour=23)
    finished(app, "sent", today - timedelta(days=14), hour=23)  # the day before the chart
    finished(app, "cancelled", today)  # neither delivered nor failed
    add_outbox_message(app, "deferred")

    days = daily_outcomes(today)

    assert [outcome.day for outcome in days] == [today - timedelta(days=n) for n in range(13, -1, -1)]
    assert days[-1] == DayOutcome(today, delivered=3, failed=1)
    assert days[0] == DayOutcome(today - timedelta(days=13), delivered=1, failed=0)
    assert days[8] == DayOutcome(today - timedelta(days=5), delivered=0, failed=1)
    assert sum(outcome.delivered + outcome.failed for outcome in days) == 6
    assert all(outcome.delivered == outcome.failed == 0 for outcome in days[1:8] + days[9:13])


def test_an_empty_outbox_charts_fourteen_zero_days(ctx):
    days = daily_outcomes(NOW.date())
    assert len(days) == 14 and {(outcome.delivered, outcome.failed) for outcome in days} == {(0, 0)}


def test_queue_state_counts_what_waits_and_finds_the_oldest(app, ctx):
    for status, age in [("queued", 5), ("sending", 1), ("deferred", 90), ("held", 30), ("sent", 500), ("failed", 600)]:
        add_outbox_message(app, status, created_at=NOW - timedelta(minutes=age))
    for age in (timedelta(hours=2), timedelta(minutes=3)):
        add_outbox_message(app, "sent", sent_at=NOW - age, finished_at=NOW - age)

    state = queue_state(NOW, STALE_AFTER)

    assert state.depth == 4
    assert state.oldest_pending_seconds == 90 * 60
    assert state.last_delivery_at == NOW - timedelta(minutes=3)


def test_an_empty_queue_and_no_worker(ctx):
    state = queue_state(NOW, STALE_AFTER)
    assert state.depth == 0 and not state.worker_running
    assert state.oldest_pending_seconds is state.last_delivery_at is state.worker_seen_seconds_ago is None


@pytest.mark.parametrize("silence, running", [(4, True), (300, True), (301, False)])
def test_the_newest_heartbeat_tells_whether_a_worker_runs(app, ctx, silence, running):
    now = datetime.now(UTC)
    add_rows(app, worker_heartbeat(timedelta(hours=3), "app-01:1"), worker_heartbeat(timedelta(0), "app-01:2"))
    state = queue_state(now + timedelta(seconds=silence), STALE_AFTER)
    assert state.worker_running is running and state.worker_seen_seconds_ago == pytest.approx(silence, abs=1)
