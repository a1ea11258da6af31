"""The fields of a token response, checked before oauthlib or the console use them.

A wrong type or size (a refresh token as a list, expires_in of 1e12) would otherwise fail deep in
oauthlib, in date arithmetic or in a database statement, as a crash page or a log line quoting tokens.
"""

import re

from flask_babel import lazy_gettext as _l

MAX_TOKEN_CHARS = 16 * 1024
MAX_EXPIRES_IN = 365 * 24 * 3600  # one year
SECONDS = re.compile(r"[0-9]{1,10}")


def _token(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TOKEN_CHARS


def _seconds(value) -> bool:
    if isinstance(value, str) and SECONDS.fullmatch(value):
        value = int(value)
    return type(value) is int and 1 <= value <= MAX_EXPIRES_IN


def _scope(value) -> bool:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = " ".join(value)
    return isinstance(value, str) and len(value) <= MAX_TOKEN_CHARS


def _text(value) -> bool:
    return isinstance(value, str)


# name: (required, check, what is expected)
FIELDS = {
    "access_token": (True, _token, _l("a text of 1 to 16384 characters")),
    "refresh_token": (False, _token, _l("none, or a text of 1 to 16384 characters")),
    "expires_in": (False, _seconds, _l("none, or a whole number of seconds from 1 to one year")),
    "scope": (False, _scope, _l("none, or a text or list of texts of at most 16384 characters")),
    "id_token": (False, _text, _l("none, or a text")),
    "token_type": (False, _text, _l("none, or a text")),
}


def invalid_field(body: dict) -> tuple[str, str] | None:
    """The first field of a granting token response that is missing or malformed, with what was expected."""
    for name, (required, check, expected) in FIELDS.items():
        if (name in body or required) and not check(body.get(name)):
            return name, str(expected)
    return None
