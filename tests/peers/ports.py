"""Ephemeral loopback ports for peers that cannot report the port they bound (SIPp)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel hands out as ephemeral and that is free for both UDP and TCP on `host`.

    SIPp needs its local port on the command line (`-p 0` makes it hunt upwards from 5060), so
    we ask the kernel for one and release it. Another process could take it before SIPp binds;
    callers retry on SIPp's bind-failure exit code.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for both UDP and TCP on {host}")


def format_hostport(host: str, port: int) -> str:
    """`host:port`, with an IPv6 reference in brackets (RFC 3261 §19.1.1)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"
