"""The conditions worth telling someone about, each read from the database: a Finding while it holds, else None."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import OutboxMessage
from ..oauth.app_tokens import recorded_rejection
from ..oauth.settings import get_settings, stored_certificate
from ..oauth.source import app_token_keys
from ..oauth.tokens import get_connection
from ..outbox.statuses import DEFERRED, FAILED, HELD
from ..providers import APPLICATION
from ..runtime import Runtime
from . import kinds
from .absence import worker_absence

DEFERRED_AGE = timedelta(minutes=15)  # deferred longer than this: the retries are not getting through
SECRET_WARNINGS = ((kinds.SECRET_EXPIRES_30, 30), (kinds.SECRET_EXPIRES_7, 7))  # kind, days ahead
CERTIFICATE_WARNINGS = ((kinds.CERTIFICATE_EXPIRES_30, 30), (kinds.CERTIFICATE_EXPIRES_7, 7))
LISTED_FAILURES = 5  # failed messages named in one notification
START_COMMAND = "flask --app ddenterpriseapi worker"


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: its kind (the incident's key) and what to say about it."""

    kind: str
    summary: str
    details: str = ""


def delegated_connection():
    """The connection delegated sign-in uses; None under app-only sign-in, where a leftover one is not used (nor
    watched)."""
    return get_connection() if app_token_keys(get_settings()) is None else None


def reauthorization_required() -> Finding | None:
    """The refresh token is dead: mail is held until an administrator authorizes again (delegated sign-in)."""
    connection = delegated_connection()
    if connection is None or not connection.needs_reauthorization:
        return None
    return Finding(kinds.REAUTHORIZATION, _("Re-authorization required: mail is held until an administrator clicks "
                                            "Authorize on the OAuth page."), str(connection.reauthorization_reason))


def credentials_rejected() -> Finding | None:
    """App-only sign-in: the token endpoint refused the application's or the service account's credentials; mail is
    held until an administrator saves working ones (or fixes them at the provider, seen at the next token)."""
    keys = app_token_keys(get_settings())
    rejection = recorded_rejection(keys) if keys else None
    if rejection is None:
        return None
    return Finding(kinds.CREDENTIALS_REJECTED, _(
        "Credentials rejected: the provider refused the application's credentials, and mail is held until an "
        "administrator fixes them on the OAuth page or at the provider."), rejection)


def messages_deferred(moment: datetime) -> Finding | None:
    """Messages the server keeps refusing for now: the oldest deferred one waits longer than DEFERRED_AGE."""
    oldest, count = db.session.execute(select(func.min(OutboxMessage.created_at), func.count())
                                       .where(OutboxMessage.status == DEFERRED)).one()
    if not count or moment - oldest <= DEFERRED_AGE:
        return None
    last_error = db.session.scalar(select(OutboxMessage.last_error).where(OutboxMessage.status == DEFERRED)
                                   .order_by(OutboxMessage.created_at).limit(1))
    summary = ngettext("%(num)d message is deferred; it was accepted %(duration)s ago.",
                       "%(num)d messages are deferred; the oldest was accepted %(duration)s ago.",
                       count, duration=format_timedelta(moment - oldest))
    return Finding(kinds.DEFERRED, summary, _("The last error: %(error)s", error=last_error or _("none recorded")))


def messages_held(moment: datetime) -> Finding | None:
    """Messages waiting for an administrator for another reason than the sign-in's (told apart): a server refusing
    the credentials, a transport lacking a permission, an email server not configured."""
    oldest, count = db.session.execute(select(func.min(OutboxMessage.created_at), func.count())
                                       .where(OutboxMessage.status == HELD)).one()
    if not count:
        return None
    reason = db.session.scalar(select(OutboxMessage.last_error).where(OutboxMessage.status == HELD)
                               .order_by(OutboxMessage.created_at).limit(1))
    summary = ngettext("%(num)d message is held until an administrator acts; it was accepted %(duration)s ago.",
                       "%(num)d messages are held until an administrator acts; the oldest was accepted %(duration)s "
                       "ago.", count, duration=format_timedelta(moment - oldest))
    return Finding(kinds.HELD, summary, _("Why: %(reason)s", reason=reason or _("none recorded")))


def messages_failed(since: datetime) -> Finding | None:
    """Messages that failed for good since the checks last looked: each failure is told once."""
    query = select(OutboxMessage).where(OutboxMessage.status == FAILED, OutboxMessage.finished_at > since)
    count = db.session.scalar(select(func.count()).select_from(query.subquery()))
    if not count:
        return None
    newest = db.session.scalars(query.order_by(OutboxMessage.finished_at.desc()).limit(LISTED_FAILURES))
    details = [f"#{message.id} {message.subject!r} to {', '.join(message.recipients)}: {message.last_error}"
               for message in newest]
    if count > LISTED_FAILURES:
        details.append(_("… and %(count)s more.", count=count - LISTED_FAILURES))
    return Finding(kinds.FAILED, ngettext("%(num)d message failed for good: it will not be sent.",
                                          "%(num)d messages failed for good: they will not be sent.", count),
                   "\n".join(details))


def newest_failure() -> datetime | None:
    """When the latest message failed for good: up to there, failures have been looked at."""
    return db.session.scalar(select(func.max(OutboxMessage.finished_at)).where(OutboxMessage.status == FAILED))


