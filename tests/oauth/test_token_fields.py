"""Malformed token responses from a real authorization server: refused by name, never logged, never a crash page."""

import base64
import html
import json
import logging

import pytest

from tests.helpers import MAILBOX, stored_connection

BAD_FIELDS = [
    ("access_token", 918273645), ("access_token", ""), ("access_token", "a" * 20000), ("access_token", None),
    ("refresh_token", ["first-part", "second-part"]), ("refresh_token", ""),
    ("expires_in", 1e12), ("expires_in", "soon"), ("expires_in", 0), ("expires_in", True), ("expires_in", 3600.5),
    ("scope", 42), ("scope", ["https://mail.google.com/", 7]), ("scope", "s " * 10000),
    ("id_token", {"email": "someone@example.com"}), ("token_type", 7),
]


def console_log(caplog) -> str:
    """Every record the console logged, formatted with its traceback, and its raw fields.

    The test server's Authlib logs the tokens it issues, as a provider may: that is not the console's log.
    """
    formatter = logging.Formatter()
    return "\n".join(formatter.format(record) + repr(vars(record)) for record in caplog.records
                     if not record.name.startswith("authlib"))


def issued_access_token(server) -> str:
    """The access token the test server issued last, whatever the console was then shown."""
    return list(server.tokens)[-1]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_malformed_field_in_a_code_exchange_is_refused_by_name(google, oauth_app, caplog, field, value):
    caplog.set_level(logging.DEBUG)
    google.server.token_overrides = {field: value}
    page = html.unescape(google.connect().get_data(as_text=True))
    assert f"The token endpoint's answer has an invalid {field}: expected" in page
    assert stored_connection(oauth_app) is None
    assert issued_access_token(google.server) not in console_log(caplog)


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_malformed_field_in_a_refresh_is_refused_by_name(google, oauth_app, caplog, field, value):
    google.connect()
    before = stored_connection(oauth_app)
    google.server.token_overrides = {field: value}
    caplog.set_level(logging.DEBUG)
    result = oauth_app.test_cli_runner().invoke(args=["refresh-token"])
    assert result.exit_code == 1
    assert f"The token endpoint's answer has an invalid {field}: expected" in result.output
    assert stored_connection(oauth_app) == before
    assert issued_access_token(google.server) not in console_log(caplog)


def test_integer_string_expires_in_is_accepted(google, oauth_app):
    google.server.token_overrides = {"expires_in": "1800"}
    google.connect()
    assert stored_connection(oauth_app)["refresh_token"]


def test_id_token_naming_no_usable_address_falls_back_to_userinfo(google, oauth_app):
    claims = base64.urlsafe_b64encode(json.dumps({"email": ["first@example.com", "second@example.com"]}).encode())
    google.server.token_overrides = {"id_token": f"e30.{claims.decode().rstrip('=')}.signature"}
    page = html.unescape(google.connect().get_data(as_text=True))
    assert f"Authorized as {MAILBOX[0]}" in page
    assert stored_connection(oauth_app)["account"] == MAILBOX[0]
