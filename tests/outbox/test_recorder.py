"""Outcomes are committed while the next message is on the wire, never more than one behind: a worker whose
database stalls stops sending instead of piling up deliveries nobody wrote down."""

import sqlite3
import time

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OutboxAttempt
from tests.helpers import RunningWorker, queue_mail, wait_for_status


def committed_sent(database: sqlite3.Connection) -> int:
    return database.execute("SELECT count(*) FROM outbox_message WHERE status = 'sent'").fetchone()[0]


def test_a_stalled_database_stops_the_sending_one_message_past_the_last_commit(sending, admin_client, oauth_app):
    smtp, key = sending
    ids = [queue_mail(admin_client, key, f"report {n}") for n in range(12)]
    with oauth_app.app_context():
        path = db.engine.url.database
    smtp.hang_after_data(0.05)
    worker = RunningWorker(oauth_app).start()
    try:
        smtp.wait_for_messages(3, timeout=10)
        database = sqlite3.connect(path, isolation_level=None, timeout=10)
        database.execute("BEGIN IMMEDIATE")  # the worker's next commit waits for this write lock
        before = committed_sent(database)
        time.sleep(1.5)  # about thirty messages' worth of sending
        stalled_at = len(smtp.messages)
        database.execute("ROLLBACK")
        database.close()
        # Unwritten at most: the outcome waiting for the lock, and the message sent meanwhile.
        assert before < stalled_at <= before + 2, (before, stalled_at)
        for message_id in ids:
            wait_for_status(oauth_app, message_id, "sent")
    finally:
        worker.halt()
    assert len(smtp.messages) == 12
    with oauth_app.app_context():
        assert db.session.query(OutboxAttempt).filter_by(outcome="sent").count() == 12
