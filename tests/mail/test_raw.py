"""Amending a message received as bytes: only the header lines the console adds or changes differ; folded fields,
the body (even lines that look like headers) and everything else stay byte for byte."""

from ddenterpriseapi.mail.raw import header_fields, raw_value, sent_as, with_missing_headers

MESSAGE = (b"Received: from a\r\n\tby b; Tue, 1 Dec 2026 06:00:00 +0000\r\n"
           b"From: \"Zo\xc3\xab K.\" <zoe@corp.example>\r\n"
           b"Subject: Weekly\r\n"
           b"Date: Tue, 01 Dec 2026 06:00:01 +0000\r\n"
           b"Message-ID: <w@corp.example>\r\n"
           b"\r\n"
           b"From: the body, not a header\r\n")


def test_header_fields_span_their_folded_lines_and_stop_at_the_body():
    fields = header_fields(MESSAGE)
    assert [name for _start, _end, name in fields] == [b"received", b"from", b"subject", b"date", b"message-id"]
    assert MESSAGE[fields[0][0]:fields[0][1]] == b"Received: from a\r\n\tby b; Tue, 1 Dec 2026 06:00:00 +0000\r\n"
    assert raw_value(MESSAGE, "message-id") == b" <w@corp.example>\r\n" and raw_value(MESSAGE, "To") is None


def test_a_complete_message_is_left_exactly_as_it_is():
    assert with_missing_headers(MESSAGE, "zoe@corp.example", utf8=False) == MESSAGE


def test_missing_fields_are_put_first():
    bare = b"Subject: x\r\n\r\nbody\r\n"
    completed = with_missing_headers(bare, "cron@hébergeur.example", utf8=True)  # an SMTPUTF8 envelope
    lines = completed.split(b"\r\n")
    assert lines[0].startswith(b"Message-ID: <") and lines[0].endswith(b"@xn--hbergeur-b1a.example>")
    assert lines[1].startswith(b"Date: ") and lines[2] == "From: cron@hébergeur.example".encode()
    assert completed.endswith(bare)


def test_sending_as_the_mailbox_changes_only_the_from_line():
    rewritten = sent_as(MESSAGE, "reports@example.com", utf8=False)
    new_lines = (b"From: =?utf-8?q?Zo=C3=AB_K=2E?= <reports@example.com>\r\n"
                 b"Reply-To: \"Zo\xc3\xab K.\" <zoe@corp.example>\r\n")
    assert rewritten == MESSAGE.replace(b"From: \"Zo\xc3\xab K.\" <zoe@corp.example>\r\n", new_lines, 1)


def test_sending_as_the_mailbox_keeps_a_reply_to_the_program_chose():
    message = b"Reply-To: desk@corp.example\r\nFrom: bot@corp.example\r\n\r\nhi\r\n"
    assert sent_as(message, "reports@example.com", utf8=True) == (
        b"Reply-To: desk@corp.example\r\nFrom: reports@example.com\r\n\r\nhi\r\n")
    assert sent_as(b"Subject: s\r\n\r\nhi\r\n", "reports@example.com", utf8=False) == (
        b"From: reports@example.com\r\nSubject: s\r\n\r\nhi\r\n")
