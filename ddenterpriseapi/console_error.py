"""The one base of the failures the console explains: a message that says what to do, and where it happened."""

from .said import Said, text
from .text import truncated

MESSAGE_LIMIT = 1000  # characters: provider and server text can run to kilobytes; it ends in a flash cookie


class ConsoleError(Exception):
    """A failure an administrator or a calling program can act on; each surface (page, API, command) shows it.
    Given as a Said, the message can be worded again in another language (the audit log does)."""

    api_status = 400  # the JSON API's answer to it

    def __init__(self, message: str | Said, *, field: str | None = None, step: str | None = None):
        self.said = message if isinstance(message, Said) else text(message)
        message = truncated(str(message), MESSAGE_LIMIT)
        super().__init__(message)
        self.message, self.field, self.step = message, field, step

    def api_details(self) -> dict:
        """What the JSON API adds to {"error": message}."""
        return {"field": self.field} if self.field else {}
