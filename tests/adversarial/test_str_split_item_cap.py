"""Technique: build a list far over the item cap with one string method. ``split``,
``rsplit`` and ``splitlines`` of a 9 MB string (under the 16 MiB string cap) return
3,000,000 strings in one C call: 20 times ``limits.max_items``, ~250 MB of objects, no
ticks. The sandbox's part count (``_parts_bound``) counts ``\\n \\r`` for ``splitlines`` and
six whitespace characters for ``split()``, but ``str`` also breaks lines on ``\\v \\f
\\x1c-\\x1e`` and splits whitespace on ``\\x1c-\\x1f``: those make 3,000,000 parts that the
count says are one.
Source: RestrictedPython 9.0 changelog (builders that iterate in C were removed from the
safe builtins); simpleeval's MAX_STRING_LENGTH protection and its resource-limit issues."""

import pytest

PROBES = [
    "x = ('ab ' * 3000000).split()\nprint(len(x))",
    "x = ('ab,' * 3000000).split(',')\nprint(len(x))",
    "x = ('ab ' * 3000000).rsplit(' ')\nprint(len(x))",
    "x = ('ab\\n' * 3000000).splitlines()\nprint(len(x))",
    "x = (b'ab ' * 3000000).split()\nprint(len(x))",
    # ASCII separators the sandbox's part count does not know: str.splitlines also breaks
    # on \v, \f and \x1c-\x1e; str.split() also splits on \x1c-\x1f.
    "x = ('a\\x0b' * 3000000).splitlines()\nprint(len(x))",
    "x = ('a\\x1e' * 3000000).splitlines()\nprint(len(x))",
    "x = ('a\\x1f' * 3000000).split()\nprint(len(x))",
    "x = ('a\\x1c' * 3000000).rsplit()\nprint(len(x))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_splitting_obeys_the_item_cap(attack, probe: str) -> None:
    """Splitting into more parts than the item cap allows is stopped as a limit."""
    record = attack(probe)
    assert record["outcome"] == "limit", record["reason"]
