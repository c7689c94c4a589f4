"""Technique: hide a secret's name in a dict key that redaction does not open. Exact str
and bytes keys are names, tuples, frozensets and Enums are opened; but a ``bytes``
subclass, a ``memoryview`` (hashable when read-only) and a hashable object, e.g. a frozen
dataclass ``ConfigKey("db", "password")``, were not: the value under them came out on
every path (rendering, ``values()``, ``items()``).
Source: Python docs, dataclasses ("frozen=True ... a __hash__() method will be
generated") and memoryview ("hashable if read-only"); the adversarial review of this
project (compound-key redaction, issue 11)."""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

PROBES = [
    # a bytes subclass and a memoryview named like secrets
    "print(zoo.byte_keys)",
    "print(list(zoo.byte_keys.values()))",
    "for k, v in zoo.byte_keys.items():\n    print(v)",
    # a frozen dataclass whose field is a secret's name
    "print(zoo.object_keys)",
    "print(list(zoo.object_keys.values()))",
    "for k in zoo.object_keys:\n    print(zoo.object_keys[k] if False else 0)\nprint(zoo.object_keys.items())",
]


@pytest.mark.parametrize("probe", PROBES)
def test_secret_under_bytes_like_or_object_key_is_redacted(held, probe: str) -> None:
    """The value under a bytes-like or object key naming a secret reads as the marker."""
    record = held(probe, frozenset({"ok"}), expose=ZOO)
    assert "<redacted>" in record["_report"], record["_report"]


def test_plain_object_key_value_still_shown(held) -> None:
    """Harmless: an object key whose fields name no secret keeps its value visible."""
    record = held("print(list(zoo.object_keys.values()))", frozenset({"ok"}), expose=ZOO)
    assert "'h'" in record["_report"], record["_report"]
