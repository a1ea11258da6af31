"""A notice in the forms it travels in: a webhook's JSON (with a one-line text that Slack and Microsoft Teams show)
and a plain email."""

from flask_babel import gettext as _

from ..mail.message import Draft
from .incidents import OPENED, REMINDER, RESOLVED, Notice
from .kinds import KINDS

PRODUCT = "ddenterpriseapi"


def console_url(notice: Notice, public_url: str | None) -> str | None:
    """The console page that deals with it, when PUBLIC_URL says where the console is."""
    return public_url.rstrip("/") + KINDS[notice.event].page if public_url else None


def headline(notice: Notice) -> str:
    """The state and severity before the summary, in capitals so a chat line shows them first."""
    if notice.state == RESOLVED:
        return _("RESOLVED: %(summary)s", summary=notice.summary)
    if notice.state == REMINDER:
        return _("STILL %(severity)s (since %(when)s UTC): %(summary)s", severity=notice.severity.upper(),
                 when=f"{notice.opened_at:%Y-%m-%d %H:%M}", summary=notice.summary)
    if notice.state == OPENED:
        return f"{notice.severity.upper()}: {notice.summary}"
    return _("TEST: %(summary)s", summary=notice.summary)


def text_line(notice: Notice, url: str | None) -> str:
    """One line for a chat: Slack's and Teams' incoming webhooks display the text field."""
    line = f"[{PRODUCT}] {headline(notice)}"
    return " ".join((line + (f" {url}" if url else "")).split())


def webhook_payload(notice: Notice, public_url: str | None) -> dict:
    """The JSON a webhook receives."""
    url = console_url(notice, public_url)
    return {"event": notice.event, "state": notice.state, "severity": notice.severity, "summary": notice.summary,
            "details": notice.details, "console_url": url, "text": text_line(notice, url)}


def email_draft(notice: Notice, recipients: list[str], public_url: str | None) -> Draft:
    """A plain email to the recipients; the sender is the route's to fill in."""
    url = console_url(notice, public_url)
    body = [notice.summary, "", notice.details] if notice.details else [notice.summary]
    if notice.opened_at:
        body += ["", _("Since %(when)s UTC.", when=f"{notice.opened_at:%Y-%m-%d %H:%M}")]
    if url:
        body += ["", _("Console: %(url)s", url=url)]
    body += ["", "--", _("Sent by the notifications of %(product)s: change who gets them on its Notifications page.",
                         product=PRODUCT)]
    subject = " ".join(f"[{PRODUCT}] {headline(notice)}".split())
    return Draft(to=recipients, subject=subject[:250], text="\n".join(body))
