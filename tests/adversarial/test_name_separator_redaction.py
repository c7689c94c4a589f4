"""Technique: spell a secret's name with a separator redaction does not ignore. Names are
normalized by lowering and dropping "_" and "-", so ``api_key``, ``api-key`` and
``apiKey`` all meet ``*apikey*``; but dotted config keys (``api.key``), labels with
spaces (``Private Key``) and colon-joined names (``API:KEY``) kept the separator and
matched no pattern, so their values came out; so did names in fullwidth compatibility
forms (a fullwidth ``API_KEY``), which read the same and which Python's own identifiers fold with
NFKC.
Source: the adversarial review of this project (redaction by name); dotted keys as
Spring and many config formats write them (``app.api.key``); PEP 3131 (identifiers
normalized with NFKC)."""

import pytest

ZOO = {"zoo": {"target": "__main__:zoo", "allow": ["**"]}}

PROBES = [
    "print(zoo.spelled)",
    "print(zoo.spelled['api.key'], zoo.spelled['Private Key'], zoo.spelled['API:KEY'])",
    "print(list(zoo.spelled.values()))",
    # fullwidth compatibility forms, which NFKC folds to the ASCII name
    "print(zoo.folded)",
    "print(list(zoo.folded.values()))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_secret_name_with_other_separators_is_redacted(held, probe: str) -> None:
    """A secret's name spelled with ".", " " or ":" between its words is still secret."""
    record = held(probe, frozenset({"ok"}), expose=ZOO)
    assert "<redacted>" in record["_report"], record["_report"]
    assert "1" in record["_report"], record["_report"]
