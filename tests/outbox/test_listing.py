"""The Outbox list: newest first, by status, by search, page after page by id without OFFSET or a sort."""

import pytest
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError

from ddenterpriseapi.extensions import db
from ddenterpriseapi.outbox.listing import Filter, find_messages, get_message
from ddenterpriseapi.outbox.monitoring import read_queue
from tests.helpers import add_outbox_message


@pytest.fixture
def add_message(app):
    """Commit a message in this status (its id), the listing then read in the test's own context."""
    with app.app_context():
        yield lambda status, **fields: add_outbox_message(app, status, **fields)


def ids(page) -> list[int]:
    return [message.id for message in page.messages]


def test_pages_go_back_and_forth_by_id(add_message):
    added = [add_message("sent") for _ in range(23)]
    newest = list(reversed(added))

    first = find_messages(Filter(), size=10)
    assert ids(first) == newest[:10] and first.newer_after is None and first.older_before == newest[9]
    second = find_messages(Filter(), before=first.older_before, size=10)
    assert ids(second) == newest[10:20] and (second.newer_after, second.older_before) == (newest[10], newest[19])
    last = find_messages(Filter(), before=second.older_before, size=10)
    assert ids(last) == newest[20:] and (last.newer_after, last.older_before) == (newest[20], None)
    back = find_messages(Filter(), after=last.newer_after, size=10)
    assert ids(back) == newest[10:20] and (back.newer_after, back.older_before) == (newest[10], newest[19])
    assert ids(find_messages(Filter(), after=back.newer_after, size=10)) == newest[:10]


def test_filter_by_status(add_message):
    held = [add_message("held") for _ in range(2)]
    add_message("sent")
    assert ids(find_messages(Filter(status="held"))) == held[::-1]


@pytest.mark.parametrize("search", ["QUARTERLY", "payroll@", "second@example", "<abc-123@", "uarterl"])
def test_search_finds_subject_sender_any_recipient_and_message_id(add_message, search):
    wanted = add_message("sent", subject="Quarterly figures", sender="payroll@example.com",
                         recipients=["first@example.org", "second@example.org"], message_id="<abc-123@example.com>")
    add_message("sent")
    assert ids(find_messages(Filter(search=search))) == [wanted]


def test_search_takes_wildcards_literally_and_combines_with_status(add_message):
    percent = add_message("failed", subject="100% done")
    add_message("failed", subject="1000 done")
    add_message("sent", subject="100% done too")
    assert ids(find_messages(Filter(status="failed", search="100%"))) == [percent]
    assert ids(find_messages(Filter(search="_"))) == []


def test_pages_never_load_the_body(add_message):
    message_id = add_message("held", attempts=[("held", "re-authorization needed")])
    listed, = find_messages(Filter()).messages
    shown = get_message(message_id)
    assert [attempt.detail for attempt in shown.attempt_log] == ["re-authorization needed"]
    for message in (listed, shown):
        with pytest.raises(InvalidRequestError, match="raiseload"):
            message.body  # noqa: B018


def test_every_page_query_walks_an_index_in_order(add_message):
    """No sort of the matching rows: the 2,000th page of sent mail costs what the first does."""
    message_id = add_message("sent")
    statements = []

    def remember(connection, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        for where in (Filter(), Filter(status="sent")):
            find_messages(where, before=message_id + 1)
            find_messages(where, after=message_id - 1)
        read_queue(db.session)  # the status tabs' counts
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    connection = db.session.connection()
    for statement, parameters in statements:
        plan = " ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        assert "TEMP B-TREE" not in plan, (statement, plan)
    assert len(statements) > 8  # every query above was looked at
