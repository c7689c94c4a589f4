"""Technique: read a named tuple's secret field by position instead of by name. A
``namedtuple("Creds", ["user", "password"])`` redacts ``creds.password``, but the same slot
is ``creds[1]``, an item of iteration, unpacking, slicing, ``*creds``, ``sorted(creds)`` and
the tuple's rendering; none of those paths ask the field's name.
Source: Python docs, collections.namedtuple ("fields are also accessible by index");
the adversarial review of this project (redaction by name on every way out)."""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

PROBES = [
    "print(zoo.creds)",
    "print(zoo.creds[1])",
    "print(zoo.creds[-1])",
    "print(zoo.creds[1:], zoo.creds[::-1])",
    "print(tuple(zoo.creds), list(zoo.creds))",
    "user, secret = zoo.creds\nprint(secret)",
    "for v in zoo.creds:\n    print(v)",
    "print(*zoo.creds)",
    "print(sorted(zoo.creds), max(zoo.creds), min(zoo.creds))",
    "print('%s %s' % tuple(zoo.creds))",
    "print(dict(zip(['a', 'b'], zoo.creds)))",
    "raise ValueError(zoo.creds)",
    "print(zoo.creds.copy())",
    "print([zoo.creds])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_secret_named_field_hidden_by_position(held, probe: str) -> None:
    """A named tuple's field called like a secret reads as the marker by index too."""
    record = held(probe, frozenset({"ok", "error"}), expose=ZOO)
    # sorted/max/min meet the marker and a str: a TypeError, which shows no value.
    assert "<redacted>" in record["_report"] or "TypeError" in record["_report"], record["_report"]


def test_plain_fields_still_read_by_position(held) -> None:
    """Harmless: the field with a plain name is still readable by index."""
    record = held("print(zoo.creds[0], zoo.creds.user)", frozenset({"ok"}), expose=ZOO)
    assert "ada ada" in record["_report"], record["_report"]
