"""Technique: make ``%`` produce far more than its size estimate. The estimate
(``Sandbox._check_percent_format``) is fields x the longest *string* argument, but C formats
every other argument with its own ``str``/``repr``: a list, tuple or dict argument copies
every string inside it (``'%s' % ([s] * 40,)`` is 40 MB from a 1 MB ``s``; ``[s] * 100_000``
would be 100 GB), an exception argument prints its whole message, and ``%r``/``%a`` of a
string expand each character up to 4x (``\\x00``) or 10x (``\\U0010ffff``).
Source: RestrictedPython CVE-2023-41039 (formatting as a vector); the "billion laughs"
shared-reference expansion; Python docs, ``repr``/``ascii`` escaping rules."""

import pytest

PROBES = [
    "s = 'x' * 1000000\nt = '%s' % ([s] * 40,)\nprint(len(t))",
    "s = 'x' * 1000000\nt = '%r' % (dict(a=[s] * 40),)\nprint(len(t))",
    "s = 'x' * 1000000\nt = '%s' % (((s,) * 40,),)\nprint(len(t))",
    "s = b'x' * 1000000\nt = b'%r' % ([s] * 40,)\nprint(len(t))",
    "s = 'x' * 1000000\nt = ('%s' * 40) % ((ValueError(s),) * 40)\nprint(len(t))",
    "s = '\\x00' * 1000000\nt = ('%r' * 10) % ((s,) * 10)\nprint(len(t))",
    "s = '\\U0010ffff' * 1600000\nt = ('%a' * 4) % ((s,) * 4)\nprint(len(t))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_percent_format_result_is_bounded_whatever_the_arguments(attack, probe: str) -> None:
    """Refused, or rendered by the sandbox (bounded per value): never the C-sized result."""
    record = attack(probe, frozenset({"ok", "limit"}))
    if record["outcome"] == "ok":
        length = int(record["_report"].splitlines()[1])
        assert length <= 16 * 1024 * 1024, length
