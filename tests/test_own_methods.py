"""The probe's own values' methods: the one attribute allowlist, and the wrappers' bounds."""

from __future__ import annotations

import pytest

from safeprobe.errors import ProbeDenied, ProbeStopped
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.facts.records import FACT_FIELDS
from safeprobe.probe.own_methods import (
    SAFE_METHODS,
    TEXT_IDS,
    allowed_names,
    type_ids,
    without_repr,
)
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox


def _sandbox(max_items: int = 1000) -> Sandbox:
    state = AttemptState(
        budget=Budget(timeout_s=5.0, max_steps=10**6, max_items=max_items),
        output=OutputBuffer(1000),
        render_limits=RenderLimits(),
    )
    return Sandbox(state)


def test_allowed_names_are_the_safe_methods_then_the_fact_fields() -> None:
    """One lookup answers both the attribute guard and hasattr: builtin types' safe methods,
    fact records' fields, and nothing for any other type."""
    for kind, names in SAFE_METHODS.items():
        assert allowed_names(kind) is names
    for kind, fields in FACT_FIELDS.items():
        assert allowed_names(kind) is fields
    assert allowed_names(object) is None
    assert allowed_names(type) is None


def test_allowed_names_is_by_identity_not_by_subclass() -> None:
    """A subclass of str is not str: its methods could be host code."""

    class Text(str):
        pass

    assert allowed_names(Text) is None


def test_type_ids_are_the_ids_of_the_types() -> None:
    """Type tables hold ids, so a membership test never hashes a host class."""
    assert type_ids(str, bytes) == TEXT_IDS == frozenset({id(str), id(bytes)})


def test_without_repr_rewords_a_value_error_without_its_argument() -> None:
    """The message is ours, not CPython's repr of the argument, and keeps no context."""
    with pytest.raises(ValueError, match=r"^could not convert$") as caught:
        without_repr(float, "could not convert", "x" * 1000)
    assert caught.value.__context__ is None
    assert without_repr(float, "unused", "1.5") == 1.5


def test_sized_join_is_charged_before_it_is_built() -> None:
    """A join over the one-call cap is refused before the C call makes it."""
    sandbox = _sandbox()
    join = sandbox.methods.sized("x" * 1000, "join")
    assert callable(join)
    with pytest.raises(ProbeStopped):
        join(["y" * 100_000] * 999)


def test_codecs_other_than_the_three_are_refused() -> None:
    """Any other codec name would import an encodings module into the host."""
    sandbox = _sandbox()
    with pytest.raises(ProbeDenied, match="codec"):
        sandbox.methods.check_codec("rot13", "strict")
    sandbox.methods.check_codec("utf-8", "strict")


def test_split_over_the_item_cap_is_refused() -> None:
    """split() making more parts than max_items is refused, however it is called."""
    sandbox = _sandbox(max_items=10)
    split = sandbox.methods.sized("a," * 100, "split")
    assert callable(split)
    with pytest.raises(ProbeStopped):
        split(",")
