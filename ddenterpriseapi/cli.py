"""Command-line administration: flask --app ddenterpriseapi COMMAND."""

import sys

import click
from flask import Flask

from .auth.accounts import AccountError, create_admin
from .auth.setup_code import close_setup


def register(app: Flask) -> None:
    """Attach the commands to the app."""

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
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
        click.echo(f"Administrator {username} created.")
