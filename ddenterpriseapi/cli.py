"""Command-line administration: flask --app ddenterpriseapi COMMAND."""

import functools
import sys

import click
from flask import Flask

from . import audit
from .auth.accounts import AccountError, create_admin
from .auth.setup_code import close_setup
from .crypto import current_vault
from .database import schema_problem
from .mail.errors import InvalidMessage, MailError
from .mail.sending import send_test_email
from .mail.smtp import Trace
from .oauth.errors import OAuthError
from .oauth.tokens import refresh_now
from .rotation import RotationError, reencrypt_all, rotate_key_file


def migrated(command):
    """Run the command only on an up-to-date schema; otherwise say so in one line, not a traceback."""

    @functools.wraps(command)
    def checked(*args, **kwargs):
        if problem := schema_problem():
            raise click.ClickException(problem)
        return command(*args, **kwargs)

    return checked


def register(app: Flask) -> None:
    """Attach the commands to the app."""

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @migrated
    def create_admin_command(username: str, password_stdin: bool) -> None:
        """Create an administrator (the first one closes the setup page)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            create_admin(username, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        close_setup(app.instance_path)
        audit.record("admin_created", username)
        click.echo(f"Administrator {username} created.")

    @app.cli.command("send-test-email")
    @click.argument("recipient")
    @migrated
    def send_test_email_command(recipient: str) -> None:
        """Send the test email through the configured server, showing each step."""
        trace = Trace()
        try:
            message_id = send_test_email(recipient, trace)
        except (MailError, OAuthError, InvalidMessage) as error:
            echo_trace(trace)
            audit.record("test_email_failed", f"to {recipient}: {error.message}")
            raise click.ClickException(error.message) from None
        echo_trace(trace)
        audit.record("test_email_sent", f"to {recipient}")
        click.echo(f"Sent: {message_id}")

    @app.cli.command("refresh-token")
    @migrated
    def refresh_token_command() -> None:
        """Refresh the OAuth access token now; fails (exit 1) when re-authorization is required. For a daily timer."""
        try:
            account, expires_at = refresh_now()
        except OAuthError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"Refreshed for {account or 'the authorized account'}; valid until {expires_at:%Y-%m-%d %H:%M} UTC.")

    @app.cli.command("rotate-key")
    @click.option("--reencrypt", is_flag=True, help="Only re-encrypt under the first configured key.")
    @migrated
    def rotate_key_command(reencrypt: bool) -> None:
        """Re-encrypt every secret under a new key; the console may keep running."""
        vault = current_vault()
        try:
            count = reencrypt_all(vault) if reencrypt else rotate_key_file(vault)
        except RotationError as error:
            raise click.ClickException(str(error)) from None
        audit.record("encryption_key_rotated", f"{count} secrets re-encrypted")
        click.echo(f"{count} secrets re-encrypted under the new key.")


def echo_trace(trace) -> None:
    """Each SMTP step on a line."""
    for step in trace.steps:
        click.echo(f"  {'ok ' if step['ok'] else 'FAILED'} {step['step']}: {step['detail']}")
