"""Building MIME messages, without an app or a request: what goes in the headers, and what is refused by name."""

import email
from email import policy

import pytest

from ddenterpriseapi.mail.errors import InvalidMessage
from ddenterpriseapi.mail.message import MAX_RECIPIENTS, Attachment, Draft, build_message


def draft(**fields) -> Draft:
    values = {"to": ["boss@example.org"], "subject": "Daily report", "sender": "reports@example.com", "text": "Hi"}
    return Draft(**values | fields)


def reparsed(message):
    """The message as a receiving server reads it back from the wire."""
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


def test_headers_and_body_survive_the_wire():
    message = reparsed(build_message(draft(subject="Rapport journalier – été", sender_name="Rapports Ünicode",
                                           cc=["cfo@example.org"], reply_to="team@example.com", html="<p>Hi</p>")))
    assert message["Subject"] == "Rapport journalier – été"
    assert message["From"].addresses[0].display_name == "Rapports Ünicode"
    assert message["Cc"] == "cfo@example.org" and message["Reply-To"] == "team@example.com"
    assert message["Message-ID"].endswith("@example.com>") and message["Date"]
    assert message.get_body(("plain",)).get_content().strip() == "Hi"
    assert message.get_body(("html",)).get_content().strip() == "<p>Hi</p>"


def test_bcc_recipients_are_checked_but_never_written():
    built = build_message(draft(bcc=["secret@example.org"]))
    assert "secret@example.org" not in built.as_string()
    with pytest.raises(InvalidMessage) as refused:
        build_message(draft(bcc=["not an address"]))
    assert refused.value.field == "bcc"


def test_attachments_keep_their_name_type_and_bytes():
    content = bytes(range(256))
    message = reparsed(build_message(draft(attachments=[Attachment("report.bin", content, "application/x-report")])))
    (part,) = message.iter_attachments()
    assert part.get_filename() == "report.bin" and part.get_content_type() == "application/x-report"
    assert part.get_content() == content


@pytest.mark.parametrize("fields, field", [
    ({"subject": "one\u2028two"}, "subject"),
    ({"subject": "one\x85two"}, "subject"),
    ({"sender_name": "Reports\rBcc: x@example.org"}, "from_name"),
    ({"to": ["a@example.org\nBcc: b@example.org"]}, "to"),
    ({"reply_to": "nobody"}, "reply_to"),
    ({"sender": "reports@"}, "from"),
    ({"attachments": [Attachment("a\x0bb.txt", b"x", "text/plain")]}, "attachments[0].filename"),
    ({"attachments": [Attachment("a.txt", b"x", 'text/plain; name="evil.exe"')]}, "attachments[0].content_type"),
    ({"to": []}, "to"),
    ({"to": [f"user{n}@example.org" for n in range(MAX_RECIPIENTS + 1)]}, "to"),
    ({"text": None, "html": None}, "text"),
])
def test_what_can_never_be_sent_is_refused_by_field(fields, field):
    with pytest.raises(InvalidMessage) as refused:
        build_message(draft(**fields))
    assert refused.value.field == field and refused.value.message
