"""The delivery worker as production runs it (`flask --app ddenterpriseapi worker`), killed and stopped for real:
accepted mail is never lost, and several workers never send a message twice."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
import requests

from ddenterpriseapi.mail.server import save_mail_server
from tests.deploy.helpers import REPO_ROOT, SMTP_LOGIN, console_env, free_ports, prepare_console, set_up, wait_until
from tests.helpers import APP_MAILBOXES, CLIENT, save_oauth_settings
from tests.servers.mail_apis import GraphTestServer
from tests.servers.process import stop_process


def submit(url: str, key: str, count: int, senders: tuple[str, ...] = ()) -> list[str]:
    """Hand `count` messages to the API, fifty per request (from each sender in turn, if given); their Message-IDs."""
    message_ids = []
    with requests.Session() as http:
        http.trust_env = False
        for start in range(0, count, 50):
            body = {"messages": [{"to": [f"user{n}@example.org"], "subject": f"report {n}", "text": "See attachment.",
                                  **({"from": senders[n % len(senders)]} if senders else {})}
                                 for n in range(start, min(start + 50, count))]}
            answer = http.post(f"{url}/v2/mail", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            assert answer.status_code == 202, answer.text
            message_ids += [receipt["message_id"] for receipt in answer.json()]
    return message_ids


def received_ids(smtp) -> list[str]:
    return [message.message["Message-ID"] for message in list(smtp.messages)]


def graph_ids(graph) -> list[str]:
    return [BytesHeaderParser().parsebytes(message.raw)["Message-ID"] for message in list(graph.messages)]


def statuses(instance: Path) -> dict[str, int]:
    with sqlite3.connect(instance / "ddenterpriseapi.db") as database:
        return dict(database.execute("SELECT status, count(*) FROM outbox_message GROUP BY status").fetchall())


def test_a_worker_killed_mid_drain_loses_nothing(tmp_path, start_console, start_worker, make_smtp, pki):
    smtp = make_smtp(passwords=dict([SMTP_LOGIN]))
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path)
    url, key = set_up(env, start_console, smtp)
    expected = submit(url, key, 200)
    smtp.hang_after_data(0.05)  # a slow server: the drain takes seconds, and the kill lands mid-batch
    first = start_worker(env, "first")
    wait_until(lambda: len(smtp.messages) >= 40, 30, "the first worker delivered nothing")
    first.kill()
    start_worker(env, "second")  # takes over once the dead worker's lease runs out
    wait_until(lambda: set(received_ids(smtp)) >= set(expected), 90, "messages were lost")
    delivered = received_ids(smtp)
    duplicates = len(delivered) - len(set(delivered))
    print(f"SIGKILL mid-drain: {len(expected)} messages, {duplicates} delivered twice")
    # At most the message whose DATA the server accepted in the instant before the kill, and the one before it
    # if its outcome was still being committed meanwhile (outbox/recorder.py).
    assert duplicates <= 2
    wait_until(lambda: statuses(tmp_path / "instance") == {"sent": 200}, 10, "not every message is recorded sent")


def test_an_app_only_worker_killed_mid_drain_through_graph_loses_nothing(tmp_path, start_console, start_worker,
                                                                        make_smtp, make_app, microsoft_server, pki):
    """Application sign-in, two mailboxes (claimed and signed in per mailbox), Microsoft Graph as the transport."""
    with GraphTestServer(microsoft_server, pki) as graph:
        overrides = {"microsoft": {**microsoft_server.provider_override(), "api_url": f"{graph.base_url}/v1.0",
                                   "sending_rate": None}}  # unpaced: the drain is what is measured
        env = console_env(tmp_path / "instance", overrides=overrides, ca_bundle=pki.ca_cert_path)
        url, key = set_up(env, start_console, make_smtp(passwords=dict([SMTP_LOGIN])))
        app = make_app(INSTANCE_PATH=str(tmp_path / "instance"), OAUTH_PROVIDER_OVERRIDES=overrides)
        save_oauth_settings(app, provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                            client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes="\n".join(APP_MAILBOXES))
        with app.app_context():
            save_mail_server({"authentication": "oauth", "transport": "graph", "sender_address": None})
        microsoft_server.grant_app_permission(CLIENT[0], "Mail.Send")
        expected = submit(url, key, 200, senders=APP_MAILBOXES)
        first = start_worker(env, "first")
        wait_until(lambda: len(graph.messages) >= 40, 30, "the first worker delivered nothing")
        first.kill()
        assert len(graph.messages) < len(expected)  # killed mid-drain
        start_worker(env, "second")  # takes over once the dead worker's lease runs out
        wait_until(lambda: set(graph_ids(graph)) >= set(expected), 90, "messages were lost")
        delivered = graph_ids(graph)
        duplicates = len(delivered) - len(set(delivered))
        print(f"SIGKILL mid-drain, app-only through Graph: {len(expected)} messages, {duplicates} delivered twice")
        assert duplicates <= 2
        assert {message.mailbox.lower() for message in graph.messages} == {box.lower() for box in APP_MAILBOXES}
        wait_until(lambda: statuses(tmp_path / "instance") == {"sent": 200}, 10, "not every message is recorded sent")


def test_sigterm_finishes_the_message_in_flight_and_gives_back_the_rest(tmp_path, start_console, start_worker,
                                                                         make_smtp, pki):
    smtp = make_smtp(passwords=dict([SMTP_LOGIN]))
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path)
    url, key = set_up(env, start_console, smtp)
    submit(url, key, 5)
    smtp.hang_after_data(2)
    worker = start_worker(env)
    wait_until(lambda: smtp.connections >= 1, 10, "the worker did not connect")
    time.sleep(0.5)  # signed in, and waiting for the reply to the first DATA
    assert worker.stop() == 0
    assert len(smtp.messages) == 1
    assert statuses(tmp_path / "instance") == {"sent": 1, "queued": 4}


@pytest.mark.postgres
def test_two_workers_deliver_a_thousand_messages_exactly_once(tmp_path, postgres_db, start_console, start_worker,
                                                              make_smtp, pki):
    smtp = make_smtp(passwords=dict([SMTP_LOGIN]))
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path,
                      database_url=postgres_db.url, DDE_OUTBOX_BATCH_SIZE="20")
    url, key = set_up(env, start_console, smtp)
    expected = submit(url, key, 1000)
    start_worker(env, "first"), start_worker(env, "second")
    wait_until(lambda: len(smtp.messages) >= 1000, 180, "not every message arrived")
    time.sleep(1)  # anything sent twice would arrive by now
    delivered = received_ids(smtp)
    assert len(delivered) == 1000 and set(delivered) == set(expected)
    with postgres_db.connect() as connection:
        workers = connection.execute("SELECT count(DISTINCT worker) FROM outbox_attempt").fetchone()[0]
        sent = connection.execute("SELECT count(*) FROM outbox_message WHERE status = 'sent'").fetchone()[0]
    assert workers == 2 and sent == 1000


def test_the_run_command_starts_the_console_the_worker_and_the_relay_and_ctrl_c_stops_them(tmp_path):
    """What `make run` does after the migrations: honcho starts the Procfile; Ctrl-C (SIGINT) ends everything."""
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle="")
    prepare_console(env)
    port, relay_port = free_ports(2)
    env.update(DDE_BIND=f"127.0.0.1:{port}", DDE_RELAY_BIND=f"127.0.0.1:{relay_port}",
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}", XDG_RUNTIME_DIR=str(tmp_path))
    output = tmp_path / "honcho.log"
    with open(output, "wb") as log:
        honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start"], cwd=REPO_ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: "delivering the outbox" in output.read_text(), 30, output.read_text())
            wait_until(lambda: "Relay listening on" in output.read_text(), 30, output.read_text())
            wait_until(lambda: healthy(f"http://127.0.0.1:{port}/ddenterpriseapi/healthz"), 30, output.read_text())
            honcho.send_signal(signal.SIGINT)
            assert honcho.wait(timeout=45) == 0 or "stopped" in output.read_text()
        finally:
            stop_process(honcho, ((signal.SIGTERM, 10),), kill_group=True)
    text = output.read_text()
    assert "Worker" in text and "stopped." in text and "Relay stopped." in text
    assert not healthy(f"http://127.0.0.1:{port}/ddenterpriseapi/healthz")
    assert subprocess.run(["pgrep", "-g", str(honcho.pid)], capture_output=True).stdout == b""  # none left


def healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
