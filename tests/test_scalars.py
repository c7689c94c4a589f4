"""probe/scalars.py: which values a probe holds as they are."""

from __future__ import annotations

import pytest

from safeprobe.probe.scalars import is_scalar


@pytest.mark.parametrize("value", ["s", 1, 1.5, True, b"b", None, 1j])
def test_builtin_immutables_are_scalars(value: object) -> None:
    """The exact immutable builtins are scalars."""
    assert is_scalar(value)


class _Text(str):
    pass


@pytest.mark.parametrize("value", [_Text("s"), [1], (1,), object(), bytearray(b"b")])
def test_subclasses_and_containers_are_not(value: object) -> None:
    """A subclass (whose methods may be host code) or a container is not a scalar."""
    assert not is_scalar(value)
