"""Technique: print a structure of thousands of ints just under CPython's int-to-str digit
limit: each node is a quadratic conversion (~0.3 ms), the renderer's node cap allows 5,000
of them, and no tick checked the deadline while rendering.
Source: issue 11 (one print ran ~3 s); CPython docs, "Integer string conversion length
limitation" (CVE-2020-10735: int-to-str is quadratic in the number of digits)."""

import pytest

# 100 x 50 ints of 14,000 bits (4,215 digits, under the default limit of 4,300).
NEST = "x = [[(1 << 14000) + i for i in range(100)] for j in range(50)]\n"

PROBES = [
    NEST + "print(x)",
    NEST + "s = repr(x)",
    NEST + "s = str(x)",
    NEST + "s = f'{x}'",
    NEST + "s = '%s' % (x,)",
    NEST + "s = '{}'.format(x)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_rendering_obeys_the_deadline(held, probe: str) -> None:
    """Rendering ticks the budget per node, so it stops at the deadline."""
    held(probe, frozenset({"ok", "timeout", "limit"}))


# str() and f-strings of bytes are their repr: up to 4 characters a byte, in one C call.
BYTES_TEXT = [
    "b = b'\\x00' * 15000000\nkeep = []\nfor _ in range(100):\n    keep.append(str(b))",
    "b = b'\\x00' * 15000000\nkeep = []\nfor _ in range(100):\n    keep.append(f'{b}')",
]


@pytest.mark.parametrize("probe", BYTES_TEXT)
def test_the_text_of_large_bytes_is_capped(held, probe: str) -> None:
    """Large bytes show as their capped rendering with a marker, not a 60 MB repr."""
    held(probe, frozenset({"ok", "limit", "timeout"}))


def test_long_ints_inside_a_structure_render_as_a_marker(held) -> None:
    """An int too long to show in a structure is marked by its size, never cut to a wrong value."""
    record = held("print([1 << 14000, 5])", frozenset({"ok"}))
    assert "[…(int of 14001 bits), 5]" in record["_report"]
