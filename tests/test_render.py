"""Structural rendering: ints shown as Python shows them or marked, and a node budget."""

from __future__ import annotations

import sys

import pytest

from safeprobe.probe.render import RenderLimits, int_text, render


def test_an_int_alone_is_pythons_text() -> None:
    """A huge int alone, positive or negative, renders as Python's own text for it."""
    assert render(2**1000, depth=0) == str(2**1000)
    assert int_text(-(10**300)) == str(-(10**300))


def test_an_int_past_pythons_digit_limit_raises_as_python_does() -> None:
    """Never a wrong value: CPython refuses to convert it, and so does the renderer."""
    big = 1 << 20000
    with pytest.raises(ValueError, match="digits"):
        str(big)
    with pytest.raises(ValueError, match="digits"):
        render(big, depth=0)


def test_a_long_int_inside_a_structure_is_marked_by_its_size() -> None:
    """Cut like a long string, but marked by bit length: no digits that could be misread."""
    shown = render([1 << 1000, -(1 << 2000), 7], depth=0, limits=RenderLimits(max_str_chars=256))
    assert shown == "[…(int of 1001 bits), -…(int of 2001 bits), 7]"
    assert render([10**255], depth=0) == f"[{10**255}]"


def test_with_the_digit_limit_off_a_huge_int_is_marked_not_converted() -> None:
    """A host that switched CPython's limit off still gets no quadratic conversion."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert int_text(1 << 20000) == "…(int of 20001 bits)"
        assert int_text(1 << 1000) == str(1 << 1000)
    finally:
        sys.set_int_max_str_digits(old)


def test_a_spent_meter_cuts_the_rest_of_the_rendering() -> None:
    """Each node asks the meter; once it says no, every node left renders as the cut mark."""
    left = [3]

    def meter() -> bool:
        left[0] -= 1
        return left[0] >= 0

    shown = render([1, 2, 3, 4], depth=0, limits=RenderLimits(meter=meter))
    assert shown == "[1, 2, …, …]"
