"""Technique: three-argument ``pow`` with a large modulus and a short exponent. The check
before the call charged ``bits(e) * bits(m)``, as if a modular multiplication were linear
in the modulus; it is quadratic (CPython reduces with schoolbook long division). A
40,000-bit modulus (the integer cap, reached with ``<<``) and a 99-bit exponent cost
3,960,000, under the 4,000,000 cap, and ran ~500 ms in one C call; three in one statement
held the GIL 1.35 s on a 500 ms timeout in isolation: thread.
Source: CPython Objects/longobject.c (long_pow: l_mod of each product, x_divrem
O(n*m)); gh-95778 (quadratic int algorithms as a DoS vector)."""

import pytest

OK_OR_REFUSED = frozenset({"ok", "limit", "timeout"})
SETUP = "m = (1 << 39990) + 12345\nb = m - 2\ne = (1 << 99) - 1\n"

PROBES = [
    SETUP + "print(pow(b, e, m) & 1, pow(b, e, m) & 1, pow(b, e, m) & 1)",
    SETUP + "c = m // 3\nprint(pow(c, 2 ** 90 + 1, m) & 1, pow(c, 2 ** 90 + 3, m) & 1)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_modular_pow_with_a_large_modulus_is_held(held, probe: str) -> None:
    """pow(b, e, m) is costed by the square of the modulus's size, so it stops in time."""
    held(probe, OK_OR_REFUSED)


def test_modular_pow_of_common_sizes_still_runs(held) -> None:
    """pow() with 2,048-bit numbers (an RSA-sized modulus) still runs."""
    record = held(
        "m = (1 << 2047) + 12345\nprint(pow(3, (1 << 2047) - 1, m) > 0)", frozenset({"ok"})
    )
    assert "True" in record["_report"]
