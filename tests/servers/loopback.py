"""A guard rail for tests and benchmarks: any connection beyond this machine fails at once."""

import socket

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def guarded_socket_functions(real_connect, real_getaddrinfo):
    """socket.socket.connect and socket.getaddrinfo replacements that refuse non-loopback hosts."""

    def check(host):
        if host is not None and host not in LOOPBACK:
            raise AssertionError(f"tried to reach {host!r}: only loopback addresses are allowed here")

    def connect(sock, address):
        check(address[0] if isinstance(address, tuple) else None)
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        check(host.decode() if isinstance(host, bytes) else host)
        return real_getaddrinfo(host, *args, **kwargs)

    return connect, getaddrinfo


def install(setattr_=setattr) -> None:
    """Put the guard in place (pass monkeypatch.setattr to have pytest undo it)."""
    connect, getaddrinfo = guarded_socket_functions(socket.socket.connect, socket.getaddrinfo)
    setattr_(socket.socket, "connect", connect)
    setattr_(socket, "getaddrinfo", getaddrinfo)
