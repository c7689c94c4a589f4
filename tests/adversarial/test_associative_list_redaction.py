"""Technique: read a secret kept as a (name, value) pair instead of under a dict key. HTTP
headers, cookies and parsed query strings are often associative lists,
``[("Authorization", token), ("Accept", "*/*")]``: redaction judged dict keys and
attribute names, so the pair's value came out by rendering, indexing and unpacking.
Source: Python docs, urllib.parse.parse_qsl ("a list of name, value pairs") and
wsgiref.headers ("a list of (name, value) tuples"); the adversarial review of this
project (redaction by name on every way out)."""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

PROBES = [
    "print(zoo.headers)",
    "for name, value in zoo.headers:\n    print(name, value)",
    "print(zoo.headers[0][1], zoo.headers[0][-1], zoo.headers[0][1:])",
    "print([v for k, v in zoo.pairs])",
    "print(list(zoo.pairs[0]), zoo.pairs)",
    "print(*zoo.headers[0])",
    # the name a StrEnum member, as a dict key may be
    "print(zoo.pairs[2][1])",
]


@pytest.mark.parametrize("probe", PROBES)
def test_value_of_secret_named_pair_is_redacted(held, probe: str) -> None:
    """The second item of a (secret name, value) pair reads as the marker on every path."""
    record = held(probe, frozenset({"ok"}), expose=ZOO)
    assert "<redacted>" in record["_report"], record["_report"]


def test_pairs_with_plain_names_still_shown(held) -> None:
    """Harmless: a pair whose name is not secret keeps its value visible."""
    record = held("print(zoo.headers[1], zoo.pairs[1][1])", frozenset({"ok"}), expose=ZOO)
    assert "('Accept', '*/*') ada" in record["_report"], record["_report"]
