"""The grammar of ``audit.syslog.address``: an absolute socket path (``/dev/log``),
``udp://host:port`` or ``tcp://host:port`` (an IPv6 host in brackets).

Promise: one grammar. The policy validates an address with ``parse_syslog_address`` and
audit/syslog.py connects to what the same function parses, so an address the policy
accepts is exactly one the audit layer understands. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Transport = Literal["udp", "tcp"]
_TRANSPORTS: Final[Mapping[str, Transport]] = MappingProxyType({"udp": "udp", "tcp": "tcp"})
_GRAMMAR: Final = (
    "expected an absolute socket path such as /dev/log, or udp://host:port or tcp://host:port"
)


@dataclass(frozen=True, slots=True)
class SyslogAddress:
    """A parsed address: a socket path, or a transport, host (without IPv6 brackets) and
    port."""

    socket_path: str | None
    transport: Transport | None = None
    host: str = ""
    port: int = 0


def parse_syslog_address(value: str) -> SyslogAddress:
    """Parse an address, or raise ValueError naming the grammar. A socket path is taken
    as it is: the policy checks it as it checks every path."""
    if value.startswith("/"):
        return SyslogAddress(socket_path=value)
    scheme, sep, rest = value.partition("://")
    host, colon, port = rest.rpartition(":")
    transport = _TRANSPORTS.get(scheme) if sep else None
    if (
        transport is not None
        and colon
        and host.strip("[]")
        and port.isdigit()
        and 0 < int(port) < 65536
    ):
        return SyslogAddress(None, transport, host.strip("[]"), int(port))
    raise ValueError(_GRAMMAR)
