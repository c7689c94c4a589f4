"""Technique: a result bigger than what was charged for it, made where no tick samples
the RSS backstop. ``bytes.hex`` was charged two characters a byte when the attribute was
read: ``b.hex(':')`` writes three (a separator after each byte), and a method read once
and called again (``f = b.hex``, then ``f()`` five times) was charged once for all of
them. In straight-line code (no loop, so no tick) the host of isolation: thread grew by
~83 MiB, past the 64 MiB the attempt may build.
Source: CPython docs, ``bytes.hex([sep[, bytes_per_sep]])`` (3.8+)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit"})

PROBES = [
    "b = b'\\x00' * 5500000\nh1 = b.hex(':')\nh2 = b.hex(':')\nh3 = b.hex(':')\n"
    "h4 = b.hex(':')\nh5 = b.hex(':')\nprint(len(h1) * 5)",
    "b = b'\\x00' * 8000000\nf = b.hex\nh1 = f()\nh2 = f()\nh3 = f()\nh4 = f()\nh5 = f()\n"
    "print(len(h1) * 5)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_bytes_hex_is_charged_per_call_at_its_size(held, probe: str) -> None:
    """Every bytes.hex() call is charged what it writes, separators included."""
    held(probe, OK_OR_REFUSED)
