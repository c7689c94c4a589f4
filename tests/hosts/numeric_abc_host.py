"""The app host (app_host.py), plus host classes that hook the ABCs' isinstance test: a
Fraction subclass and a ChainMap subclass whose metaclass's ``__subclasscheck__`` and
``__instancecheck__`` are host code, counted in app_host's shared-memory counter (which its
digest covers, in either isolation). An ABC's isinstance walks its subclasses and asks each
one's metaclass, so any such test reaching Fraction or numbers.Rational runs these hooks.

Usage: python numeric_abc_host.py POLICY.yaml (commands as app_host.py's)
"""

from __future__ import annotations

import abc
import collections
import decimal
import fractions

import app_host


class _HookedABCMeta(abc.ABCMeta):
    def __subclasscheck__(cls, subclass: type) -> bool:
        app_host._host_code_ran()
        return False

    def __instancecheck__(cls, instance: object) -> bool:
        app_host._host_code_ran()
        return False


class HostFraction(fractions.Fraction, metaclass=_HookedABCMeta):
    """Never instantiated: its existence is the hook."""


class HostChainMap(collections.ChainMap, metaclass=_HookedABCMeta):  # type: ignore[type-arg]
    """Never instantiated: its existence is the hook."""


price = decimal.Decimal("9.99")
third = fractions.Fraction(1, 3)

if __name__ == "__main__":
    app_host.main()
