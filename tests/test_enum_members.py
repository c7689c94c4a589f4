"""probe/enum_members.py: which enum members print by the standard library's code."""

from __future__ import annotations

import enum

from safeprobe.probe.enum_members import plain_enum_fields


class _Color(enum.Enum):
    RED = 1


class _Level(enum.IntEnum):
    LOW = 1


class _Loud(enum.Enum):
    A = 1

    def __str__(self) -> str:
        return "host code"


def test_plain_member_gives_its_value_to_check() -> None:
    """A member of a class that only adds members hands back its stored value."""
    fields = plain_enum_fields(_Color.RED)
    assert fields is not None
    assert 1 in fields
    assert plain_enum_fields(_Level.LOW) is not None


def test_member_of_a_class_with_its_own_code_is_not_plain() -> None:
    """A class that defines a method of its own (here __str__) is not plain."""
    assert plain_enum_fields(_Loud.A) is None


def test_non_enum_is_not_plain() -> None:
    """Any other object is not an enum member."""
    assert plain_enum_fields(object()) is None
