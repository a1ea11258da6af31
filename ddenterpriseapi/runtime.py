"""What the services need from the configuration, read once when the app is built and handed to them, so that
sending, refreshing and auditing run the same from a page, the API, the command line or a test."""

from collections.abc import Mapping
from dataclasses import dataclass

from .crypto import Vault
from .providers import Provider


@dataclass(frozen=True)
class Runtime:
    """The provider registry (presets with the operator's overrides), the vault, timeouts and policies."""

    providers: Mapping[str, Provider]
    vault: Vault
    http_timeout: float = 10  # seconds for the whole of each call to a provider
    access_token_margin: float = 300  # seconds before expiry an access token is refreshed
    smtp_timeout: float = 20
    smtp_ca_bundle: str | None = None
    block_private_networks: bool = False
    public_url: str | None = None

    @classmethod
    def from_config(cls, config: Mapping, providers: Mapping[str, Provider], vault: Vault) -> "Runtime":
        return cls(
            providers=providers,
            vault=vault,
            http_timeout=config["HTTP_TIMEOUT"],
            access_token_margin=config["ACCESS_TOKEN_MARGIN"],
            smtp_timeout=config["SMTP_TIMEOUT"],
            smtp_ca_bundle=config["SMTP_CA_BUNDLE"],
            block_private_networks=config["BLOCK_PRIVATE_NETWORKS"],
            public_url=config["PUBLIC_URL"],
        )
