"""The RELAY_* settings as the relay uses them, checked once at start-up so that a mistake is one line, not a
traceback or a relay that listens where it should not."""

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from ..console_error import ConsoleError
from ..validation import is_loopback

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RelaySettingsError(ConsoleError):
    """A RELAY_* setting the relay cannot start with."""


@dataclass(frozen=True)
class Listener:
    """One address the relay listens on; implicit_tls: TLS from the first byte (the port-465 style)."""

    host: str
    port: int
    implicit_tls: bool = False

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach it."""
        return is_loopback(self.host)

    def __str__(self) -> str:
        """host:port as the settings write it, IPv6 in brackets."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RelaySettings:
    """Where the relay listens, with which certificate, whom it trusts, and the limits of its connections."""

    listeners: tuple[Listener, ...]
    hostname: str
    tls_cert: str | None = None
    tls_key: str | None = None
    allow_plaintext: bool = False
    trusted_networks: tuple[Network, ...] = ()
    max_size: int = 25 * 1024 * 1024
    max_connections: int = 100
    idle_timeout: float = 300
    session_timeout: float = 3600
    auth_failure_delay: float = 1.0  # seconds a refused AUTH waits before its answer, to slow guessing down
    shutdown_grace: float = 10.0  # seconds a stopping relay lets a message being received finish

    @classmethod
    def from_config(cls, config: Mapping) -> "RelaySettings":
        """Read and check the RELAY_* settings; RelaySettingsError says what is wrong."""
        listeners = [parse_bind(config["RELAY_BIND"], "RELAY_BIND")]
        if config["RELAY_TLS_BIND"]:
            listeners.append(parse_bind(config["RELAY_TLS_BIND"], "RELAY_TLS_BIND", implicit_tls=True))
        settings = cls(
            listeners=tuple(listeners),
            hostname=config["RELAY_HOSTNAME"] or socket.gethostname(),
            tls_cert=config["RELAY_TLS_CERT"] or None,
            tls_key=config["RELAY_TLS_KEY"] or None,
            allow_plaintext=bool(config["RELAY_ALLOW_PLAINTEXT"]),
            trusted_networks=parse_networks(config["RELAY_TRUSTED_NETWORKS"]),
            max_size=positive(config["RELAY_MAX_SIZE"], "RELAY_MAX_SIZE"),
            max_connections=positive(config["RELAY_MAX_CONNECTIONS"], "RELAY_MAX_CONNECTIONS"),
            idle_timeout=positive(config["RELAY_IDLE_TIMEOUT"], "RELAY_IDLE_TIMEOUT"),
            session_timeout=positive(config["RELAY_SESSION_TIMEOUT"], "RELAY_SESSION_TIMEOUT"),
        )
        settings.check_tls()
        return settings

    @property
    def has_certificate(self) -> bool:
        """Whether the relay can speak TLS."""
        return bool(self.tls_cert and self.tls_key)

    def check_tls(self) -> None:
        """A certificate comes with its key; without one, nothing listens beyond loopback unless the operator
        allows plain text (passwords would cross the network readable), and there is no implicit-TLS listener."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise RelaySettingsError("Set both RELAY_TLS_CERT and RELAY_TLS_KEY, or neither.")
        if self.has_certificate:
            return
        if any(listener.implicit_tls for listener in self.listeners):
            raise RelaySettingsError("RELAY_TLS_BIND needs a certificate: set RELAY_TLS_CERT and RELAY_TLS_KEY.")
        exposed = [str(listener) for listener in self.listeners if not listener.loopback]
        if exposed and not self.allow_plaintext:
            raise RelaySettingsError(
                f"The relay would listen on {', '.join(exposed)} without TLS: set RELAY_TLS_CERT and RELAY_TLS_KEY, "
                "or RELAY_ALLOW_PLAINTEXT=true for clients on trusted networks only.")

    def trusts(self, address: str | None) -> bool:
        """Whether a client at this address may send without AUTH (RELAY_TRUSTED_NETWORKS)."""
        ip = client_ip(address)
        return ip is not None and any(ip in network for network in self.trusted_networks)


def client_ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A peer's address as an IP (an IPv4 client of a dual-stack listener as IPv4), or None."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def parse_bind(value: str, name: str, implicit_tls: bool = False) -> Listener:
    """host:port, [IPv6]:port."""
    host, _, port = str(value).rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RelaySettingsError(f"{name} must be host:port, such as 127.0.0.1:2525 or [::1]:2525 (not {value!r}).")
    return Listener(host, int(port), implicit_tls)


def parse_networks(value) -> tuple[Network, ...]:
    """A list of CIDRs, or one string of them separated by commas or spaces."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value or [])
    try:
        return tuple(ipaddress.ip_network(str(item), strict=False) for item in items)
    except ValueError as error:
        raise RelaySettingsError(f"RELAY_TRUSTED_NETWORKS: {error}.") from None


def positive(value, name: str) -> int | float:
    """A number above zero."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise RelaySettingsError(f"{name} must be a number above zero (not {value!r}).")
    return int(number) if number.is_integer() else number
