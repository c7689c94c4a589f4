"""bytes() is a probe builtin (issue 13: ``bytes(buf)`` of a host bytearray), so each of its
forms that allocates in one C call is charged before it runs: a count, a str to encode, a
host buffer to copy, an iterable of ints.

Technique: one C call that allocates by argument (``bytes(10**10)``), the reason
RestrictedPython 9.0 dropped ``bytes`` from safe_builtins (RestrictedPython CHANGES.rst,
9.0: "sorted, zip, tuple, bytes, reversed" removed); CPython Objects/bytesobject.c
(bytes_new: a size argument allocates that many zero bytes at once)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

ALLOCATIONS = {
    "count": "print(len(bytes(10**10)))",
    "count-in-a-loop": "xs = []\nfor _ in range(1000):\n    xs.append(bytes(10**6))\nprint(len(xs))",
    "encode": "s = 'x' * (10**7)\nprint(len(bytes(s + s, 'utf-8')))",
    "iterable": "print(len(bytes(range(10**9))))",
}


@pytest.mark.parametrize("probe", list(ALLOCATIONS.values()), ids=list(ALLOCATIONS))
def test_bytes_allocation_is_charged_before_the_call(
    held: Callable[..., dict[str, object]], probe: str
) -> None:
    """Each large bytes() is refused by the size or item cap (or the deadline), the host
    unharmed: one record, state unchanged, memory and time within bounds."""
    record = held(probe)
    assert record["outcome"] in ("limit", "timeout"), record["reason"]


def test_bytes_of_a_small_count_and_text_still_works(
    held: Callable[..., dict[str, object]],
) -> None:
    """The checks leave ordinary uses alone."""
    record = held(
        "print(bytes(3), bytes('é', 'utf-8'), bytes([104, 105]))",
        frozenset({"ok"}),
    )
    assert "b'\\x00\\x00\\x00' b'\\xc3\\xa9' b'hi'" in str(record["_report"])
