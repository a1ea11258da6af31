"""Retry now, Cancel and Send again: what each changes, the statuses it refuses, and the worker it never races."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OutboxMessage
from ddenterpriseapi.outbox.actions import ActionRefused, MessageNotFound, cancel, retry_now, send_again
from ddenterpriseapi.outbox.statuses import ALL
from tests.helpers import OUTBOX_BODY, add_outbox_message, outbox_row


@pytest.fixture
def add(app):
    """Commit a message in this status; its id (the actions then run in a request of their own)."""
    with app.test_request_context():
        yield lambda status, **fields: add_outbox_message(app, status, **fields)


@pytest.mark.parametrize("status", ["deferred", "held"])
def test_retry_now_queues_for_immediate_delivery(app, add, status):
    message_id = add(status, next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
    retry_now(message_id)
    row = outbox_row(app, message_id)
    assert row["status"] == "queued" and row["body"] == OUTBOX_BODY
    assert abs(row["next_attempt_at"] - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize("status", sorted(set(ALL) - {"deferred", "held"}))
def test_retry_now_refuses_other_statuses(app, add, status):
    message_id = add(status)
    with pytest.raises(ActionRefused, match="Only a deferred or held message can be retried"):
        retry_now(message_id)
    assert outbox_row(app, message_id)["status"] == status


@pytest.mark.parametrize("status", ["queued", "deferred", "held"])
def test_cancel_withdraws_and_deletes_the_content(app, add, status):
    message_id = add(status)
    cancel(message_id)
    row = outbox_row(app, message_id)
    assert (row["status"], row["body"], row["next_attempt_at"]) == ("cancelled", None, None)
    assert abs(row["finished_at"] - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize("status", ["sending", "sent", "failed", "cancelled"])
def test_cancel_refuses_other_statuses(app, add, status):
    message_id = add(status)
    with pytest.raises(ActionRefused, match="Only a queued, deferred or held message can be cancelled"):
        cancel(message_id)
    row = outbox_row(app, message_id)
    assert row["status"] == status and row["body"] == OUTBOX_BODY


def test_an_action_never_overrides_a_worker_that_just_claimed_the_message(app, add):
    """The page showed a held message; a worker claims it before the click: the click is refused, not applied."""
    message_id = add("held")
    assert db.session.get(OutboxMessage, message_id).status == "held"  # what this request last saw
    with db.engine.begin() as worker:
        worker.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                       .values(status="sending", lease_owner="app-01:4242"))
    with pytest.raises(ActionRefused, match="this one is “Sending”"):
        cancel(message_id)
    with pytest.raises(ActionRefused, match="this one is “Sending”"):
        retry_now(message_id)
    row = outbox_row(app, message_id)
    assert (row["status"], row["lease_owner"], row["body"]) == ("sending", "app-01:4242", OUTBOX_BODY)


def test_send_again_queues_a_new_copy_and_leaves_the_failed_one(app, add):
    failed_id = add("failed", recipients=["a@example.org", "b@example.org"], last_error="550 5.1.1 unknown",
                    attempts=[("failed", "550 5.1.1 unknown")])
    copy_id = send_again(failed_id, "Administrator admin")
    original, copy = outbox_row(app, failed_id), outbox_row(app, copy_id)
    assert copy_id != failed_id
    assert (original["status"], original["body"], original["last_error"]) == ("failed", OUTBOX_BODY,
                                                                              "550 5.1.1 unknown")
    for same in ("body", "sender", "recipients", "subject", "message_id", "size", "origin"):
        assert copy[same] == original[same], same
    assert (copy["status"], copy["attempts"], copy["last_error"], copy["finished_at"]) == ("queued", 0, None, None)
    assert (copy["submitted_by"], copy["api_key_id"]) == ("Administrator admin", None)
    assert copy["next_attempt_at"] <= datetime.now(UTC)


@pytest.mark.parametrize("status", sorted(set(ALL) - {"failed"}))
def test_send_again_refuses_what_has_not_failed(app, add, status):
    message_id = add(status)
    with pytest.raises(ActionRefused, match="Only a failed message can be sent again"):
        send_again(message_id, "Administrator admin")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_send_again_refuses_a_message_whose_content_is_gone(add):
    message_id = add("failed", body=None)
    with pytest.raises(ActionRefused, match="no longer kept"):
        send_again(message_id, "Administrator admin")


@pytest.mark.parametrize("action", [retry_now, cancel, lambda message_id: send_again(message_id, "admin")])
def test_a_missing_message_is_said_so(add, action):
    with pytest.raises(MessageNotFound, match="There is no message 404 in the outbox"):
        action(404)
