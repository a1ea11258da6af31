"""Authorization records: pending requests with single-use state, and completing them into a grant."""

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete

from ..database import locked
from ..extensions import db
from ..models import OAuthConnection, PendingAuthorization
from ..providers import Provider
from ..said import said
from . import flow
from .errors import OAuthError, UnmatchedAnswer, explain, first_line
from .flow import ClientParameters, TokenGrant
from .settings import get_settings
from .tokens import store_grant


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def start_authorization(params: ClientParameters, provider: Provider, session_binding: str,
                        lifetime: timedelta) -> str:
    """Remember a new state and PKCE verifier for this session, with the parameters the request goes out with;
    return the provider URL to visit."""
    forget_expired_requests(lifetime)
    state = secrets.token_urlsafe(32)
    url, verifier = flow.authorization_request(params, state)
    db.session.add(PendingAuthorization(
        state_hash=_digest(state), code_verifier=verifier, session_binding=session_binding,
        redirect_uri=params.redirect_uri, provider=provider.key, authorization_url=params.authorization_url,
        token_url=params.token_url, client_id=params.client_id, scopes=params.scopes,
    ))
    db.session.commit()
    return url


def find_pending(state: str | None, session_binding: str | None) -> PendingAuthorization:
    """The pending request an answer belongs to, checked without writing anything: an answer that matches no
    authorization started in this browser session must cost the database nothing."""
    if not session_binding:
        raise UnmatchedAnswer(_("No authorization was started in this browser session. Click Authorize to start "
                                "again."))
    if not state:
        raise UnmatchedAnswer(_("The provider's answer carries no state, so it cannot be matched to an "
                                "authorization started here. Click Authorize to start again."))
    pending = db.session.get(PendingAuthorization, _digest(state))
    if pending is None:
        raise UnmatchedAnswer(_("This authorization answer is unknown or was already used. Click Authorize to "
                                "start again."))
    if not secrets.compare_digest(pending.session_binding, session_binding):
        raise UnmatchedAnswer(_("This authorization was started in another browser session. Click Authorize here "
                                "to start again."))
    return pending


def claim_pending(state: str | None, session_binding: str | None, lifetime: timedelta) -> PendingAuthorization:
    """The pending request this state belongs to, consumed so it can never be used again."""
    find_pending(state, session_binding)
    pending = locked(PendingAuthorization, state_hash=_digest(state))
    if pending is None:  # another request consumed it since
        db.session.rollback()
        raise UnmatchedAnswer(_("This authorization answer is unknown or was already used. Click Authorize to "
                                "start again."))
    db.session.delete(pending)
    db.session.commit()
    if pending.created_at < datetime.now(UTC) - lifetime:
        raise OAuthError(said("authorization_expired"))
    return pending


def complete_authorization(
    answer: Mapping[str, str], session_binding: str | None, params: ClientParameters,
    providers: Mapping[str, Provider], lifetime: timedelta,
) -> OAuthConnection:
    """Check the provider's answer, exchange the code with the parameters the request went out with, and store
    the tokens."""
    pending = claim_pending(answer.get("state"), session_binding, lifetime)
    provider = providers[pending.provider].in_cloud(get_settings().cloud)
    if answer.get("iss") and not provider.accepts_issuer(answer["iss"], pending.authorization_url):
        raise OAuthError(said("issuer_mismatch"))
    if answer.get("error"):
        raise OAuthError(explain(answer["error"], answer.get("error_description")), code=answer["error"])
    if not answer.get("code"):
        raise OAuthError(said("no_authorization_code"))
    if (params.token_url, params.client_id) != (pending.token_url, pending.client_id):
        raise OAuthError(said("parameters_changed"))
    params = replace(params, redirect_uri=pending.redirect_uri, scopes=pending.scopes)  # exactly as requested
    grant = flow.exchange_code(params, answer["code"], pending.code_verifier)
    check_grant(grant, provider, params.scopes)
    return store_grant(grant, provider, consented=params.scopes)


def check_grant(grant: TokenGrant, provider: Provider, requested_scopes: str) -> None:
    """Refuse a grant that cannot keep mail flowing: no refresh token, or no SMTP scope."""
    if not grant.refresh_token:
        raise OAuthError(said("no_refresh_token", provider=provider.key))
    wanted = requested_scopes.split()[0] if requested_scopes else None
    if wanted and grant.scopes is not None and wanted not in grant.scopes.split():
        raise OAuthError(said("scope_not_granted", scope=wanted, granted=first_line(grant.scopes, 200)))


def forget_expired_requests(lifetime: timedelta) -> None:
    """Drop authorization requests nobody completed."""
    cutoff = datetime.now(UTC) - lifetime
    db.session.execute(delete(PendingAuthorization).where(PendingAuthorization.created_at < cutoff))
    db.session.commit()
