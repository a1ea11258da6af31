"""The relay as production runs it (`flask --app ddenterpriseapi relay`): a program's message goes through it and
the worker to the provider; SIGTERM stops it cleanly; a setting that would expose it is refused in one line."""

import smtplib
import ssl
import subprocess
import sys

from tests.deploy.helpers import REPO_ROOT, SMTP_LOGIN, console_env, flask_command, free_port, set_up, wait_until
from tests.relay.helpers import bare_message


def test_a_message_through_the_relay_process_reaches_the_provider(tmp_path, start_console, start_worker,
                                                                   start_relay_process, make_smtp, pki):
    smtp = make_smtp(passwords=dict([SMTP_LOGIN]))
    port = free_port()
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path,
                      DDE_RELAY_BIND=f"127.0.0.1:{port}", DDE_RELAY_TLS_CERT=pki.cert_path,
                      DDE_RELAY_TLS_KEY=pki.key_path)
    _, key = set_up(env, start_console, smtp)
    relay = start_relay_process(env)
    assert f"Relay listening on 127.0.0.1:{port} (STARTTLS)" in relay.log_text()
    start_worker(env)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cafile=pki.ca_cert_path))
        client.login("nightly-report", key)
        client.sendmail("reports@example.com", ["boss@example.org"], bare_message(subject="Nightly report"))
    wait_until(lambda: smtp.messages, 30, "nothing arrived")
    assert smtp.messages[0].message["Subject"] == "Nightly report" and smtp.messages[0].auth_login == SMTP_LOGIN[0]
    assert relay.stop() == 0 and "Relay stopped." in relay.log_text()


def test_a_relay_that_would_listen_beyond_loopback_without_tls_refuses_to_start(tmp_path):
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle="", DDE_RELAY_BIND="0.0.0.0:2525")
    flask_command(env, "db", "upgrade")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "ddenterpriseapi", "relay"], cwd=REPO_ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "Error: The relay would listen on 0.0.0.0:2525 without TLS: set RELAY_TLS_CERT and RELAY_TLS_KEY, or "
        "RELAY_ALLOW_PLAINTEXT=true for clients on trusted networks only.")
