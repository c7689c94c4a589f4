"""Formatting by the probe: our renderer, never a value's own, and plain fields only."""

from __future__ import annotations

import pytest

from safeprobe.errors import ProbeDenied, ProbeStopped
from safeprobe.probe.budget import Budget, OutputBuffer
from safeprobe.probe.render import RenderLimits
from safeprobe.probe.sandbox import AttemptState, Sandbox


def _sandbox() -> Sandbox:
    state = AttemptState(
        budget=Budget(timeout_s=5.0, max_steps=10**6, max_items=1000),
        output=OutputBuffer(1000),
        render_limits=RenderLimits(),
    )
    return Sandbox(state)


class Loud:
    """A value whose own text methods must never run."""

    def __format__(self, spec: str) -> str:
        raise AssertionError("__format__ ran")

    def __str__(self) -> str:
        raise AssertionError("__str__ ran")

    def __repr__(self) -> str:
        raise AssertionError("__repr__ ran")


def test_format_field_renders_with_our_text_functions() -> None:
    """An f-string field of an object shows our rendering, its own methods never called."""
    formatting = _sandbox().formatting
    assert formatting.format_field(Loud(), -1, "").startswith("<")
    assert formatting.format_field(5, -1, "03") == "005"
    assert formatting.format_field("a", ord("r"), "") == "'a'"


def test_format_width_over_the_cap_is_refused() -> None:
    """A width builds its padding in one C call: capped before it runs."""
    with pytest.raises(ProbeDenied, match="format"):
        _sandbox().formatting.format_field(1, -1, "9999999")


@pytest.mark.parametrize("template", ["{0.real}", "{0[0]}", "{0:{1}}"])
def test_str_format_takes_plain_fields_only(template: str) -> None:
    """The mini-language's attribute, item and nested fields would bypass the guards."""
    fmt = _sandbox().formatting.str_format(template)
    with pytest.raises(ProbeDenied, match="format"):
        fmt(1, 2)


def test_str_format_fills_positional_and_keyword_fields() -> None:
    """Plain fields format as str.format does."""
    fmt = _sandbox().formatting.str_format("{} {name!r} {1:>3}")
    assert fmt("a", "b", name="n") == "a 'n'   b"


def test_percent_format_renders_objects_and_checks_the_total() -> None:
    """%s of an object is our rendering; a result over the one-call cap stops the attempt."""
    formatting = _sandbox().formatting
    shown = formatting.percent_format("%s-%d", (Loud(), 3))
    assert isinstance(shown, str)
    assert shown.startswith("<")
    assert shown.endswith("-3")
    with pytest.raises(ProbeStopped):
        formatting.percent_format("%s" * 200, tuple(["x" * 200_000] * 200))
