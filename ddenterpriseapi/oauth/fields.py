"""Form fields and readers for what the OAuth page takes in: secrets and key material that never come back to the
page, uploaded files, and addresses typed one per line."""

from wtforms import PasswordField, TextAreaField

from ..text import lines


class WriteOnlyPasswordField(PasswordField):
    """A secret's field, never filled from the stored row: a post without it keeps the stored secret rather than
    sending it back as if typed (PasswordField already never shows it)."""

    def process_data(self, value):
        self.data = None


class WriteOnlyTextAreaField(TextAreaField):
    """A text area for key material: never filled from the stored row nor sent back to the page."""

    process_data = WriteOnlyPasswordField.process_data

    def _value(self):
        return ""


def uploaded_text(upload, limit: int) -> str:
    """The text of an uploaded file (what is past the limit is left unread: the reader refuses the size)."""
    if upload is None:
        return ""
    return upload.stream.read(limit + 1).decode("utf-8-sig", errors="replace").strip()


def unique_addresses(text: str | None) -> list[str]:
    """One address a line, each once (ignoring case), in the order typed."""
    addresses: dict[str, str] = {}
    for address in lines(text):
        addresses.setdefault(address.lower(), address)
    return list(addresses.values())
