"""Command-line administration: flask --app ddenterpriseapi COMMAND."""

import functools
import signal
import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import audit
from .auth.accounts import create_admin
from .auth.setup_code import close_setup
from .console_error import ConsoleError
from .database import schema_problem
from .extensions import current_runtime
from .mail.sending import send_test_email
from .mail.smtp import Trace
from .oauth.tokens import refresh_now
from .outbox.policy import OutboxPolicy
from .outbox.worker import Worker, worker_name
from .relay.backend import Backend
from .relay.server import RelayServer
from .relay.settings import RelaySettings
from .rotation import reencrypt_all, rotate_key_file


def explained(command):
    """Run the command on an up-to-date schema; a failure is one line and exit code 1, never a traceback."""

    @functools.wraps(command)
    @with_appcontext
    def run(*args, **kwargs):
        if problem := schema_problem():
            raise click.ClickException(problem)
        try:
            return command(*args, **kwargs)
        except ConsoleError as error:
            raise click.ClickException(error.message) from None

    return run


@click.command("create-admin")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@explained
def create_admin_command(username: str, password_stdin: bool) -> None:
    """Create an administrator (the first one closes the setup page)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    create_admin(username, password)
    close_setup(current_app.instance_path)
    audit.record("admin_created", audit.COMMAND_LINE, username)
    click.echo(f"Administrator {username} created.")


@click.command("send-test-email")
@click.argument("recipient")
@explained
def send_test_email_command(recipient: str) -> None:
    """Send the test email through the configured server, showing each step."""
    trace = Trace()
    try:
        message_id = send_test_email(current_runtime(), recipient, trace)
    except ConsoleError as error:
        audit.record("test_email_failed", audit.COMMAND_LINE, wording="failed_to", recipient=recipient,
                     reason=error.said)
        raise
    finally:
        echo_trace(trace)
    audit.record("test_email_sent", audit.COMMAND_LINE, wording="sent_to", recipient=recipient)
    click.echo(f"Sent: {message_id}")


@click.command("refresh-token")
@explained
def refresh_token_command() -> None:
    """Refresh the OAuth access token now; fails (exit 1) when re-authorization is required. For a daily timer."""
    account, expires_at = refresh_now(current_runtime())
    click.echo(f"Refreshed for {account or 'the authorized account'}; valid until {expires_at:%Y-%m-%d %H:%M} UTC.")


@click.command("rotate-key")
@click.option("--reencrypt", is_flag=True, help="Only re-encrypt under the first configured key.")
@explained
def rotate_key_command(reencrypt: bool) -> None:
    """Re-encrypt every secret under a new key; the console may keep running."""
    vault = current_runtime().vault
    count = reencrypt_all(vault) if reencrypt else rotate_key_file(vault)
    audit.record("encryption_key_rotated", audit.COMMAND_LINE, wording="secrets_reencrypted", count=count)
    click.echo(f"{count} secrets re-encrypted under the new key.")


@click.command("worker")
@explained
def worker_command() -> None:
    """Deliver the outbox until stopped; SIGTERM or Ctrl-C lets the message in flight finish first."""
    stop = stop_on_signals()
    name = worker_name()
    click.echo(f"Worker {name} delivering the outbox; stop it with Ctrl-C or SIGTERM.")
    Worker(current_runtime(), OutboxPolicy.from_config(current_app.config), stop, name).run()
    click.echo(f"Worker {name} stopped.")


@click.command("relay")
@explained
def relay_command() -> None:
    """Accept mail over SMTP into the outbox until stopped (RELAY_* settings); SIGTERM or Ctrl-C lets a message
    being received finish first."""
    settings = RelaySettings.from_config(current_app.config)
    stop = stop_on_signals()
    backend = Backend(current_runtime(), current_app._get_current_object().app_context)
    RelayServer(settings, backend).run(stop, on_ready=lambda where: click.echo(
        f"Relay listening on {where}; stop it with Ctrl-C or SIGTERM."))
    click.echo("Relay stopped.")


def stop_on_signals() -> threading.Event:
    """An event SIGTERM and Ctrl-C set: a long-running command stops cleanly when it is set."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def echo_trace(trace) -> None:
    """Each SMTP step on a line."""
    for step in trace.steps:
        click.echo(f"  {'ok ' if step['ok'] else 'FAILED'} {step['step']}: {step['detail']}")


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    for command in (create_admin_command, send_test_email_command, refresh_token_command, rotate_key_command,
                    worker_command, relay_command):
        app.cli.add_command(command)
