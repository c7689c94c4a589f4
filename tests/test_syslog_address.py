"""The one grammar of audit.syslog.address, shared by policy validation and audit/syslog.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from safeprobe.policy.models import SyslogConfig
from safeprobe.policy.syslog_address import SyslogAddress, parse_syslog_address


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/dev/log", SyslogAddress("/dev/log")),
        ("udp://127.0.0.1:514", SyslogAddress(None, "udp", "127.0.0.1", 514)),
        ("tcp://logs.example:6514", SyslogAddress(None, "tcp", "logs.example", 6514)),
        ("udp://[::1]:514", SyslogAddress(None, "udp", "::1", 514)),
        ("tcp://h:65535", SyslogAddress(None, "tcp", "h", 65535)),
    ],
)
def test_valid_addresses_parse_into_their_parts(text: str, parsed: SyslogAddress) -> None:
    """A socket path, or transport, host (IPv6 brackets dropped) and port."""
    assert parse_syslog_address(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "tcp://x",  # no port
        "udp://x:99999",  # port out of range
        "udp://x:0",
        "udp://x:-1",
        "http://x:80",  # not a syslog transport
        "x:514",  # no scheme
        "udp://:514",  # no host
        "udp://[]:514",
        "dev/log",  # a relative path
        "",
    ],
)
def test_invalid_addresses_raise_value_error_naming_the_grammar(text: str) -> None:
    """Anything else is refused, with the grammar in the message."""
    with pytest.raises(ValueError, match=r"udp://host:port or tcp://host:port"):
        parse_syslog_address(text)


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    """Malformed input never escapes as anything but ValueError."""
    try:
        parse_syslog_address(text)
    except ValueError:
        return


_network_addresses = st.builds(
    "{}://{}:{}".format,
    st.sampled_from(["udp", "tcp", "http", "udp:/", ""]),
    st.text(alphabet="ab1.:[]", max_size=8),
    st.one_of(st.integers(-5, 70_000).map(str), st.text(alphabet="0123x", max_size=6)),
)


@given(_network_addresses)
def test_the_policy_accepts_exactly_the_network_addresses_the_grammar_parses(text: str) -> None:
    """Policy validation and the audit layer's connect cannot disagree on an address."""
    try:
        parse_syslog_address(text)
    except ValueError:
        with pytest.raises(ValidationError):
            SyslogConfig(address=text)
    else:
        assert SyslogConfig(address=text).address == text
