"""Technique: make host code run through the policy's ``evaluate`` list by reading a near
miss of what it names: another attribute of the same object, the same name at another
path, a method named without ``()`` or a property with it, a method that takes arguments or
a call with them, a classmethod, a staticmethod, a generator method, or a name only the
host's ``__getattr__`` answers. Every Ledger near miss counts in memory shared with the
fork child, so host code run anywhere shows as a changed host.
Source: RestrictedPython docs, "Guards" (``_getattr_`` must not run descriptors); Python
docs, "Descriptor HowTo Guide" (what a property, classmethod and staticmethod call)."""

from __future__ import annotations

import pytest

# Another attribute of the same object: `label` is named, `other` is not.
OTHER_ATTRIBUTE = "print(ledger.other)\n"
# The same name at another path: `stats.ratio` is named, `children.ratio` is not.
SAME_NAME_ELSEWHERE = "print(ledger.children[0].ratio)\n"
# A method named as a property: `size` (no parentheses) names a method.
METHOD_WITHOUT_CALL = "print(ledger.size)\n"
# A property named as a call: `label()` names a property.
PROPERTY_WITH_CALL = "print(ledger.label())\n"
# A method that needs an argument, named as a zero-argument call.
METHOD_WITH_ARGUMENTS = "print(ledger.size_with())\n"
# A named zero-argument method called with arguments.
CALL_WITH_ARGUMENTS = "print(ledger.size_or(100))\n"
CALL_WITH_KEYWORDS = "print(ledger.size_or(extra=100))\n"
# A classmethod and a staticmethod named as calls.
CLASSMETHOD = "print(ledger.build())\n"
STATICMETHOD = "print(ledger.helper())\n"
# A generator method: its call would return a generator of host code to drive.
GENERATOR = "for page in ledger.pages():\n    print(page)\n"
# A name the class does not hold: only __getattr__ would answer it.
GETATTR_PROPERTY = "print(ledger.dynamic)\n"
GETATTR_METHOD = "print(ledger.dynamic())\n"

CASES = [
    (OTHER_ATTRIBUTE, ["label", "other"], ["label"]),
    (SAME_NAME_ELSEWHERE, ["stats", "stats.ratio", "children", "children.ratio"], ["stats.ratio"]),
    (METHOD_WITHOUT_CALL, ["size"], ["size"]),
    (PROPERTY_WITH_CALL, ["label"], ["label()"]),
    (METHOD_WITH_ARGUMENTS, ["size_with"], ["size_with()"]),
    (CALL_WITH_ARGUMENTS, ["size_or"], ["size_or()"]),
    (CALL_WITH_KEYWORDS, ["size_or"], ["size_or()"]),
    (CLASSMETHOD, ["build"], ["build()"]),
    (STATICMETHOD, ["helper"], ["helper()"]),
    (GENERATOR, ["pages"], ["pages()"]),
    (GETATTR_PROPERTY, ["dynamic"], ["dynamic"]),
    (GETATTR_METHOD, ["dynamic"], ["dynamic()"]),
]


@pytest.mark.parametrize(("probe", "allow", "evaluate"), CASES)
def test_near_misses_of_evaluate_entries_run_no_host_code(
    held, probe: str, allow: list[str], evaluate: list[str]
) -> None:
    """Only the exact path and kind named runs; every near miss is refused unrun."""
    expose = {"ledger": {"target": "__main__:ledger", "allow": allow, "evaluate": evaluate}}
    record = held(probe, expose=expose)
    assert record["outcome"] in ("denied", "error"), record["reason"]
    # Refused before it ran: a refused path is not in the record, and no other path ran.
    assert not record.get("evaluated"), record.get("evaluated")
