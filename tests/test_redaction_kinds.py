"""Redaction of the key and field kinds the red-team review found unjudged: bytes-like and
object keys, names spelled with other separators or in compatibility forms, a named
tuple's secret fields and (secret name, value) pairs; none of it runs host code."""

from __future__ import annotations

import collections
import dataclasses

import pytest

from safeprobe.probe.containers import secret_field_slots
from safeprobe.probe.redaction import Redactor

REDACTOR = Redactor.with_defaults()


class _LoudBytes(bytes):
    def __bytes__(self) -> bytes:
        raise AssertionError("host __bytes__ ran")

    def __str__(self) -> str:
        raise AssertionError("host __str__ ran")


@dataclasses.dataclass(frozen=True)
class _Key:
    section: str
    name: str


class _Slotted:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        raise AssertionError("host __hash__ ran")


@pytest.mark.parametrize(
    "key",
    [
        _LoudBytes(b"api_token"),
        memoryview(b"db_password"),
        _Key("db", "password"),
        _Slotted("session_id"),
        ("db", _Key("x", "secret")),
        "api.key",
        "Private Key",
        "API:KEY",
        "\uff21\uff30\uff29_\uff2b\uff25\uff39",  # fullwidth API_KEY
    ],
)
def test_secret_keys_of_every_kind_are_hidden(key: object) -> None:
    """Each key naming a secret is judged secret, without host code."""
    assert REDACTOR.hides(key)


@pytest.mark.parametrize("key", [_LoudBytes(b"host"), _Key("db", "host"), "api.url", "id"])
def test_plain_keys_stay_shown(key: object) -> None:
    """Harmless keys are not redacted."""
    assert not REDACTOR.hides(key)


def test_bytes_like_key_over_the_name_cap_is_secret() -> None:
    """A key too long to be a name is not decoded: redaction fails closed."""
    assert REDACTOR.hides(memoryview(b"x" * 10_000))
    assert REDACTOR.hides(_LoudBytes(b"x" * 10_000))


def test_named_tuple_secret_fields_are_found_statically() -> None:
    """The slots of secret-named fields, through subclasses too; plain tuples have none."""
    creds = collections.namedtuple("creds", ["user", "password", "api_token"])

    class Sub(creds):
        __slots__ = ()

    assert secret_field_slots(creds("a", "b", "c"), REDACTOR) == {1, 2}
    assert secret_field_slots(Sub("a", "b", "c"), REDACTOR) == {1, 2}
    assert secret_field_slots(("a", "b", "c"), REDACTOR) == frozenset()


def test_secret_named_pair_hides_its_value() -> None:
    """A (secret name, value) pair's second slot is secret; other pairs are not."""
    assert secret_field_slots(("Authorization", "t"), REDACTOR) == {1}
    assert secret_field_slots((b"api_key", "t"), REDACTOR) == {1}
    assert secret_field_slots(("Accept", "*/*"), REDACTOR) == frozenset()
    assert secret_field_slots(("password", "x", "y"), REDACTOR) == frozenset()
