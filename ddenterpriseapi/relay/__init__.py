"""The SMTP relay: programs that speak only SMTP hand their mail to the console (AUTH with an API key, or from a
trusted network), and each message is committed to the outbox before they hear "queued"."""
