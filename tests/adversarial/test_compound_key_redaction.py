"""Technique: hide a secret's name inside a compound key. Redaction by key name looked only
at str and bytes keys, so a value under ``("db", "password")``, a nested tuple, a
``frozenset({"session_key"})`` or an Enum member named ``PRIVATE_KEY`` (or valued
``"session_id"``) came out in clear. The Enum here also has a hostile metaclass and a
counting ``__getattribute__``: its name and value must be read statically.
Source: Python docs, "enum — Support for enumerations" (``_name_``/``_value_`` are instance
attributes; ``name``/``value`` are descriptors); issue 11 of this project."""

import pytest

from tests.adversarial.conftest import REFUSED

EXPOSE = {"service": {"target": "__main__:service", "allow": ["compound"]}}

TUPLE_ITEM = "print(service.compound[('db', 'password')])"
NESTED_TUPLE_ITEM = "print(service.compound[('db', ('nested', 'api_token'))])"
ITEMS = "for k, v in service.compound.items():\n    print(k, v)"
VALUES = "print(list(service.compound.values()))"
PRINT = "print(service.compound)"
FSTRING = "print(f'{service.compound!r}')"
PERCENT = "print('%s' % (service.compound,))"
COPY = "print(service.compound.copy())"
DICT_OF = "print(dict(service.compound))"


@pytest.mark.parametrize(
    "probe", [TUPLE_ITEM, NESTED_TUPLE_ITEM, ITEMS, VALUES, PRINT, FSTRING, PERCENT, COPY, DICT_OF]
)
def test_values_under_secret_compound_keys_are_redacted(held, probe: str) -> None:
    """Every path out shows the redaction marker, never the value, and reading the Enum
    key's name and value runs no host code."""
    record = held(probe, REFUSED | {"ok"}, expose=EXPOSE)
    if record["outcome"] == "ok":
        assert "<redacted>" in str(record["_report"])


def test_plain_compound_keys_still_show_their_values(held) -> None:
    """A tuple key of plain parts and a plain Enum key are not redacted."""
    record = held("print(service.compound[('db', 'host')])", frozenset({"ok"}), expose=EXPOSE)
    assert "localhost" in str(record["_report"])
