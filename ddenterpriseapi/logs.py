"""Log lines a request cannot forge: control characters in logged values are written out (\\x0d, \\u2028)."""

import logging
import re

from gunicorn import glogging

# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escaped(text: str) -> str:
    """The text on one line: each control character as its \\x or \\u escape."""
    return CONTROL_CHARACTERS.sub(_escape, text)


class EscapeControlCharacters(logging.Filter):
    """Escapes a record's message, values included (Flask puts the request path into the message itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = escaped(record.getMessage()), None
        return True


ESCAPE = EscapeControlCharacters()


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, whose access log writes every value escaped (it logs the path URL-decoded)."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: escaped(value) if isinstance(value, str) else value for name, value in atoms.items()}


def init(app) -> None:
    """Escape the console's own records, whichever handlers end up writing them (added once: apps share it)."""
    app.logger.addFilter(ESCAPE)
