"""Credential sources: where the access token for a mailbox comes from. Today, the refresh token an
administrator's authorization left; app-only sign-in adds client credentials and service accounts beside it."""

from dataclasses import dataclass
from typing import Protocol

from ..models import OAuthSettings
from ..runtime import Runtime
from .tokens import AccessToken, get_access_token


class CredentialSource(Protocol):
    """Yields an access token for the mailbox that sends."""

    def access_token(self, rejected: str | None = None) -> AccessToken:
        """A valid token, other than `rejected` (one a server has just refused)."""


@dataclass(frozen=True)
class RefreshTokenSource:
    """Delegated sign-in: a person authorized once; their refresh token yields access tokens, refreshed as needed."""

    runtime: Runtime

    def access_token(self, rejected: str | None = None) -> AccessToken:
        return get_access_token(self.runtime, rejected)


def credential_source(settings: OAuthSettings, runtime: Runtime) -> CredentialSource:
    """The source the saved OAuth parameters call for (delegated sign-in is the only kind so far)."""
    return RefreshTokenSource(runtime)