def worker_down(moment: datetime) -> Finding | None:
    """No delivery worker for WORKER_SILENCE while one is needed: nothing is being sent."""
    absence = worker_absence(moment)
    if absence is None:
        return None
    duration = format_timedelta(absence.duration)
    summary = (_("No delivery worker has been seen for %(duration)s: mail is not being sent.", duration=duration)
               if absence.ever_seen else
               _("No delivery worker has run yet, and mail has waited %(duration)s: it is not being sent.",
                 duration=duration))
    return Finding(kinds.WORKER_DOWN, summary, _("Start it: %(command)s (or its systemd unit).",
                                                 command=START_COMMAND))


def client_secret_expiry(moment: datetime, kind: str, days_ahead: int) -> Finding | None:
    """The client secret expires within days_ahead days (or has expired), by the date the administrator entered:
    refreshing will then fail."""
    settings = get_settings()
    if not settings.client_secret:
        return None
    return expiry_finding(kind, moment, days_ahead, settings.client_secret_expires_on, secret_wording)


def client_certificate_expiry(moment: datetime, kind: str, days_ahead: int) -> Finding | None:
    """The application certificate application sign-in uses expires within days_ahead days (or has expired), by its
    own notAfter: token requests will then be refused."""
    settings = get_settings()
    certificate = stored_certificate(settings) if settings.sign_in == APPLICATION else None
    if certificate is None:
        return None
    return expiry_finding(kind, moment, days_ahead, certificate.not_after.date(),
                          partial(certificate_wording, certificate.thumbprint_sha1))


def expiry_finding(kind: str, moment: datetime, days_ahead: int, expires: date | None,
                   wording: Callable[[str, int], tuple[str, str]]) -> Finding | None:
    """A credential that expires within days_ahead days (or has expired), told in its own words."""
    if expires is None or (expires - moment.date()).days > days_ahead:
        return None
    return Finding(kind, *wording(expires.isoformat(), (expires - moment.date()).days))


def secret_wording(expires: str, days: int) -> tuple[str, str]:
    """The summary and the details of a client secret's expiry."""
    summary = (_("The OAuth client secret expired on %(date)s.", date=expires) if days < 0 else
               ngettext("The OAuth client secret expires on %(date)s, in %(num)d day.",
                        "The OAuth client secret expires on %(date)s, in %(num)d days.", days, date=expires))
    return summary, _(
        "Create a new client secret with the provider (Azure: Certificates & secrets, New client secret), then enter "
        "its value and its expiry date on the OAuth page. Once the secret has expired, the access token cannot be "
        "refreshed and mail is held.")


def certificate_wording(thumbprint: str, expires: str, days: int) -> tuple[str, str]:
    """The summary and the details of an application certificate's expiry."""
    summary = (_("The application certificate (thumbprint %(thumbprint)s) expired on %(date)s.",
                 thumbprint=thumbprint, date=expires) if days < 0 else
               ngettext("The application certificate (thumbprint %(thumbprint)s) expires on %(date)s, in %(num)d day.",
                        "The application certificate (thumbprint %(thumbprint)s) expires on %(date)s, in %(num)d "
                        "days.", days, thumbprint=thumbprint, date=expires))
    return summary, _(
        "Create a new certificate, upload its public part to the app registration (Certificates & secrets > "
        "Certificates > Upload certificate), then give it with its private key on the OAuth page. Once the "
        "certificate has expired, Microsoft refuses the console's token requests and mail is held.")


def testing_token_expiry(moment: datetime, runtime: Runtime) -> Finding | None:
    """An app in the Testing publishing status: its refresh token dies testing_token_days after authorization, so
    say it a day before."""
    settings = get_settings()
    lifetime = runtime.providers[settings.provider].testing_token_days
    connection = delegated_connection()
    if not (settings.app_in_testing and lifetime and connection and connection.provider == settings.provider):
        return None
    dies_at = connection.authorized_at + timedelta(days=lifetime)
    if moment < dies_at - timedelta(days=1):
        return None
    return Finding(kinds.TESTING_TOKEN, _(
        "The refresh token ends on %(when)s UTC: the app is in the Testing publishing status, whose tokens live "
        "%(days)s days.", when=dies_at.strftime("%Y-%m-%d %H:%M"), days=lifetime), _(
        "Authorize again on the OAuth page before then, or publish the app (or make it Internal) and authorize once "
        "more, so that tokens no longer expire."))


def every_check(runtime: Runtime, moment: datetime, failures_since: datetime) -> dict[str, Finding | None]:
    """Every condition, by kind: what holds now."""
    findings = {
        kinds.REAUTHORIZATION: reauthorization_required(),
        kinds.CREDENTIALS_REJECTED: credentials_rejected(),
        kinds.DEFERRED: messages_deferred(moment),
        kinds.FAILED: messages_failed(failures_since),
        kinds.WORKER_DOWN: worker_down(moment),
        kinds.TESTING_TOKEN: testing_token_expiry(moment, runtime),
    }
    signed_out = findings[kinds.REAUTHORIZATION] or findings[kinds.CREDENTIALS_REJECTED]
    findings[kinds.HELD] = None if signed_out else messages_held(moment)  # one incident for one cause
    for check, warnings in ((client_secret_expiry, SECRET_WARNINGS),
                            (client_certificate_expiry, CERTIFICATE_WARNINGS)):
        for kind, days_ahead in warnings:
            findings[kind] = check(moment, kind, days_ahead)
    return findings
