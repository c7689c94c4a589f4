"""Technique: climb from any object to `object.__subclasses__()` through dunder attributes
(`().__class__.__bases__[0].__subclasses__()`), the classic Python sandbox escape.
Source: Ned Batchelder, "Eval really is dangerous" (2012); RestrictedPython docs, "Policy"."""

import pytest

PROBES = [
    "print(().__class__.__bases__[0].__subclasses__())",
    "print(my_object.__dict__)",
    "print(my_object.data.__class__.__mro__)",
    "x = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
    "print(print.__self__)",
    "print(len.__self__.__dict__)",
]


@pytest.mark.parametrize("probe", PROBES)
def test_dunder_climb_is_refused_at_compile_time(attack, probe: str) -> None:
    """A climb through dunder attributes is a compile error naming the underscore rule."""
    record = attack(probe)
    assert record["outcome"] == "compile_error"
    assert 'starts with "_"' in record["reason"] or "invalid attribute" in record["reason"]
