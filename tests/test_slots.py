"""probe/slots.py: a class's namespace, MRO and name are read from type's C slots."""

from __future__ import annotations

from safeprobe.probe.slots import class_namespace, mro_of, type_name


class _Loud(type):
    """A metaclass whose attribute reads of the class would run its code."""

    calls: list[str] = []  # noqa: RUF012 - shared on purpose: records any call

    @property
    def __name__(cls) -> str:  # type: ignore[override]  # the hostile property under test
        _Loud.calls.append("__name__")
        return "fake"

    @property
    def __mro__(cls) -> tuple[type, ...]:  # type: ignore[override]  # the hostile property under test
        _Loud.calls.append("__mro__")
        return (object,)


class _Hosty(metaclass=_Loud):
    x = 1


def test_readers_ignore_a_metaclass_property() -> None:
    """Name, MRO and namespace come from the C slots; the metaclass's properties never run."""
    assert type_name(_Hosty) == "_Hosty"
    assert mro_of(_Hosty) == (_Hosty, object)
    assert class_namespace(_Hosty)["x"] == 1
    assert _Loud.calls == []


def test_type_name_of_a_builtin() -> None:
    """A builtin class's name reads as Python prints it."""
    assert type_name(int) == "int"
