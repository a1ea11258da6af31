"""Password guessing slows down per account and address, without locking the real administrator out."""

from datetime import UTC, datetime, timedelta

import pytest

from ddenterpriseapi.auth.throttle import delay_after, rounded_up, wait_left
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent
from tests.helpers import ADMIN, AuthActions, age_events

BASE = "/ddenterpriseapi"
WRONG = "wrong password!"


@pytest.mark.parametrize(("failures", "seconds"), [
    (0, 0), (1, 0), (2, 0), (3, 30), (4, 60), (5, 120), (6, 240), (7, 480), (8, 900), (9, 900), (5000, 900)])
def test_delay_grows_from_the_third_failure_and_is_capped(failures, seconds):
    assert delay_after(failures) == timedelta(seconds=seconds)


def test_wait_left_counts_from_the_last_failure():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert wait_left(0, None, now) == timedelta(0)
    assert wait_left(4, now - timedelta(seconds=45), now) == timedelta(seconds=15)
    assert wait_left(3, now - timedelta(seconds=45), now) < timedelta(0)


@pytest.mark.parametrize(("seconds", "shown"), [(0.2, 1), (29.5, 30), (59, 59), (60, 60), (61, 120), (899.9, 900)])
def test_waits_are_shown_rounded_up(seconds, shown):
    assert rounded_up(timedelta(seconds=seconds)) == timedelta(seconds=shown)


class Visitor:
    """A browser at one address, using the login page."""

    def __init__(self, app, ip):
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = ip
        self.auth = AuthActions(app, self.client)

    def login(self, username=ADMIN[0], password=ADMIN[1]):
        return self.auth.login(username, password)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_guesses_from_other_addresses_never_block_the_real_administrator(app, auth):
    for n in range(5):
        guesser = Visitor(app, f"203.0.113.{n + 1}")
        for _ in range(3):
            assert guesser.login(password=WRONG).status_code == 200
        assert guesser.login().status_code == 429  # each guessing address waits
    admin = Visitor(app, "192.0.2.1")
    response = admin.login()
    assert response.status_code == 302
    notice = page_text(admin.client.get(response.headers["Location"]))
    assert "15 failed logins on your account since your previous login, from 5 addresses." in notice
    again = Visitor(app, "192.0.2.1")
    response = again.login()  # the next login has nothing new to report
    assert "failed login" not in page_text(again.client.get(response.headers["Location"]))


def test_repeated_failures_from_one_address_wait_longer_and_longer(app, auth):
    visitor = Visitor(app, "198.51.100.7")
    for _ in range(3):
        assert "Wrong username or password" in page_text(visitor.login(password=WRONG))
    refused = visitor.login()  # even the right password waits: it is not checked
    assert refused.status_code == 429 and "Wait 30 seconds and try again" in page_text(refused)
    age_events(app, timedelta(seconds=31))
    assert "Wrong username or password" in page_text(visitor.login(password=WRONG))
    assert "Wait 1 minute and try again" in page_text(visitor.login(password=WRONG))
    age_events(app, timedelta(seconds=61))
    assert "Wrong username or password" in page_text(visitor.login(password=WRONG))
    assert "Wait 2 minutes and try again" in page_text(visitor.login())
    with app.app_context():
        actions = [event.action for event in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("login_failed") == 5 and actions.count("login_refused") == 3
    age_events(app, timedelta(minutes=2))
    assert visitor.login().status_code == 302  # a login from there wipes the slate
    assert "Wrong username or password" in page_text(visitor.login(password=WRONG))


def test_one_address_guessing_many_accounts_is_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=False)
    AuthActions(app, app.test_client()).create()
    guesser = Visitor(app, "203.0.113.9")
    for n in range(20):
        assert "Wrong username or password" in page_text(guesser.login(f"user{n // 2}", WRONG))
    refused = guesser.login()
    assert refused.status_code == 429
    assert "Too many failed logins from your address. Wait 15 minutes" in page_text(refused)
    age_events(app, timedelta(minutes=10))
    assert "Wait 5 minutes" in page_text(guesser.login())
    assert Visitor(app, "192.0.2.1").login().status_code == 302
    age_events(app, timedelta(minutes=5), ip="203.0.113.9")
    assert guesser.login().status_code == 302


def test_guesses_in_other_cases_count_against_the_same_account(app, auth):
    visitor = Visitor(app, "198.51.100.8")
    for username in ("Admin", "ADMIN", "aDmIn"):
        assert "Wrong username or password" in page_text(visitor.login(username, WRONG))
    refused = visitor.login()
    assert refused.status_code == 429 and "Wait 30 seconds and try again" in page_text(refused)
