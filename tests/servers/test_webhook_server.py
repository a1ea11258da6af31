"""Self-tests of the webhook receiver, driven by requests over real sockets."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.servers.webhook_server import WebhookTestServer

ALERT = {"event": "delivery_failed", "message_id": 7, "error": "554 5.6.0 Message rejected"}


@pytest.fixture
def receiver():
    """A started webhook receiver, stopped after the test."""
    with WebhookTestServer() as server:
        yield server


def post(server: WebhookTestServer, timeout: float = 5.0) -> requests.Response:
    """POST the alert as JSON with a signature header, as the outbox will."""
    return requests.post(server.url, json=ALERT, headers={"X-Signature": "sha256=abc"}, timeout=timeout)


def test_records_json_body_and_headers(receiver):
    assert post(receiver).status_code == 204
    [request] = receiver.wait_for(1)
    assert request.path == "/hook"
    assert request.json() == ALERT
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-signature"] == "sha256=abc"


def test_respond_with_a_status_for_a_count_of_requests(receiver):
    receiver.respond_with(500, count=2)
    assert [post(receiver).status_code for _ in range(3)] == [500, 500, 204]
    assert len(receiver.wait_for(3)) == 3


def test_respond_with_a_status_until_heal(receiver):
    receiver.respond_with(503)
    assert [post(receiver).status_code for _ in range(2)] == [503, 503]
    receiver.heal()
    assert post(receiver).status_code == 204


def test_delay_holds_the_answer_but_records_the_request_at_once(receiver):
    receiver.delay(1.0)
    with pytest.raises(requests.ReadTimeout):
        post(receiver, timeout=0.2)
    assert receiver.wait_for(1, timeout=0.1)[0].json() == ALERT
    receiver.heal()
    assert post(receiver).status_code == 204


def test_delayed_requests_are_answered_concurrently(receiver):
    receiver.delay(0.3)
    started = time.monotonic()
    with ThreadPoolExecutor(3) as executor:
        statuses = [response.status_code for response in executor.map(lambda _: post(receiver), range(3))]
    assert time.monotonic() - started < 0.8
    assert statuses == [204, 204, 204]


def test_stop_wakes_a_slow_answer():
    server = WebhookTestServer().start()
    server.delay(30)
    with ThreadPoolExecutor(1) as executor:
        answer = executor.submit(post, server)
        server.wait_for(1)
        started = time.monotonic()
        server.stop()
        with pytest.raises(requests.ConnectionError):
            answer.result()
    assert time.monotonic() - started < 2
