"""What the relay answers, in English on the wire as SMTP wants, each reply with its enhanced status code
(RFC 2034, RFC 3463), aiosmtpd's own replies included."""

import re

QUEUED = "250 2.0.0 Queued as {id}"
SENDER_OK = "250 2.1.0 Sender OK"
RECIPIENT_OK = "250 2.1.5 Recipient OK"
AUTHENTICATED = "235 2.7.0 Authentication successful"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
AUTH_INVALID = "535 5.7.8 Authentication credentials invalid"
AUTH_NEEDS_TLS = "538 5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first"
AUTH_THROTTLED = "454 4.7.0 Too many failed authentications from your address; try again in {seconds} seconds"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
TOO_BIG = "552 5.3.4 {reason}"
BAD_ADDRESS = "553 5.1.3 The address is not valid UTF-8"
REFUSED = "554 5.6.0 {reason}"
REFUSED_RECIPIENTS = "554 5.5.3 {reason}"
SENDER_NOT_ALLOWED = "550 5.7.1 {reason}"
UNDECODABLE = "501 5.5.2 Cannot decode base64"
UNSPLITTABLE = "501 5.5.2 Cannot split the PLAIN response"
TRY_LATER = "451 4.3.0 The message could not be queued; try again later"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections; try again later"
SESSION_TOO_LONG = "421 4.4.2 Connection open too long; closing"
SHUTTING_DOWN = "421 4.3.2 The relay is shutting down; try again later"
EXTENSIONS = ("250-PIPELINING", "250-ENHANCEDSTATUSCODES")  # aiosmtpd handles both, but does not say so

ENHANCED = re.compile(r"\d{3} [245]\.\d{1,3}\.\d{1,3}(\s|$)")
CLASS_CODES = {  # for aiosmtpd's replies that carry none: the code that fits each reply code
    "221": "2.0.0", "421": "4.3.0", "451": "4.3.0", "454": "4.7.0", "500": "5.5.2", "501": "5.5.4", "502": "5.5.1",
    "503": "5.5.1", "504": "5.5.4", "530": "5.7.0", "535": "5.7.8", "552": "5.3.4", "554": "5.7.0", "555": "5.5.4",
}


def with_enhanced_code(reply: str) -> str:
    """A final reply with the enhanced status code it lacks ("503 Error: need RCPT command" becomes "503 5.5.1
    Error: need RCPT command"). Greetings, EHLO lines and challenges (220, 250-, 334) stay as they are; of the
    bare 250s, only "250 OK" is a reply to a command."""
    if reply == "250 OK":
        return "250 2.0.0 OK"
    code, space, text = reply.partition(" ")
    if space and code in CLASS_CODES and not ENHANCED.match(reply):
        return f"{code} {CLASS_CODES[code]} {text}"
    return reply
