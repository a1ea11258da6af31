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


def test_connections_the_worker_gives_back_wait_for_the_disk_again(sending, admin_client, oauth_app):
    """Only the worker's records of deliveries skip the wait for the disk: a connection it used goes back to the
    pool waiting for it again, so an alert it puts in the outbox is stored before it counts as accepted."""
    smtp, key = sending
    ids = [queue_mail(admin_client, key, f"report {n}") for n in range(3)]
    worker = RunningWorker(oauth_app).start()
    try:
        for message_id in ids:
            wait_for_status(oauth_app, message_id, "sent")
    finally:
        worker.halt()
    with oauth_app.app_context():
        connections = [db.engine.connect() for _ in range(db.engine.pool.size())]  # the pool's, the worker's among them
        try:
            levels = {c.connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0] for c in connections}
        finally:
            for connection in connections:
                connection.close()
    assert levels == {2}  # FULL
